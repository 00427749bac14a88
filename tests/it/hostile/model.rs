//! Hostile models and pipeline names (issue 12, items 4, 13 and 17): a `model_file` that does
//! not fit the pipeline or holds impossible numbers, field names that the run's own tables use,
//! contradictory manual decisions, a damaged run under `golden explain`, and EM settings that
//! would never finish.

use std::process::Command;

use super::{CRM_HEADER, Case, MODEL, assert_accounted, crm_source};
use crate::util::{strings, table};

/// Three rows: C1 and C2 the same person, C3 another one.
fn three_rows(case: &Case) {
    case.write(
        "crm.csv",
        format!(
            "{CRM_HEADER}C1,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n\
             C2,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n\
             C3,Ottoline,Vexley,ov@example.com,07700 900456,EC1A 1BB,04/05/1970\n"
        ),
    );
    case.pipeline(&crm_source("crm.csv"));
}

const VALUES: &[&str] = &["Zebedee", "Quarmby", "zq@example.com", "Ottoline", "Vexley"];

/// The shared `model.json` as JSON, for a test to damage.
fn model_json(case: &Case) -> serde_json::Value {
    let text = std::fs::read_to_string(case.path("model.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn save_model(case: &Case, model: &serde_json::Value) {
    case.write("model.json", serde_json::to_string_pretty(model).unwrap());
}

/// `golden check` and `golden run` both refuse the model with exit 2, saying each of `texts`,
/// and the run writes nothing (not even its lock).
fn refused(case: &Case, texts: &[&str]) {
    for args in [
        &["check", "pipeline.toml"][..],
        &["run", "pipeline.toml"][..],
    ] {
        let out = case.golden(args);
        out.code(2).no_values(VALUES).says("model.json");
        for t in texts {
            out.says(t);
        }
    }
    assert_eq!(case.latest(), None);
    assert!(!case.out().exists(), "a refused run wrote {:?}", case.out());
}

/// The golden id of each of `ids` in the latest run.
fn golden_ids(case: &Case, ids: &[&str]) -> Vec<String> {
    let cw = table(&case.out().join("latest"), "crosswalk");
    let sid = strings(&cw, "source_id");
    let gid = strings(&cw, "golden_id");
    ids.iter()
        .map(|id| {
            let i = sid.iter().position(|s| s.as_deref() == Some(id)).unwrap();
            gid[i].clone().unwrap()
        })
        .collect()
}

#[test]
fn a_short_level_array_in_model_file_is_refused_at_check_and_run() {
    let case = Case::new();
    three_rows(&case);
    let mut model = model_json(&case);
    model["comparisons"][0]["m"] = serde_json::json!([0.2, 0.8]);
    save_model(&case, &model);
    refused(
        &case,
        &["comparison `first_name`: m has 2 levels; jaro_winkler with thresholds [0.9] has 3"],
    );
}

#[test]
fn a_model_file_in_another_order_is_matched_by_field_name() {
    let case = Case::new();
    three_rows(&case);
    let mut model = model_json(&case);
    model["comparisons"].as_array_mut().unwrap().reverse();
    save_model(&case, &model);
    case.golden(&["check", "pipeline.toml"]).code(0);
    case.run(&[]).code(0).no_values(VALUES);
    assert_accounted(&case.out().join("latest"), &[("crm", "crm.csv", 3)]);
    let g = golden_ids(&case, &["C1", "C2", "C3"]);
    assert_eq!(g[0], g[1], "C1 and C2 are one person");
    assert_ne!(g[0], g[2], "C3 is another");
}

#[test]
fn impossible_numbers_in_model_file_are_each_named() {
    let case = Case::new();
    three_rows(&case);
    let mut model = model_json(&case);
    model["prior"] = serde_json::json!(1.0);
    model["comparisons"][2]["m"] = serde_json::json!([-0.3, 1.3]);
    model["comparisons"][3]["u"] = serde_json::json!([0.5, 0.4]);
    save_model(&case, &model);
    refused(
        &case,
        &[
            "prior: 1 is not a probability strictly between 0 and 1",
            "comparison `email`: m[0] is -0.3, outside [0, 1]",
            "comparison `email`: m[1] is 1.3, outside [0, 1]",
            "comparison `phone`: u sums to 0.9, not 1",
        ],
    );
}

#[test]
fn a_model_file_missing_a_comparison_or_with_another_method_is_refused() {
    let case = Case::new();
    three_rows(&case);
    let mut model = model_json(&case);
    let comparisons = model["comparisons"].as_array_mut().unwrap();
    comparisons.remove(4);
    comparisons[0]["method"] = serde_json::json!("jaro");
    comparisons[1]["thresholds"] = serde_json::json!([0.8]);
    save_model(&case, &model);
    refused(
        &case,
        &[
            "comparison `postcode`: not in the model",
            "comparison `first_name`: the model compares it with jaro, the pipeline with jaro_winkler",
            "comparison `last_name`: the model's thresholds are [0.8], the pipeline's [0.9]",
        ],
    );
}

#[test]
fn a_model_file_that_is_not_json_or_has_unknown_keys_is_refused() {
    let case = Case::new();
    three_rows(&case);
    case.write("model.json", "prior = 0.01\n");
    refused(&case, &["is not a golden model file (JSON)"]);
    let mut model = model_json_from_fixture();
    model["priors"] = serde_json::json!(0.01);
    save_model(&case, &model);
    refused(&case, &["unknown field `priors`"]);
    let mut model = model_json_from_fixture();
    model.as_object_mut().unwrap().remove("prior");
    save_model(&case, &model);
    refused(&case, &["missing field `prior`"]);
}

fn model_json_from_fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(crate::util::repo("tests/data/tiny/model.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A source that maps `extra` fields (TOML lines) besides the usual ones.
fn source_with(extra: &str) -> String {
    format!("{}{extra}\n", crm_source("crm.csv"))
}

#[test]
fn reserved_field_names_are_refused_at_check_and_run() {
    let case = Case::new();
    three_rows(&case);
    case.pipeline(&source_with(
        "source_id = \"contact_id\"\n__row = \"contact_id\"\ngolden_id = \"contact_id\"\n\
         record_count = \"contact_id\"",
    ));
    for args in [
        &["check", "pipeline.toml"][..],
        &["run", "pipeline.toml"][..],
    ] {
        let out = case.golden(args);
        out.code(2).no_values(VALUES);
        for (line, name) in [
            (17, "source_id"),
            (18, "__row"),
            (19, "golden_id"),
            (20, "record_count"),
        ] {
            out.says(&format!(
                "pipeline.toml:{line}:1: sources[0].fields.{name}: `{name}` is reserved"
            ));
        }
        out.says("reserved names: golden_id, source, source_id,");
    }
    assert!(!case.out().exists());
}

#[test]
fn a_compared_field_named_match_is_refused() {
    let case = Case::new();
    three_rows(&case);
    let text = format!(
        "name = \"hostile\"\n[output]\ndir = \"out\"\n\n{}\n{MODEL}\n\
         [[comparisons]]\nfield = \"match\"\nmethod = \"exact\"\n",
        source_with("match = \"email\"")
    );
    case.write("pipeline.toml", text);
    case.golden(&["check", "pipeline.toml"]).code(2).says(
        "pipeline.toml:58:9: comparisons[6].field: a compared field named `match` makes \
             decisions.parquet's column `match_weight` twice; rename the field",
    );
}

#[test]
fn contradictory_manual_decisions_warn_with_ids_and_cannot_link_wins() {
    let case = Case::new();
    case.write(
        "crm.csv",
        format!(
            "{CRM_HEADER}A1,Zebedee,Quarmby,zq@example.com,,,\n\
             B1,Ottoline,Vexley,ov@example.com,,,\n\
             C1,Hephzibah,Tull,ht@example.com,,,\n"
        ),
    );
    case.pipeline(&crm_source("crm.csv"));
    case.write(
        "decisions/manual.csv",
        "left,right,decision,reason,author,date\n\
         crm:A1,crm:B1,must_link,kyc,ana,2026-11-01\n\
         crm:B1,crm:C1,must_link,kyc,ana,2026-11-01\n\
         crm:A1,crm:C1,cannot_link,call,ana,2026-11-02\n",
    );
    case.run(&[])
        .code(0)
        .no_values(&["Zebedee", "Ottoline", "Hephzibah", "zq@example.com"])
        .says("1 cannot-link pair of the manual decisions is joined by must-links")
        .says("crm:A1 ~ crm:C1");
    let run = case.out().join("latest");
    assert_accounted(&run, &[("crm", "crm.csv", 3)]);
    let g = golden_ids(&case, &["A1", "B1", "C1"]);
    assert_ne!(g[0], g[2], "the cannot-link wins");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["manual_contradictions"], 1);
}

#[test]
fn explain_on_a_damaged_decisions_file_names_it() {
    let case = Case::new();
    three_rows(&case);
    case.run(&[]).code(0);
    let run = case.latest().unwrap();
    let run_id = run.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::write(
        case.out().join("latest/decisions.parquet"),
        b"PAR1 not parquet at all",
    )
    .unwrap();
    case.golden(&["explain", "out", "--record", "crm:C1"])
        .code(3)
        .no_values(VALUES)
        .says(&format!("{run_id}/decisions.parquet: "))
        .says("the run looks damaged")
        .says("golden verify");
}

#[test]
fn em_settings_that_would_never_finish_are_refused_at_check() {
    let case = Case::new();
    three_rows(&case);
    pipeline_with_model(
        &case,
        &MODEL.replace(
            "[model]\n",
            "[model]\nem_max_iterations = 1000000000\nem_tolerance = inf\n",
        ),
    );
    case.golden(&["check", "pipeline.toml"])
        .code(2)
        .says(
            "pipeline.toml:52:21: model.em_max_iterations: must be at most 1000, got 1000000000 \
             (default 50)",
        )
        .says(
            "pipeline.toml:53:16: model.em_tolerance: must be a finite number greater than 0, \
             got inf (default 0.0001)",
        );
}

#[test]
fn training_logs_em_convergence_at_info() {
    let case = Case::new();
    three_rows(&case);
    pipeline_with_model(&case, &MODEL.replace("model_file = \"model.json\"\n", ""));
    let out = Command::new(env!("CARGO_BIN_EXE_golden"))
        .args(["run", "pipeline.toml"])
        .current_dir(case.path(""))
        .env("RUST_LOG", "golden=info")
        .output()
        .unwrap();
    let stderr = without_colours(&String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for text in [
        "EM finished",
        "blocking_rule=email",
        "iterations=",
        "final_change=",
    ] {
        assert!(stderr.contains(text), "stderr lacks {text:?}:\n{stderr}");
    }
}

/// Writes `pipeline.toml` as [`Case::pipeline`] does for the crm source, with `model` (the
/// comparisons and `[model]`) instead of [`MODEL`].
fn pipeline_with_model(case: &Case, model: &str) {
    let text = format!(
        "name = \"hostile\"\n[output]\ndir = \"out\"\n\n{}\n{model}",
        crm_source("crm.csv")
    );
    case.write("pipeline.toml", text);
}

/// `text` without ANSI colour sequences (`ESC [ … m`).
fn without_colours(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}
