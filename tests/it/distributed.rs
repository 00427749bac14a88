//! Feature `distributed`: golden's functions on a Ballista cluster (standalone, in the
//! `golden recompare` process: plans still travel over loopback gRPC) compute what a local run
//! computes.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};

use crate::util::{golden, golden_ok, repo, table, tempdir};

/// Runs `pipeline` with `--output out`.
fn run_into(pipeline: &Path, out: &Path) {
    let (pipeline, out) = (pipeline.to_str().unwrap(), out.to_str().unwrap());
    golden_ok(&["run", pipeline, "--output", out]);
}

/// Runs `pipeline` into `out`, then blocks and compares its records again on a standalone
/// cluster: each rule's pairs, every written pair's rule and every level equal the run's.
fn run_and_recompare(pipeline: &Path, out: &Path) {
    run_into(pipeline, out);
    let said = golden_ok(&["recompare", out.to_str().unwrap()]);
    let decisions = table(&out.join("latest"), "decisions").num_rows();
    assert!(decisions > 0, "the run wrote no decisions");
    assert!(
        said.starts_with(&format!("{decisions} written pairs, ")),
        "expected {decisions} pairs: {said}"
    );
    let equal = "the cluster's blocking and every level recomputed on it equal the run's";
    assert!(said.contains(equal), "{said}");
}

/// Runs `pipeline` into `out` blocked and compared on the cluster at `scheduler`
/// (`standalone`: in the process).
fn run_on_cluster(pipeline: &Path, out: &Path, scheduler: &str) -> std::process::Output {
    let (pipeline, out) = (pipeline.to_str().unwrap(), out.to_str().unwrap());
    golden(&["run", pipeline, "--output", out, "--scheduler", scheduler])
}

/// Columns that name the run itself (its id, its time), which two runs never share.
fn of_the_run(column: &str) -> bool {
    column.contains("run") || column.ends_with("_at")
}

/// Asserts that the latest runs under `local` and `cluster` wrote the same tables, row for
/// row (the run's own id and times aside), and the same counts in their manifests.
fn assert_same_runs(local: &Path, cluster: &Path) {
    let (local, cluster) = (local.join("latest"), cluster.join("latest"));
    for name in [
        "golden",
        "crosswalk",
        "decisions",
        "review",
        "lineage",
        "records",
        "rejects",
    ] {
        let (a, b) = (table(&local, name), table(&cluster, name));
        assert_eq!(a.num_rows(), b.num_rows(), "{name}: rows");
        assert_eq!(a.schema(), b.schema(), "{name}: columns");
        for (i, field) in a.schema().fields().iter().enumerate() {
            if of_the_run(field.name()) {
                continue;
            }
            assert_eq!(
                a.column(i).as_ref(),
                b.column(i).as_ref(),
                "{name}.{}: the cluster's run differs from the local one",
                field.name()
            );
        }
    }
    let manifest = |run: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap()
    };
    let (a, b) = (manifest(&local), manifest(&cluster));
    for key in ["counts", "blocking", "weight_histogram"] {
        assert_eq!(a[key], b[key], "manifest {key}");
    }
    assert!(a["counts"]["candidate_pairs"].as_u64().unwrap() > 0);
}

/// The demo and 20k generated entities: each run's blocking and levels recomputed on a
/// standalone cluster equal the run's, and the same pipeline run with `--scheduler
/// standalone` writes the same tables as the local run.
#[test]
fn a_run_blocked_and_compared_on_a_cluster_equals_the_local_run() {
    let dir = tempdir();
    let demo = repo("pipelines/demo.toml");
    let (local, cluster) = (
        dir.path().join("demo-local"),
        // A quote in the output directory's path reaches no SQL text.
        dir.path().join("demo's cluster"),
    );
    run_and_recompare(&demo, &local);
    let said = run_on_cluster(&demo, &cluster, "standalone");
    assert!(
        said.status.success(),
        "{}",
        String::from_utf8_lossy(&said.stderr)
    );
    assert_same_runs(&local, &cluster);
    // The staged records are not part of the run.
    let staging = std::fs::canonicalize(cluster.join("latest"))
        .unwrap()
        .join("staging");
    assert!(!staging.exists(), "{} left behind", staging.display());
    let data = dir.path().join("data");
    golden_ok(&[
        "generate",
        "--entities",
        "20000",
        "--out",
        data.to_str().unwrap(),
    ]);
    let pipeline = data.join("pipeline.toml");
    let (local, cluster) = (dir.path().join("gen-local"), dir.path().join("gen-cluster"));
    run_and_recompare(&pipeline, &local);
    // This time the pipeline file names the cluster, in `[engine]`.
    let text = std::fs::read_to_string(&pipeline).unwrap();
    let on_cluster = data.join("pipeline-cluster.toml");
    std::fs::write(
        &on_cluster,
        text + "\n[engine]\nscheduler = \"standalone\"\n",
    )
    .unwrap();
    let (on_cluster, cluster) = (on_cluster.to_str().unwrap(), cluster.to_str().unwrap());
    golden_ok(&["run", on_cluster, "--output", cluster]);
    let cluster = Path::new(cluster);
    assert_same_runs(&local, cluster);
    let manifest = std::fs::read_to_string(cluster.join("latest/manifest.json")).unwrap();
    assert!(
        manifest.contains("\"scheduler\": \"standalone\""),
        "{manifest}"
    );
}

/// With term-frequency fields (a pair's score then depends on its records, so the cluster
/// sends every pair back), and with a manual must-link on a pair that a rule found below the
/// decisions floor (kept only for being manual), a run on a cluster equals the local one.
#[test]
fn term_frequencies_and_a_manual_pair_below_the_floor_run_the_same_on_a_cluster() {
    let dir = tempdir();
    let fixtures = repo("fixtures").display().to_string();
    let demo = std::fs::read_to_string(repo("pipelines/demo.toml")).unwrap();
    let demo = demo.replace("../fixtures", &fixtures);
    // Every decision written, to find a pair below the floor.
    let every = dir.path().join("every.toml");
    std::fs::write(
        &every,
        demo.replace("[output]\n", "[output]\ndecisions = \"all\"\n"),
    )
    .unwrap();
    run_into(&every, &dir.path().join("every"));
    let decisions = table(&dir.path().join("every/latest"), "decisions");
    let text = |c: &str| {
        decisions
            .column_by_name(c)
            .unwrap()
            .as_string::<i32>()
            .clone()
    };
    let probability = decisions.column_by_name("match_probability").unwrap();
    let probability = probability.as_primitive::<arrow::datatypes::Float64Type>();
    let below = (0..decisions.num_rows())
        .find(|&i| probability.value(i) < 1e-3)
        .expect("the demo has a candidate pair below the floor");
    let record = |side: &str| {
        let (source, id) = (text(&format!("{side}_source")), text(&format!("{side}_id")));
        format!("{}:{}", source.value(below), id.value(below))
    };
    std::fs::write(
        dir.path().join("kyc.csv"),
        format!(
            "left,right,decision,reason,author,date\n{},{},must_link,per KYC,ana,2026-11-01\n",
            record("left"),
            record("right")
        ),
    )
    .unwrap();
    let tf = "\n[model]\nterm_frequency = [\"last_name\", \"city\"]\n";
    let manual = "manual_decisions = \"kyc.csv\"\n";
    for (name, text, manual_pairs) in [
        ("tf", demo.clone() + tf, 0),
        ("manual", manual.to_string() + &demo, 1),
    ] {
        let pipeline = dir.path().join(format!("{name}.toml"));
        std::fs::write(&pipeline, text).unwrap();
        let local = dir.path().join(format!("{name}-local"));
        let cluster = dir.path().join(format!("{name}-cluster"));
        run_into(&pipeline, &local);
        let said = run_on_cluster(&pipeline, &cluster, "standalone");
        assert!(
            said.status.success(),
            "{}",
            String::from_utf8_lossy(&said.stderr)
        );
        assert_same_runs(&local, &cluster);
        let manifest = std::fs::read_to_string(local.join("latest/manifest.json")).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        let counts = &manifest["counts"];
        assert_eq!(counts["manual_pairs"], manual_pairs, "{name}: {counts}");
    }
}

#[test]
fn a_record_changed_after_the_run_is_reported_by_field_and_rule() {
    let dir = tempdir();
    let out = dir.path().join("demo");
    run_into(&repo("pipelines/demo.toml"), &out);
    // One record of the first written pair gets another e-mail match value.
    let run = std::fs::canonicalize(out.join("latest")).unwrap();
    let decisions = table(&run, "decisions");
    let left = |c: &str| {
        decisions
            .column_by_name(c)
            .unwrap()
            .as_string::<i32>()
            .value(0)
            .to_string()
    };
    let (source, id) = (left("left_source"), left("left_id"));
    let records = table(&run, "records");
    let text = |c: &str| {
        records
            .column_by_name(c)
            .unwrap()
            .as_string::<i32>()
            .clone()
    };
    let (sources, ids) = (text("source"), text("source_id"));
    let emails = text("email__match");
    let changed: StringArray = (0..records.num_rows())
        .map(|r| {
            let hit = sources.value(r) == source && ids.value(r) == id;
            if hit {
                Some("someone.else@example.org".to_string())
            } else {
                emails.is_valid(r).then(|| emails.value(r).to_string())
            }
        })
        .collect();
    let columns: Vec<ArrayRef> = (records.schema().fields().iter().zip(records.columns()))
        .map(|(f, c)| {
            if f.name() == "email__match" {
                Arc::new(changed.clone()) as ArrayRef
            } else {
                c.clone()
            }
        })
        .collect();
    let tampered = RecordBatch::try_new(records.schema(), columns).unwrap();
    let file = std::fs::File::create(run.join("records.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, tampered.schema(), None).unwrap();
    w.write(&tampered).unwrap();
    w.close().unwrap();
    let said = golden(&["recompare", out.to_str().unwrap()]);
    assert_eq!(said.status.code(), Some(3));
    let err = String::from_utf8_lossy(&said.stderr);
    // The pair's e-mail level, and the e-mail rule's blocks, no longer what the run found.
    assert!(
        err.contains("differ from the run's: email levels (1 pairs); rule `email`: "),
        "{err}"
    );
    assert!(
        err.contains("written pairs not found under their rule"),
        "{err}"
    );
    assert!(
        !err.contains("first_name levels"),
        "only e-mail changed: {err}"
    );
    // Without its records the run cannot be checked, and the message says which file.
    std::fs::remove_file(run.join("records.parquet")).unwrap();
    let said = golden(&["recompare", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&said.stderr);
    assert_eq!(said.status.code(), Some(3), "{err}");
    assert!(
        err.contains("records.parquet: missing: recompare reads"),
        "{err}"
    );
}

#[test]
fn an_unreachable_scheduler_is_an_error_that_says_how_to_start_one() {
    let dir = tempdir();
    let out = dir.path().join("demo");
    run_into(&repo("pipelines/demo.toml"), &out);
    // Port 9 (discard) has no scheduler behind it.
    let said = golden(&[
        "recompare",
        out.to_str().unwrap(),
        "--scheduler",
        "df://127.0.0.1:9",
    ]);
    let err = String::from_utf8_lossy(&said.stderr);
    assert_eq!(said.status.code(), Some(2), "{err}");
    assert!(
        err.contains("df://127.0.0.1:9") && err.contains("golden scheduler"),
        "{err}"
    );
}

/// A scheduler without executors would queue the run's queries for ever: the run waits a
/// while for one to register, then exits 2 saying how to start one, and commits nothing.
#[test]
fn a_scheduler_without_executors_fails_the_run_instead_of_hanging_it() {
    let dir = tempdir();
    let out = dir.path().join("demo");
    let port = free_port().to_string();
    let _scheduler = spawn(&["scheduler", "--host", "127.0.0.1", "--port", &port]);
    let address = format!("127.0.0.1:{port}");
    while std::net::TcpStream::connect(&address).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Run in the background, so a run that hangs fails the test instead of hanging it.
    let (pipeline, url) = (repo("pipelines/demo.toml"), format!("df://{address}"));
    let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_golden"))
        .args([
            "run",
            pipeline.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ])
        .args(["--scheduler", &url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while run.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(120) {
            let _ = run.kill();
            panic!("the run still waits after 120 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let said = run.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&said.stderr);
    assert_eq!(said.status.code(), Some(2), "{err}");
    assert!(
        err.contains("has no executor")
            && err.contains(&format!("golden executor --scheduler {address}")),
        "{err}"
    );
    assert!(!out.join("latest").exists(), "a run was committed");
}

/// A child process killed when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nobody listens on now (the OS's choice for a socket bound to port 0).
fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

/// `golden` with `args`, in the background.
fn spawn(args: &[&str]) -> Killed {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_golden"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    Killed(child)
}

#[test]
fn a_scheduler_and_an_executor_started_as_processes_know_goldens_functions() {
    let dir = tempdir();
    let out = dir.path().join("demo");
    run_into(&repo("pipelines/demo.toml"), &out);
    let ports: Vec<String> = (0..3).map(|_| free_port().to_string()).collect();
    let work = dir.path().join("work");
    // The executor starts first: it waits for its scheduler rather than exiting.
    let scheduler = format!("127.0.0.1:{}", ports[0]);
    let _executor = spawn(&[
        "executor",
        "--scheduler",
        &scheduler,
        "--host",
        "127.0.0.1",
        "--port",
        &ports[1],
        "--grpc-port",
        &ports[2],
        "--concurrent-tasks",
        "2",
        "--work-dir",
        work.to_str().unwrap(),
    ]);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let _scheduler = spawn(&["scheduler", "--host", "127.0.0.1", "--port", &ports[0]]);
    // The scheduler and executor take a moment to start and register.
    let url = format!("df://{scheduler}");
    let mut said = golden(&["recompare", out.to_str().unwrap(), "--scheduler", &url]);
    for _ in 0..30 {
        if said.status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        said = golden(&["recompare", out.to_str().unwrap(), "--scheduler", &url]);
    }
    let text = String::from_utf8_lossy(&said.stdout);
    let err = String::from_utf8_lossy(&said.stderr);
    assert!(said.status.success(), "{err}");
    assert!(
        text.starts_with("173 written pairs, 8 fields, 5 blocking rules (195 candidate pairs)"),
        "{text}"
    );
    // The executor keeps its shuffle files in a directory of its own.
    let own = work.join(format!("golden-executor-{}", ports[1]));
    assert!(own.is_dir(), "no {}", own.display());
    // The demo run through these processes writes what the local run wrote.
    let cluster = dir.path().join("demo-cluster");
    let said = run_on_cluster(&repo("pipelines/demo.toml"), &cluster, &url);
    assert!(
        said.status.success(),
        "{}",
        String::from_utf8_lossy(&said.stderr)
    );
    assert_same_runs(&out, &cluster);
}

#[test]
fn bad_cluster_options_are_refused_before_anything_starts() {
    for (args, says) in [
        (
            &["executor", "--scheduler", "localhost"][..],
            "`localhost` is not HOST:PORT",
        ),
        (
            &["executor", "--scheduler", "localhost:port"][..],
            "`localhost:port` is not HOST:PORT",
        ),
        (&["executor", "--keep-job-data", "5"][..], "--keep-job-data"),
        (&["scheduler", "--port", "70000"][..], "--port"),
    ] {
        let said = golden(args);
        let err = String::from_utf8_lossy(&said.stderr);
        assert_eq!(said.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
