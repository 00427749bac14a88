#!/usr/bin/env bash
# Screenshots of every tab of report.html on generated data, with the report's size and build
# seconds (the run's `report` stage, and a rebuild by `golden report`).
#
# Usage: benches/report_screens.sh [ENTITIES] [path/to/golden]
#   ENTITIES        real people to generate (default 100000; records are about 1.8x this)
#   path/to/golden  default: target/release/golden when built, else target/debug/golden
# Environment:
#   WORK            working directory (default target/report-screens-ENTITIES); the PNGs land
#                   in WORK/screens/<tab>.png
# Needs headless Chromium (`apt-get install -y chromium`). Heavy: `nice -n 19` on a shared machine.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
entities=${1:-100000}
golden=${2:-}
if [ -z "$golden" ]; then
  if [ -x "$root/target/release/golden" ]; then golden=$root/target/release/golden; else golden=$root/target/debug/golden; fi
fi
[ -x "$golden" ] || { echo "no golden binary at $golden; cargo build first" >&2; exit 2; }
command -v chromium >/dev/null || { echo "needs chromium: apt-get install -y chromium" >&2; exit 2; }
work=${WORK:-$root/target/report-screens-$entities}
mkdir -p "$work/screens"

if [ ! -f "$work/data/pipeline.toml" ]; then
  "$golden" generate --entities "$entities" --seed 7 --out "$work/data" --force
fi
rm -rf "$work/data/out"
"$golden" run "$work/data/pipeline.toml" --output "$work/data/out"
run=$(readlink -f "$work/data/out/latest")
start=$(date +%s%N)
"$golden" report "$run" >/dev/null
rebuild_ms=$(( ($(date +%s%N) - start) / 1000000 ))
"$golden" verify "$run"

for tab in summary profile model review clusters; do
  chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --host-resolver-rules="MAP * ~NOTFOUND" \
    --user-data-dir="$work/chrome" --hide-scrollbars --window-size=1280,1600 \
    --virtual-time-budget=10000 --screenshot="$work/screens/$tab.png" "file://$run/report.html#$tab" \
    >/dev/null 2>&1
done

python3 - "$run" "$rebuild_ms" <<'PY'
import json, os, sys
run, rebuild = sys.argv[1], float(sys.argv[2]) / 1000
m = json.load(open(os.path.join(run, "manifest.json")))
size = os.path.getsize(os.path.join(run, "report.html"))
c = m["counts"]
print(f"records {c['records']}  golden {c['golden_records']}  review pairs {c['review_pairs']}")
print(f"report.html {size / 1e6:.2f} MB; stage `report` {m['timings_s'].get('report', 0):.2f} s; "
      f"`golden report` rebuild {rebuild:.2f} s (process included)")
PY
ls -1 "$work/screens"/*.png
