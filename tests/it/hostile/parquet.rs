//! Parquet inputs that are empty, corrupt or have columns golden cannot tell apart, and input
//! columns named like golden's own row and file columns (round 2, red-team rows 5, 6, 8, 9, 23).

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use super::{CRM_HEADER, Case, assert_accounted, crm_source};

/// Two customers, as CSV rows after [`CRM_HEADER`].
const ROWS: [[&str; 7]; 2] = [
    [
        "C1",
        "Zebedee",
        "Quarmby",
        "zq@example.com",
        "07700 900123",
        "SW1A 1AA",
        "03/02/1985",
    ],
    [
        "C2",
        "Ottoline",
        "Fenwick",
        "of@example.com",
        "07700 900456",
        "LS1 4AP",
        "11/12/1990",
    ],
];

/// Customer values that must never be printed.
const VALUES: [&str; 4] = ["Zebedee", "Quarmby", "Ottoline", "zq@example.com"];

/// Writes the two customers as a Parquet file with columns `names` (the CSV header's, unless
/// given), every column text.
fn write_parquet(case: &Case, rel: &str, names: &[&str]) {
    let fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect();
    let cols: Vec<ArrayRef> = (0..names.len())
        .map(|i| {
            Arc::new(StringArray::from(
                ROWS.iter().map(|r| r[i % 7]).collect::<Vec<_>>(),
            )) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    let file = std::fs::File::create(case.path(rel)).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// The CSV header's column names.
fn crm_names() -> Vec<&'static str> {
    CRM_HEADER.trim_end().split(',').collect()
}

/// Asserts that `check` (exit 2, a pipeline problem) and `run` (exit 3) both say `text`, print
/// no value and leave `latest` as it was.
fn refused(case: &Case, text: &str) {
    let latest = case.latest();
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says(text)
        .no_values(&VALUES);
    case.run(&[]).code(3).says(text).no_values(&VALUES);
    assert_eq!(case.latest(), latest);
}

#[test]
fn round2_a_glob_member_emptied_to_zero_bytes_exits_3_instead_of_retiring_its_rows() {
    let case = Case::new();
    std::fs::create_dir(case.path("d")).unwrap();
    write_parquet(&case, "d/a.parquet", &crm_names());
    write_parquet(&case, "d/b.parquet", &crm_names());
    case.pipeline(&crm_source("d/*.parquet"));
    case.run(&[]).code(0);
    assert_accounted(
        &case.out().join("latest"),
        &[("crm", "a.parquet", 2), ("crm", "b.parquet", 2)],
    );
    case.write("d/b.parquet", b"");
    refused(
        &case,
        "d/b.parquet: cannot read as Parquet (0 bytes; a Parquet file has at least 12)",
    );
}

#[test]
fn round2_a_corrupt_parquet_footer_exits_3_without_a_panic() {
    let case = Case::new();
    write_parquet(&case, "crm.parquet", &crm_names());
    let mut bytes = std::fs::read(case.path("crm.parquet")).unwrap();
    let n = bytes.len();
    bytes[n - 8..].copy_from_slice(b"\xff\xff\xff\x7fPAR1");
    case.write("crm.parquet", &bytes);
    case.pipeline(&crm_source("crm.parquet"));
    refused(
        &case,
        "crm.parquet: cannot read as Parquet (corrupt footer: ",
    );
    case.write("crm.parquet", &bytes[..n - 1]);
    refused(&case, "no `PAR1` mark at both ends");
}

#[test]
fn round2_an_input_column_named_like_golden_s_row_or_file_column_exits_3() {
    for reserved in ["__row", "__file"] {
        let case = Case::new();
        let header = format!("{},{reserved}\n", CRM_HEADER.trim_end());
        let rows: String = ROWS
            .iter()
            .map(|r| format!("{},x\n", r.join(",")))
            .collect();
        case.write("crm.csv", format!("{header}{rows}"));
        case.pipeline(&crm_source("crm.csv"));
        let says = format!("crm.csv: column `{reserved}` has a name golden reserves");
        refused(&case, &says);
        let mut names = crm_names();
        names.push(reserved);
        write_parquet(&case, "crm.parquet", &names);
        case.pipeline(&crm_source("crm.parquet"));
        refused(&case, &says.replace("crm.csv", "crm.parquet"));
        let lines: String = ROWS
            .iter()
            .map(|r| {
                format!(
                    "{{\"contact_id\":\"{}\",\"first_name\":\"{}\",\"{reserved}\":\"x\"}}\n",
                    r[0], r[1]
                )
            })
            .collect();
        case.write("crm.ndjson", lines);
        case.pipeline(&crm_source("crm.ndjson"));
        refused(&case, &says.replace("crm.csv", "crm.ndjson"));
    }
}

#[test]
fn round2_a_parquet_column_named_twice_exits_3() {
    let case = Case::new();
    let mut names = crm_names();
    names.push("first_name");
    write_parquet(&case, "crm.parquet", &names);
    case.pipeline(&crm_source("crm.parquet"));
    refused(
        &case,
        "crm.parquet: column `first_name` is named twice; rename one of the two columns",
    );
}

#[test]
fn round2_an_expression_that_panics_datafusion_exits_2_naming_its_key() {
    let case = Case::new();
    let rows: String = ROWS
        .iter()
        .chain(ROWS.iter())
        .enumerate()
        .map(|(i, r)| format!("C{i},{}\n", r[1..].join(",")))
        .collect();
    case.write("crm.csv", format!("{CRM_HEADER}{rows}"));
    let source = crm_source("crm.csv").replace(
        "postcode = \"postcode\"",
        "postcode = \"repeat(first_name, 100000000)\"",
    );
    case.pipeline(&source);
    case.run(&[])
        .code(2)
        .says("sources[0].fields.postcode: the expression crashed the evaluator")
        .no_values(&VALUES);
    assert_eq!(case.latest(), None);
}

#[test]
fn round2_a_function_that_varies_between_runs_exits_2_naming_key_and_function() {
    let case = Case::new();
    let rows: String = ROWS.iter().map(|r| format!("{}\n", r.join(","))).collect();
    case.write("crm.csv", format!("{CRM_HEADER}{rows}"));
    for (key, expr, function) in [
        ("id", "uuid()", "uuid"),
        ("id", "cast(random() as varchar)", "random"),
        ("fields.postcode", "cast(now() as varchar)", "now"),
    ] {
        let source = match key {
            "id" => crm_source("crm.csv").replace("\"contact_id\"", &format!("\"{expr}\"")),
            _ => crm_source("crm.csv").replace("\"postcode\"\n", &format!("\"{expr}\"\n")),
        };
        case.pipeline(&source);
        let says = format!("`{function}()` gives a different value on every run");
        for args in [&["check", "pipeline.toml"][..], &["run", "pipeline.toml"]] {
            case.golden(args)
                .code(2)
                .says(&format!("sources[0].{key}: "))
                .says(&says)
                .no_values(&VALUES);
        }
    }
    assert_eq!(case.latest(), None);
}

#[test]
fn round2_aggregates_windows_subqueries_and_brackets_get_a_short_message() {
    let case = Case::new();
    let rows: String = ROWS.iter().map(|r| format!("{}\n", r.join(","))).collect();
    case.write("crm.csv", format!("{CRM_HEADER}{rows}"));
    let not_one_row = "aggregates, window functions and subqueries are not allowed in a field \
                       expression";
    for (expr, says) in [
        ("cast(count(*) as varchar)", not_one_row),
        ("row_number() OVER ()", not_one_row),
        (
            "CASE WHEN EXISTS (SELECT 1) THEN first_name END",
            not_one_row,
        ),
        (
            "postcode['city']",
            "`column['key']` and `column[1]` are not supported",
        ),
    ] {
        let source = crm_source("crm.csv").replace("\"postcode\"\n", &format!("\"{expr}\"\n"));
        case.pipeline(&source);
        case.run(&[])
            .code(2)
            .says(&format!("sources[0].fields.postcode: {says}"))
            .no_values(&VALUES);
        let out = case.golden(&["check", "pipeline.toml"]);
        out.code(2).says(says);
        assert!(!out.stderr.contains("Physical plan"), "a DataFusion dump");
    }
}

#[test]
fn round2_a_csv_column_named_like_an_unnamed_column_s_position_exits_3() {
    let case = Case::new();
    let header = format!("{},,__column_8\n", CRM_HEADER.trim_end());
    let rows: String = ROWS
        .iter()
        .map(|r| format!("{},,x\n", r.join(",")))
        .collect();
    case.write("crm.csv", format!("{header}{rows}"));
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[])
        .code(3)
        .says("crm.csv: column `__column_8` is named twice; rename one of the two columns")
        .no_values(&VALUES);
    assert_eq!(case.latest(), None);
}
