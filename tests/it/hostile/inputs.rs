//! Hostile inputs, round 2 (red-team rows 13, 17, 18, 21, 10 and 29): globs through symlink
//! loops and onto things that are not regular files, headers repeated mid-file, NDJSON objects
//! with a key twice or an id that is not a scalar, headerless files and Excel's `sep=` line.

use super::{CRM_HEADER, Case, assert_accounted, crm_source, rejects_of};

/// Values of the rows below that must never be printed.
const VALUES: &[&str] = &["Zebedee", "Quarmby", "zq@example.com", "900123"];

/// One clean customer row `id` with the tiny fixture's columns.
fn customer(id: &str) -> String {
    format!("{id},Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n")
}

/// `golden check` exits 2 and `golden run` exits 3, both saying `text`; `latest` unchanged.
fn check_and_run_fail(case: &Case, text: &str) {
    let latest = case.latest();
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says(text)
        .no_values(VALUES);
    case.run(&[]).code(3).says(text).no_values(VALUES);
    assert_eq!(case.latest(), latest, "latest moved after a failure");
}

#[test]
fn row13_a_glob_through_symlink_loops_ends_and_reads_each_file_once() {
    let case = Case::new();
    case.write("d/a.csv", format!("{CRM_HEADER}{}", customer("C1")));
    std::os::unix::fs::symlink("..", case.path("d/loop")).unwrap();
    std::os::unix::fs::symlink(".", case.path("d/self")).unwrap();
    case.pipeline(&crm_source("d/**/*.csv"));
    case.run(&[]).code(0).no_values(VALUES);
    assert_accounted(&case.out().join("latest"), &[("crm", "a.csv", 1)]);
}

/// A case reading `d/*.csv`, where `d/a.csv` is a clean file and `make` puts something else
/// at `d/z.csv`.
fn glob_with(make: impl FnOnce(&std::path::Path)) -> Case {
    let case = Case::new();
    case.write("d/a.csv", format!("{CRM_HEADER}{}", customer("C1")));
    make(&case.path("d/z.csv"));
    case.pipeline(&crm_source("d/*.csv"));
    case
}

#[test]
fn row17_a_glob_matching_a_fifo_fails_naming_it() {
    let case = glob_with(|p| {
        let ok = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(ok.success());
    });
    check_and_run_fail(&case, "z.csv: is a FIFO, not a regular file");
}

#[test]
fn row17_a_glob_matching_a_device_symlink_fails_naming_it() {
    let case = glob_with(|p| std::os::unix::fs::symlink("/dev/urandom", p).unwrap());
    check_and_run_fail(&case, "z.csv: is a device, not a regular file");
}

#[test]
fn row17_a_glob_matching_a_directory_fails_naming_it() {
    let case = glob_with(|p| std::fs::create_dir(p).unwrap());
    check_and_run_fail(&case, "z.csv: is a directory, not a file");
}

#[test]
fn row17_a_glob_matching_a_dangling_symlink_fails_naming_it() {
    let case = glob_with(|p| std::os::unix::fs::symlink("nope.csv", p).unwrap());
    check_and_run_fail(&case, "z.csv: cannot open the file");
}

#[test]
fn row18_a_header_repeated_mid_file_is_rejected_as_repeated_header() {
    let case = Case::new();
    let (a, b) = (customer("C1"), customer("C2"));
    case.write("crm.csv", format!("{CRM_HEADER}{a}{CRM_HEADER}{b}"));
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[]).code(0).no_values(VALUES);
    let run = case.out().join("latest");
    assert_accounted(&run, &[("crm", "crm.csv", 3)]);
    assert_eq!(
        rejects_of(&run, "crm"),
        vec![(2, "repeated_header".to_string())]
    );
}

#[test]
fn row21_ndjson_duplicate_keys_non_scalar_ids_and_lone_surrogates_are_rejected() {
    let case = Case::new();
    let lines = [
        r#"{"id":"C1","first_name":"Zebedee","last_name":"Quarmby","email":"zq@example.com","phone":"07700 900123","postcode":"SW1A 1AA","dob":"03/02/1985"}"#,
        r#"{"id":"C9","id":"C2","first_name":"Zebedee"}"#,
        r#"{"id":{"a":1},"first_name":"Zebedee"}"#,
        r#"{"id":[1],"first_name":"Zebedee"}"#,
        r#"{"id":true,"first_name":"Zebedee"}"#,
        r#"{"id":"C3","first_name":"\ud800Zebedee"}"#,
    ];
    case.write("s.ndjson", lines.join("\n") + "\n");
    case.pipeline(
        "[[sources]]\nname = \"s\"\npath = \"s.ndjson\"\nid = \"id\"\nmax_reject_ratio = 0.9\n\
         [sources.fields]\nfirst_name = \"first_name\"\nlast_name = \"last_name\"\n\
         email = \"email\"\nphone = \"phone\"\npostcode = \"postcode\"\nbirth_date = \"dob\"\n",
    );
    case.run(&[]).code(0).no_values(VALUES);
    let run = case.out().join("latest");
    assert_accounted(&run, &[("s", "s.ndjson", 6)]);
    let reasons: Vec<(u64, String)> = [
        (2, "duplicate_key"),
        (3, "missing_id"),
        (4, "missing_id"),
        (5, "missing_id"),
        (6, "invalid_json"),
    ]
    .map(|(n, r)| (n, r.to_string()))
    .into();
    assert_eq!(rejects_of(&run, "s"), reasons);
    let t = crate::util::table(&run, "rejects");
    let raw = crate::util::strings(&t, "raw");
    assert_eq!(
        raw[0].as_deref(),
        Some(lines[1]),
        "raw kept exactly as written"
    );
}

#[test]
fn row10_check_never_lists_a_headerless_files_first_row_or_keys_that_are_values() {
    let case = Case::new();
    case.write("crm.csv", "C1,Zebedee,Quarmby,Kestrelwood\n");
    case.pipeline(&crm_source("crm.csv"));
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says("the file has 4 columns (names not shown")
        .no_values(&["Zebedee", "Quarmby", "Kestrelwood"]);
    case.write(
        "s.ndjson",
        r#"{"contact_id":"C1","zq@example.com":"Zebedee"}"#.to_string() + "\n",
    );
    case.pipeline(&crm_source("s.ndjson"));
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says("the file has 2 columns (names not shown")
        .no_values(VALUES);
}

#[test]
fn row29_an_excel_sep_line_is_named_instead_of_read_as_the_header() {
    let case = Case::new();
    case.write("crm.csv", format!("sep=,\n{CRM_HEADER}{}", customer("C1")));
    case.pipeline(&crm_source("crm.csv"));
    check_and_run_fail(&case, "the first line is Excel's `sep=` line");
}

#[test]
fn row29_a_row_ending_with_a_delimiter_says_so() {
    let case = Case::new();
    let row = customer("C1").replace('\n', ",\n");
    case.write("crm.csv", format!("{CRM_HEADER}{row}{}", customer("C2")));
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[]).code(0).no_values(VALUES);
    let run = case.out().join("latest");
    assert_accounted(&run, &[("crm", "crm.csv", 2)]);
    let details = crate::util::strings(&crate::util::table(&run, "rejects"), "detail");
    assert_eq!(
        details[0].as_deref(),
        Some(
            "8 fields, the header has 7; the row ends with a delimiter: remove the trailing delimiter"
        )
    );
}
