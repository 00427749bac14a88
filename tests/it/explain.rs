//! `golden explain` and `golden query` over the hand-checked `tests/data/tiny` run.

use crate::util::{golden, golden_ok, repo, tempdir};

/// Runs the tiny pipeline into a fresh output directory.
fn tiny_run() -> tempfile::TempDir {
    let out = tempdir();
    golden_ok(&[
        "run",
        repo("tests/data/tiny/tiny.toml").to_str().unwrap(),
        "--output",
        out.path().to_str().unwrap(),
    ]);
    out
}

fn dir(out: &tempfile::TempDir) -> &str {
    out.path().to_str().unwrap()
}

/// The golden id of `crm:C1`, found with `golden query`.
fn golden_id_of_c1(out: &tempfile::TempDir) -> String {
    let csv = golden_ok(&[
        "query",
        dir(out),
        "select golden_id from crosswalk where source_id = 'C1'",
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert_eq!(lines[0], "golden_id");
    lines[1].to_string()
}

#[test]
fn explain_pair_is_a_waterfall_from_prior_to_decision() {
    let out = tiny_run();
    let text = golden_ok(&["explain", dir(&out), "--pair", "crm:C1", "support:7"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "pair crm:C1 ~ support:7   (blocking rule: email)",
        "{text}"
    );
    assert!(
        lines.contains(&"prior                                  -6.61    -6.61"),
        "{text}"
    );
    assert!(
        lines.contains(
            &"first_name   exact   0.800   0.0500    +4.00    -2.61   Robert                Bob"
        ),
        "{text}"
    );
    assert!(
        lines.contains(
            &"birth_date   exact   0.850   0.0100    +6.41   +33.21   1985-02-03            1985-02-03"
        ),
        "{text}"
    );
    // The household class (the tiny model's hand-written one) explains part of the agreement.
    assert!(
        lines.contains(&"household                             -23.61    +9.60"),
        "{text}"
    );
    assert!(
        lines.contains(&"match weight +9.60   probability 0.9987   decision match"),
        "{text}"
    );
    // The same pair the other way round reads from the same decisions row.
    let back = golden_ok(&["explain", dir(&out), "--pair", "support:7", "crm:C1"]);
    assert!(back.contains("match weight +9.60   probability 0.9987   decision match"));
}

#[test]
fn explain_pair_that_was_never_compared_says_so() {
    let out = tiny_run();
    let text = golden_ok(&["explain", dir(&out), "--pair", "crm:C2", "crm:C3"]);
    assert!(
        text.starts_with(
            "pair crm:C2 ~ crm:C3: not compared: no blocking rule put them in one block\n"
        ),
        "{text}"
    );
}

#[test]
fn explain_golden_shows_values_members_and_links() {
    let out = tiny_run();
    let g = golden_id_of_c1(&out);
    let text = golden_ok(&["explain", dir(&out), "--golden", &g]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("golden record {g}   (2 records: crm:C1, support:7)")
    );
    assert!(
        lines.contains(
            &"email        rob.smith+shop@googlemail.com   support   7           most_recent"
        ),
        "{text}"
    );
    assert!(
        lines.contains(
            &"phone        +447700900123                   crm       C1          source_priority"
        ),
        "{text}"
    );
    assert!(lines.contains(&"members (2)"), "{text}");
    assert!(lines.contains(&"links (1)"), "{text}");
    assert!(
        lines.contains(&"crm:C1   support:7   match           0.9987   email"),
        "{text}"
    );
}

#[test]
fn explain_redact_hides_every_value() {
    let out = tiny_run();
    let g = golden_id_of_c1(&out);
    for args in [
        vec!["--golden", g.as_str()],
        vec!["--pair", "crm:C1", "support:7"],
        vec!["--record", "crm:C1"],
    ] {
        let mut all = vec!["explain", dir(&out)];
        all.extend(&args);
        all.push("--redact");
        let text = golden_ok(&all);
        assert!(text.contains("***"), "{args:?}: {text}");
        for value in [
            "Bob",
            "Smith",
            "googlemail",
            "+447700900123",
            "SW1A",
            "1985",
        ] {
            assert!(!text.contains(value), "{args:?} shows {value}: {text}");
        }
    }
}

#[test]
fn explain_record_lists_its_pairs() {
    let out = tiny_run();
    let g = golden_id_of_c1(&out);
    let text = golden_ok(&["explain", dir(&out), "--record", "crm:C1"]);
    assert!(
        text.starts_with("record crm:C1   (")
            && text.contains(&format!("crm.csv row 1)\ngolden id           {g}\n")),
        "{text}"
    );
    assert!(text.contains("pairs with crm:C1 (2)"), "{text}");
    assert!(
        text.contains("support:7   match           0.9987          +9.60   email"),
        "{text}"
    );
    assert!(
        text.contains("crm:C3      review          0.2512          -1.58   phone"),
        "{text}"
    );
}

#[test]
fn explain_unknown_ids_exit_2_with_a_hint() {
    let out = tiny_run();
    for args in [
        ["--record", "crm:C9"].as_slice(),
        ["--golden", "Gnope"].as_slice(),
        ["--pair", "crm:C1", "crm:nope"].as_slice(),
        ["--record", "no-colon"].as_slice(),
    ] {
        let mut all = vec!["explain", dir(&out)];
        all.extend(args);
        let res = golden(&all);
        assert_eq!(res.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(
            err.contains("golden query") || err.contains("SOURCE:ID"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn query_counts_the_tiny_tables() {
    let out = tiny_run();
    for (table, n) in [
        ("crosswalk", 6),
        ("rejects", 3),
        ("decisions", 4),
        ("golden", 4),
    ] {
        let csv = golden_ok(&[
            "query",
            dir(&out),
            &format!("select count(*) as n from {table}"),
            "--format",
            "csv",
        ]);
        assert_eq!(csv, format!("n\n{n}\n"), "{table}");
    }
    let text = golden_ok(&["query", dir(&out), "select count(*) as n from lineage"]);
    assert_eq!(text, "+----+\n| n  |\n+----+\n| 21 |\n+----+\n");
}

#[test]
fn query_writes_parquet_to_a_file() {
    let out = tiny_run();
    // Not inside the output directory: `--out` there is refused (tests/it/hostile/outputs.rs).
    let elsewhere = tempdir();
    let file = elsewhere.path().join("review.parquet");
    golden_ok(&[
        "query",
        dir(&out),
        "select left_id, right_id from review order by left_id",
        "--format",
        "parquet",
        "--out",
        file.to_str().unwrap(),
    ]);
    let batch = golden::run::read_parquet(&file).unwrap();
    assert_eq!(batch.num_rows(), 2);
    let res = golden(&["query", dir(&out), "select 1", "--format", "parquet"]);
    assert_eq!(res.status.code(), Some(2));
}

#[test]
fn query_bad_sql_exits_2_naming_the_tables() {
    let out = tiny_run();
    for sql in ["select * from nope", "selec 1", "select nope from golden"] {
        let res = golden(&["query", dir(&out), sql]);
        assert_eq!(res.status.code(), Some(2), "{sql}");
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(
            err.contains("golden, crosswalk, lineage, decisions, review, rejects"),
            "{sql}: {err}"
        );
    }
}

#[test]
fn records_table_keeps_exactly_the_ids_display_values_and_match_keys() {
    let out = tiny_run();
    let csv = golden_ok(&[
        "query",
        dir(&out),
        "select * from records where source_id in ('C1', 'C4', '7') order by source, source_id",
        "--format",
        "csv",
    ]);
    let expected = "\
source,source_id,first_name,first_name__match,last_name,last_name__match,email,email__match,phone,phone__match,postcode,postcode__match,birth_date,birth_date__match,full_name,full_name__match
crm,C1,Robert,robert,Smith,smith,rob.smith@gmail.com,robsmith@gmail.com,+447700900123,+447700900123,SW1A 1AA,SW1A1AA,1985-02-03,1985-02-03,,
crm,C4,,,,,,,,,,,,,,
support,7,Bob,robert,Smith,smith,rob.smith+shop@googlemail.com,robsmith@gmail.com,+447700900123,+447700900123,SW1A 1AA,SW1A1AA,1985-02-03,1985-02-03,Bob Smith,robert smith
";
    assert_eq!(csv, expected);
    // One row per record kept, as the crosswalk; covered by the manifest's checksums.
    let n = golden_ok(&[
        "query",
        dir(&out),
        "select count(*) as n from records",
        "--format",
        "csv",
    ]);
    assert_eq!(n, "n\n6\n");
    let manifest = std::fs::read_to_string(out.path().join("latest/manifest.json")).unwrap();
    assert!(manifest.contains("\"records.parquet\": {"), "{manifest}");
}
