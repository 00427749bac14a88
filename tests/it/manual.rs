//! Manual decisions: a must-link joins, a cannot-link splits, both are marked `manual`.

use std::collections::HashMap;
use std::path::Path;

use crate::util::{golden, golden_ok, repo, strings, table, tempdir};

/// Copies the tiny pipeline into `dir` with `manual.csv` as its decisions file; returns the
/// golden id of each `source:id` after a run.
fn run_with(
    dir: &Path,
    manual_csv: &str,
) -> (HashMap<String, String>, arrow::record_batch::RecordBatch) {
    for f in ["crm.csv", "support.ndjson", "model.json", "tiny.toml"] {
        std::fs::copy(repo(&format!("tests/data/tiny/{f}")), dir.join(f)).unwrap();
    }
    std::fs::create_dir_all(dir.join("decisions")).unwrap();
    std::fs::write(dir.join("decisions/manual.csv"), manual_csv).unwrap();
    golden_ok(&["run", dir.join("tiny.toml").to_str().unwrap()]);
    let run = dir.join("out/latest");
    let xw = table(&run, "crosswalk");
    let keys = strings(&xw, "source")
        .into_iter()
        .zip(strings(&xw, "source_id"))
        .map(|(s, i)| format!("{}:{}", s.unwrap(), i.unwrap()));
    let ids = keys
        .zip(strings(&xw, "golden_id").into_iter().map(Option::unwrap))
        .collect();
    (ids, table(&run, "decisions"))
}

fn decision_of(
    decisions: &arrow::record_batch::RecordBatch,
    left: &str,
    right: &str,
) -> (String, String) {
    let l = strings(decisions, "left_id");
    let r = strings(decisions, "right_id");
    let d = strings(decisions, "decision");
    let rule = strings(decisions, "blocking_rule");
    (0..l.len())
        .find(|&i| l[i].as_deref() == Some(left) && r[i].as_deref() == Some(right))
        .map(|i| (d[i].clone().unwrap(), rule[i].clone().unwrap()))
        .expect("pair in decisions")
}

#[test]
fn a_cannot_link_splits_a_cluster_that_scoring_would_join() {
    let dir = tempdir();
    let (ids, decisions) = run_with(
        dir.path(),
        "left,right,decision,reason,author,date\ncrm:C1,support:7,cannot_link,different people per phone call,ana,2026-11-01\n",
    );
    assert_ne!(ids["crm:C1"], ids["support:7"]);
    assert_eq!(
        decision_of(&decisions, "C1", "7"),
        ("manual".into(), "email".into())
    );
    assert_eq!(ids["crm:C2"], ids["support:8"], "other links unaffected");
}

#[test]
fn a_must_link_joins_records_no_rule_paired() {
    let dir = tempdir();
    let (ids, decisions) = run_with(
        dir.path(),
        "left,right,decision,reason,author,date\ncrm:C4,support:8,must_link,same customer per KYC,ana,2026-11-01\ncrm:C9,crm:C1,must_link,record since deleted,ana,2026-11-01\n",
    );
    assert_eq!(ids["crm:C4"], ids["support:8"]);
    assert_eq!(ids["crm:C2"], ids["support:8"]);
    assert_eq!(
        decision_of(&decisions, "C4", "8"),
        ("manual".into(), "manual".into())
    );
}

#[test]
fn a_bad_decision_names_the_file_and_line() {
    let dir = tempdir();
    for f in ["crm.csv", "support.ndjson", "model.json", "tiny.toml"] {
        std::fs::copy(repo(&format!("tests/data/tiny/{f}")), dir.path().join(f)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("decisions")).unwrap();
    let csv = dir.path().join("decisions/manual.csv");
    std::fs::write(
        &csv,
        "left,right,decision,reason,author,date\ncrm:C1,support:7,maybe,,,\n",
    )
    .unwrap();
    let out = golden(&["run", dir.path().join("tiny.toml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "error: {}: line 2: decision `maybe`; expected must_link or cannot_link",
            csv.display()
        )
    );
}
