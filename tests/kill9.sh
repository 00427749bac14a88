#!/usr/bin/env bash
# Issue 12, "must show": kill -9 at five moments of a run, each followed by a plain
# `golden run` (no flags) that succeeds; then incremental and `--full` on the same inputs give
# the same partition.
#
#   tests/kill9.sh GOLDEN_BINARY WORK_DIR [ENTITIES]     (ENTITIES: default 100000)
#
# Generates ENTITIES people with `golden generate` into WORK_DIR/data, commits a first run into
# WORK_DIR/out, then five times starts a run and kills it with SIGKILL right after the log line
# of one stage (ingest, block, compare, cluster, survive); after each kill `latest` must still
# be a complete run and a plain `golden run` must succeed (taking over the dead run's lock).
# Last, it changes the CRM export, runs incrementally into WORK_DIR/out and with `--full` into
# the same directory, and compares the two runs' partitions (python3). Exit 0 when all holds.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 GOLDEN_BINARY WORK_DIR [ENTITIES]" >&2
  exit 2
fi
golden=$(realpath "$1")
work=$2
entities=${3:-100000}
data=$work/data
out=$work/out
pipeline=$data/pipeline.toml
export NO_COLOR=1

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The directory `latest` points at.
latest_dir() {
  local target
  target=$(readlink "$out/latest") || fail "latest is not a link"
  echo "$out/$target"
}

# Asserts that `latest` is a committed run whose manifest says succeeded and whose tables read.
check_latest() {
  local dir
  dir=$(latest_dir)
  [ -d "$dir" ] || fail "latest points at $dir, which does not exist"
  grep -q '"status": *"succeeded"' "$dir/manifest.json" || fail "$dir: manifest does not say succeeded"
  "$golden" query "$dir" "select count(*) from crosswalk" --format csv >/dev/null ||
    fail "$dir: crosswalk does not read"
}

# A plain run (no flags) that must succeed.
plain_run() {
  "$golden" run "$pipeline" --output "$out" >/dev/null 2>"$work/plain.log" ||
    fail "a plain golden run failed after $1 (exit $?): $(tail -5 "$work/plain.log")"
}

mkdir -p "$work"
rm -rf "$data" "$out" "$out-full"
echo "generating $entities entities into $data"
"$golden" generate --entities "$entities" --seed 12 --out "$data" >/dev/null
plain_run "the first run"
check_latest

for stage in ingest block compare cluster survive; do
  before=$(latest_dir)
  log=$work/killed-$stage.log
  RUST_LOG=golden=info "$golden" run "$pipeline" --output "$out" >/dev/null 2>"$log" &
  pid=$!
  # Wait for the stage's "stage completed" line, then kill at once.
  until grep -q "stage completed.*stage=\"$stage\"" "$log"; do
    kill -0 "$pid" 2>/dev/null || fail "the run ended before stage $stage completed: $(tail -3 "$log")"
    sleep 0.02
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  check_latest
  now=$(latest_dir)
  [ -e "$out/.lock" ] && lock="lock left behind" || lock="no lock left"
  echo "killed after stage $stage: latest intact ($([ "$now" = "$before" ] && echo unchanged || echo "the killed run's")), $lock"
  plain_run "a kill after stage $stage"
  check_latest
  [ ! -e "$out/.lock" ] || fail "the lock is still there after a successful run"
  if ls -A "$out/runs" | grep -q '^\.tmp-'; then
    fail "a committed run left .tmp- directories: $(ls -A "$out/runs")"
  fi
  echo "  a plain run after it succeeded: $(basename "$(latest_dir)")"
done

# A change to the inputs: every 50th CRM record leaves, every 40th changes its e-mail.
awk -F, -v OFS=, 'NR == 1 { print; next } NR % 50 == 0 { next } NR % 40 == 0 { sub(/@/, "x@", $0) } { print }' \
  "$data/crm.csv" >"$data/crm.csv.new"
mv "$data/crm.csv.new" "$data/crm.csv"
"$golden" run "$pipeline" --output "$out" >/dev/null 2>"$work/inc.log" || fail "incremental run: $(tail -5 "$work/inc.log")"
inc=$(latest_dir)
grep -q '"mode": *"incremental"' "$inc/manifest.json" || fail "the run after the change was not incremental"
"$golden" run "$pipeline" --output "$out-full" --full >/dev/null 2>"$work/full.log" || fail "--full run: $(tail -5 "$work/full.log")"
full=$(cd "$out-full" && realpath "$(readlink latest)")
for run in "$inc" "$full"; do
  "$golden" query "$run" "select source, source_id, golden_id from crosswalk" --format csv \
    >"$work/$(basename "$run").csv"
done
python3 - "$work/$(basename "$inc").csv" "$work/$(basename "$full").csv" <<'EOF'
import csv, sys

def partition(path):
    clusters = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            clusters.setdefault(row["golden_id"], set()).add((row["source"], row["source_id"]))
    return {frozenset(m) for m in clusters.values()}

inc, full = partition(sys.argv[1]), partition(sys.argv[2])
if inc != full:
    print(f"FAIL: partitions differ: {len(inc - full)} clusters only incremental, "
          f"{len(full - inc)} only --full", file=sys.stderr)
    sys.exit(1)
print(f"incremental and --full give the same partition: {len(inc)} clusters")
EOF
echo "OK"
