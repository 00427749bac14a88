#!/usr/bin/env bash
# End-to-end speed of `golden run` on generated data: records, candidate pairs, wall time, peak
# RSS, the per-stage seconds the run records in its manifest, and pairwise F1 against truth.
#
# Usage: benches/e2e.sh [--threads N] ENTITIES [path/to/golden]
#   ENTITIES       real people to generate (records are about 1.8x this)
#   path/to/golden default: $CARGO_TARGET_DIR/release/golden (or target/release/golden),
#                  built with `cargo build --release` when missing
#   --threads N    passed through to `golden run` (rayon and tokio threads; default all cores)
# Environment:
#   WORK           working directory (default target/bench-e2e-ENTITIES); the data lands in
#                  WORK/data-ENTITIES and is reused by later calls (same seed, same files)
# Heavy: run it under `nice -n 19` on a shared machine. Needs /usr/bin/time (GNU) and python3.
# Besides the table it writes DIR/e2e-summary.json (used by benches/splink.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  echo "usage: $0 [--threads N] ENTITIES [path/to/golden]" >&2
  exit 2
}

# --- arguments: --threads may come anywhere; the rest are positional --------------------------
threads=""
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) [ $# -ge 2 ] || usage; threads=$2; shift 2 ;;
    --threads=*) threads=${1#--threads=}; shift ;;
    -h|--help) usage ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -ge 1 ] && [ ${#positional[@]} -le 2 ] || usage
entities=${positional[0]}
golden=${positional[1]:-}
case "$entities" in ''|*[!0-9]*) echo "ENTITIES must be a number: $entities" >&2; exit 2 ;; esac

# --- the binary: given, or a release build (built when missing) --------------------------------
if [ -z "$golden" ]; then
  target_dir=${CARGO_TARGET_DIR:-$root/target}
  golden=$target_dir/release/golden
  if [ ! -x "$golden" ]; then
    (cd "$root" && CARGO_TARGET_DIR=$target_dir cargo build --release)
  fi
fi
golden=$(cd "$(dirname "$golden")" && pwd)/$(basename "$golden")
[ -x "$golden" ] || { echo "not an executable: $golden" >&2; exit 1; }

# --- data: generated once per size and seed, then reused ---------------------------------------
work=${WORK:-$root/target/bench-e2e-$entities}
dir=$work/data-$entities
if [ ! -f "$dir/.generated" ]; then
  rm -rf "$dir"
  mkdir -p "$work"
  gen_start=$(date +%s.%N)
  "$golden" generate --entities "$entities" --seed 42 --out "$dir"
  gen_end=$(date +%s.%N)
  echo "generated in $(python3 -c "print(f'{$gen_end - $gen_start:.1f}')") s" >&2
  touch "$dir/.generated"
fi

# --- the run, under GNU time: "%e %M" = wall seconds, peak RSS KiB -----------------------------
rm -rf "$dir/out"   # a fresh output directory: no earlier runs, no lock
run_args=(run "$dir/pipeline.toml")
[ -n "$threads" ] && run_args+=(--threads "$threads")
echo "+ $golden ${run_args[*]}" >&2
/usr/bin/time -f '%e %M' -o "$dir/time.txt" "$golden" --log-format json "${run_args[@]}" \
  >"$dir/run.out" 2>"$dir/run.log" || {
  echo "golden run failed; last log lines:" >&2
  tail -20 "$dir/run.log" >&2
  exit 1
}

# --- accuracy ----------------------------------------------------------------------------------
"$golden" evaluate "$dir/out" --truth "$dir/truth.csv" >"$dir/evaluate.txt" 2>"$dir/evaluate.log"

# --- report: manifest timings and counts, GNU time figures, evaluate's pairwise line -----------
python3 - "$dir" "$golden" "$entities" "$threads" <<'PY'
import json, re, sys

d, golden, entities, threads = sys.argv[1:5]
manifest = json.load(open(f"{d}/out/latest/manifest.json"))
wall, rss_kib = open(f"{d}/time.txt").read().split()[-2:]
evaluation = open(f"{d}/evaluate.txt").read()
m = re.search(r"precision ([\d.]+)\s+recall ([\d.]+)\s+F1 ([\d.]+)", evaluation)
precision, recall, f1 = (float(x) for x in m.groups()) if m else (None, None, None)

counts, timings = manifest["counts"], manifest["timings_s"]
# Stages in the order a run executes them; anything new is listed after.
order = ["checksum", "ingest", "standardize", "block", "compare", "train", "score",
         "cluster", "stable_ids", "survive", "write"]
stages = [s for s in order if s in timings] + sorted(s for s in timings if s not in order)

summary = {
    "tool": "golden",
    "binary": golden,
    "entities": int(entities),
    "threads": manifest.get("threads"),
    "records": counts["records"],
    "candidate_pairs": counts["candidate_pairs"],
    "match_pairs": counts.get("match_pairs"),
    "golden_records": counts.get("golden_records"),
    "wall_s": float(wall),
    "peak_rss_mib": int(rss_kib) / 1024,
    "timings_s": {s: timings[s] for s in stages},
    "precision": precision,
    "recall": recall,
    "f1": f1,
}
json.dump(summary, open(f"{d}/e2e-summary.json", "w"), indent=2)

print(f"golden e2e: {entities} entities, threads {summary['threads']}"
      f"{' (--threads ' + threads + ')' if threads else ''}, binary {golden}")
print(f"  {'records':<22}{summary['records']:>12,}")
print(f"  {'candidate pairs':<22}{summary['candidate_pairs']:>12,}")
print(f"  {'match pairs':<22}{summary['match_pairs']:>12,}")
print(f"  {'golden records':<22}{summary['golden_records']:>12,}")
print(f"  {'wall time (s)':<22}{summary['wall_s']:>12.2f}")
print(f"  {'peak RSS (MiB)':<22}{summary['peak_rss_mib']:>12.1f}")
print(f"  {'pairwise P / R / F1':<22}{precision:.4f} / {recall:.4f} / {f1:.4f}")
print("  per-stage seconds:")
total = sum(timings.values())
for s in stages:
    share = 100 * timings[s] / total if total else 0
    print(f"    {s:<20}{timings[s]:>10.3f}  {share:5.1f}%")
print(f"    {'(sum of stages)':<20}{total:>10.3f}")
PY
