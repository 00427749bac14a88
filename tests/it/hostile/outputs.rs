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
