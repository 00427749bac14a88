#!/usr/bin/env bash
# Incremental against full: a first run on generated data, then about 1% of all records changed
# in the CRM export (new e-mail on every Nth CRM row), then `golden run` (incremental: reuses
# the previous model and the comparison levels of unchanged pairs) and `golden run --full` on
# the same edited data. Prints wall time, peak RSS, per-stage seconds and pairs reused for both.
#
# Usage: benches/incremental.sh ENTITIES [path/to/golden]
#   Data: the same directory as benches/e2e.sh (WORK/data-ENTITIES, generated when missing);
#   the edited copy goes to WORK/incremental-ENTITIES.
# Heavy: run it under `nice -n 19` on a shared machine. Needs GNU time and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 ENTITIES [path/to/golden]" >&2; exit 2; }
entities=$1
target_dir=${CARGO_TARGET_DIR:-$root/target}
golden=${2:-$target_dir/release/golden}
[ -x "$golden" ] || (cd "$root" && CARGO_TARGET_DIR=$target_dir cargo build --release)
work=${WORK:-$root/target/bench-e2e-$entities}
src=$work/data-$entities
if [ ! -f "$src/.generated" ]; then
  mkdir -p "$work"
  "$golden" generate --entities "$entities" --seed 42 --out "$src"
  touch "$src/.generated"
fi
dir=$work/incremental-$entities
rm -rf "$dir" && mkdir -p "$dir"
cp "$src"/crm.csv "$src"/billing.parquet "$src"/support.ndjson "$src"/pipeline.toml "$src"/truth.csv "$dir"/

timed() { # label, args...: runs golden under GNU time, prints one summary line
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$dir/$label.time" "$golden" --log-format json "$@" \
    >"$dir/$label.out" 2>"$dir/$label.log" || { tail -20 "$dir/$label.log" >&2; exit 1; }
}

timed first run "$dir/pipeline.toml" --output "$dir/out"
# About 1% of all records: CRM holds ~46% of them, so every 46th CRM row gets a new e-mail.
python3 - "$dir/crm.csv" <<'PY'
import csv, sys
path = sys.argv[1]
rows = list(csv.reader(open(path, newline="", encoding="utf-8")))
header, body = rows[0], rows[1:]
col = next((i for i, h in enumerate(header) if "mail" in h.lower()), None)
changed = 0
for n, row in enumerate(body):
    if n % 46 == 0 and col is not None and col < len(row):
        row[col] = f"changed{n}@example.org"
        changed += 1
with open(path, "w", newline="", encoding="utf-8") as f:
    csv.writer(f).writerows([header] + body)
print(f"changed {changed} CRM rows", file=sys.stderr)
PY
cp -r "$dir/out" "$dir/out-full"
rm -f "$dir/out-full/latest" && ln -s "$(readlink "$dir/out/latest" | sed 's#.*/runs/#runs/#')" "$dir/out-full/latest"
timed incremental run "$dir/pipeline.toml" --output "$dir/out"
timed full run "$dir/pipeline.toml" --output "$dir/out-full" --full

python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
rows = {}
for label, out in [("first", "out"), ("incremental", "out"), ("full", "out-full")]:
    wall, rss = open(f"{d}/{label}.time").read().split()[-2:]
    rows[label] = (float(wall), int(rss) / 1024)
m_inc = json.load(open(f"{d}/out/latest/manifest.json"))
m_full = json.load(open(f"{d}/out-full/latest/manifest.json"))
print(f"incremental vs full on {d}")
print(f"  {'':<14}{'wall s':>10}{'peak MiB':>10}")
for k, (w, r) in rows.items():
    print(f"  {k:<14}{w:>10.2f}{r:>10.1f}")
print(f"  speed-up full/incremental: {rows['full'][0] / rows['incremental'][0]:.2f}x")
print(f"  pairs reused: {m_inc['counts'].get('pairs_reused', 0):,} of {m_inc['counts']['candidate_pairs']:,}")
print(f"  mode: {m_inc.get('mode')} / {m_full.get('mode')}")
print("  per-stage seconds (incremental / full):")
for s in sorted(set(m_full["timings_s"]) | set(m_inc["timings_s"])):
    print(f"    {s:<16}{m_inc['timings_s'].get(s, 0):>8.2f}{m_full['timings_s'].get(s, 0):>8.2f}")
PY
