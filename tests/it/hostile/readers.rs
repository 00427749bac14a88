//! Commands and stages that read a previous run (issue 12, round 2): a previous crosswalk that
//! golden did not write gives no previous ids, and readers fail with the documented exit code,
//! naming the file, without printing a customer value.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Field, Schema};
use golden::output::Manifest;

use super::Case;
use super::nightly::{VALUES, crm_case, latest_dir};
use crate::util::{strings, table};

/// Rewrites the latest run's crosswalk with `golden_id` replaced by `gid` (built from the
/// current column), the other columns kept; `repeat` appends the first row again.
fn rewrite_crosswalk(case: &Case, gid: impl Fn(&StringArray) -> ArrayRef, repeat: bool) {
    let path = latest_dir(case).join("crosswalk.parquet");
    let mut batch = golden::run::read_parquet(&path).unwrap();
    if repeat {
        batch =
            arrow::compute::concat_batches(&batch.schema(), &[batch.clone(), batch.slice(0, 1)])
                .unwrap();
    }
    let (mut fields, mut columns) = (Vec::new(), Vec::new());
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        let c = match f.name().as_str() {
            "golden_id" => gid(c.as_any().downcast_ref::<StringArray>().unwrap()),
            _ => c.clone(),
        };
        fields.push(Field::new(f.name(), c.data_type().clone(), true));
        columns.push(c);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    golden::run::write_parquet(&path, &batch).unwrap();
}

/// Runs `case` again and asserts success, a warning naming `reason`, and golden ids that are
/// all new: none of the previous ones is taken over, none invented from the damaged column.
fn assert_no_previous_ids(case: &Case, reason: &str) {
    case.run(&[])
        .code(0)
        .no_values(VALUES)
        .says("previous run unusable for golden ids")
        .says("crosswalk.parquet")
        .says(reason);
    let run = latest_dir(case);
    let m = Manifest::read(&run.join("manifest.json")).unwrap();
    assert_eq!(m.counts.changes_new, m.counts.golden_records);
    for g in strings(&table(&run, "crosswalk"), "golden_id") {
        let g = g.unwrap();
        assert!(
            g.len() > 8 && g.parse::<i64>().is_err(),
            "hash ids only: {g}"
        );
    }
    super::assert_accounted(&run, &[("crm", "crm.csv", 3)]);
}

/// Row 12: a previous `golden_id` of Int64 was cast to "0", "1", … and every old id retired.
#[test]
fn readers_previous_golden_id_not_a_string_gives_no_previous_ids() {
    let case = crm_case();
    rewrite_crosswalk(
        &case,
        |c| Arc::new(Int64Array::from_iter_values(0..c.len() as i64)),
        false,
    );
    assert_no_previous_ids(&case, "column `golden_id` is Int64, not a string");
}

/// Row 12: a previous crosswalk with a null `golden_id` was used silently.
#[test]
fn readers_previous_null_golden_id_gives_no_previous_ids() {
    let case = crm_case();
    rewrite_crosswalk(
        &case,
        |c| {
            let mut v: Vec<Option<&str>> = c.iter().collect();
            v[0] = None;
            Arc::new(StringArray::from(v))
        },
        false,
    );
    assert_no_previous_ids(&case, "column `golden_id` has 1 null values");
}

/// Row 12: a previous crosswalk listing a record twice was used silently.
#[test]
fn readers_previous_repeated_record_gives_no_previous_ids() {
    let case = crm_case();
    rewrite_crosswalk(&case, |c| Arc::new(c.clone()), true);
    assert_no_previous_ids(&case, "1 rows repeat a (source, source_id) key");
}

/// Row 11: a failed cast printed the customer value it failed on.
#[test]
fn readers_query_errors_print_no_value() {
    let case = crm_case();
    for sql in [
        "select * from golden where email = 1",
        "select cast(first_name as int) from golden",
    ] {
        case.golden(&["query", "out", sql])
            .code(2)
            .no_values(VALUES)
            .says("query failed")
            .says("'***'");
    }
}

/// Row 19: `query` on a run whose table is garbage or a directory was exit 1 naming no file.
#[test]
fn readers_query_on_a_damaged_table_is_exit_3_naming_it() {
    let case = crm_case();
    let decisions = latest_dir(&case).join("decisions.parquet");
    std::fs::write(&decisions, b"garbage, not parquet").unwrap();
    case.golden(&["query", "out", "select count(*) from golden"])
        .code(3)
        .no_values(VALUES)
        .says("decisions.parquet")
        .says("this run is damaged");
    std::fs::remove_file(&decisions).unwrap();
    std::fs::create_dir(&decisions).unwrap();
    case.golden(&["query", "out", "select count(*) from golden"])
        .code(3)
        .says("decisions.parquet")
        .says("not a regular file");
}

/// Row 19: `verify` with manifest.json deleted, or a table replaced by a directory, was exit 1.
#[test]
fn readers_verify_a_damaged_run_is_exit_3_naming_the_file() {
    let case = crm_case();
    let run = latest_dir(&case);
    let decisions = run.join("decisions.parquet");
    std::fs::remove_file(&decisions).unwrap();
    std::fs::create_dir(&decisions).unwrap();
    case.golden(&["verify", "out"])
        .code(3)
        .says("decisions.parquet")
        .says("the run is damaged");
    std::fs::remove_file(run.join("manifest.json")).unwrap();
    case.golden(&["verify", "out"])
        .code(3)
        .says("manifest.json")
        .says("not an intact run");
}

/// Rows 19 and 27: a truth file that is missing or not a regular file (/dev/zero hung) is exit 2
/// naming it.
#[test]
fn readers_evaluate_truth_not_a_regular_file_is_exit_2() {
    let case = crm_case();
    for (truth, says) in [
        ("nosuch.csv", "nosuch.csv"),
        ("/dev/zero", "not a regular file"),
        (".", "not a regular file"),
    ] {
        case.golden(&["evaluate", "out", "--truth", truth])
            .code(2)
            .says(says);
    }
}

/// Row 27: truth covering 1 of 3 records gave "F1 1.0000" with no warning.
#[test]
fn readers_evaluate_warns_when_truth_covers_few_records() {
    let case = crm_case();
    case.write("t.csv", "source,source_id,entity_id\ncrm,C1,E1\n");
    case.golden(&["evaluate", "out", "--truth", "t.csv"])
        .code(0)
        .no_values(VALUES)
        .says("labels only 33.3 % of the run's records");
    case.write(
        "all.csv",
        "source,source_id,entity_id\ncrm,C1,E1\ncrm,C2,E1\ncrm,C3,E2\n",
    );
    let o = case.golden(&["evaluate", "out", "--truth", "all.csv"]);
    o.code(0);
    assert!(!o.stderr.contains("labels only"), "{}", o.stderr);
}

/// Row 25: `keep_runs` deleted directories under `runs/` that no run wrote, and `golden runs`
/// listed them as committed runs or called a damaged manifest missing.
#[test]
fn readers_keep_runs_and_runs_touch_only_real_runs() {
    let case = crm_case();
    let text = std::fs::read_to_string(case.path("pipeline.toml")).unwrap();
    case.write(
        "pipeline.toml",
        text.replacen("dir = \"out\"", "dir = \"out\"\nkeep_runs = 1", 1),
    );
    let runs = case.out().join("runs");
    let no_manifest = runs.join("20200101T000000002Z");
    let damaged = runs.join("20200101T000000003Z");
    let junk = runs.join("backup");
    for d in [&no_manifest, &damaged, &junk] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::write(damaged.join("manifest.json"), b"{ not json").unwrap();
    case.run(&[]).code(0).no_values(VALUES);
    case.run(&[]).code(0).no_values(VALUES);
    for d in [&no_manifest, &damaged, &junk] {
        assert!(d.is_dir(), "{} deleted", d.display());
    }
    let left = std::fs::read_dir(&runs).unwrap().count();
    assert_eq!(left, 3 + 1, "keep_runs = 1 keeps one real run");
    let o = case.golden(&["runs", "out"]);
    o.code(0);
    assert!(
        o.stdout.contains("unknown (damaged manifest.json)"),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("backup"), "{}", o.stdout);
}

/// Row 15: `--threads 100000` spawned threads for ever.
#[test]
fn readers_too_many_threads_is_exit_2() {
    let case = Case::new();
    case.pipeline(&super::crm_source("crm.csv"));
    case.run(&["--threads", "100000"])
        .code(2)
        .says("100000 is more than");
    assert!(case.latest().is_none());
}

/// Row 28: the rejects of a failed run could not be queried ("neither a run directory …").
#[test]
fn readers_query_reads_the_rejects_of_a_failed_run() {
    let case = Case::new();
    case.write(
        "crm.csv",
        format!(
            "{}C1,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n\
             C1,Ottoline,Oddie,oo@example.org,020 7946 0958,EC1A 1BB,25/12/1990\n",
            super::CRM_HEADER
        ),
    );
    case.pipeline(&super::crm_source("crm.csv").replace("0.9", "0.1"));
    case.run(&[]).code(3).no_values(VALUES);
    let failed: Vec<_> = std::fs::read_dir(case.out().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let o = case.golden(&[
        "query",
        failed[0].to_str().unwrap(),
        "select count(*) as n from rejects",
    ]);
    o.code(0).no_values(VALUES);
    // The second C1 is the duplicate id rejected; the run failed on its reject ratio.
    assert!(o.stdout.contains("| 1 |"), "{}", o.stdout);
}
