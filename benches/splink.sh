#!/usr/bin/env bash
# golden against Splink (DuckDB backend) on the same generated data and the same prediction
# blocking rules, in one script run: wall time, peak RSS, pairwise precision / recall / F1 and
# pairs per blocking rule, side by side, with the ratios.
#
# Usage: benches/splink.sh [--rules generated|five|four] [--threads N] ENTITIES [path/to/golden]
#   --rules      the prediction blocking rules of both tools (default generated), as for
#                benches/e2e.sh. golden runs through benches/e2e.sh with them; when they are not
#                the generated pipeline's own, golden also runs with --rules generated, so the
#                table shows golden (same rules), golden (own rules) and Splink. golden runs
#                with the chosen rules again after Splink; its wall time in the table is the
#                mean of the runs before and after Splink (each is printed).
#   --threads N  passed to golden (Splink's DuckDB uses every core either way)
# Splink is run as a careful user runs it (benches/splink_dedupe.py): the three exports mapped to
# one table with simple standardisation; Splink's recommended comparisons; the prior from
# deterministic rules; u by random sampling of 1e7 pairs; EM on blocking rules chosen so each
# session sees a manageable number of pairs (email; last_name + birth_date); golden's
# metaphone(first_name) key becomes substr(first_name, 1, 2), as DuckDB has no metaphone.
# Before the timed run, an untimed blocking analysis in its own process counts the pairs of each
# prediction rule and each EM rule with Splink's count_comparisons_from_blocking_rules.
# Environment:
#   WORK          as for benches/e2e.sh (data in WORK/data-ENTITIES)
#   REUSE_GOLDEN  1: take golden's figures from earlier e2e.sh runs on the same data
#                 (DIR/e2e-summary-LABEL.json) instead of running golden again
#   SPLINK_VENV   a virtual environment that already has Splink (and DuckDB); unset, one is
#                 created once in ${WORK:-target}/splink-venv (network access to PyPI once)
#   SPLINK_VERSION pip requirement for that created venv (default splink==5.0.0, as measured)
# Writes in the data directory DIR, besides e2e.sh's files: splink-pairs-RULES.json (the blocking
# analysis), splink-summary-RULES.json (the timed job), splink-vs-golden-RULES.json (the table),
# splink-count-RULES.log and splink-dedupe-RULES.log. Every heavy step runs under `nice -n 19`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  echo "usage: $0 [--rules generated|five|four] [--threads N] ENTITIES [path/to/golden]" >&2
  exit 2
}

# --- arguments ---------------------------------------------------------------------------------
rules=generated
threads_args=()
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rules) [ $# -ge 2 ] || usage; rules=$2; shift 2 ;;
    --rules=*) rules=${1#--rules=}; shift ;;
    --threads) [ $# -ge 2 ] || usage; threads_args=(--threads "$2"); shift 2 ;;
    --threads=*) threads_args=(--threads "${1#--threads=}"); shift ;;
    -h|--help) usage ;;
    *) positional+=("$1"); shift ;;
  esac
done
# shellcheck source=benches/args.sh
. "$root/benches/args.sh"
entities_and_binary "${positional[@]}"
case "$rules" in
  generated|five|four) ;;
  *) echo "--rules must be generated, five or four: $rules" >&2; exit 2 ;;
esac

# Same data directory as benches/e2e.sh computes.
dir=${WORK:-$root/target/bench-e2e-$entities}/data-$entities

# golden_run LABEL: golden through benches/e2e.sh --rules LABEL (which generates the data once),
# or its earlier figures under REUSE_GOLDEN=1.
golden_run() {
  local label=$1
  if [ "${REUSE_GOLDEN:-0}" = 1 ] && [ -f "$dir/e2e-summary-$label.json" ]; then
    echo "reusing golden's figures from $dir/e2e-summary-$label.json" >&2
  else
    nice -n 19 "$root/benches/e2e.sh" "${threads_args[@]}" --rules "$label" "$entities" \
      ${golden:+"$golden"}
  fi
}

# splink_python: the venv's python, from SPLINK_VENV or the one created here once.
splink_python() {
  local venv
  if [ -n "${SPLINK_VENV:-}" ]; then
    venv=$SPLINK_VENV
    "$venv/bin/python" -c "import splink, duckdb" 2>/dev/null ||
      { echo "SPLINK_VENV=$venv has no python with splink and duckdb" >&2; exit 1; }
  else
    venv=${WORK:-$root/target}/splink-venv
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import splink" 2>/dev/null; then
      python3 -m venv "$venv" >&2
      "$venv/bin/pip" install --quiet --upgrade pip >&2
      "$venv/bin/pip" install --quiet "${SPLINK_VERSION:-splink==5.0.0}" >&2
    fi
  fi
  echo "$venv/bin/python"
}

# splink_job MODE: benches/splink_dedupe.py count|dedupe on the data; dedupe under GNU time.
splink_job() {
  local mode=$1 log=$dir/splink-$1-$rules.log
  local cmd=(nice -n 19 "$python" "$root/benches/splink_dedupe.py" "$mode" "$dir" "$rules"
             "$root/benches/quality")
  if [ "$mode" = dedupe ]; then
    cmd=(/usr/bin/time -f '%e %M' -o "$dir/splink-time-$rules.txt" "${cmd[@]}")
  fi
  echo "+ splink $mode ($splink_version) on $dir, rules $rules" >&2
  "${cmd[@]}" >"$log" 2>&1 || {
    echo "splink $mode failed; last log lines:" >&2
    tail -30 "$log" >&2
    exit 1
  }
}

# keep_golden LABEL WHEN: a copy of golden's latest figures with LABEL as
# e2e-summary-LABEL-WHEN.json, for splink_report.py.
keep_golden() {
  cp "$dir/e2e-summary-$1.json" "$dir/e2e-summary-$1-$2.json"
}

# --- golden with the chosen rules, then with its own when they differ --------------------------
# golden's run is seconds and Splink's minutes, and this machine's speed drifts by up to a third
# within minutes: golden runs with the chosen rules both before and after Splink, and the table
# gives their mean (each one is printed too), so both tools are timed across the same phases.
rm -f "$dir/e2e-summary-$rules-before.json" "$dir/e2e-summary-$rules-after.json"
golden_run "$rules"
keep_golden "$rules" before
[ "$rules" = generated ] || golden_run generated

# --- Splink: blocking analysis (untimed), then the timed job ----------------------------------
python=$(splink_python)
splink_version=$("$python" -c "import importlib.metadata as m; print(m.version('splink'), m.version('duckdb'))")
splink_job count
splink_job dedupe
if [ "${REUSE_GOLDEN:-0}" != 1 ]; then
  golden_run "$rules"
  keep_golden "$rules" after
fi

# --- side by side ------------------------------------------------------------------------------
python3 "$root/benches/splink_report.py" "$dir" "$rules" "$splink_version"
