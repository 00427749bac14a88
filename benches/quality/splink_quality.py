"""Splink 5 (DuckDB) on one data set of the quality suite; writes DIR/splink-summary.json.

Usage: python splink_quality.py DIR SCHEMA
  SCHEMA is febrl | febrl4 | pseudopeople | generated: which export files DIR holds (as
  benches/quality/datasets.py or `golden generate` write them). Splink gets the columns the
  committed pipeline compares, hand-standardised as a Splink user would (lowercase trimmed text,
  ISO dates, digits-only SSN and phone), the pipeline's blocking rules (a metaphone key becomes
  the first two letters), and its recommended training: the prior from deterministic rules,
  u by random sampling, EM on two blocking rules. Clusters at 0.9; pairwise precision / recall /
  F1 against DIR/truth.csv, counted exactly as `golden evaluate` does.
"""

import json
import logging
import sys
import time

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

# Per schema: SQL selecting source, source_id and raw text columns from the export files in {d}.
RAW = {
    "febrl": """
select 'febrl' as source, rec_id as source_id, given_name as first_name, surname as last_name,
       date_of_birth as birth_date, concat_ws(' ', street_number, address_1) as street,
       address_2, suburb as city, postcode, state, soc_sec_id as ssn
from read_csv('{d}/data.csv', header = true, all_varchar = true)""",
    "febrl4": """
select 'febrl4a' as source, rec_id as source_id, given_name as first_name,
       surname as last_name, date_of_birth as birth_date,
       concat_ws(' ', street_number, address_1) as street, address_2, suburb as city, postcode,
       state, soc_sec_id as ssn
from read_csv('{d}/4a.csv', header = true, all_varchar = true)
union all
select 'febrl4b', rec_id, given_name, surname, date_of_birth,
       concat_ws(' ', street_number, address_1), address_2, suburb, postcode, state, soc_sec_id
from read_csv('{d}/4b.csv', header = true, all_varchar = true)""",
    "pseudopeople": """
select 'census' as source, record_id as source_id, first_name, middle_initial, last_name,
       date_of_birth as birth_date,
       concat_ws(' ', street_number, street_name, unit_number) as street, city,
       zipcode as postcode, state, null as ssn
from read_csv('{d}/census.csv', header = true, all_varchar = true)
union all
select 'taxes', record_id, first_name, middle_initial, last_name, null,
       concat_ws(' ', mailing_address_street_number, mailing_address_street_name,
                 mailing_address_unit_number),
       mailing_address_city, mailing_address_zipcode, mailing_address_state, ssn
from read_parquet('{d}/taxes.parquet')
union all
select 'ssa', record_id, first_name, left(middle_name, 1), last_name, date_of_birth, null,
       null, null, null, ssn
from read_json('{d}/ssa.ndjson', format = 'newline_delimited')""",
    "generated": """
select 'crm' as source, contact_id as source_id, first_name, last_name, email, phone, street,
       city, postcode, date_of_birth as birth_date
from read_csv('{d}/crm.csv', header = true, all_varchar = true)
union all
select 'billing', account_no,
       -- full_name is "Last, First" or "First Last"
       case when contains(full_name, ',') then trim(split_part(full_name, ',', 2))
            else regexp_extract(trim(full_name), '^(\\S+)', 1) end,
       case when contains(full_name, ',') then trim(split_part(full_name, ',', 1))
            else nullif(trim(regexp_extract(trim(full_name), '^\\S+\\s+(.*)$', 1)), '') end,
       billing_email, phone_number, address_line1, town, zip, dob
from read_parquet('{d}/billing.parquet')
union all
select 'support', user_id, given_name, family_name, email_address, tel, null, city, post_code,
       birthday
from read_json('{d}/support.ndjson', format = 'newline_delimited', columns = {{
  user_id: 'VARCHAR', given_name: 'VARCHAR', family_name: 'VARCHAR', email_address: 'VARCHAR',
  tel: 'VARCHAR', city: 'VARCHAR', post_code: 'VARCHAR', birthday: 'VARCHAR',
  last_seen: 'VARCHAR'}})""",
}

# Per schema: the committed pipeline's blocking rules (benches/quality/*.toml; `generated` is
# golden generate's pipeline.toml) and its compared columns.
PERSON_BLOCKING = [["ssn"], ["last_name", "birth_date"], ["substr(first_name, 1, 2)", "postcode"],
                   ["first_name", "last_name"], ["street", "city"]]
BLOCKING = {
    "febrl": PERSON_BLOCKING,
    "febrl4": PERSON_BLOCKING,
    "pseudopeople": [["ssn"], ["last_name", "birth_date"], ["first_name", "last_name"],
                     ["first_name", "birth_date"], ["street"]],
    "generated": [["email"], ["phone"], ["last_name", "birth_date"],
                  ["substr(first_name, 1, 2)", "postcode"], ["first_name", "birth_date"]],
}
FEBRL_COLUMNS = ["first_name", "last_name", "street", "address_2", "city", "postcode", "state",
                 "birth_date", "ssn"]
COLUMNS = {
    "febrl": FEBRL_COLUMNS,
    "febrl4": FEBRL_COLUMNS,
    "pseudopeople": ["first_name", "middle_initial", "last_name", "birth_date", "street", "city",
                     "postcode", "state", "ssn"],
    "generated": ["first_name", "last_name", "email", "phone", "street", "city", "postcode",
                  "birth_date"],
}
# The deterministic rules Splink's prior estimate starts from, per schema.
DETERMINISTIC = {
    "febrl": ["ssn"], "febrl4": ["ssn"], "pseudopeople": ["ssn"], "generated": ["email"],
}
DATE_FORMATS = ["%Y%m%d", "%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S"]


def comparison(column):
    """Splink's usual comparison for a column, as its documentation recommends."""
    if column in ("first_name", "last_name"):
        return cl.NameComparison(column)
    if column == "birth_date":
        return cl.DateOfBirthComparison(column, input_is_string=True, datetime_format="%Y-%m-%d")
    if column == "email":
        return cl.EmailComparison(column)
    if column in ("street", "address_2"):
        return cl.LevenshteinAtThresholds(column, [1, 3])
    if column == "city":
        return cl.JaroWinklerAtThresholds(column, [0.9])
    if column == "ssn":
        return cl.LevenshteinAtThresholds(column, [1, 2])
    return cl.ExactMatch(column)


def standardize_sql(column):
    """The SQL that cleans one raw column: digits only, ISO date, or lowercase trimmed text."""
    if column in ("ssn", "phone"):
        return f"nullif(regexp_replace({column}, '[^0-9]', '', 'g'), '') as {column}"
    if column == "birth_date":
        parsed = ", ".join(f"try_strptime(trim(birth_date), '{f}')" for f in DATE_FORMATS)
        return f"strftime(coalesce({parsed}), '%Y-%m-%d') as birth_date"
    return f"nullif(lower(strip_accents(trim({column}))), '') as {column}"


def pairwise_scores(con, clusters_table, d):
    """Pairwise counts and scores of clusters against d/truth.csv, exactly as `golden evaluate`.

    The contingency table n(cluster, entity) over records in both; a group of n records holds
    n(n-1)/2 pairs; no pair is enumerated. Returns a dict: true_positive_pairs,
    predicted_pairs, true_pairs, precision, recall, f1.
    """
    con.execute(f"""
create table truth as
select source || ':' || source_id as unique_id, entity_id
from read_csv('{d}/truth.csv', header = true, all_varchar = true)""")
    pairs = "select sum(n * (n - 1) // 2) from (select count(*) n from joined group by {})"
    row = con.execute(f"""
with joined as (select c.cluster_id, t.entity_id
                from {clusters_table} c join truth t using (unique_id))
select ({pairs.format('cluster_id, entity_id')}), ({pairs.format('cluster_id')}),
       ({pairs.format('entity_id')})""").fetchall()[0]
    tp, predicted, true = (int(x or 0) for x in row)
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"true_positive_pairs": tp, "predicted_pairs": predicted, "true_pairs": true,
            "precision": precision, "recall": recall, "f1": f1}


def main():
    """Loads, trains, predicts, clusters and scores one data set."""
    d, schema = sys.argv[1:3]
    logging.basicConfig(level=logging.WARNING)
    start = time.perf_counter()
    con = duckdb.connect()
    columns = COLUMNS[schema]
    con.execute("create table raw as " + RAW[schema].format(d=d))
    con.execute(f"""create table records as
select source || ':' || source_id as unique_id, {', '.join(map(standardize_sql, columns))}
from raw""")
    records = con.execute("select count(*) from records").fetchall()[0][0]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on(*r) for r in BLOCKING[schema]],
        comparisons=[comparison(c) for c in columns],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(DuckDBAPI(connection=con).register("records"), settings,
                    log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*DETERMINISTIC[schema]), block_on("first_name", "last_name", "birth_date")],
        recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=42)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    predictions = linker.inference.predict(threshold_match_probability=0.9)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9)
    seconds = time.perf_counter() - start
    scores = pairwise_scores(con, clusters.physical_name, d)
    with open(f"{d}/splink-summary.json", "w") as f:
        json.dump({"records": records, "seconds": seconds, **scores}, f, indent=2)

if __name__ == "__main__":
    main()
