#!/usr/bin/env bash
# golden against Splink (DuckDB backend) on the same generated data: wall time, peak RSS and
# pairwise precision / recall / F1, side by side, with the ratio.
#
# Usage: benches/splink.sh ENTITIES [path/to/golden]
#   The golden side is benches/e2e.sh ENTITIES [path/to/golden] (same data directory, same
#   defaults). Splink reads the generated crm.csv, billing.parquet and support.ndjson, maps them
#   to one table in golden's canonical columns with simple standardisation, and runs its
#   recommended dedupe with blocking rules equivalent to the generated pipeline's.
# Environment:
#   WORK          as for benches/e2e.sh (data in WORK/data-ENTITIES); the venv goes to
#                 ${WORK:-target}/splink-venv and is reused
#   REUSE_GOLDEN  1: take golden's figures from an earlier e2e.sh run on the same data
#                 (DIR/e2e-summary.json) instead of running golden again
#   SPLINK_VERSION pip requirement for Splink (default splink==5.0.0, the version measured)
# Heavy: run it under `nice -n 19` on a shared machine. Needs network access to PyPI once.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 ENTITIES [path/to/golden]" >&2; exit 2; }
entities=$1
golden=${2:-}
case "$entities" in ''|*[!0-9]*) echo "ENTITIES must be a number: $entities" >&2; exit 2 ;; esac

# Same data directory as benches/e2e.sh computes.
dir=${WORK:-$root/target/bench-e2e-$entities}/data-$entities
venv=${WORK:-$root/target}/splink-venv
splink_req=${SPLINK_VERSION:-splink==5.0.0}

# --- golden: benches/e2e.sh generates the data (once) and writes DIR/e2e-summary.json ----------
if [ "${REUSE_GOLDEN:-0}" = 1 ] && [ -f "$dir/e2e-summary.json" ]; then
  echo "reusing golden's figures from $dir/e2e-summary.json" >&2
else
  "$root/benches/e2e.sh" "$entities" ${golden:+"$golden"}
fi

# --- the Splink venv (created once) ------------------------------------------------------------
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import splink" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "$splink_req"
fi
splink_version=$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('splink'), m.version('duckdb'))")

# --- the Splink job: load, standardise, train, predict, cluster, score -------------------------
cat >"$dir/splink_dedupe.py" <<'PY'
"""Splink dedupe of golden's generated sources; writes splink-summary.json next to the data."""
import json
import logging
import sys
import time

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from splink_quality import RAW, pairwise_scores  # noqa: E402  (benches/quality)
logging.basicConfig(level=logging.WARNING)
phases = {}
t = time.perf_counter()

def phase(name):
    """Records the seconds since the previous phase ended."""
    global t
    now = time.perf_counter()
    phases[name] = now - t
    t = now

con = duckdb.connect()

# Every column as text: the sources write dates and phones in their own formats. The loader is
# the quality suite's (benches/quality/splink_quality.py), whose directory is argv[2].
con.execute("create table raw as " + RAW["generated"].format(d=d)).fetchall()

# Simple standardisation: trimmed lowercase ASCII text; e-mail without +tags and Gmail dots;
# phones as the 10-digit GB national number (digits only, 44 / 0 prefix dropped); postcodes
# upper case without spaces; dates from DD/MM/YYYY, YYYY-MM-DD, YYYYMMDD and
# YYYY-MM-DDT00:00:00 (the generator's formats) to ISO YYYY-MM-DD.
con.execute(r"""
create table records as
with t as (
  select source || ':' || source_id as unique_id,
         nullif(lower(strip_accents(trim(first_name))), '') as first_name,
         nullif(lower(strip_accents(trim(last_name))), '') as last_name,
         nullif(lower(trim(email)), '') as email,
         nullif(regexp_replace(phone, '[^0-9]', '', 'g'), '') as phone_digits,
         nullif(lower(trim(street)), '') as street,
         nullif(lower(strip_accents(trim(city))), '') as city,
         nullif(upper(replace(postcode, ' ', '')), '') as postcode,
         trim(birth_date) as birth_date_raw
  from raw
)
select unique_id, first_name, last_name,
       case when split_part(email, '@', 2) in ('gmail.com', 'googlemail.com')
            then replace(split_part(split_part(email, '@', 1), '+', 1), '.', '') || '@gmail.com'
            when contains(email, '@')
            then split_part(split_part(email, '@', 1), '+', 1) || '@' || split_part(email, '@', 2)
       end as email,
       case when length(phone_digits) = 12 and starts_with(phone_digits, '44') then phone_digits[3:]
            when length(phone_digits) = 11 and starts_with(phone_digits, '0') then phone_digits[2:]
            else phone_digits end as phone,
       street, city, postcode,
       strftime(coalesce(
         try_strptime(birth_date_raw, '%d/%m/%Y'),
         try_strptime(birth_date_raw, '%Y-%m-%d'),
         try_strptime(birth_date_raw, '%Y%m%d'),
         try_strptime(birth_date_raw, '%Y-%m-%dT%H:%M:%S')), '%Y-%m-%d') as birth_date
from t
""").fetchall()
records = con.execute("select count(*) from records").fetchall()[0][0]
phase("load_standardize")

# Blocking: the generated pipeline's rules. golden's ["metaphone(first_name)", "postcode"] has
# no DuckDB equivalent; the first two letters of the first name stand in for the metaphone key.
settings = SettingsCreator(
    link_type="dedupe_only",
    blocking_rules_to_generate_predictions=[
        block_on("email"),
        block_on("phone"),
        block_on("last_name", "birth_date"),
        block_on("substr(first_name, 1, 2)", "postcode"),
        block_on("first_name", "birth_date"),
    ],
    comparisons=[
        cl.NameComparison("first_name"),
        # golden adjusts last_name for term frequency; so does this
        cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
        cl.EmailComparison("email"),
        cl.ExactMatch("phone"),
        cl.LevenshteinAtThresholds("street", [1, 3]),
        cl.JaroWinklerAtThresholds("city", [0.9]),
        cl.ExactMatch("postcode"),
        cl.DateOfBirthComparison("birth_date", input_is_string=True,
                                 datetime_format="%Y-%m-%d"),
    ],
    retain_intermediate_calculation_columns=False,
    retain_matching_columns=False,
)
db_api = DuckDBAPI(connection=con)
# Splink 5: input tables are registered with the database API first; level WARNING keeps
# Splink's progress messages out of the log.
linker = Linker(db_api.register("records"), settings, log_level=logging.WARNING)
phase("setup")

linker.training.estimate_probability_two_random_records_match(
    [block_on("email"), block_on("first_name", "last_name", "birth_date")], recall=0.8)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=42)
linker.training.estimate_parameters_using_expectation_maximisation(
    block_on("first_name", "last_name"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
phase("train")

predictions = linker.inference.predict(threshold_match_probability=0.9)
pairs = con.execute(f"select count(*) from {predictions.physical_name}").fetchall()[0][0]
phase("predict")

clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9)
phase("cluster")

scores = pairwise_scores(con, clusters.physical_name, d)
clusters_n = con.execute(
    f"select count(distinct cluster_id) from {clusters.physical_name}").fetchall()[0][0]
phase("evaluate")

json.dump({
    "tool": "splink",
    "records": records,
    "predicted_pairs_over_0.9": pairs,
    "clusters": clusters_n,
    "phases_s": phases,
    **scores,
}, open(f"{d}/splink-summary.json", "w"), indent=2)
PY

echo "+ splink $splink_version on $dir" >&2
/usr/bin/time -f '%e %M' -o "$dir/splink-time.txt" \
  "$venv/bin/python" "$dir/splink_dedupe.py" "$dir" "$root/benches/quality" >"$dir/splink.log" 2>&1 || {
  echo "splink failed; last log lines:" >&2
  tail -30 "$dir/splink.log" >&2
  exit 1
}

# --- side by side ------------------------------------------------------------------------------
python3 - "$dir" "$splink_version" <<'PY'
import json, sys

d, version = sys.argv[1:3]
g = json.load(open(f"{d}/e2e-summary.json"))
s = json.load(open(f"{d}/splink-summary.json"))
wall, rss_kib = open(f"{d}/splink-time.txt").read().split()[-2:]
s["wall_s"], s["peak_rss_mib"] = float(wall), int(rss_kib) / 1024

def ratio(a, b):
    return f"{a / b:.2f}x" if b else "-"

print(f"\ngolden vs splink {version.split()[0]} (duckdb {version.split()[1]}): "
      f"{g['entities']} entities, {g['records']:,} records ({s['records']:,} in Splink)")
print(f"  {'':<26}{'golden':>12}{'splink':>12}{'splink/golden':>15}")
rows = [
    ("wall time (s)", g["wall_s"], s["wall_s"], "{:.2f}"),
    ("peak RSS (MiB)", g["peak_rss_mib"], s["peak_rss_mib"], "{:.1f}"),
    ("pairwise precision", g["precision"], s["precision"], "{:.4f}"),
    ("pairwise recall", g["recall"], s["recall"], "{:.4f}"),
    ("pairwise F1", g["f1"], s["f1"], "{:.4f}"),
]
for name, a, b, fmt in rows:
    print(f"  {name:<26}{fmt.format(a):>12}{fmt.format(b):>12}{ratio(b, a):>15}")
print(f"  {'pairs scored >= 0.9':<26}{g['match_pairs']:>12,}{s['predicted_pairs_over_0.9']:>12,}")
print(f"  {'clusters':<26}{g['golden_records']:>12,}{s['clusters']:>12,}")
print("  splink phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in s["phases_s"].items()))
PY
