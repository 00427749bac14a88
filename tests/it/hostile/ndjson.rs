//! Hostile NDJSON exports and field expressions (issue 12 items 5, 10, 11, 12, 14 and 17):
//! a value an expression cannot convert, a key per line, ids beyond 2^64, SQL pasted into an
//! expression, empty and array-shaped files, a key that is in no row, nested Parquet columns,
//! unknown functions, a key first seen after line 1000, a byte-order mark and blank lines, and an
//! export longer than the reader's blocks.

use std::path::Path;

use super::{Case, assert_accounted, rejects_of};
use crate::util::{strings, table};

/// A `[[sources]]` table for the NDJSON file `path` (id `id`) with `fields` as its
/// `[sources.fields]` lines.
fn support(path: &str, fields: &str) -> String {
    format!(
        "[[sources]]\nname = \"support\"\npath = \"{path}\"\nid = \"id\"\n\
         max_reject_ratio = 0.9\n[sources.fields]\n{}",
        all_fields(fields)
    )
}

/// `fields`, then `NULL` for each field of the shared model that `fields` leaves out.
fn all_fields(fields: &str) -> String {
    let mut out = format!("{fields}\n");
    for f in [
        "first_name",
        "last_name",
        "email",
        "phone",
        "postcode",
        "birth_date",
    ] {
        if !fields.lines().any(|l| l.starts_with(&format!("{f} "))) {
            out.push_str(&format!("{f} = \"NULL\"\n"));
        }
    }
    out
}

/// The usual fields, each mapped to the key of the same name (`dob` for the birth date).
const FIELDS: &str = "first_name = \"first_name\"\nlast_name = \"last_name\"\nemail = \"email\"\n\
                      birth_date = \"dob\"";

/// One NDJSON line of a person with id `id` (written as given: `7`, `\"7\"`, `1.50`).
fn person(id: &str, first: &str, dob: &str) -> String {
    format!(
        "{{\"id\": {id}, \"first_name\": \"{first}\", \"last_name\": \"Quarmby\", \
         \"email\": \"{first}@example.com\", \"dob\": \"{dob}\"}}\n"
    )
}

/// (row_number, `column`) of every row of `source` in the run's table `name`, in row order.
fn by_row(run: &Path, name: &str, source: &str, column: &str) -> Vec<(u64, String)> {
    let t = table(run, name);
    let mut out: Vec<(u64, String)> = strings(&t, "source")
        .into_iter()
        .zip(strings(&t, "row_number"))
        .zip(strings(&t, column))
        .filter(|((s, _), _)| s.as_deref() == Some(source))
        .map(|((_, n), v)| {
            (
                n.and_then(|n| n.parse().ok()).unwrap_or(0),
                v.unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn item5_a_value_an_expression_cannot_convert_is_a_reject_not_an_abort() {
    let case = Case::new();
    let mut lines = String::new();
    for (id, dob, code) in [
        ("1", "03/02/1985", "12345"),
        ("2", "31/02/2020", "23456"),
        ("3", "04/05/1990", "SW1A 1AA"),
        ("4", "05/06/1970", "34567"),
    ] {
        lines.push_str(&format!(
            "{{\"id\": {id}, \"last_name\": \"Zanzibar{id}\", \"dob\": \"{dob}\", \"code\": \"{code}\"}}\n"
        ));
    }
    case.write("support.ndjson", lines);
    case.pipeline(&support(
        "support.ndjson",
        "last_name = \"last_name\"\nbirth_date = \"to_date(dob, '%d/%m/%Y')\"\n\
         postcode = \"CAST(code AS INT)\"",
    ));
    case.golden(&["check", "pipeline.toml"]).code(0);
    case.run(&[])
        .code(0)
        .no_values(&["31/02/2020", "SW1A 1AA", "Zanzibar2", "Zanzibar3"]);
    let run = case.out().join("latest");
    assert_accounted(&run, &[("support", "support.ndjson", 4)]);
    assert_eq!(
        by_row(&run, "rejects", "support", "detail"),
        vec![
            (
                2,
                "the expression of `fields.birth_date` failed on this row; fix the value or the expression".into()
            ),
            (
                3,
                "the expression of `fields.postcode` failed on this row; fix the value or the expression".into()
            ),
        ]
    );
    assert_eq!(
        rejects_of(&run, "support"),
        vec![
            (2, "expression_failed".to_string()),
            (3, "expression_failed".to_string())
        ]
    );
    let raw = strings(&table(&run, "rejects"), "raw");
    assert!(raw.iter().flatten().any(|r| r.contains("31/02/2020")));
    let golden = table(&run, "golden");
    let mut dobs: Vec<String> = strings(&golden, "birth_date")
        .into_iter()
        .flatten()
        .collect();
    dobs.sort();
    assert_eq!(dobs, ["1970-06-05", "1985-02-03"]);
}

#[test]
fn item5_rows_an_expression_cannot_convert_count_against_max_reject_ratio() {
    let case = Case::new();
    let lines: String = (1..=4)
        .map(|i| format!("{{\"id\": {i}, \"code\": \"SW1A {i}AA\"}}\n"))
        .collect();
    case.write("support.ndjson", lines);
    case.pipeline(
        &support("support.ndjson", "postcode = \"CAST(code AS INT)\"").replace("0.9", "0.5"),
    );
    case.run(&[])
        .code(3)
        .says("source `support`: 4 of 4 rows rejected")
        .no_values(&["SW1A"]);
    assert_eq!(case.latest(), None);
}

#[test]
fn item10_only_the_keys_the_expressions_use_become_columns() {
    let case = Case::new();
    let lines: String = (1..=1000)
        .map(|i| {
            format!(
                "{{\"id\": {i}, \"first_name\": \"N{i}\", \"last_name\": \"Q\", \"email\": \"e{i}@example.com\", \
                 \"dob\": \"1980-01-01\", \"extra_{i}\": \"x\"}}\n"
            )
        })
        .collect();
    case.write("support.ndjson", lines);
    case.pipeline(&support("support.ndjson", FIELDS));
    case.run(&[]).code(0);
    let run = case.out().join("latest");
    assert_accounted(&run, &[("support", "support.ndjson", 1000)]);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest is JSON");
    let mut columns: Vec<&str> = manifest["source_columns"]["support"]
        .as_array()
        .expect("support's columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    columns.sort_unstable();
    assert_eq!(columns, ["dob", "email", "first_name", "id", "last_name"]);
}

#[test]
fn item11_ids_keep_their_text_and_a_number_and_its_string_are_one_id() {
    let case = Case::new();
    let text = [
        person("123456789012345678901234567890", "Ann", "1980-01-01"),
        person("123456789012345678901234567891", "Bea", "1981-01-01"),
        person("1.50", "Cy", "1982-01-01"),
        person("18446744073709551617", "Di", "1983-01-01"),
        person("7006", "Ed", "1984-01-01"),
        person("\"7006\"", "Flo", "1985-01-01"),
    ]
    .concat();
    case.write("support.ndjson", text);
    case.pipeline(&support("support.ndjson", FIELDS));
    case.run(&[]).code(0).no_values(&["Flo", "Quarmby"]);
    let run = case.out().join("latest");
    assert_accounted(&run, &[("support", "support.ndjson", 6)]);
    assert_eq!(
        by_row(&run, "crosswalk", "support", "source_id"),
        vec![
            (1, "123456789012345678901234567890".to_string()),
            (2, "123456789012345678901234567891".to_string()),
            (3, "1.50".to_string()),
            (4, "18446744073709551617".to_string()),
            (5, "7006".to_string()),
        ]
    );
    assert_eq!(
        rejects_of(&run, "support"),
        vec![(6, "duplicate_id".to_string())]
    );
}

#[test]
fn item14_an_expression_that_closes_the_sql_is_a_pipeline_error_and_drops_no_row() {
    let case = Case::new();
    let text = [
        person("1", "Ann", "1980-01-01"),
        person("2", "Bea", "1981-01-01"),
    ]
    .concat();
    case.write("support.ndjson", text);
    let injected = "birth_date = 'dob) AS VARCHAR) AS \"birth_date\", \"__row\", \"__file\" \
                    FROM \"__source\" WHERE \"__row\" = 1 --'";
    let fields = FIELDS.replace("birth_date = \"dob\"", injected);
    case.pipeline(&support("support.ndjson", &fields));
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says("pipeline.toml:14:14: sources[0].fields.birth_date: ")
        .says("write one SQL expression");
    case.run(&[])
        .code(2)
        .says("pipeline.toml:14:14: sources[0].fields.birth_date: ")
        .no_values(&["Ann", "Bea"]);
    assert_eq!(case.latest(), None);
}

#[test]
fn item12_an_unknown_function_is_a_pipeline_error_naming_key_and_function() {
    let case = Case::new();
    case.write("support.ndjson", person("1", "Ann", "1980-01-01"));
    let fields = FIELDS.replace("\"dob\"", "\"frobnicate(dob)\"");
    case.pipeline(&support("support.ndjson", &fields));
    for args in [&["check", "pipeline.toml"][..], &["run", "pipeline.toml"]] {
        case.golden(args)
            .code(2)
            .says("sources[0].fields.birth_date: ")
            .says("frobnicate")
            .no_values(&["Ann"]);
    }
}

#[test]
fn item12_an_empty_ndjson_file_is_bad_input() {
    let case = Case::new();
    case.write("support.ndjson", "");
    case.pipeline(&support("support.ndjson", FIELDS));
    case.run(&[])
        .code(3)
        .says("support.ndjson: source `support`: its files hold no JSON lines (empty)");
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says("sources[0].path: ")
        .says("support.ndjson: the source's files hold no JSON lines (empty)");
    assert_eq!(case.latest(), None);
}

#[test]
fn item12_a_json_array_export_is_named_as_such() {
    let case = Case::new();
    let text = format!(
        "[{}, {}]\n",
        person("1", "Ann", "1980-01-01").trim(),
        person("2", "Bea", "1981-01-01").trim()
    );
    case.write("support.ndjson", text);
    case.pipeline(&support("support.ndjson", FIELDS));
    case.run(&[])
        .code(3)
        .says("the file looks like one JSON array, not NDJSON")
        .says("jq -c '.[]' FILE")
        .no_values(&["Ann", "Bea"]);
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says("sources[0].path: ")
        .says("the file looks like one JSON array, not NDJSON")
        .no_values(&["Ann", "Bea"]);
    assert_eq!(case.latest(), None);
}

#[test]
fn item12_a_key_in_no_row_is_named_exit_2_at_check_and_3_at_run() {
    let case = Case::new();
    case.write("support.ndjson", person("1", "Ann", "1980-01-01"));
    let fields = FIELDS.replace("\"dob\"", "\"birthday\"");
    case.pipeline(&support("support.ndjson", &fields));
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says("sources[0].fields.birth_date: ")
        .says("(no column or JSON key `birthday` in any row of the source's files; fix the name")
        .no_values(&["Ann"]);
    case.run(&[])
        .code(3)
        .says(
            "support.ndjson: source `support`: column `birthday` (used by `fields.birth_date`) \
             is in no row of the source's files",
        )
        .no_values(&["Ann"]);
}

#[test]
fn item12_a_nested_parquet_column_needs_an_expression_that_picks_a_value() {
    use arrow::array::{ArrayRef, RecordBatch, StringArray, StructArray};
    use arrow::datatypes::{DataType, Field};
    use std::sync::Arc;
    let case = Case::new();
    let city: ArrayRef = Arc::new(StringArray::from(vec!["Leeds", "York"]));
    let address = StructArray::from(vec![(
        Arc::new(Field::new("city", DataType::Utf8, true)),
        city,
    )]);
    let batch = RecordBatch::try_from_iter(vec![
        (
            "id",
            Arc::new(StringArray::from(vec!["1", "2"])) as ArrayRef,
        ),
        ("address", Arc::new(address) as ArrayRef),
    ])
    .expect("batch");
    let file = std::fs::File::create(case.path("billing.parquet")).expect("file");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    let source = format!(
        "[[sources]]\nname = \"billing\"\npath = \"billing.parquet\"\nid = \"id\"\n\
         [sources.fields]\n{}",
        all_fields("postcode = \"address\"")
    );
    case.pipeline(&source);
    for args in [&["check", "pipeline.toml"][..], &["run", "pipeline.toml"]] {
        case.golden(args)
            .code(2)
            .says("sources[0].fields.postcode: ")
            .says("gives a nested value")
            .says("`get_field(column, 'key')`")
            .no_values(&["Leeds", "York"]);
    }
    let source = source.replace("\"address\"", "\"get_field(address, 'city')\"");
    case.pipeline(&source);
    case.golden(&["check", "pipeline.toml"]).code(0);
}

#[test]
fn item17_check_sees_a_key_that_first_appears_after_line_1000() {
    let case = Case::new();
    let mut text: String = (1..=1200)
        .map(|i| format!("{{\"id\": {i}, \"last_name\": \"Q{i}\"}}\n"))
        .collect();
    text.push_str("{\"id\": 1201, \"last_name\": \"Q\", \"nickname\": \"Zed\"}\n");
    case.write("support.ndjson", text);
    case.pipeline(&support(
        "support.ndjson",
        "last_name = \"last_name\"\nfirst_name = \"nickname\"",
    ));
    case.golden(&["check", "pipeline.toml"]).code(0);
}

#[test]
fn item17_a_bom_is_stripped_and_row_numbers_are_line_numbers() {
    let case = Case::new();
    let text = format!(
        "\u{feff}{}\n\n{}   \n{}{{\"id\": 4, \"first_name\": \"NoClose\"\n\n{}",
        person("1", "Ann", "1980-01-01").trim(),
        person("2", "Bea", "1981-01-01"),
        person("", "Cy", "1982-01-01"),
        person("5", "Di", "1983-01-01"),
    );
    case.write("support.ndjson", text);
    case.pipeline(&support("support.ndjson", FIELDS));
    case.run(&[]).code(0).no_values(&["NoClose", "Bea"]);
    let run = case.out().join("latest");
    assert_eq!(
        by_row(&run, "crosswalk", "support", "source_id"),
        vec![
            (1, "1".to_string()),
            (3, "2".to_string()),
            (8, "5".to_string())
        ]
    );
    assert_eq!(
        rejects_of(&run, "support"),
        vec![
            (5, "invalid_json".to_string()),
            (6, "invalid_json".to_string())
        ]
    );
}

/// `n` people, one per line, each with a 3,000-character key no field uses, so that the file
/// spans several of the reader's 4 MiB blocks; `line(i)` replaces line `i` when it gives one.
fn long_export(n: usize, line: impl Fn(usize) -> Option<String>) -> String {
    let note = "x".repeat(3000);
    (1..=n)
        .map(|i| {
            line(i).unwrap_or_else(|| {
                let dob = format!("19{:02}-{:02}-{:02}", 40 + i % 50, 1 + i % 12, 1 + i % 28);
                let p = person(&i.to_string(), &format!("Ann{i}"), &dob);
                p.replacen('{', &format!("{{\"note\": \"{note}\", "), 1)
            })
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

#[test]
fn an_export_over_several_read_blocks_keeps_every_row_reject_and_error_in_line_order() {
    let case = Case::new();
    let n = 3000;
    let text = long_export(n, |i| match i {
        1500 => Some("not json\n".into()),
        2900 => Some("{\"id\": 2900, \"first_name\": \"Bo\", \"first_name\": \"Bo\"}\n".into()),
        _ => None,
    });
    assert!(text.len() > 2 * (4 << 20), "three blocks at least");
    case.write("support.ndjson", &text);
    case.pipeline(&support("support.ndjson", FIELDS));
    case.run(&[])
        .code(0)
        .no_values(&["Ann1", "Quarmby", "not json"]);
    let run = case.out().join("latest");
    assert_accounted(&run, &[("support", "support.ndjson", n as u64)]);
    assert_eq!(
        rejects_of(&run, "support"),
        vec![
            (1500, "invalid_json".to_string()),
            (2900, "duplicate_key".to_string())
        ]
    );
    // A reserved key in the last block stops the next run; the last good run stays.
    let before = case.latest();
    let text = long_export(n, |i| {
        (i == 2950).then(|| "{\"id\": 1, \"__row\": 7}\n".into())
    });
    case.write("support.ndjson", &text);
    case.run(&[])
        .code(3)
        .says("support.ndjson")
        .says("column `__row` has a name golden reserves")
        .no_values(&["Ann1", "Quarmby"]);
    assert_eq!(case.latest(), before);
}
