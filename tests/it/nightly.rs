//! Issue "Safe to run every night" (DESIGN §5): a killed run leaves the previous run intact,
//! locks stop concurrent runs and name stale ones, golden ids are stable across runs and their
//! changes are listed, old runs are pruned, `golden runs` lists what is there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use golden::generate::{GenerateOptions, generate};

use crate::util::{golden, golden_ok, pin_model, repo, strings, table, tempdir};

/// Every file of DESIGN §3 that a committed run holds.
const RUN_TABLES: &[&str] = &[
    "golden",
    "crosswalk",
    "lineage",
    "decisions",
    "review",
    "rejects",
    "changes",
    "records",
];

/// Copies the tiny pipeline and its data into `dir`, applying `edit` to the pipeline text.
fn tiny_in(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    for f in ["crm.csv", "support.ndjson", "model.json"] {
        std::fs::copy(repo(&format!("tests/data/tiny/{f}")), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(repo("tests/data/tiny/tiny.toml")).unwrap();
    let p = dir.join("tiny.toml");
    std::fs::write(&p, edit(text)).unwrap();
    p
}

/// The directory `latest` points at (relative link resolved), if any.
fn latest(out: &Path) -> Option<PathBuf> {
    std::fs::read_link(out.join("latest"))
        .ok()
        .map(|t| out.join(t))
}

/// Asserts that `run` is complete: its manifest says succeeded and every table reads back.
fn assert_complete(run: &Path) {
    let m = golden::output::Manifest::read(&run.join("manifest.json")).unwrap();
    assert_eq!(m.status, "succeeded", "{}", run.display());
    for t in RUN_TABLES {
        golden::run::read_parquet(&run.join(format!("{t}.parquet")))
            .unwrap_or_else(|e| panic!("{}/{t}.parquet: {e}", run.display()));
    }
    golden::model::ModelParams::load(&run.join("model.json")).unwrap();
    let golden = table(run, "golden");
    assert_eq!(
        m.counts.golden_records,
        Some(golden.num_rows() as u64),
        "{}",
        run.display()
    );
}

/// Names of the entries of `<out>/runs`, sorted.
fn run_dirs(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A lock file as `Lock` writes it, for process `pid` on this host.
fn write_lock(out: &Path, pid: u32) -> PathBuf {
    std::fs::create_dir_all(out).unwrap();
    let lock = out.join(".lock");
    let host = golden::run::host_name();
    std::fs::write(
        &lock,
        format!("pid={pid}\nhost={host}\nstarted=2024-01-01T00:00:00+00:00\n"),
    )
    .unwrap();
    lock
}

/// Crash safety. A SIGKILL at any moment leaves `latest` on the previous complete run. The
/// killed run leaves its lock behind, which `golden runs` shows as stale; the next plain
/// `golden run` (what a nightly job runs, no flags) takes it over and succeeds.
#[test]
fn nightly_kill_at_any_moment_leaves_latest_on_the_previous_complete_run() {
    let dir = tempdir();
    let data = dir.path().join("data");
    generate(&GenerateOptions {
        entities: 3000,
        seed: 11,
        out: data.clone(),
        broken_rows: false,
        household_share: None,
    })
    .unwrap();
    let pipeline = data.join("pipeline.toml");
    let out = dir.path().join("out");
    let (p, o) = (pipeline.to_str().unwrap(), out.to_str().unwrap());
    golden_ok(&["run", p, "--output", o]);
    // Reuse the trained model so a run takes about a second and the kills land in every stage.
    let model = latest(&out).unwrap().join("model.json");
    std::fs::copy(&model, data.join("model.json")).unwrap();
    pin_model(&pipeline);
    let t = Instant::now();
    golden_ok(&["run", p, "--output", o]);
    let full_ms = t.elapsed().as_millis() as u64;

    let mut delays = vec![50, 300, 800, 1500];
    delays.extend([full_ms * 6 / 10, full_ms * 85 / 100, full_ms * 95 / 100]);
    for delay in delays {
        let before = latest(&out).unwrap();
        assert_complete(&before);
        let mut child = Command::new(env!("CARGO_BIN_EXE_golden"))
            .args(["run", p, "--output", o])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        // `latest` is the previous run, or the killed run's own if it had already committed;
        // either way a complete one.
        let now = latest(&out).unwrap();
        assert_complete(&now);

        if out.join(".lock").exists() {
            let listing = golden_ok(&["runs", o]);
            assert!(listing.contains(&format!("pid={pid} ")), "{listing}");
            assert!(listing.contains("stale"), "{listing}");
        }
        if run_dirs(&out).iter().any(|n| n.starts_with(".tmp-")) {
            let listing = golden_ok(&["runs", o]);
            assert!(listing.contains("incomplete"), "{listing}");
        }
        golden_ok(&["run", p, "--output", o]);
        let after = latest(&out).unwrap();
        assert_ne!(after, now, "delay {delay} ms: the next run commits");
        assert_complete(&after);
        assert!(!out.join(".lock").exists());
        assert!(
            !run_dirs(&out).iter().any(|n| n.starts_with(".tmp-")),
            "a committed run clears what killed runs left: {:?}",
            run_dirs(&out)
        );
    }
}

/// A second run while one is running exits 4, with or without `--break-lock`.
#[test]
fn nightly_a_live_lock_exits_4_and_is_never_broken() {
    let dir = tempdir();
    let p = tiny_in(dir.path(), |t| t);
    let out = dir.path().join("out");
    let lock = write_lock(&out, std::process::id());
    for extra in [None, Some("--break-lock")] {
        let mut args = vec!["run", p.to_str().unwrap()];
        args.extend(extra);
        let o = golden(&args);
        assert_eq!(o.status.code(), Some(4), "{extra:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "is held by another run (pid={} host=",
                std::process::id()
            )),
            "{err}"
        );
        assert!(err.contains("still running"), "{err}");
        assert!(lock.exists());
        assert!(!out.join("latest").exists());
    }
    let listing = golden_ok(&["runs", out.to_str().unwrap()]);
    assert!(listing.contains("(running)"), "{listing}");
}

/// A lock left by a dead process on this host is listed as stale; a plain run takes it over
/// (issue 12, item 15: a crashed nightly job heals itself).
#[test]
fn nightly_a_stale_lock_is_taken_over_by_a_plain_run() {
    let dir = tempdir();
    let p = tiny_in(dir.path(), |t| t);
    let out = dir.path().join("out");
    let lock = write_lock(&out, 999_999_999);
    let listing = golden_ok(&["runs", out.to_str().unwrap()]);
    assert!(listing.contains("stale"), "{listing}");

    golden_ok(&["run", p.to_str().unwrap()]);
    assert!(!lock.exists(), "the lock is released after the run");
    assert_complete(&latest(&out).unwrap());
}

/// Golden id of each (source, source_id) of a run's crosswalk.
fn ids_by_record(run: &Path) -> BTreeMap<(String, String), String> {
    let cw = table(run, "crosswalk");
    let s = strings(&cw, "source");
    let i = strings(&cw, "source_id");
    let g = strings(&cw, "golden_id");
    (0..cw.num_rows())
        .map(|r| {
            (
                (s[r].clone().unwrap(), i[r].clone().unwrap()),
                g[r].clone().unwrap(),
            )
        })
        .collect()
}

/// Members of each golden id.
fn members(
    ids: &BTreeMap<(String, String), String>,
) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut m: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (k, g) in ids {
        m.entry(g.clone()).or_default().insert(k.clone());
    }
    m
}

/// `change` of each golden id in a run's changes table.
fn changes(run: &Path) -> BTreeMap<String, String> {
    let ch = table(run, "changes");
    strings(&ch, "golden_id")
        .into_iter()
        .zip(strings(&ch, "change"))
        .map(|(g, c)| (g.unwrap(), c.unwrap()))
        .collect()
}

/// Rerunning on unchanged inputs keeps every golden id and lists no change.
#[test]
fn nightly_rerun_on_unchanged_inputs_keeps_ids_and_changes_nothing() {
    let dir = tempdir();
    let p = tiny_in(dir.path(), |t| t);
    let out = dir.path().join("out");
    golden_ok(&["run", p.to_str().unwrap()]);
    let first = latest(&out).unwrap();
    let first_ids = ids_by_record(&first);
    let first_changes = changes(&first);
    assert_eq!(first_changes.len(), 4, "{first_changes:?}");
    assert!(first_changes.values().all(|c| c == "new"));

    golden_ok(&["run", p.to_str().unwrap()]);
    let second = latest(&out).unwrap();
    assert_ne!(first, second);
    assert_eq!(ids_by_record(&second), first_ids);
    assert_eq!(table(&second, "changes").num_rows(), 0);
    let m = golden::output::Manifest::read(&second.join("manifest.json")).unwrap();
    use golden::cluster::stable_ids::ChangeKind;
    for k in [
        ChangeKind::New,
        ChangeKind::Updated,
        ChangeKind::MergedInto,
        ChangeKind::SplitFrom,
        ChangeKind::Retired,
    ] {
        assert_eq!(m.counts.changes(&k), Some(0), "{k:?}");
    }
    // Ids keep the run that created them.
    let created = strings(&table(&second, "golden"), "created_run");
    let first_run = first.file_name().unwrap().to_string_lossy().into_owned();
    assert!(created.iter().all(|c| c.as_deref() == Some(&first_run)));
}

/// Dropping records and adding a duplicate of a person between runs: the dropped person's id is
/// retired, the duplicate joins its person's golden record (updated), and every other id keeps
/// exactly its members.
#[test]
fn nightly_changed_source_retires_and_updates_and_keeps_other_ids() {
    let dir = tempdir();
    let data = dir.path().join("data");
    generate(&GenerateOptions {
        entities: 600,
        seed: 5,
        out: data.clone(),
        broken_rows: false,
        household_share: None,
    })
    .unwrap();
    let p = data.join("pipeline.toml");
    let out = dir.path().join("out");
    let (ps, os) = (p.to_str().unwrap(), out.to_str().unwrap());
    golden_ok(&["run", ps, "--output", os]);
    let first = latest(&out).unwrap();
    let before = ids_by_record(&first);
    let before_members = members(&before);

    // crm records that are golden records on their own: drop two, duplicate a third.
    let alone: Vec<String> = before_members
        .values()
        .filter(|m| m.len() == 1)
        .filter_map(|m| m.iter().next().filter(|(s, _)| s == "crm"))
        .map(|(_, id)| id.clone())
        .take(3)
        .collect();
    assert_eq!(alone.len(), 3);
    let csv = std::fs::read_to_string(data.join("crm.csv")).unwrap();
    let mut lines: Vec<String> = Vec::new();
    for line in csv.lines() {
        let id = line.split(',').next().unwrap_or_default();
        if id == alone[0] || id == alone[1] {
            continue;
        }
        lines.push(line.to_string());
        if id == alone[2] {
            lines.push(line.replacen(&alone[2], "C9999999", 1));
        }
    }
    std::fs::write(data.join("crm.csv"), lines.join("\n") + "\n").unwrap();
    golden_ok(&["run", ps, "--output", os]);
    let second = latest(&out).unwrap();
    let after = ids_by_record(&second);
    let after_members = members(&after);
    let ch = changes(&second);

    let gid = |id: &str| before[&("crm".to_string(), id.to_string())].clone();
    for dropped in &alone[..2] {
        assert_eq!(ch.get(&gid(dropped)).map(String::as_str), Some("retired"));
    }
    let dup_id = gid(&alone[2]);
    assert_eq!(
        after[&("crm".to_string(), "C9999999".to_string())],
        dup_id,
        "the duplicate joins its person's golden record"
    );
    assert_eq!(ch.get(&dup_id).map(String::as_str), Some("updated"));

    // Every previous id without a change row keeps exactly its members.
    let unchanged: Vec<&String> = before_members
        .keys()
        .filter(|g| !ch.contains_key(*g))
        .collect();
    for g in &unchanged {
        assert_eq!(after_members.get(*g), before_members.get(*g), "{g}");
    }
    assert!(
        unchanged.len() * 100 >= before_members.len() * 95,
        "{} of {} ids unchanged; changes: {ch:?}",
        unchanged.len(),
        before_members.len()
    );
    // Every change row is consistent with the memberships.
    for (g, c) in &ch {
        match c.as_str() {
            "retired" => assert!(!after_members.contains_key(g) && before_members.contains_key(g)),
            "updated" => assert_ne!(after_members.get(g), before_members.get(g)),
            "new" => assert!(!before_members.contains_key(g) && after_members.contains_key(g)),
            other => {
                let into = other.strip_prefix("merged_into:");
                let from = other.strip_prefix("split_from:");
                let related = into
                    .or(from)
                    .unwrap_or_else(|| panic!("unknown change {other}"));
                assert!(
                    before_members.contains_key(related) || after_members.contains_key(related)
                );
            }
        }
    }
}

/// `keep_runs = 2`: after three runs two remain, `latest` on the newest; `golden runs` lists
/// them newest first and marks it.
#[test]
fn nightly_keep_runs_prunes_old_runs_and_runs_lists_them() {
    let dir = tempdir();
    let p = tiny_in(dir.path(), |t| {
        t.replace("dir = \"out\"\n", "dir = \"out\"\nkeep_runs = 2\n")
    });
    let out = dir.path().join("out");
    let mut ids = Vec::new();
    for _ in 0..3 {
        golden_ok(&["run", p.to_str().unwrap()]);
        ids.push(
            latest(&out)
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    assert_eq!(run_dirs(&out), ids[1..].to_vec());
    assert_eq!(latest(&out).unwrap(), out.join("runs").join(&ids[2]));

    let listing = golden_ok(&["runs", out.to_str().unwrap()]);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(
        lines[0].contains("RUN") && lines[0].contains("DURATION"),
        "{listing}"
    );
    assert!(
        lines[1].starts_with(&format!("*  {}  committed  succeeded  4 ", ids[2])),
        "{listing}"
    );
    assert!(
        lines[2].starts_with(&format!("   {}  committed  succeeded  4 ", ids[1])),
        "{listing}"
    );
    // 6 rows read and 2 rejected in crm, 3 read and 1 rejected in support.
    assert!(
        lines[1].contains(" 9 ") && lines[1].contains(" 3 "),
        "{listing}"
    );

    let o = golden(&["runs", dir.path().join("nowhere").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}
