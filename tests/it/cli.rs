//! The command line: exit codes of DESIGN §4 and what a scheduler sees.

use crate::util::{golden, golden_ok, repo, tempdir};

#[test]
fn check_accepts_the_demo_pipeline() {
    let out = golden_ok(&["check", repo("pipelines/demo.toml").to_str().unwrap()]);
    assert!(
        out.contains(": ok (3 sources, 3 files, 8 comparisons, 5 blocking rules)"),
        "{out}"
    );
}

#[test]
fn check_reports_columns_the_source_lacks_with_exit_2() {
    let dir = tempdir();
    std::fs::copy(repo("tests/data/tiny/crm.csv"), dir.path().join("crm.csv")).unwrap();
    let text = r#"name = "bad"
[output]
dir = "out"
[[sources]]
name = "crm"
path = "crm.csv"
id = "contact_id"
[sources.fields]
email = "emial"
postcode = "upper(post_code)"
[blocking]
rules = [["email"]]
[[comparisons]]
field = "email"
method = "exact"
"#;
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, text).unwrap();
    let out = golden(&["check", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let f = p.display().to_string();
    let csv = dir.path().join("crm.csv").display().to_string();
    let cols =
        "`contact_id`, `first_name`, `last_name`, `email`, `phone`, `postcode`, `dob`, `updated`";
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "error: 2 problems in the pipeline file:");
    assert!(
        lines[1].starts_with(&format!(
            "{f}:9:9: sources[0].fields.email: expression `emial` does not fit {csv} ("
        )),
        "{err}"
    );
    assert!(
        lines[1].ends_with(&format!("); the file has columns {cols}")),
        "{err}"
    );
    assert!(
        lines[2].starts_with(&format!(
            "{f}:10:12: sources[0].fields.postcode: expression `upper(post_code)` does not fit"
        )),
        "{err}"
    );
}

#[test]
fn unknown_keys_and_methods_exit_2_with_every_problem() {
    let dir = tempdir();
    let p = dir.path().join("typo.toml");
    std::fs::write(&p, "name = \"x\"\n[output]\ndirr = \"out\"\n").unwrap();
    let out = golden(&["run", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        format!(
            "error: 1 problem in the pipeline file:\n{}:3:1: output.dirr: unknown key `dirr`; expected one of `dir`, `keep_runs`, `decisions`",
            p.display()
        )
    );
}

#[test]
fn too_many_rejects_exit_3_keep_the_rejects_and_leave_latest_alone() {
    let dir = tempdir();
    for f in ["crm.csv", "support.ndjson", "model.json"] {
        std::fs::copy(repo(&format!("tests/data/tiny/{f}")), dir.path().join(f)).unwrap();
    }
    let text = std::fs::read_to_string(repo("tests/data/tiny/tiny.toml")).unwrap();
    let p = dir.path().join("tiny.toml");
    std::fs::write(&p, &text).unwrap();
    let out_dir = dir.path().join("out");
    golden_ok(&["run", p.to_str().unwrap()]);
    let good = std::fs::read_link(out_dir.join("latest")).unwrap();

    std::fs::write(
        &p,
        text.replace("max_reject_ratio = 0.5", "max_reject_ratio = 0.1"),
    )
    .unwrap();
    let out = golden(&["run", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("source `crm`: 2 of 6 rows rejected (33.33% > max_reject_ratio 10.00%)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_link(out_dir.join("latest")).unwrap(),
        good,
        "latest still points at the last good run"
    );
    let failed: Vec<_> = std::fs::read_dir(out_dir.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".failed"))
        .collect();
    assert_eq!(failed.len(), 1);
    let rejects = golden::run::read_parquet(
        &out_dir
            .join("runs")
            .join(&failed[0])
            .join("rejects.parquet"),
    )
    .unwrap();
    assert_eq!(rejects.num_rows(), 3);
}

#[test]
fn a_held_lock_exits_4_and_names_the_holder() {
    let dir = tempdir();
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join(".lock"), "pid=999999\nhost=elsewhere\n").unwrap();
    let out = golden(&[
        "run",
        repo("tests/data/tiny/tiny.toml").to_str().unwrap(),
        "--output",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("held by another run (pid=999999 host=elsewhere)"),
        "{err}"
    );
    assert!(!out_dir.join("latest").exists());
}

#[test]
fn evaluate_prints_pairwise_scores_of_the_demo() {
    let dir = tempdir();
    let o = dir.path().to_str().unwrap();
    golden_ok(&[
        "run",
        repo("pipelines/demo.toml").to_str().unwrap(),
        "--output",
        o,
    ]);
    let report = golden_ok(&[
        "evaluate",
        o,
        "--truth",
        repo("fixtures/demo/truth.csv").to_str().unwrap(),
    ]);
    assert!(
        report.contains("334 in the run, 334 in truth, 0 of them missing"),
        "{report}"
    );
    assert!(report.contains("pairwise  precision"), "{report}");
}

#[test]
fn a_used_column_gone_since_the_last_run_fails_before_writing() {
    let dir = tempdir();
    for f in ["crm.csv", "support.ndjson", "model.json", "tiny.toml"] {
        std::fs::copy(repo(&format!("tests/data/tiny/{f}")), dir.path().join(f)).unwrap();
    }
    let p = dir.path().join("tiny.toml");
    golden_ok(&["run", p.to_str().unwrap()]);
    let latest = std::fs::read_link(dir.path().join("out/latest")).unwrap();
    let crm = dir.path().join("crm.csv");
    let text = std::fs::read_to_string(&crm)
        .unwrap()
        .replacen(",postcode,", ",zip,", 1);
    std::fs::write(&crm, text).unwrap();
    let out = golden(&["run", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "error: {}: source `crm`: column `postcode` used by the pipeline was in the last run but is missing now; \
             fix the export, or map the field to the column's new name",
            crm.display()
        )
    );
    assert_eq!(
        std::fs::read_link(dir.path().join("out/latest")).unwrap(),
        latest
    );
    let leftovers = std::fs::read_dir(dir.path().join("out/runs"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 1, "only the good run remains");
}

#[test]
fn generate_household_share_outside_0_to_1_exits_2_and_writes_nothing() {
    let dir = tempdir();
    let out = dir.path().join("data");
    for rate in ["1.5", "-0.1", "abc"] {
        let o = golden(&[
            "generate",
            "--household-share",
            rate,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{rate}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.starts_with(&format!(
                "error: invalid value '{rate}' for '--household-share <RATE>': `{rate}` is not \
                 a probability between 0 and 1; give one such as 0.3\n"
            )),
            "{err}"
        );
    }
    assert!(!out.exists());
    let said = golden_ok(&[
        "generate",
        "--entities",
        "20",
        "--household-share",
        "0.3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(said.starts_with("20 entities, "), "{said}");
}

/// Without the feature `distributed` there is no cluster: `--scheduler` is a usage error that
/// says how to get one, and nothing is written.
#[cfg(not(feature = "distributed"))]
#[test]
fn a_run_on_a_cluster_needs_the_distributed_feature() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let said = golden(&[
        "run",
        repo("pipelines/demo.toml").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--scheduler",
        "standalone",
    ]);
    let err = String::from_utf8_lossy(&said.stderr);
    assert_eq!(said.status.code(), Some(2), "{err}");
    assert!(err.contains("--features distributed"), "{err}");
    assert!(!out.exists(), "{} written", out.display());
}

/// `--scheduler` takes `local`, `standalone` or `df://HOST:PORT`; anything else exits 2 before
/// anything is read, saying what to write. `local` runs here (any build).
#[test]
fn a_scheduler_that_is_no_url_is_refused_and_local_runs_here() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let demo = repo("pipelines/demo.toml");
    let run = |scheduler: &str| {
        golden(&[
            "run",
            demo.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--scheduler",
            scheduler,
        ])
    };
    for bad in ["localhost:50050", "df://:50050", "df://host:99999"] {
        let said = run(bad);
        let err = String::from_utf8_lossy(&said.stderr);
        assert_eq!(said.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("--scheduler") && err.contains("df://HOST:PORT"),
            "{err}"
        );
        assert!(!out.exists(), "{} written", out.display());
    }
    let said = run("local");
    assert!(
        said.status.success(),
        "{}",
        String::from_utf8_lossy(&said.stderr)
    );
    let manifest = std::fs::read_to_string(out.join("latest/manifest.json")).unwrap();
    assert!(
        !manifest.contains("\"scheduler\""),
        "a local run names no scheduler"
    );
}
