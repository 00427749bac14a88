#!/usr/bin/env bash
# End-to-end speed of `golden run` on generated data: records, candidate pairs, wall time, peak
# RSS, and per stage the seconds, CPU seconds, peak RSS when the stage ended and the cost per
# record and per candidate pair; pairwise F1 against truth.
#
# Usage: benches/e2e.sh [--threads N] [--rules NAME | --pipeline FILE] ENTITIES [path/to/golden]
#   ENTITIES       real people to generate (records are about 1.8x this)
#   path/to/golden default: $CARGO_TARGET_DIR/release/golden (or target/release/golden),
#                  built with `cargo build --release` when missing
#   --threads N    passed through to `golden run` (rayon and tokio threads; default all cores)
#   --rules NAME   which pipeline runs, derived from the generated pipeline.toml:
#                    generated  the generated pipeline as is (default; tuned levels, [model])
#                    five       what a new user writes from the README: no `levels`, no [model]
#                               (untuned), blocking rules email, phone, last_name+birth_date,
#                               metaphone(first_name)+postcode, first_name+last_name
#                    four       `five` without its last rule
#   --pipeline FILE run FILE instead; it is copied into the data directory when it lives
#                  elsewhere, because golden resolves a source's relative `path` against the
#                  pipeline file's directory
# Environment:
#   WORK           working directory (default target/bench-e2e-ENTITIES); the data lands in
#                  WORK/data-ENTITIES and is reused by later calls (same seed, same files)
# Heavy: run it under `nice -n 19` on a shared machine. Needs /usr/bin/time (GNU) and python3.
# Writes, in the data directory DIR: out/ (generated) or out-LABEL/ (the run), run-LABEL.log
# (golden's JSON log at debug level), e2e-summary-LABEL.json and a copy as e2e-summary.json
# (the latest run; benches/splink.sh and benches/growth.sh read the per-label file). LABEL is
# the --rules name, or the pipeline file's name without .toml.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

# The README's five rules, as TOML lines of [blocking] rules; `four` drops the last line.
FIVE_RULES='  ["email"],
  ["phone"],
  ["last_name", "birth_date"],
  ["metaphone(first_name)", "postcode"],
  ["first_name", "last_name"],'

usage() {
  echo "usage: $0 [--threads N] [--rules generated|five|four | --pipeline FILE] ENTITIES [path/to/golden]" >&2
  exit 2
}

# --- arguments: options may come anywhere; the rest are positional -----------------------------
threads=""
rules=""
pipeline_file=""
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) [ $# -ge 2 ] || usage; threads=$2; shift 2 ;;
    --threads=*) threads=${1#--threads=}; shift ;;
    --rules) [ $# -ge 2 ] || usage; rules=$2; shift 2 ;;
    --rules=*) rules=${1#--rules=}; shift ;;
    --pipeline) [ $# -ge 2 ] || usage; pipeline_file=$2; shift 2 ;;
    --pipeline=*) pipeline_file=${1#--pipeline=}; shift ;;
    -h|--help) usage ;;
    *) positional+=("$1"); shift ;;
  esac
done
# shellcheck source=benches/args.sh
. "$root/benches/args.sh"
entities_and_binary "${positional[@]}"
if [ -n "$rules" ] && [ -n "$pipeline_file" ]; then
  echo "--rules and --pipeline exclude each other" >&2; exit 2
fi
case "${rules:-generated}" in
  generated|five|four) ;;
  *) echo "--rules must be generated, five or four: $rules" >&2; exit 2 ;;
esac
if [ -n "$pipeline_file" ] && [ ! -f "$pipeline_file" ]; then
  echo "no pipeline file: $pipeline_file" >&2; exit 2
fi

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

# derive_rules NAME SRC DEST: the `five` or `four` pipeline from the generated one, by text edits
# (as a user edits the file): drop every `levels = [...]` line and the [model] section, and
# replace [blocking] rules. The result is checked by parsing it, so a change in the generated
# file's layout fails here instead of benchmarking the wrong pipeline.
derive_rules() {
  local name=$1 src=$2 dest=$3 text=$FIVE_RULES
  [ "$name" = four ] && text=$(printf '%s\n' "$FIVE_RULES" | sed '$d')
  RULES_TEXT=$text awk '
    /^\[/ { section = $0 }                      # [blocking], [model], [[comparisons]], ...
    section == "[model]" { next }               # untuned: no thresholds, no term_frequency
    /^levels = / { next }                       # untuned: the comparison methods default levels
    section == "[blocking]" && /^rules = \[/ {  # the rules list, one rule a line, up to "]"
      print "rules = ["; print ENVIRON["RULES_TEXT"]; print "]"; skipping = 1; next
    }
    skipping { if ($0 == "]") skipping = 0; next }
    { print }
  ' "$src" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$dest"   # no blank lines at the end
  python3 - "$dest" "$name" <<'PY'
import sys, tomllib
path, name = sys.argv[1:3]
p = tomllib.load(open(path, "rb"))
want = [["email"], ["phone"], ["last_name", "birth_date"], ["metaphone(first_name)", "postcode"],
        ["first_name", "last_name"]][: 5 if name == "five" else 4]
problems = []
if p.get("blocking", {}).get("rules") != want:
    problems.append(f"blocking rules {p.get('blocking', {}).get('rules')}")
if "model" in p:
    problems.append("a [model] section")
if any("levels" in c for c in p.get("comparisons", [])):
    problems.append("comparison levels")
if problems:
    sys.exit(f"{path}: derived `{name}` pipeline has " + "; ".join(problems))
PY
}

# --- the pipeline to run, and the label its files carry ----------------------------------------
if [ -n "$pipeline_file" ]; then
  label=$(basename "$pipeline_file" .toml)
  pipeline=$dir/$(basename "$pipeline_file")
  if [ "$(cd "$(dirname "$pipeline_file")" && pwd)" != "$dir" ]; then
    [ "$label" = pipeline ] && { echo "name the pipeline file something other than pipeline.toml" >&2; exit 2; }
    cp "$pipeline_file" "$pipeline"
    echo "copied $pipeline_file to $pipeline (relative paths resolve against the data)" >&2
  fi
else
  label=${rules:-generated}
  pipeline=$dir/pipeline.toml
  if [ "$label" != generated ]; then
    pipeline=$dir/pipeline-$label.toml
    derive_rules "$label" "$dir/pipeline.toml" "$pipeline"
  fi
fi
# The generated pipeline keeps writing to out/ (benches/incremental.sh reads it there).
out=$dir/out
[ "$label" = generated ] || out=$dir/out-$label

# --- the run, under GNU time: "%e %M" = wall seconds, peak RSS KiB -----------------------------
# Debug level for golden's "stage resources" lines (CPU seconds and RSS at the end of each
# stage); they are a few lines per stage whatever the size, so they do not slow the run.
rm -rf "$out"   # a fresh output directory: no earlier runs, no lock
run_args=(run "$pipeline" --output "$out")
[ -n "$threads" ] && run_args+=(--threads "$threads")
log=$dir/run-$label.log
echo "+ RUST_LOG=golden=debug $golden --log-format json ${run_args[*]}" >&2
RUST_LOG=golden=debug /usr/bin/time -f '%e %M' -o "$dir/time-$label.txt" \
  "$golden" --log-format json "${run_args[@]}" >"$dir/run-$label.out" 2>"$log" || {
  echo "golden run failed; last log lines:" >&2
  tail -20 "$log" >&2
  exit 1
}

# --- accuracy ----------------------------------------------------------------------------------
"$golden" evaluate "$out" --truth "$dir/truth.csv" >"$dir/evaluate-$label.txt" 2>"$dir/evaluate-$label.log"

# --- report: the table on stdout, the figures in e2e-summary-LABEL.json ------------------------
python3 "$root/benches/e2e_report.py" --dir "$dir" --label "$label" --out "$out" \
  --golden "$golden" --entities "$entities" --threads-arg "$threads"
cp "$dir/e2e-summary-$label.json" "$dir/e2e-summary.json"
