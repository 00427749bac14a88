#!/usr/bin/env bash
# Pairwise accuracy of golden on generated data, with the generated pipeline's blocking rules and
# with liberal rules added ([first_name], [city, birth_date], [postcode]), which make
# connected-components clustering chain unrelated people in other tools.
# Usage: benches/accuracy.sh [ENTITIES] [path/to/golden]   (defaults: 100000, a release build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
entities=${1:-100000}
golden=${2:-}
if [ -z "$golden" ]; then
  target_dir=${CARGO_TARGET_DIR:-$root/target}
  (cd "$root" && CARGO_TARGET_DIR=$target_dir cargo build --release --quiet)
  golden=$target_dir/release/golden
fi
work=${WORK:-$root/target/bench-accuracy-$entities}
rm -rf "$work"
"$golden" generate --entities "$entities" --seed 42 --out "$work"
sed -e 's/  \["first_name", "birth_date"\],/  ["first_name", "birth_date"],\n  ["first_name"],\n  ["city", "birth_date"],\n  ["postcode"],/' \
    -e 's#^dir = "out"#dir = "out-liberal"#' "$work/pipeline.toml" > "$work/liberal.toml"
for p in pipeline liberal; do
  echo "== $p blocking"
  /usr/bin/time -f "wall %e s, peak RSS %M KiB" "$golden" --log-format json run "$work/$p.toml" 2>"$work/$p.log" | tail -1
  tail -1 "$work/$p.log"
  out=out; [ "$p" = liberal ] && out=out-liberal
  "$golden" evaluate "$work/$out" --truth "$work/truth.csv"
done
