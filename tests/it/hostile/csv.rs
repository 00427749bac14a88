//! Hostile CSV (issue 12, items 1, 6, 9, 12 and 17): stray quotes, headers that are data or
//! name a column twice, undeclared delimiters, empty files, unreadable inputs and globs that
//! match a file twice or a name that is not UTF-8.

use super::{CRM_HEADER, Case, assert_accounted, crm_source, rejects_of};
use crate::util::{strings, table};

/// Values of the rows below that must never be printed.
const VALUES: &[&str] = &[
    "Zebedee",
    "Quarmby",
    "zq@example.com",
    "Yolanda",
    "Pym",
    "yp@example.org",
    "900123",
    "900456",
    "Xavier",
    "Dyke",
];

/// A clean row `id` with the tiny fixture's columns.
fn row(id: &str, first: &str, last: &str, email: &str, phone: &str) -> String {
    format!("{id},{first},{last},{email},{phone},SW1A 1AA,03/02/1985\n")
}

/// A case whose `path` holds `header` and one customer, read by source `crm` of `pattern`.
fn one_customer(header: &str, path: &str, pattern: &str) -> Case {
    let case = Case::new();
    let customer = row("C1", "Zebedee", "Quarmby", "zq@example.com", "07700 900123");
    case.write(path, format!("{header}{customer}"));
    case.pipeline(&crm_source(pattern));
    case
}

/// `golden check` and `golden run` both fail with `check`/`run` exit codes and say `text`;
/// `latest` stays where it was.
fn check_and_run_fail(case: &Case, check: i32, run: i32, text: &str) {
    let latest = case.latest();
    case.golden(&["check", "pipeline.toml"])
        .code(check)
        .says(text)
        .no_values(VALUES);
    case.run(&[]).code(run).says(text).no_values(VALUES);
    assert_eq!(case.latest(), latest, "a failed run moved latest");
}

/// Runs `text` as `crm.csv` (exit 0, no value printed), checks that its `rows` rows are each
/// in crosswalk or rejects once, and returns the case and the source ids in crosswalk.
fn run_csv(text: &str, rows: u64) -> (Case, Vec<Option<String>>) {
    let case = Case::new();
    case.write("crm.csv", text);
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[]).code(0).no_values(VALUES);
    let run = case.out().join("latest");
    assert_accounted(&run, &[("crm", "crm.csv", rows)]);
    let ids = strings(&table(&run, "crosswalk"), "source_id");
    (case, ids)
}

/// (row number, detail) of every `unbalanced_quote` reject of the case's run, which has no
/// other rejects.
fn quote_rejects(case: &Case) -> Vec<(u64, String)> {
    let run = case.out().join("latest");
    let rows = rejects_of(&run, "crm");
    assert!(
        rows.iter().all(|(_, r)| r == "unbalanced_quote"),
        "{rows:?}"
    );
    let details = strings(&table(&run, "rejects"), "detail");
    let details = details.into_iter().map(Option::unwrap_or_default);
    rows.into_iter().map(|(n, _)| n).zip(details).collect()
}

#[test]
fn a_stray_quote_rejects_each_line_it_swallowed_and_a_quoted_line_break_is_kept() {
    // Row 1 opens a quote that row 2 closes: one record of the right shape, with row 2's
    // e-mail. Row 4 has a legitimate line break inside a quoted surname.
    let text = format!(
        "{CRM_HEADER}C1,Zebedee,\"Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n\
         C2,Yolanda,Pym\",yp@example.org,07700 900456,SW1A 1AA,04/05/1990\n{}\
         C4,Xavier,\"Van\nDyke\",xd@example.net,07700 900789,SW1A 2AA,05/06/1970\n",
        row("C3", "Wanda", "Vole", "wv@example.com", "07700 900321")
    );
    let (case, ids) = run_csv(&text, 4);
    assert_eq!(ids, vec![Some("C3".to_string()), Some("C4".to_string())]);
    let why = "a quoted field opened on line 2 runs to line 3 over rows of the header's shape; \
               check the quotes of line 2";
    assert_eq!(
        quote_rejects(&case),
        vec![(1, format!("line 2: {why}")), (2, format!("line 3: {why}"))]
    );
}

#[test]
fn a_quote_that_never_closes_rejects_every_line_to_the_end_of_the_file() {
    let text = format!(
        "{CRM_HEADER}{}\n{}C3,Zebedee,\"Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n\n{}",
        row("C1", "Wanda", "Vole", "wv@example.com", "07700 900321"),
        row("C2", "Ula", "Trent", "ut@example.com", "07700 900654"),
        row("C4", "Yolanda", "Pym", "yp@example.org", "07700 900456"),
    );
    let (case, ids) = run_csv(&text, 4);
    assert_eq!(ids, vec![Some("C1".to_string()), Some("C2".to_string())]);
    let why = "a quoted field opened on line 5 runs to line 7 and gives 3 fields, the header \
               has 7; check the quotes of line 5";
    assert_eq!(
        quote_rejects(&case),
        vec![(3, format!("line 5: {why}")), (4, format!("line 7: {why}"))]
    );
}

#[test]
fn a_csv_without_a_header_row_is_an_error_that_shows_only_its_shape() {
    // Last night's export had its header; tonight's second file does not.
    let case = one_customer(CRM_HEADER, "exports/a.csv", "exports/*.csv");
    case.run(&[]).code(0);
    assert!(case.latest().is_some());
    let text = row("C2", "Zebedee", "Quarmby", "zq@example.com", "07700 900123")
        + &row("C3", "Yolanda", "Pym", "yp@example.org", "07700 900456");
    case.write("exports/b.csv", text);
    check_and_run_fail(
        &case,
        2,
        3,
        "b.csv: the header has 7 columns; 3 look like e-mails, phones, numbers or dates: \
         is the first line a header?",
    );
}

#[test]
fn a_line_break_as_delimiter_is_a_pipeline_error() {
    let case = one_customer(CRM_HEADER, "crm.csv", "crm.csv");
    let source =
        crm_source("crm.csv").replace("max_reject_ratio", "delimiter = \"\\n\"\nmax_reject_ratio");
    case.pipeline(&source);
    check_and_run_fail(
        &case,
        2,
        2,
        "sources[0].delimiter: must not be a line break or a quote",
    );
}

#[test]
fn an_empty_csv_file_is_a_data_error_naming_it() {
    let case = Case::new();
    case.write("crm.csv", "");
    case.pipeline(&crm_source("crm.csv"));
    check_and_run_fail(
        &case,
        2,
        3,
        "crm.csv: the file is empty (no header row); export it with its header line even when \
         it has no rows, or remove it from the source",
    );
}

#[test]
fn a_header_that_spells_a_column_in_another_case_says_which_column_is_meant() {
    let header = CRM_HEADER
        .replace("email", "Email")
        .replace("first_name", "First Name");
    let case = one_customer(&header, "crm.csv", "crm.csv");
    let says = "`first_name` (in `fields.first_name`) not found; the file has `First Name`";
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says(says)
        .says("`email` (in `fields.email`) not found; the file has `Email`")
        .no_values(VALUES);
    case.run(&[]).code(3).says(says).no_values(VALUES);
}

#[test]
fn an_undeclared_semicolon_delimiter_says_to_declare_it() {
    let case = one_customer(&CRM_HEADER.replace(',', ";"), "crm.csv", "crm.csv");
    let text = std::fs::read_to_string(case.path("crm.csv")).expect("read");
    case.write("crm.csv", text.replace(',', ";"));
    check_and_run_fail(
        &case,
        2,
        3,
        "crm.csv: the header is one column containing `;`: set delimiter = \";\" in the source",
    );
}

#[test]
fn a_header_that_names_a_column_twice_is_an_error() {
    let header = CRM_HEADER.replace("phone", "email");
    let case = one_customer(&header, "crm.csv", "crm.csv");
    check_and_run_fail(
        &case,
        2,
        3,
        "crm.csv: column `email` appears twice in the header (columns 4 and 5); rename one",
    );
}

#[test]
fn an_input_that_cannot_be_read_is_a_data_error_naming_it() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let case = one_customer(CRM_HEADER, "crm.csv", "crm.csv");
    std::fs::create_dir(case.out()).expect("out");
    let csv = case.path("crm.csv");
    for (path, mode) in [(case.path("."), 0o755), (case.out(), 0o777), (csv, 0o000)] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("mode");
    }
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_golden"));
    cmd.args(["run", "pipeline.toml"])
        .current_dir(case.path("."));
    // Root reads any file: run as nobody so that permission is denied.
    if std::fs::metadata("/proc/self").expect("proc").uid() == 0 {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("golden runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr:\n{stderr}");
    assert!(
        stderr.contains("crm.csv: cannot open the file (Permission denied"),
        "stderr:\n{stderr}"
    );
}

#[test]
fn a_glob_match_whose_name_is_not_utf8_is_an_error_naming_it() {
    use std::os::unix::ffi::OsStrExt;
    let case = one_customer(CRM_HEADER, "exports/a.csv", "exports/*.csv");
    let name = std::ffi::OsStr::from_bytes(b"b\xff.csv");
    let body = std::fs::read(case.path("exports/a.csv")).expect("read");
    std::fs::write(case.path("exports").join(name), body).expect("file");
    let says = "b\u{fffd}.csv` matches `exports/*.csv` but its name is not valid UTF-8; rename it";
    case.golden(&["check", "pipeline.toml"]).code(2).says(says);
    case.run(&[]).code(2).says(says);
}

#[test]
fn a_glob_through_a_symlink_loop_reads_each_file_once() {
    let case = one_customer(CRM_HEADER, "exports/a.csv", "exports/**/*.csv");
    std::os::unix::fs::symlink(".", case.path("exports/loop")).expect("link");
    case.golden(&["check", "pipeline.toml"])
        .code(0)
        .no_values(VALUES);
    case.run(&[]).code(0).no_values(VALUES);
    assert_accounted(&case.out().join("latest"), &[("crm", "a.csv", 1)]);
}

#[test]
fn a_directory_given_as_the_path_is_a_data_error_naming_it() {
    for path in ["exports.csv", "exports.parquet"] {
        let case = one_customer(CRM_HEADER, &format!("{path}/a.csv"), path);
        let says = format!("{path}: is a directory, not a file; name the files in it with a glob");
        case.golden(&["check", "pipeline.toml"]).code(2).says(&says);
        case.run(&[]).code(3).says(&says).no_values(VALUES);
    }
}
