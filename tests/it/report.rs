//! `report.html` (issue 15 item 3): the demo run's report shows its counts and waterfalls, is
//! self-contained, deterministic, redactable and small; in a real browser (headless Chromium,
//! no network) it runs without script errors and its review export closes the loop: the pairs
//! marked match are `manual` in the next run's decisions and share a golden record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::record_batch::RecordBatch;

use crate::util::{golden, golden_ok, repo, strings, table, tempdir};

/// Copies the demo pipeline and fixtures into `dir` with a review threshold low enough for a
/// review queue (the demo's own thresholds leave none); returns the pipeline file.
fn demo_with_review_queue(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::create_dir_all(dir.join("fixtures/demo")).unwrap();
    for f in ["crm.csv", "billing.parquet", "support.ndjson"] {
        std::fs::copy(
            repo(&format!("fixtures/demo/{f}")),
            dir.join("fixtures/demo").join(f),
        )
        .unwrap();
    }
    let text = std::fs::read_to_string(repo("pipelines/demo.toml")).unwrap();
    let pipeline = dir.join("pipelines/demo.toml");
    std::fs::write(
        &pipeline,
        format!("{text}\n[model]\nreview_threshold = 0.001\n"),
    )
    .unwrap();
    pipeline
}

/// Runs `pipeline` and returns its run directory (resolved).
fn run(pipeline: &Path) -> PathBuf {
    golden_ok(&["run", pipeline.to_str().unwrap()]);
    let out = pipeline.parent().unwrap().join("../out/demo/latest");
    std::fs::canonicalize(out).unwrap()
}

/// The JSON the page's script draws from.
fn page_data(html: &str) -> serde_json::Value {
    let start = r#"<script type="application/json" id="report-data">"#;
    let from = html.find(start).expect("data element") + start.len();
    let len = html[from..].find("</script>").unwrap();
    serde_json::from_str(&html[from..from + len]).expect("page data is JSON")
}

/// The text of the element `<tag id="id">…</tag>` in `html`, entities decoded.
fn element_text(html: &str, tag: &str, id: &str) -> String {
    let start = format!(r#"<{tag} id="{id}""#);
    let from = html
        .find(&start)
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let from = from + html[from..].find('>').unwrap() + 1;
    let len = html[from..].find(&format!("</{tag}>")).unwrap();
    html[from..from + len]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every `src="…"`, `href="…"` and `url(…)` target of `html`.
fn resource_references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [("src=\"", '"'), ("href=\"", '"'), ("url(", ')')] {
        for (at, _) in html.match_indices(open) {
            let rest = &html[at + open.len()..];
            out.push(rest[..rest.find(close).unwrap_or(rest.len())].to_string());
        }
    }
    out
}

#[test]
fn the_demo_report_shows_counts_rejects_and_waterfalls_and_is_self_contained() {
    let dir = tempdir();
    let run_dir = run(&demo_with_review_queue(dir.path()));
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.len() < 10 << 20, "{} bytes", html.len());
    assert!(html.contains(r#"<div class="n" data-count="golden records">201</div>"#));
    assert!(html.contains(r#"<div class="n" data-count="rows rejected">6</div>"#));
    for (source, rejected) in [("billing", 0), ("crm", 4), ("support", 2)] {
        let row = format!(r#"<tr data-source="{source}">"#);
        let at = html
            .find(&row)
            .unwrap_or_else(|| panic!("no row of {source}"));
        let cell = format!(r#"<td class="num rejected">{rejected}</td>"#);
        assert!(html[at..].starts_with(&format!("{row}<td>{source}</td>")));
        assert!(html[at..at + 300].contains(&cell), "{source}");
    }
    assert!(html.contains("<span class=\"tag\">invalid_utf8: 1</span>"));
    let refs = resource_references(&html);
    assert!(refs.iter().all(|r| r.starts_with('#')), "{refs:?}");
    let http: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..i + 27])
        .collect();
    assert_eq!(
        http,
        ["http://www.w3.org/2000/svg\""],
        "only the SVG namespace"
    );
    assert!(html.contains(
        r#"<pre id="export-template" hidden>left,right,decision,reason,author,date</pre>"#
    ));
    assert_waterfall_is_the_decisions_row(&html, &run_dir);
}

/// The first review pair's waterfall: one step per field equal to its decisions row's
/// weight, summing (with the prior and household term) to its match weight.
fn assert_waterfall_is_the_decisions_row(html: &str, run_dir: &Path) {
    let data = page_data(html);
    let pair = &data["review"]["pairs"][0];
    let (left, right) = (
        pair["left"].as_str().unwrap(),
        pair["right"].as_str().unwrap(),
    );
    let decisions = table(run_dir, "decisions");
    let key = |side: &str, i: usize| {
        let s = strings(&decisions, &format!("{side}_source"))[i]
            .clone()
            .unwrap();
        format!(
            "{s}:{}",
            strings(&decisions, &format!("{side}_id"))[i]
                .clone()
                .unwrap()
        )
    };
    let row = (0..decisions.num_rows())
        .find(|&i| key("left", i) == left && key("right", i) == right)
        .expect("the review pair is in decisions");
    let number = |col: &str| {
        let c = arrow::compute::cast(
            decisions.column_by_name(col).unwrap(),
            &arrow::datatypes::DataType::Float64,
        )
        .unwrap();
        c.as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap()
            .value(row)
    };
    let steps = pair["steps"].as_array().unwrap();
    let step = |label: &str| {
        let s = steps.iter().find(|s| s["label"] == label);
        s.unwrap_or_else(|| panic!("no step {label}"))["weight"]
            .as_f64()
            .unwrap()
    };
    let fields = data["model"]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 8);
    for f in fields {
        let field = f["field"].as_str().unwrap();
        assert_eq!(step(field), number(&format!("{field}_weight")), "{field}");
    }
    assert_eq!(step("household"), number("household_adjustment"));
    assert_eq!(pair["weight"].as_f64().unwrap(), number("match_weight"));
    let sum: f64 = steps.iter().map(|s| s["weight"].as_f64().unwrap()).sum();
    assert!((sum - number("match_weight")).abs() < 1e-3, "{sum}");
}

#[test]
fn golden_report_rebuilds_the_same_bytes_and_redacts_only_to_another_file() {
    let dir = tempdir();
    let run_dir = run(&demo_with_review_queue(dir.path()));
    let written = std::fs::read(run_dir.join("report.html")).unwrap();
    let r = run_dir.to_str().unwrap();
    golden_ok(&["report", r]);
    assert_eq!(std::fs::read(run_dir.join("report.html")).unwrap(), written);
    golden_ok(&["verify", r]);
    let out = dir.path().join("copy.html");
    golden_ok(&["report", r, "--out", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), written, "deterministic");
    let refused = golden(&["report", r, "--redact"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(
            "--redact needs --out FILE: the run's own report.html is checksummed in its manifest; write the redacted report elsewhere"
        ),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let inside = golden(&[
        "report",
        r,
        "--out",
        run_dir.join("x.html").to_str().unwrap(),
    ]);
    assert_eq!(inside.status.code(), Some(2), "never writes into a run");
}

/// A `records.parquet` for the run's crosswalk: every field's display value
/// `V-<source>-<id>-<field>` and its match key.
fn fake_records(run_dir: &Path) {
    let xw = table(run_dir, "crosswalk");
    let (sources, ids) = (strings(&xw, "source"), strings(&xw, "source_id"));
    let mut columns: Vec<(String, ArrayRef)> = vec![
        (
            "source".into(),
            Arc::new(StringArray::from(sources.clone())) as ArrayRef,
        ),
        ("source_id".into(), Arc::new(StringArray::from(ids.clone()))),
    ];
    for field in ["first_name", "email"] {
        let values: Vec<String> = (0..sources.len())
            .map(|i| {
                format!(
                    "V-{}-{}-{field}",
                    sources[i].clone().unwrap(),
                    ids[i].clone().unwrap()
                )
            })
            .collect();
        columns.push((field.into(), Arc::new(StringArray::from(values.clone()))));
        let keys: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
        columns.push((format!("{field}__match"), Arc::new(StringArray::from(keys))));
    }
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    golden::run::write_parquet(&run_dir.join("records.parquet"), &batch).unwrap();
}

#[test]
fn values_from_records_parquet_are_shown_side_by_side_and_redacted_on_request() {
    let dir = tempdir();
    let run_dir = run(&demo_with_review_queue(dir.path()));
    // The run keeps records.parquet, so its own report shows values.
    let plain = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(!plain.contains("values not kept by this run"));
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&run_dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    // A run without the table (an older golden) says so instead of showing values.
    std::fs::remove_file(copy.join("records.parquet")).unwrap();
    let without = dir.path().join("without.html");
    golden_ok(&[
        "report",
        copy.to_str().unwrap(),
        "--out",
        without.to_str().unwrap(),
    ]);
    let without = std::fs::read_to_string(without).unwrap();
    assert!(without.contains("values not kept by this run"));
    fake_records(&copy);
    let shown = dir.path().join("shown.html");
    let redacted = dir.path().join("redacted.html");
    golden_ok(&[
        "report",
        copy.to_str().unwrap(),
        "--out",
        shown.to_str().unwrap(),
    ]);
    golden_ok(&[
        "report",
        copy.to_str().unwrap(),
        "--out",
        redacted.to_str().unwrap(),
        "--redact",
    ]);
    let shown = std::fs::read_to_string(shown).unwrap();
    let data = page_data(&shown);
    let left = data["review"]["pairs"][0]["left"]
        .as_str()
        .unwrap()
        .replace(':', "-");
    let first = data["review"]["pairs"][0]["fields"][0].clone();
    assert_eq!(first["left"], format!("V-{left}-first_name").as_str());
    assert!(shown.contains(&format!("<td>V-{left}-first_name</td>")));
    assert!(!shown.contains("values not kept by this run"));
    let redacted = std::fs::read_to_string(redacted).unwrap();
    assert!(
        !redacted.contains("V-"),
        "a value left in the redacted report"
    );
    assert!(redacted.contains("<td>***</td>"));
}

/// The Chromium binary, or a failure saying how to install it.
fn chromium() -> String {
    for name in ["chromium", "chromium-browser"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return name.into();
        }
    }
    panic!(
        "the browser test needs headless Chromium: install it with `apt-get update && apt-get install -y chromium` (bash .ci/run does this)"
    );
}

/// The page's DOM after its scripts ran, loaded from disk by headless Chromium with every
/// host name unresolvable (no network).
fn dump_dom(page: &Path, fragment: &str, profile: &Path) -> String {
    let url = format!("file://{}#{fragment}", page.display());
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=5000",
            "--dump-dom",
            &url,
        ])
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn in_a_browser_the_review_export_is_a_manual_csv_that_the_next_run_honours() {
    let dir = tempdir();
    let pipeline = demo_with_review_queue(dir.path());
    let run_dir = run(&pipeline);
    let dom = dump_dom(
        &run_dir.join("report.html"),
        "selftest",
        &dir.path().join("chrome"),
    );
    assert_eq!(
        element_text(&dom, "pre", "script-errors"),
        "",
        "script errors"
    );
    let csv = element_text(&dom, "pre", "selftest-export");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "left,right,decision,reason,author,date");
    assert_eq!(lines.len(), 6, "{csv}");
    let marked: Vec<(String, String)> = lines[1..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!((f[2], f[4], f.len()), ("must_link", "steward", 6), "{l}");
            (f[0].to_string(), f[1].to_string())
        })
        .collect();
    let decisions_dir = pipeline.parent().unwrap().join("decisions");
    std::fs::create_dir_all(&decisions_dir).unwrap();
    std::fs::write(decisions_dir.join("manual.csv"), &csv).unwrap();
    let rerun = run(&pipeline);
    let xw = table(&rerun, "crosswalk");
    let golden_of: HashMap<String, String> = strings(&xw, "source")
        .into_iter()
        .zip(strings(&xw, "source_id"))
        .zip(strings(&xw, "golden_id"))
        .map(|((s, i), g)| (format!("{}:{}", s.unwrap(), i.unwrap()), g.unwrap()))
        .collect();
    let d = table(&rerun, "decisions");
    let col = |c: &str| {
        strings(&d, c)
            .into_iter()
            .map(Option::unwrap)
            .collect::<Vec<_>>()
    };
    let (ls, li, rs, ri, dec) = (
        col("left_source"),
        col("left_id"),
        col("right_source"),
        col("right_id"),
        col("decision"),
    );
    for (a, b) in &marked {
        let row = (0..d.num_rows())
            .find(|&i| format!("{}:{}", ls[i], li[i]) == *a && format!("{}:{}", rs[i], ri[i]) == *b)
            .unwrap_or_else(|| panic!("{a} {b} not in decisions"));
        assert_eq!(dec[row], "manual", "{a} {b}");
        assert_eq!(golden_of[a], golden_of[b], "{a} {b} in one golden record");
    }
}

#[test]
fn report_redact_in_the_pipeline_redacts_the_run_report_and_its_rebuilds() {
    let dir = tempdir();
    let pipeline = demo_with_review_queue(dir.path());
    let text = std::fs::read_to_string(&pipeline).unwrap();
    std::fs::write(&pipeline, format!("{text}\n[report]\nredact = true\n")).unwrap();
    let run_dir = run(&pipeline);
    let written = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(written.contains("· <b>values redacted</b>"));
    let manifest = std::fs::read_to_string(run_dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"report_redact\": true"));
    fake_records(&run_dir);
    let out = dir.path().join("again.html");
    golden_ok(&[
        "report",
        run_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let again = std::fs::read_to_string(out).unwrap();
    assert!(
        again.contains("<td>***</td>") && !again.contains("V-"),
        "values shown"
    );
}
