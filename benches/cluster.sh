#!/usr/bin/env bash
# A run on a Ballista cluster against the same run on one machine (issue 17): golden's generated
# pipeline at ENTITIES, run three times on the same data, one after the other:
#   local       `golden run` alone;
#   standalone  `golden run --scheduler standalone` (scheduler and executor in the run's process,
#               plans still sent over loopback gRPC);
#   cluster     `golden scheduler` and two `golden executor` processes (one task slot each),
#               then `golden run --scheduler df://localhost:PORT`.
# Each process runs under GNU time (wall seconds, peak RSS); the table adds the runs' stage
# seconds from their manifests, the executors' shuffle bytes, and whether each cluster run wrote
# the local run's tables (benches/cluster_same.py: every column but the run's id and times).
#
# Usage: benches/cluster.sh ENTITIES path/to/golden
#   path/to/golden must be built with `--features distributed` (e.g. `cargo build --profile
#   profiling --features distributed`).
# Environment:
#   WORK    working directory (default target/bench-cluster-ENTITIES); data in WORK/data-ENTITIES,
#           generated once and reused
#   PYTHON  a python3 with pyarrow (default python3)
#   PORT    the scheduler's port (default 50050; the executors take PORT+1.. PORT+4)
# Writes WORK/cluster-summary.json and prints it. Heavy steps run under `nice -n 19`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
usage() { echo "usage: $0 ENTITIES path/to/golden" >&2; exit 2; }
[ $# -eq 2 ] || usage
# shellcheck source=benches/args.sh
. "$root/benches/args.sh"
entities_and_binary "$@"
golden=$(cd "$(dirname "$golden")" && pwd)/$(basename "$golden")
[ -x "$golden" ] || { echo "not an executable: $golden" >&2; exit 1; }
python=${PYTHON:-python3}
port=${PORT:-50050}

work=${WORK:-$root/target/bench-cluster-$entities}
dir=$work/data-$entities
if [ ! -f "$dir/.generated" ]; then
  rm -rf "$dir"; mkdir -p "$work"
  nice -n 19 "$golden" generate --entities "$entities" --seed 42 --out "$dir"
  touch "$dir/.generated"
fi
pipeline=$dir/pipeline.toml
logs=$work/logs
rm -rf "$logs" "$work"/out-* "$work"/exec-*; mkdir -p "$logs"

# timed NAME CMD...: runs CMD under GNU time, its report in logs/NAME.time.
timed() {
  local name=$1; shift
  /usr/bin/time -v -o "$logs/$name.time" nice -n 19 "$@" >"$logs/$name.out" 2>"$logs/$name.err"
}

timed local "$golden" run "$pipeline" --output "$work/out-local"
timed standalone "$golden" run "$pipeline" --output "$work/out-standalone" --scheduler standalone

# The cluster: one scheduler, two executors with one task slot each (as two small machines).
pids=()
# Each pid is a subshell running GNU time, which ignores signals: stop the program under it.
stop_cluster() {
  for p in "${pids[@]}"; do
    for t in $(pgrep -P "$p"); do pkill -TERM -P "$t" || true; done
  done
  wait
}
trap stop_cluster EXIT
timed scheduler "$golden" scheduler --port "$port" & pids+=($!)
sleep 2
for i in 1 2; do
  mkdir -p "$work/exec-$i"
  timed "executor-$i" "$golden" executor --scheduler "localhost:$port" \
    --port $((port + 2 * i - 1)) --grpc-port $((port + 2 * i)) --concurrent-tasks 1 \
    --work-dir "$work/exec-$i" & pids+=($!)
done
sleep 3
timed cluster "$golden" run "$pipeline" --output "$work/out-cluster" --scheduler "df://localhost:$port"
shuffle=$(du -sb "$work"/exec-* | awk '{s += $1} END {print s}')
stop_cluster; trap - EXIT; pids=()

"$python" "$root/benches/cluster_same.py" --work "$work" --shuffle-bytes "$shuffle" \
  | tee "$work/cluster-summary.json"
