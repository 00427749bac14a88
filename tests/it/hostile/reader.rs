//! Readers and the command line under hostile use (issue 12, items 3, 7, 12, 17, 18, 19):
//! `golden query` writes nothing and reads nothing but the run, a closed or full stdout ends
//! no command with a panic, `golden verify` proves a run unchanged, errors are JSON under
//! `--log-format json`, `--threads 0` is a usage error, and stderr that is not a terminal
//! holds no progress bar or colour.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{CRM_HEADER, Case, VALUES, assert_accounted, committed, crm_source};

/// Every file of `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("run dir")
        .map(|e| {
            let e = e.expect("entry");
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).expect("file"))
        })
        .collect()
}

/// Runs `golden ARGS` in the case's directory with `stdout` as its standard output; returns
/// the exit code and stderr.
fn golden_into(case: &Case, args: &[&str], stdout: Stdio) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_golden"))
        .args(args)
        .current_dir(case.path("."))
        .env("RUST_LOG", "golden=trace")
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("the golden binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "golden {args:?} panicked:\n{stderr}"
    );
    (out.status.code(), stderr)
}

/// A standard output whose reader has already gone: every write fails with a broken pipe.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

/// A standard output on which every write fails with "no space left on device".
fn full_disk() -> Stdio {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    Stdio::from(full)
}

#[test]
fn query_refuses_every_statement_that_writes_or_reads_other_files() {
    let (case, run) = committed();
    case.write("secret.csv", "name\nOttoline\n");
    let before = contents(&run);
    let writers = [
        "COPY (SELECT * FROM golden) TO 'out/latest/crosswalk.parquet' STORED AS PARQUET",
        "COPY crosswalk TO 'stolen.csv' STORED AS CSV",
        "EXPLAIN ANALYZE COPY crosswalk TO 'stolen.csv' STORED AS CSV",
        "CREATE EXTERNAL TABLE secret STORED AS CSV LOCATION 'secret.csv' OPTIONS ('format.has_header' 'true')",
        "INSERT INTO crosswalk SELECT * FROM crosswalk",
        "CREATE TABLE copy AS SELECT * FROM golden",
        "SET datafusion.execution.batch_size = 1",
        "DROP TABLE golden",
        "CREATE VIEW v AS SELECT * FROM golden",
    ];
    for sql in writers {
        case.golden(&["query", "out", sql])
            .code(2)
            .says("golden query is read-only")
            .no_values(VALUES);
    }
    // Files are not tables and there are no table functions to read them with.
    for sql in [
        "SELECT * FROM 'secret.csv'",
        "SELECT * FROM read_csv('secret.csv')",
        "SELECT * FROM read_parquet('out/latest/golden.parquet')",
    ] {
        case.golden(&["query", "out", sql])
            .code(2)
            .no_values(VALUES);
    }
    // A result is never written into the run it was read from, nor into another run.
    let older = case.out().join("runs/older");
    std::fs::create_dir_all(&older).expect("older run");
    std::fs::write(older.join("manifest.json"), "{}").expect("its manifest");
    for (format, out) in [
        ("csv", run.join("crosswalk.parquet")),
        ("parquet", older.join("golden.parquet")),
    ] {
        let path = out.to_str().expect("utf-8 path");
        let args = [
            "query", "out", "SELECT 1", "--format", format, "--out", path,
        ];
        case.golden(&args).code(2).says("inside the run");
    }
    assert!(!older.join("golden.parquet").exists());
    assert_eq!(contents(&run), before, "a reader changed the run");
    assert!(!case.path("stolen.csv").exists());
    // Reading still works.
    let read = case.golden(&[
        "query",
        "out",
        "SELECT count(*) AS n FROM crosswalk",
        "--format",
        "csv",
    ]);
    read.code(0);
    assert_eq!(read.stdout, "n\n2\n");
}

#[test]
fn a_closed_stdout_ends_a_reader_quietly() {
    let (case, _run) = committed();
    for args in [
        &["query", "out", "SELECT * FROM crosswalk"][..],
        &["query", "out", "SELECT * FROM crosswalk", "--format", "csv"],
        &["runs", "out"],
        &["verify", "out"],
    ] {
        let (code, stderr) = golden_into(&case, args, closed_pipe());
        assert_eq!(code, Some(0), "golden {args:?}:\n{stderr}");
        assert!(!stderr.contains("error"), "golden {args:?}:\n{stderr}");
    }
}

#[test]
fn a_full_stdout_never_fails_a_committed_run() {
    let (case, first) = committed();
    let (code, stderr) = golden_into(&case, &["run", "pipeline.toml"], full_disk());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("the run is committed, but its summary could not be printed"));
    let latest = std::fs::canonicalize(case.out().join("latest")).expect("latest");
    assert_ne!(latest, first, "the second run is committed");
    assert_accounted(&latest, &[("crm", "crm.csv", 3)]);
    // A reader whose only output cannot be written fails, naming stdout, without a panic.
    let (code, stderr) = golden_into(&case, &["query", "out", "SELECT 1"], full_disk());
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: stdout: No space left on device"),
        "{stderr}"
    );
}

#[test]
fn stderr_that_is_not_a_terminal_has_no_bar_and_no_control_bytes() {
    let case = Case::new();
    case.write(
        "crm.csv",
        format!("{CRM_HEADER}C1,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n"),
    );
    case.pipeline(&crm_source("crm.csv"));
    for format in ["text", "json"] {
        let out = case.run(&["--log-format", format]);
        out.code(0).no_values(VALUES);
        assert!(out.stderr.contains("stage completed"), "{}", out.stderr);
        let control = out.stderr.chars().find(|c| c.is_control() && *c != '\n');
        assert_eq!(
            control, None,
            "a control byte in {format} logs:\n{}",
            out.stderr
        );
    }
}

#[test]
fn verify_proves_a_run_intact_and_names_every_file_that_changed() {
    let (case, run) = committed();
    let ok = case.golden(&["verify", "out"]);
    ok.code(0);
    // Eight tables, model.json, report.html and the copy of the pipeline file.
    assert!(ok.stdout.contains("intact (11 files"), "{}", ok.stdout);
    // The same through the run directory itself.
    case.golden(&["verify", run.to_str().expect("utf-8")])
        .code(0);

    let crosswalk = run.join("crosswalk.parquet");
    let mut bytes = std::fs::read(&crosswalk).expect("crosswalk");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&crosswalk, &bytes).expect("edited");
    case.golden(&["verify", "out"])
        .code(3)
        .says("is NOT intact: 1 of its files")
        .says("crosswalk.parquet: changed (SHA-256 differs)");

    std::fs::remove_file(run.join("rejects.parquet")).expect("deleted");
    std::fs::write(run.join("extra.csv"), "x\n").expect("added");
    let copy = run.join("pipeline.toml");
    let edited = std::fs::read_to_string(&copy).expect("the run's pipeline.toml") + "# edited\n";
    std::fs::write(&copy, edited).expect("edited");
    case.golden(&["verify", "out"])
        .code(3)
        .says("is NOT intact: 4 of its files")
        .says("crosswalk.parquet: changed")
        .says("pipeline.toml: changed (SHA-256 differs; 827 bytes, recorded 818)")
        .says("rejects.parquet: missing")
        .says("extra.csv: added");
}

#[test]
fn verify_says_when_a_run_predates_checksums() {
    let (case, run) = committed();
    let path = run.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("json");
    let files = manifest.as_object_mut().expect("object").remove("files");
    assert!(files.is_some(), "the manifest records its files");
    std::fs::write(&path, manifest.to_string()).expect("old manifest");
    case.golden(&["verify", "out"])
        .code(3)
        .says("records no file checksums")
        .says("cannot be verified");
}

#[test]
fn errors_are_json_lines_under_json_logs() {
    let case = Case::new();
    for (args, code) in [
        (&["--log-format", "json", "run", "missing.toml"][..], 2),
        (
            &["run", "missing.toml", "--log-format=json", "--threads", "x"],
            2,
        ),
        (&["--log-format", "json", "query", "nowhere", "SELECT 1"], 2),
    ] {
        let out = case.golden(args);
        out.code(code);
        let last = out.stderr.lines().last().unwrap_or_default();
        let line: serde_json::Value = serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("{args:?}: not a JSON line ({e}):\n{}", out.stderr));
        assert_eq!(line["level"], "ERROR", "{last}");
        assert_eq!(line["exit_code"], code, "{last}");
        assert!(
            line["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{last}"
        );
    }
}

#[test]
fn zero_threads_is_a_usage_error() {
    let case = Case::new();
    case.write("crm.csv", CRM_HEADER);
    case.pipeline(&crm_source("crm.csv"));
    case.run(&["--threads", "0"])
        .code(2)
        .says("must be at least 1; leave --threads out to use all cores");
    assert!(case.latest().is_none());
}

#[test]
fn verify_refuses_a_run_that_was_never_committed() {
    let case = Case::new();
    case.write("crm.csv", format!("{CRM_HEADER},,,,,,\n,,,,,,\n"));
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[]).code(3);
    let failed: Vec<PathBuf> = std::fs::read_dir(case.out().join("runs"))
        .expect("runs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    case.golden(&["verify", failed[0].to_str().expect("utf-8")])
        .code(3)
        .says("was not committed (status: failed: too many rejects)");
}
