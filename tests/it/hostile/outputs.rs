//! Round 2, outputs: files the user names (`query --out`, `train --out`, `generate --out`)
//! never replace a run, an input, the pipeline or a lock; a broken lock or pipeline file is
//! refused clearly.

use super::{CRM_HEADER, Case, crm_source};

const VALUES: &[&str] = &["Zebedee", "Quarmby", "zq@example.com", "900123"];

/// A case with one committed run over `crm.csv`.
fn committed() -> Case {
    let case = Case::new();
    case.write(
        "crm.csv",
        format!(
            "{CRM_HEADER}C1,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n\
             C2,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n"
        ),
    );
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[]).code(0);
    case
}

/// `golden verify out` passes: the committed run is unchanged.
fn intact(case: &Case) {
    case.golden(&["verify", "out"]).code(0);
}

#[test]
fn query_out_never_writes_through_a_link_into_a_run_or_over_an_input() {
    let case = committed();
    let latest = case.latest();
    std::os::unix::fs::symlink("out/latest/crosswalk.parquet", case.path("s.parquet")).unwrap();
    std::fs::hard_link(
        case.path("out/latest/golden.parquet"),
        case.path("h.parquet"),
    )
    .unwrap();
    for (sql, out) in [
        ("select * from golden", "s.parquet"),
        ("select 1 as x", "h.parquet"),
        ("select * from golden", "crm.csv"),
        ("select * from golden", "pipeline.toml"),
        ("select * from golden", "out/.lock"),
        ("select * from golden", "out/runs/x.parquet"),
        ("select * from golden", "nosuch/x.parquet"),
    ] {
        case.golden(&["query", "out", sql, "--format", "parquet", "--out", out])
            .code(2)
            .says(out)
            .no_values(VALUES);
    }
    assert!(!case.path("out/.lock").exists());
    assert_eq!(case.latest(), latest);
    intact(&case);
    case.run(&[]).code(0);
}

#[test]
fn query_out_never_overwrites_the_pipeline_or_an_input_from_another_folder() {
    let case = committed();
    case.write("elsewhere/keep.txt", "x\n");
    for out in ["../pipeline.toml", "../crm.csv"] {
        case.golden_in(
            "elsewhere",
            &[
                "query",
                "../out",
                "select 1 as x",
                "--format",
                "csv",
                "--out",
                out,
            ],
        )
        .code(2)
        .says(&format!(
            "--out {out}: that file has the bytes of the run's pipeline file or of one of its \
             inputs (its SHA-256 is in the run's manifest); write the result somewhere else"
        ))
        .no_values(VALUES);
    }
    intact(&case);
    case.run(&[]).code(0);
}

#[test]
fn train_out_never_replaces_an_input_the_pipeline_a_run_or_the_lock() {
    let case = committed();
    for out in [
        "crm.csv",
        "pipeline.toml",
        "out/latest/model.json",
        "out/.lock",
        "out",
        "/dev/full",
    ] {
        case.golden(&["train", "pipeline.toml", "--out", out])
            .code(2)
            .says(out)
            .no_values(VALUES);
    }
    assert!(!case.path("out/.lock").exists());
    intact(&case);
    case.run(&[]).code(0);
}

#[test]
fn a_lock_that_is_not_a_lock_file_is_named_never_printed_and_broken_on_request() {
    let case = committed();
    let lock = case.path("out/.lock");
    let bytes = "PAR1 Zebedee zq@example.com\npid=x\n";
    case.write("out/.lock", bytes);
    case.run(&[]).code(4).says("pid=x").no_values(VALUES);
    case.golden(&["runs", "out"]).code(0).no_values(VALUES);
    std::fs::write(&lock, "PAR1 Zebedee Quarmby zq@example.com 07700 900123").unwrap();
    case.run(&[])
        .code(4)
        .says("unreadable lock file")
        .no_values(VALUES);
    std::fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink("../crm.csv", &lock).unwrap();
    case.run(&[])
        .code(4)
        .says("a symbolic link")
        .no_values(VALUES);
    case.run(&["--break-lock"]).code(0).no_values(VALUES);
    assert!(case.path("crm.csv").is_file());
    std::os::unix::fs::symlink("nosuch", &lock).unwrap();
    case.run(&[]).code(4).says("a symbolic link");
    case.run(&["--break-lock"]).code(0);
    std::fs::create_dir(&lock).unwrap();
    case.run(&[]).code(4).says("a folder");
    case.run(&["--break-lock"]).code(0);
    assert!(!lock.exists());
}

#[test]
fn generate_never_writes_into_an_output_directory_or_over_existing_files() {
    let case = committed();
    let args = ["generate", "--entities", "5", "--seed", "1", "--out"];
    for out in ["out/latest", "out", "out/new"] {
        let mut a = args.to_vec();
        a.push(out);
        case.golden(&a).code(2).says(out).says("output directory");
    }
    assert!(!case.path("out/new").exists());
    let mut a = args.to_vec();
    a.push(".");
    case.golden(&a)
        .code(2)
        .says("already exists")
        .says("--force");
    intact(&case);
}

#[test]
fn a_pipeline_file_that_is_a_device_or_huge_is_refused() {
    let case = committed();
    for args in [["run", "/dev/zero"], ["check", "/dev/zero"], ["run", "out"]] {
        case.golden(&args).code(2).says("not a regular file");
    }
    case.write("big.toml", vec![b'#'; 2 << 20]);
    case.golden(&["check", "big.toml"])
        .code(2)
        .says("too large");
}

#[test]
fn an_output_directory_that_is_not_a_usable_folder_exits_2_naming_it() {
    let case = committed();
    let latest = case.latest();
    for dir in ["crm.csv", "/dev/null", "/proc/self", "/sys"] {
        case.run(&["--output", dir])
            .code(2)
            .says(&format!("output directory {dir}"))
            .no_values(VALUES);
    }
    assert_eq!(case.latest(), latest);
}

#[test]
fn an_output_directory_inside_an_input_glob_is_not_read_back() {
    let case = Case::new();
    case.write(
        "data/crm.csv",
        format!("{CRM_HEADER}C1,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n"),
    );
    let text = format!(
        "name = \"hostile\"\n[output]\ndir = \"data/out\"\n\n{}\n{}",
        crm_source("data/**/*.csv"),
        super::MODEL
    );
    case.write("pipeline.toml", text);
    std::fs::create_dir_all(case.path("data/out")).unwrap();
    case.write(
        "data/out/stray.csv",
        format!("{CRM_HEADER}C9,A,B,c@d.e,,,\n"),
    );
    // Not `case.run`: the output directory here is `data/out`, outside the harness's `out/`.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_golden"))
        .args(["run", "pipeline.toml"])
        .current_dir(case.path(""))
        .env("RUST_LOG", "golden=trace")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("inside the output directory"), "{stderr}");
    assert!(stdout.contains("1 rows read"), "{stdout}");
    for v in VALUES {
        assert!(!stdout.contains(v) && !stderr.contains(v), "{v} printed");
    }
    super::assert_accounted(&case.path("data/out/latest"), &[("crm", "crm.csv", 1)]);
}

#[test]
fn an_unknown_decisions_setting_exits_2_and_leaves_the_last_run_alone() {
    let case = committed();
    let latest = case.latest();
    let text = std::fs::read_to_string(case.path("pipeline.toml")).unwrap();
    case.write(
        "pipeline.toml",
        text.replacen(
            "dir = \"out\"\n",
            "dir = \"out\"\ndecisions = \"everything\"\n",
            1,
        ),
    );
    case.run(&[])
        .code(2)
        .says("output.decisions: unknown value `everything`; expected one of above_floor, all")
        .no_values(VALUES);
    assert_eq!(case.latest(), latest);
    intact(&case);
}
