#!/usr/bin/env bash
# A/B of golden binaries on the same generated data: runs each binary in turn, ROUNDS times,
# alternating (A B A B …) so that the machine's drift hits both alike, and prints every run's
# wall time and peak RSS per binary. Use it to judge a change on a shared, noisy machine: the
# same binary varies by up to ±15 % within minutes, so compare interleaved runs only.
#
# Usage: benches/ab.sh ROUNDS ENTITIES BINARY [BINARY ...]
#   Data: WORK/data-ENTITIES as made by benches/e2e.sh (generated there when missing).
#   A BINARY may be prefixed with environment settings: "MALLOC_ARENA_MAX=2 path/to/golden".
# Needs GNU time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 3 ] || { echo "usage: $0 ROUNDS ENTITIES BINARY [BINARY ...]" >&2; exit 2; }
rounds=$1 entities=$2
shift 2
dir=${WORK:-$root/target/bench-e2e-$entities}/data-$entities
[ -f "$dir/.generated" ] || { echo "no data in $dir: run benches/e2e.sh $entities first" >&2; exit 1; }
declare -A walls mibs
for _ in $(seq "$rounds"); do
  for cfg in "$@"; do
    rm -rf "$dir/out-ab"
    # shellcheck disable=SC2086 # a config is "VAR=value … binary": split on purpose
    /usr/bin/time -f '%e %M' -o "$dir/ab.time" env $cfg run "$dir/pipeline.toml" \
      --output "$dir/out-ab" >/dev/null 2>"$dir/ab.log" || { tail -5 "$dir/ab.log" >&2; exit 1; }
    read -r wall kib < "$dir/ab.time"
    walls[$cfg]+=" $wall"
    mibs[$cfg]+=" $((kib / 1024))"
  done
done
rm -rf "$dir/out-ab"
for cfg in "$@"; do
  printf '%s\n  wall s   %s\n  peak MiB %s\n' "$cfg" "${walls[$cfg]}" "${mibs[$cfg]}"
done
