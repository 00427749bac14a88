//! Exact outputs of the hand-checked `tests/data/tiny` pipeline (a fixed model file, so no
//! estimation noise): a nickname and gmail alias merge, a twin stays apart, broken rows are
//! rejected with their reasons.

use crate::util::{golden_ok, pretty, repo, table, tempdir};

#[test]
fn tiny_pipeline_golden_records_crosswalk_rejects_and_lineage() {
    let out = tempdir();
    let pipeline = repo("tests/data/tiny/tiny.toml");
    golden_ok(&[
        "run",
        pipeline.to_str().unwrap(),
        "--output",
        out.path().to_str().unwrap(),
    ]);
    let run = out.path().join("latest");

    let golden = table(&run, "golden");
    assert_eq!(
        pretty(
            &golden,
            &[
                "golden_id",
                "full_name",
                "email",
                "phone",
                "postcode",
                "birth_date",
                "record_count",
                "sources"
            ]
        ),
        vec![
            "+-------------------+------------+-------------------------------+---------------+----------+------------+--------------+-------------+",
            "| golden_id         | full_name  | email                         | phone         | postcode | birth_date | record_count | sources     |",
            "+-------------------+------------+-------------------------------+---------------+----------+------------+--------------+-------------+",
            "| G31221ac4fe028a01 | Jane Doe   | jane@example.com              | +442079460958 | EC1A 1BB | 1990-12-25 | 2            | crm,support |",
            "| G4ebac66230846d6d | John Smith | john.smith@example.com        | +447700900123 | SW1A 1AA | 1985-02-03 | 1            | crm         |",
            "| G651e65b3e99ff0e6 | Bob Smith  | rob.smith+shop@googlemail.com | +447700900123 | SW1A 1AA | 1985-02-03 | 2            | crm,support |",
            "| Ge117579843fc9c58 |            |                               |               |          |            | 1            | crm         |",
            "+-------------------+------------+-------------------------------+---------------+----------+------------+--------------+-------------+",
        ]
    );

    let crosswalk = table(&run, "crosswalk");
    assert_eq!(
        pretty(
            &crosswalk,
            &["source", "source_id", "golden_id", "row_number"]
        ),
        vec![
            "+---------+-----------+-------------------+------------+",
            "| source  | source_id | golden_id         | row_number |",
            "+---------+-----------+-------------------+------------+",
            "| crm     | C1        | G651e65b3e99ff0e6 | 1          |",
            "| crm     | C2        | G31221ac4fe028a01 | 2          |",
            "| crm     | C3        | G4ebac66230846d6d | 3          |",
            "| crm     | C4        | Ge117579843fc9c58 | 4          |",
            "| support | 7         | G651e65b3e99ff0e6 | 1          |",
            "| support | 8         | G31221ac4fe028a01 | 2          |",
            "+---------+-----------+-------------------+------------+",
        ]
    );

    let rejects = table(&run, "rejects");
    assert_eq!(
        pretty(&rejects, &["source", "row_number", "reason"]),
        vec![
            "+---------+------------+--------------+",
            "| source  | row_number | reason       |",
            "+---------+------------+--------------+",
            "| crm     | 5          | missing_id   |",
            "| crm     | 6          | duplicate_id |",
            "| support | 3          | invalid_json |",
            "+---------+------------+--------------+",
        ]
    );

    // The twin (same surname, birth date, phone and postcode, another given name) is queued
    // for review, never linked; the nickname + gmail alias pair links.
    let decisions = table(&run, "decisions");
    assert_eq!(
        pretty(
            &decisions,
            &[
                "left_id",
                "right_id",
                "blocking_rule",
                "first_name_level",
                "email_level",
                "decision"
            ]
        ),
        vec![
            "+---------+----------+---------------+------------------+-------------+----------+",
            "| left_id | right_id | blocking_rule | first_name_level | email_level | decision |",
            "+---------+----------+---------------+------------------+-------------+----------+",
            "| C1      | 7        | email         | 2                | 1           | match    |",
            "| C1      | C3       | phone         | 0                | 0           | review   |",
            "| C2      | 8        | email         | 2                | 1           | match    |",
            "| C3      | 7        | phone         | 0                | 0           | review   |",
            "+---------+----------+---------------+------------------+-------------+----------+",
        ]
    );
    assert_eq!(table(&run, "review").num_rows(), 2);

    let lineage = table(&run, "lineage");
    let bob: Vec<String> = pretty(
        &lineage,
        &["golden_id", "field", "source", "source_id", "rule"],
    )
    .into_iter()
    .filter(|l| l.contains("G651e65b3e99ff0e6"))
    .collect();
    assert_eq!(
        bob,
        vec![
            "| G651e65b3e99ff0e6 | birth_date | support | 7         | most_recent                    |",
            "| G651e65b3e99ff0e6 | email      | support | 7         | most_recent                    |",
            "| G651e65b3e99ff0e6 | first_name | support | 7         | most_recent                    |",
            "| G651e65b3e99ff0e6 | full_name  | support | 7         | derived(first_name, last_name) |",
            "| G651e65b3e99ff0e6 | last_name  | support | 7         | most_recent                    |",
            "| G651e65b3e99ff0e6 | phone      | crm     | C1        | source_priority                |",
            "| G651e65b3e99ff0e6 | postcode   | support | 7         | most_recent                    |",
        ]
    );

    let manifest = golden::output::Manifest::read(&run.join("manifest.json")).unwrap();
    assert_eq!(manifest.status, "succeeded");
    assert_eq!(manifest.counts.rows_read, Some(9));
    assert_eq!(manifest.counts.rows_rejected, Some(3));
    assert_eq!(manifest.inputs.len(), 2);
    assert_eq!(manifest.inputs[0].sha256.len(), 64);
}
