//! Nightly runs that heal themselves (issue 12, items 8, 15, 16 and 17's lock part): a damaged
//! or foreign previous run gives a full run with a warning, a lock whose process is gone is
//! taken over, SIGINT/SIGTERM end a run cleanly, a killed run is followed by a plain run that
//! succeeds, incremental runs equal `--full` without a pinned model, and lock text is printed
//! without its control bytes.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use golden::generate::{GenerateOptions, generate};
use golden::output::Manifest;

use super::{Case, crm_source};
use crate::util::{strings, table};

/// Customer values of [`crm_case`], never to be printed.
pub(super) const VALUES: &[&str] = &[
    "Zebedee",
    "Quarmby",
    "zq@example.com",
    "Ottoline",
    "oo@example.org",
];

/// A case with three CRM rows (two of them one person) and a committed first run.
pub(super) fn crm_case() -> Case {
    let case = Case::new();
    case.write(
        "crm.csv",
        format!(
            "{}C1,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n\
             C2,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n\
             C3,Ottoline,Oddie,oo@example.org,020 7946 0958,EC1A 1BB,25/12/1990\n",
            super::CRM_HEADER
        ),
    );
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[]).code(0).no_values(VALUES);
    case
}

/// The run directory `out/latest` points at.
pub(super) fn latest_dir(case: &Case) -> PathBuf {
    case.out().join(case.latest().expect("latest is a link"))
}

/// The manifest of the run `out/latest` points at.
fn latest_manifest(case: &Case) -> Manifest {
    Manifest::read(&latest_dir(case).join("manifest.json")).unwrap()
}

/// The golden id of each record of the latest run, as `source:id=golden` lines, sorted.
fn ids(case: &Case) -> Vec<String> {
    let xw = table(&latest_dir(case), "crosswalk");
    let mut v: Vec<String> = strings(&xw, "source")
        .into_iter()
        .zip(strings(&xw, "source_id"))
        .zip(strings(&xw, "golden_id"))
        .map(|((s, i), g)| format!("{}:{}={}", s.unwrap(), i.unwrap(), g.unwrap()))
        .collect();
    v.sort();
    v
}

/// Rewrites Parquet file `path` with column `column` cast to `to`.
fn retype(path: &Path, column: &str, to: DataType) {
    let batch = golden::run::read_parquet(path).unwrap();
    let (mut fields, mut columns) = (Vec::new(), Vec::new());
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if f.name() == column {
            fields.push(Field::new(f.name(), to.clone(), true));
            columns.push(arrow::compute::cast(c, &to).unwrap());
        } else {
            fields.push(f.as_ref().clone());
            columns.push(c.clone());
        }
    }
    assert!(fields.iter().any(|f| f.name() == column), "{column}");
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    golden::run::write_parquet(path, &batch).unwrap();
}

/// Casts `column` of the latest run's `file` to `to`, runs again and asserts a full run (the
/// comparisons are not reused, with a warning naming the column) that keeps the golden ids.
fn assert_full_run_after_retype(file: &str, column: &str, to: DataType) {
    let case = crm_case();
    let before = ids(&case);
    retype(&latest_dir(&case).join(file), column, to);
    case.run(&[])
        .code(0)
        .no_values(VALUES)
        .says("previous comparisons unusable")
        .says(column);
    assert_eq!(latest_manifest(&case).mode, "full");
    assert_eq!(ids(&case), before, "the golden ids are kept");
}

/// Item 8: a previous `content_hash` of another integer type panicked every incremental run.
#[test]
fn nightly_previous_content_hash_of_another_type_gives_a_full_run() {
    assert_full_run_after_retype("crosswalk.parquet", "content_hash", DataType::Int64);
}

/// Item 8: a previous `*_level` column of another integer type panicked every incremental run.
#[test]
fn nightly_previous_level_column_of_another_type_gives_a_full_run() {
    assert_full_run_after_retype("decisions.parquet", "first_name_level", DataType::Int32);
}

/// Item 8: a previous crosswalk that cannot be read means no previous ids (a warning, all ids
/// new), not a failed run.
#[test]
fn nightly_an_unreadable_previous_crosswalk_gives_new_ids_with_a_warning() {
    let case = crm_case();
    std::fs::write(latest_dir(&case).join("crosswalk.parquet"), b"not parquet").unwrap();
    assert_fresh_full_run(&case, &["previous crosswalk unusable"]);
}

/// Runs `case` again and asserts success, the `warnings` on stderr, no customer value printed,
/// and a full run in which every golden id is new (the previous run was not used).
fn assert_fresh_full_run(case: &Case, warnings: &[&str]) {
    let o = case.run(&[]);
    o.code(0).no_values(VALUES);
    for w in warnings {
        o.says(w);
    }
    let m = latest_manifest(case);
    assert_eq!(m.mode, "full");
    assert_eq!(m.counts.changes_new, m.counts.golden_records);
}

/// Item 8: `latest` as a real directory made every run work, commit, then exit 1 with `latest`
/// never moving. Now it is moved aside (nothing deleted) and `latest` points at the new run.
#[test]
fn nightly_latest_as_a_real_directory_is_moved_aside_and_replaced() {
    let case = crm_case();
    let first = case.latest().unwrap();
    std::fs::remove_file(case.out().join("latest")).unwrap();
    case.write("out/latest/notes.txt", "kept by hand");
    assert_fresh_full_run(&case, &["previous run unusable", "moved aside"]);
    let now = case.latest().expect("latest is a link again");
    assert_ne!(now, first);
    let run_id = now.file_name().unwrap().to_string_lossy().into_owned();
    let aside = case.out().join(format!("latest.invalid-{run_id}"));
    assert_eq!(
        std::fs::read_to_string(aside.join("notes.txt")).unwrap(),
        "kept by hand"
    );
}

/// Item 8: `latest` pointing into another output directory was used silently (its golden ids
/// taken over). Now it is not used, with a warning, and `latest` is pointed at the new run.
#[test]
fn nightly_latest_into_another_output_directory_is_not_used() {
    let case = crm_case();
    case.run(&["--output", "out/other"]).code(0);
    let other = std::fs::read_link(case.out().join("other/latest")).unwrap();
    std::fs::remove_file(case.out().join("latest")).unwrap();
    std::os::unix::fs::symlink(Path::new("other").join(&other), case.out().join("latest")).unwrap();
    assert_fresh_full_run(
        &case,
        &["previous run unusable", "not a committed run under"],
    );
    let latest = case.latest().unwrap();
    assert!(latest.starts_with("runs"), "{}", latest.display());
}

/// Writes `out/.lock` with `text`.
fn lock(case: &Case, text: &str) -> PathBuf {
    case.write("out/.lock", text)
}

/// Item 15: a lock whose process is gone from this host is taken over with a warning; a plain
/// run succeeds (no `--break-lock`).
#[test]
fn nightly_a_lock_whose_process_is_gone_is_taken_over() {
    let case = crm_case();
    let host = golden::run::host_name();
    let path = lock(
        &case,
        &format!("pid=999999999\nstart=12345\nhost={host}\nstarted=x\n"),
    );
    case.run(&[])
        .code(0)
        .says("taking over the lock")
        .says("999999999");
    assert!(!path.exists(), "the lock is released after the run");
    // An old lock file without a start time, whose pid is gone: stale as before.
    lock(&case, &format!("pid=999999999\nhost={host}\n"));
    case.run(&[]).code(0).says("taking over the lock");
}

/// Item 15: a pid that now names another process (other start time) is not mistaken for the
/// holder; the same pid with its own start time is alive and never broken.
#[test]
fn nightly_a_reused_pid_is_stale_and_a_live_holder_is_never_broken() {
    let case = crm_case();
    let host = golden::run::host_name();
    let me = std::process::id();
    let start = golden::run::process_start(me).expect("own start time");
    let path = lock(
        &case,
        &format!("pid={me}\nstart={}\nhost={host}\n", start + 1),
    );
    case.run(&[]).code(0).says("taking over the lock");
    assert!(!path.exists());
    lock(&case, &format!("pid={me}\nstart={start}\nhost={host}\n"));
    for extra in [&[][..], &["--break-lock"][..]] {
        case.run(extra).code(4).says("still running");
        assert!(path.exists());
    }
}

/// Item 15: `--break-lock` is for a lock of another host, which is otherwise never touched.
#[test]
fn nightly_break_lock_removes_a_lock_of_another_host() {
    let case = crm_case();
    let path = lock(&case, "pid=1\nstart=1\nhost=not-this-host.example\n");
    case.run(&[]).code(4).says("--break-lock");
    assert!(path.exists());
    case.run(&["--break-lock"])
        .code(0)
        .says("taking over the lock");
    assert!(!path.exists());
}

/// Item 17: control bytes of a lock file are escaped in `golden run` (exit 4) and `golden runs`.
#[test]
fn nightly_lock_text_is_printed_without_control_bytes() {
    let case = crm_case();
    lock(
        &case,
        "pid=1\nhost=evil\x1b]0;owned\x07\x1b[2J\u{202e}\nstarted=\x1b[31mred\n",
    );
    let o = case.run(&[]);
    o.code(4).says("\\u{1b}[2J").says("\\u{202e}");
    let shown = case.golden(&["runs", "out"]);
    shown.code(0);
    for text in [&o.stderr, &shown.stdout, &shown.stderr] {
        assert!(
            !text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202e}'),
            "raw control bytes printed: {text:?}"
        );
    }
    assert!(shown.stdout.contains("\\u{1b}[31mred"), "{}", shown.stdout);
}

/// A case with `entities` generated people, their pipeline (`data/pipeline.toml`, a model
/// trained every run) and a committed first run into `out`.
fn generated(entities: usize) -> Case {
    let case = Case::new();
    generate(&GenerateOptions {
        entities,
        seed: 5,
        out: case.path("data"),
        broken_rows: false,
        household_share: None,
    })
    .unwrap();
    case.golden(&["run", "data/pipeline.toml", "--output", "out"])
        .code(0);
    case
}

/// `golden run data/pipeline.toml --output out` in `case`, at info level, stderr piped.
fn spawn_run(case: &Case) -> Child {
    Command::new(env!("CARGO_BIN_EXE_golden"))
        .args(["run", "data/pipeline.toml", "--output", "out"])
        .current_dir(case.path(""))
        .env("RUST_LOG", "golden=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads `child`'s stderr up to the log line of stage `stage` completed; returns what it read
/// and the rest of the stream, to be drained.
fn wait_for_stage(
    child: &mut Child,
    stage: &str,
) -> (String, BufReader<std::process::ChildStderr>) {
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the run ended before stage {stage} completed:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("stage completed") && line.contains(&format!("\"{stage}\"")) {
            return (seen, err);
        }
    }
}

/// Sends `signal` (a `kill` option such as `-TERM`) to process `pid`.
fn kill(signal: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Names of the entries of `out/runs` that a dead or stopped run leaves (`.tmp-*`).
fn leftovers(case: &Case) -> Vec<String> {
    std::fs::read_dir(case.out().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect()
}

/// Item 15: SIGTERM and SIGINT end a run cleanly: exit 143 / 130, temporary directory
/// removed, lock released, `latest` untouched.
#[test]
fn nightly_sigterm_and_sigint_end_a_run_cleanly() {
    let case = generated(1500);
    let first = case.latest().unwrap();
    for (signal, code, name) in [("-TERM", 143, "SIGTERM"), ("-INT", 130, "SIGINT")] {
        let mut child = spawn_run(&case);
        let (mut seen, mut rest) = wait_for_stage(&mut child, "ingest");
        kill(signal, child.id());
        rest.read_to_string(&mut seen).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{name}:\n{seen}");
        assert!(seen.contains(&format!("stopped by {name}")), "{seen}");
        assert_eq!(case.latest().unwrap(), first, "{name}: latest untouched");
        assert!(!case.out().join(".lock").exists(), "{name}: lock released");
        assert_eq!(leftovers(&case), Vec::<String>::new(), "{name}");
    }
}

/// Item 15 and the kill -9 check: a run killed with SIGKILL leaves its lock; the next plain
/// `golden run` (no flags) takes it over and succeeds, and clears what the killed run left.
#[test]
fn nightly_a_plain_run_after_kill_9_succeeds() {
    let case = generated(1500);
    let first = case.latest().unwrap();
    let mut child = spawn_run(&case);
    let (_, mut rest) = wait_for_stage(&mut child, "block");
    child.kill().unwrap();
    child.wait().unwrap();
    std::io::copy(&mut rest, &mut std::io::sink()).unwrap();
    assert_eq!(
        case.latest().unwrap(),
        first,
        "latest untouched by the kill"
    );
    assert!(
        case.out().join(".lock").exists(),
        "a killed run leaves its lock"
    );
    case.golden(&["run", "data/pipeline.toml", "--output", "out"])
        .code(0)
        .says("taking over the lock");
    assert_ne!(case.latest().unwrap(), first);
    assert!(!case.out().join(".lock").exists());
    assert_eq!(leftovers(&case), Vec::<String>::new());
}

/// Item 8: a missing or damaged previous `model.json` blocked every incremental run with
/// advice that did not work. Runs train their own model (item 16), so it is not read.
#[test]
fn nightly_a_damaged_previous_model_does_not_block_the_next_run() {
    let case = generated(300);
    let run = || case.golden(&["run", "data/pipeline.toml", "--output", "out"]);
    std::fs::write(latest_dir(&case).join("model.json"), "{ not json").unwrap();
    run().code(0);
    let m = latest_manifest(&case);
    assert_eq!(
        (m.mode.as_str(), m.model_source.as_str()),
        ("incremental", "trained in this run")
    );
    std::fs::remove_file(latest_dir(&case).join("model.json")).unwrap();
    run().code(0);
}

/// Item 16: without `model_file`, incremental runs equal `--full` over several deltas (same
/// partition, same golden ids), each run training its own model.
#[test]
fn nightly_incremental_equals_full_without_a_pinned_model() {
    crate::incremental::incremental_equals_full_over_three_deltas(false);
}
