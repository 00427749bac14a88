use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;

fn run(dir: &Path, entities: usize, seed: u64, broken_rows: bool) -> GenerateSummary {
    let opts = GenerateOptions {
        entities,
        seed,
        out: dir.to_path_buf(),
        broken_rows,
        household_share: None,
    };
    generate(&opts).expect("generate")
}

fn lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).expect("read");
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn parquet_rows(path: &Path) -> (Vec<String>, usize) {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(File::open(path).expect("open")).expect("parquet");
    let columns = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let rows = builder
        .build()
        .expect("reader")
        .map(|b| b.expect("batch").num_rows())
        .sum();
    (columns, rows)
}

#[test]
fn generate_same_seed_gives_identical_files_and_another_seed_does_not() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let sa = run(a.path(), 200, 7, true);
    let sb = run(b.path(), 200, 7, true);
    run(c.path(), 200, 8, true);
    assert_eq!(sa.records, sb.records);
    for file in [
        "crm.csv",
        "billing.parquet",
        "support.ndjson",
        "truth.csv",
        "pipeline.toml",
    ] {
        let bytes = std::fs::read(a.path().join(file)).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(b.path().join(file)).unwrap(),
            "{file} differs"
        );
        if file != "pipeline.toml" {
            assert_ne!(
                bytes,
                std::fs::read(c.path().join(file)).unwrap(),
                "{file} same"
            );
        }
    }
}

#[test]
fn generate_truth_lists_every_valid_record_and_every_entity() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(dir.path(), 200, 1, false);
    assert_eq!(summary.entities, 200);
    assert_eq!(summary.broken, 0);
    assert_eq!(summary.files.len(), 5);
    let crm = lines(&dir.path().join("crm.csv"));
    assert_eq!(
        crm[0],
        b"contact_id,first_name,last_name,email,phone,street,city,postcode,date_of_birth,updated_at"
    );
    let (columns, billing) = parquet_rows(&dir.path().join("billing.parquet"));
    assert_eq!(
        columns,
        [
            "account_no",
            "full_name",
            "billing_email",
            "phone_number",
            "address_line1",
            "town",
            "zip",
            "dob",
            "modified"
        ]
    );
    let support = lines(&dir.path().join("support.ndjson"));
    for line in &support {
        let value: serde_json::Value = serde_json::from_slice(line).expect("json");
        assert!(value["user_id"].is_u64());
        assert!(value.get("given_name").is_some() && value.get("last_seen").is_some());
    }
    let truth = std::fs::read_to_string(dir.path().join("truth.csv")).unwrap();
    let mut truth_lines = truth.lines();
    assert_eq!(truth_lines.next(), Some("source,source_id,entity_id"));
    let rows: Vec<Vec<&str>> = truth_lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), crm.len() - 1 + billing + support.len());
    assert_eq!(rows.len(), summary.records);
    let entities: BTreeSet<&str> = rows.iter().map(|r| r[2]).collect();
    assert_eq!(entities.len(), 200);
    let ids: BTreeSet<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(ids.len(), rows.len(), "ids are unique per source");
    assert!(ids.contains(&("crm", "C0000001")) && ids.contains(&("billing", "B0000001")));
    assert!(ids.contains(&("support", "10001")));
    let per_entity = rows.len() as f64 / 200.0;
    assert!(
        (1.4..2.1).contains(&per_entity),
        "{per_entity} records per entity"
    );
}

#[test]
fn generate_broken_rows_are_written_but_not_in_truth() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(dir.path(), 200, 3, true);
    assert_eq!(summary.broken, 6);
    let crm = lines(&dir.path().join("crm.csv"));
    assert!(
        crm.iter().any(|l| std::str::from_utf8(l).is_err()),
        "invalid UTF-8 row"
    );
    let text: Vec<String> = crm
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert!(text.iter().any(|l| l.starts_with(',')), "empty id row");
    assert!(
        text.iter().any(|l| l.ends_with(",unexpected")),
        "extra column row"
    );
    let dup = text.iter().filter(|l| l.starts_with("C0000001,")).count();
    assert_eq!(dup, 2, "repeated id row");
    let support = lines(&dir.path().join("support.ndjson"));
    let parsed: Vec<Option<serde_json::Value>> = support
        .iter()
        .map(|l| serde_json::from_slice(l).ok())
        .collect();
    assert_eq!(
        parsed.iter().filter(|v| v.is_none()).count(),
        1,
        "one invalid JSON line"
    );
    assert_eq!(
        parsed.iter().flatten().filter(|v| v.is_array()).count(),
        1,
        "one array line"
    );
    let (_, billing) = parquet_rows(&dir.path().join("billing.parquet"));
    let truth = std::fs::read_to_string(dir.path().join("truth.csv")).unwrap();
    let truth_rows = truth.lines().count() - 1;
    assert_eq!(truth_rows, summary.records);
    assert_eq!(
        truth_rows + summary.broken,
        crm.len() - 1 + billing + support.len()
    );
}

#[test]
fn generate_zero_entities_writes_empty_exports() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(dir.path(), 0, 1, false);
    assert_eq!((summary.entities, summary.records), (0, 0));
    assert_eq!(lines(&dir.path().join("crm.csv")).len(), 1);
    assert_eq!(parquet_rows(&dir.path().join("billing.parquet")).1, 0);
}
