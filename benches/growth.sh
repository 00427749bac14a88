#!/usr/bin/env bash
# How golden's cost grows with the data: benches/e2e.sh --rules generated at several sizes, one
# after the other, then one table with, per stage, seconds and µs per record (µs per candidate
# pair for the pair stages) and the peak RSS so far when the stage ended at each size, and wall
# time and peak RSS per size. Cost that grows
# with the data shows as per-unit figures that stay flat across the columns.
#
# Usage: benches/growth.sh [--threads N] [path/to/golden]
#   path/to/golden and --threads as for benches/e2e.sh
# Environment:
#   SIZES   entities per run (default "100000 1000000 6000000"; 6M is about 10.7M records and
#           needs several GiB and minutes: try SIZES="20000 100000" first)
#   WORK    as for benches/e2e.sh; unset, each size has its own target/bench-e2e-SIZE
# Each run is under `nice -n 19`. Writes growth-summary.json in ${WORK:-target}.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=${SIZES:-100000 1000000 6000000}

usage() {
  echo "usage: $0 [--threads N] [path/to/golden]" >&2
  exit 2
}

threads_args=()
golden=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) [ $# -ge 2 ] || usage; threads_args=(--threads "$2"); shift 2 ;;
    --threads=*) threads_args=(--threads "${1#--threads=}"); shift ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [ -z "$golden" ] || usage; golden=$1; shift ;;
  esac
done

# summary_of SIZE: the summary file e2e.sh writes for that size (its data directory rule).
summary_of() {
  echo "${WORK:-$root/target/bench-e2e-$1}/data-$1/e2e-summary-generated.json"
}

summaries=()
for size in $sizes; do
  case "$size" in ''|*[!0-9]*) echo "SIZES must hold numbers: $size" >&2; exit 2 ;; esac
  echo "=== $size entities" >&2
  nice -n 19 "$root/benches/e2e.sh" "${threads_args[@]}" --rules generated "$size" \
    ${golden:+"$golden"} >&2
  summaries+=("$(summary_of "$size")")
done

python3 - "${WORK:-$root/target}/growth-summary.json" "${summaries[@]}" <<'PY'
import json, sys

out, paths = sys.argv[1], sys.argv[2:]
runs = [json.load(open(p)) for p in paths]

def order(runs):
    """Stage names in run order, the union over all runs."""
    names = []
    for r in runs:
        names += [s for s in r["stages"] if s not in names]
    return names

def cell(run, stage):
    """Seconds, the per-unit figure and the peak RSS so far of one stage in one run, as text."""
    st = run["stages"].get(stage)
    if st is None:
        return f"{'-':>9}{'-':>9}{'-':>9}"
    unit = st["us_per_pair"] if st["per"] == "pair" else st["us_per_record"]
    peak = "-" if st["peak_rss_mib"] is None else f"{st['peak_rss_mib']:.0f}"
    return f"{st['seconds']:>9.2f}{unit:>9.3f}{peak:>9}"

print(f"golden cost growth, --rules generated, binary {runs[0]['binary']}")
head = "".join(f"{r['entities']:>27,}" for r in runs)
print(f"  {'':<26}{head}")
print(f"  {'records':<26}" + "".join(f"{r['records']:>27,}" for r in runs))
print(f"  {'candidate pairs':<26}" + "".join(f"{r['candidate_pairs']:>27,}" for r in runs))
print(f"  {'wall s':<26}" + "".join(f"{r['wall_s']:>27.2f}" for r in runs))
print(f"  {'peak RSS MiB':<26}" + "".join(f"{r['peak_rss_mib']:>27.1f}" for r in runs))
print(f"  {'wall µs/record':<26}" + "".join(f"{r['wall_s'] * 1e6 / r['records']:>27.3f}" for r in runs))
print(f"  {'F1':<26}" + "".join(f"{r['f1']:>27.4f}" for r in runs))
print(f"  {'stage (unit)':<26}" + "".join(f"{'s':>9}{'µs/unit':>9}{'peak MiB':>9}" for r in runs))
for stage in order(runs):
    per = next(r["stages"][stage]["per"] for r in runs if stage in r["stages"])
    print(f"  {stage + ' (' + per + ')':<26}" + "".join(cell(r, stage) for r in runs))
print("  (units: µs per record, or per candidate pair for the stages marked (pair); peak MiB:"
      " the process's peak RSS so far when the stage ended)")
json.dump([{k: r[k] for k in ("entities", "records", "candidate_pairs", "wall_s",
                              "peak_rss_mib", "f1", "stages")} for r in runs],
          open(out, "w"), indent=2)
PY
