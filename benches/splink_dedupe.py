"""Splink 5 (DuckDB) on golden's generated data, as a careful Splink user runs it.

Usage: python splink_dedupe.py count|dedupe DIR LABEL QUALITY_DIR
  DIR          the data directory of benches/e2e.sh (crm.csv, billing.parquet, support.ndjson,
               truth.csv, e2e-summary-LABEL.json)
  LABEL        the e2e.sh run whose pipeline gives the prediction blocking rules: the rules of
               the pipeline file named in DIR/e2e-summary-LABEL.json
  QUALITY_DIR  benches/quality, for the loader and the pairwise scores of splink_quality.py
count: the blocking analysis a careful user does before settling on rules, untimed and in its
  own process so it weighs on neither the timing nor the peak RSS of the run: exact pair counts
  of each prediction rule alone and after the rules before it, and of each EM training rule.
  Writes DIR/splink-pairs-LABEL.json.
dedupe: the timed job: load and standardise, train, predict, cluster, then score against
  truth. Writes DIR/splink-summary-LABEL.json with the seconds of each phase.
"""

import json
import logging
import sys
import time
import tomllib

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules

# golden's metaphone key has no DuckDB function; the first two letters of the first name stand
# in for it. Every other key is a plain column.
STAND_INS = {"metaphone(first_name)": "substr(first_name, 1, 2)"}
# EM training rules: each session must see a manageable number of pairs (about 1e4 to a few
# million at 1M entities) with a fair share of matches. Together they leave no comparison
# untrained: the email session trains every field but email; the last_name + birth_date session
# trains email. A single low-cardinality field such as birth_date alone gives tens of millions
# of pairs at 1M entities and made EM the bulk of Splink's time.
EM_RULES = [["email"], ["last_name", "birth_date"]]
EM_PAIRS_RANGE = (1e4, 5e6)
# The prior: deterministic rules with the recall a user expects of them (Splink's method).
DETERMINISTIC_RULES = [["email"], ["first_name", "last_name", "birth_date"]]
DETERMINISTIC_RECALL = 0.8
# u by random sampling with the pair budget Splink's documentation calls adequate (1e7).
U_MAX_PAIRS = 1e7
THRESHOLD = 0.9

# Simple standardisation: trimmed lowercase ASCII text; e-mail without +tags and Gmail dots;
# phones as the 10-digit GB national number (digits only, 44 / 0 prefix dropped); postcodes
# upper case without spaces; dates from DD/MM/YYYY, YYYY-MM-DD, YYYYMMDD and
# YYYY-MM-DDT00:00:00 (the generator's formats) to ISO YYYY-MM-DD.
STANDARDIZE_SQL = r"""
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
"""


class Phases:
    """Seconds of each phase, each measured from the end of the one before."""

    def __init__(self):
        self.seconds = {}
        self.t = time.perf_counter()

    def end(self, name):
        """Records the seconds since the previous phase ended."""
        now = time.perf_counter()
        self.seconds[name] = now - self.t
        self.t = now


def prediction_rules(d, label):
    """The blocking rules of the pipeline golden ran, as lists of Splink SQL expressions."""
    summary = json.load(open(f"{d}/e2e-summary-{label}.json"))
    with open(summary["pipeline"], "rb") as f:
        pipeline = tomllib.load(f)
    rules = []
    for rule in pipeline["blocking"]["rules"]:
        for key in rule:
            if "(" in key and key not in STAND_INS:
                sys.exit(f"no DuckDB stand-in for golden's blocking key {key}: add one to STAND_INS")
        rules.append([STAND_INS.get(key, key) for key in rule])
    return rules


def load(con, d):
    """The three exports as one standardised table `records`; returns its row count."""
    from splink_quality import RAW  # benches/quality/splink_quality.py: the raw columns as text

    con.execute("create table raw as " + RAW["generated"].format(d=d)).fetchall()
    con.execute(STANDARDIZE_SQL).fetchall()
    return con.execute("select count(*) from records").fetchall()[0][0]


def register(con):
    """`records` as Splink's input table (Splink 5 registers tables with the database API)."""
    return DuckDBAPI(connection=con).register("records")


def linker_for(records, rules):
    """A Linker over records with Splink's recommended comparisons and the given rules."""
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on(*r) for r in rules],
        comparisons=[
            cl.NameComparison("first_name"),
            # Splink's documentation adjusts surnames for term frequency; a careful user does
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
    # Level WARNING keeps Splink's progress messages out of the log.
    return Linker(records, settings, log_level=logging.WARNING)


def exact_pairs(records, rules):
    """Splink's exact blocking analysis of rules in order: [(alone, marginal, cumulative)]."""
    marginal = count_comparisons_from_blocking_rules(
        records, blocking_rules=[block_on(*r) for r in rules], link_type="dedupe_only",
        record_sample_proportion=1.0)
    alone = [count_comparisons_from_blocking_rules(
        records, blocking_rules=block_on(*r), link_type="dedupe_only",
        record_sample_proportion=1.0)[0]["marginal_comparison_count"] for r in rules]
    return [{"rule": " & ".join(r), "pairs": a, "marginal_pairs": m["marginal_comparison_count"],
             "cumulative_pairs": m["cumulative_comparison_count"]}
            for r, a, m in zip(rules, alone, marginal)]


def count(d, label):
    """The untimed blocking analysis: writes DIR/splink-pairs-LABEL.json."""
    con = duckdb.connect()
    load(con, d)
    rules = prediction_rules(d, label)
    records = register(con)
    em = exact_pairs(records, EM_RULES)
    for row in em:
        row["in_range"] = EM_PAIRS_RANGE[0] <= row["pairs"] <= EM_PAIRS_RANGE[1]
    with open(f"{d}/splink-pairs-{label}.json", "w") as f:
        json.dump({"prediction_rules": exact_pairs(records, rules), "em_rules": em,
                   "em_pairs_range": EM_PAIRS_RANGE}, f, indent=2)


def dedupe(d, label):
    """The timed job: writes DIR/splink-summary-LABEL.json."""
    from splink_quality import pairwise_scores  # benches/quality: scored as `golden evaluate`

    phases = Phases()
    con = duckdb.connect()
    records = load(con, d)
    phases.end("load")
    linker = linker_for(register(con), prediction_rules(d, label))
    phases.end("setup")
    # Training, timed in parts (the report adds them up as "train").
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*r) for r in DETERMINISTIC_RULES], recall=DETERMINISTIC_RECALL)
    phases.end("train:prior")
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=42)
    phases.end("train:u")
    for rule in EM_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
        phases.end("train:em " + " & ".join(rule))
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    over = con.execute(f"select count(*) from {predictions.physical_name}").fetchall()[0][0]
    phases.end("predict")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD)
    clusters_n = con.execute(
        f"select count(distinct cluster_id) from {clusters.physical_name}").fetchall()[0][0]
    phases.end("cluster")
    scores = pairwise_scores(con, clusters.physical_name, d)
    phases.end("evaluate")
    with open(f"{d}/splink-summary-{label}.json", "w") as f:
        json.dump({"tool": "splink", "label": label, "records": records,
                   "predicted_pairs_over_0.9": over, "clusters": clusters_n,
                   "phases_s": phases.seconds, **scores}, f, indent=2)


def main():
    mode, d, label, quality_dir = sys.argv[1:5]
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, quality_dir)  # for splink_quality
    {"count": count, "dedupe": dedupe}[mode](d, label)


if __name__ == "__main__":
    main()
