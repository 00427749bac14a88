//! `golden explain --pair` with `records.parquet` (issue 15 items 1–2): both records' values,
//! the would-be score of a pair no rule compared, each blocking rule's verdict, and one scoring
//! path (the recomputed score of every compared pair equals the run's).

use std::path::Path;

use golden::explain::RecordRef;
use golden::explain::reader::RunTables;
use golden::explain::why;

use crate::util::{golden, golden_ok, repo, tempdir};

/// Runs the pipeline `toml` into a fresh output directory.
fn run(toml: &Path) -> tempfile::TempDir {
    let out = tempdir();
    golden_ok(&[
        "run",
        toml.to_str().unwrap(),
        "--output",
        out.path().to_str().unwrap(),
    ]);
    out
}

/// Copies the tiny pipeline and its files into `dir`; returns the pipeline's path there.
fn tiny_copy(dir: &Path) -> std::path::PathBuf {
    for f in ["crm.csv", "support.ndjson", "model.json", "tiny.toml"] {
        std::fs::copy(repo(&format!("tests/data/tiny/{f}")), dir.join(f)).unwrap();
    }
    dir.join("tiny.toml")
}

fn dir(out: &tempfile::TempDir) -> &str {
    out.path().to_str().unwrap()
}

/// The golden id of record `source`:`id`, found with `golden query`.
fn golden_id(out: &tempfile::TempDir, source: &str, id: &str) -> String {
    let sql =
        format!("select golden_id from crosswalk where source = '{source}' and source_id = '{id}'");
    let csv = golden_ok(&["query", dir(out), &sql, "--format", "csv"]);
    csv.lines().nth(1).expect("one row").to_string()
}

#[test]
fn merged_pair_shows_both_records_values_and_the_rules_that_found_it() {
    let out = run(&repo("tests/data/tiny/tiny.toml"));
    let g = golden_id(&out, "crm", "C1");
    let text = golden_ok(&["explain", dir(&out), "--pair", "crm:C1", "support:7"]);
    let expected = format!(
        "\
pair crm:C1 ~ support:7   (blocking rule: email)
step         level       m        u   weight    total   crm:C1                support:7
prior                                  -6.61    -6.61
first_name   exact   0.800   0.0500    +4.00    -2.61   Robert                Bob
last_name    exact   0.800   0.0500    +4.00    +1.39   Smith                 Smith
email        exact   0.700   0.0010    +9.45   +10.84   rob.smith@gmail.com   rob.smith+shop@googlemail.com
phone        exact   0.800   0.0010    +9.64   +20.48   +447700900123         +447700900123
postcode     exact   0.800   0.0100    +6.32   +26.80   SW1A 1AA              SW1A 1AA
birth_date   exact   0.850   0.0100    +6.41   +33.21   1985-02-03            1985-02-03
household                             -23.61    +9.60
match weight +9.60   probability 0.9987   decision match
thresholds: match 0.9000   review 0.2000
values: as standardised, from records.parquet

blocking rules (3)
rule                     crm:C1               support:7            verdict
email                    robsmith@gmail.com   robsmith@gmail.com   yes: paired them
phone                    +447700900123        +447700900123        same key, but rule 1 (email) found the pair first
last_name & birth_date   smith & 1985-02-03   smith & 1985-02-03   same key, but rule 1 (email) found the pair first

together in golden record {g}, through 1 link:
  crm:C1 ~ support:7   match 0.9987
crm:C1 is in golden record {g}
support:7 is in golden record {g} (the same golden record)
"
    );
    assert_eq!(text, expected, "\n{text}");
}

#[test]
fn never_paired_pair_prints_the_would_be_score_and_the_missing_rules() {
    let out = run(&repo("tests/data/tiny/tiny.toml"));
    let (g2, g4) = (golden_id(&out, "crm", "C2"), golden_id(&out, "crm", "C4"));
    let text = golden_ok(&["explain", dir(&out), "--pair", "crm:C4", "crm:C2"]);
    let expected = format!(
        "\
pair crm:C4 ~ crm:C2: not compared: no blocking rule put them in one block
step         level   m   u   weight   total   crm:C4   crm:C2
prior                         -6.61   -6.61
first_name   null             +0.00   -6.61   (null)   Jane
last_name    null             +0.00   -6.61   (null)   Doe
email        null             +0.00   -6.61   (null)   jane@example.com
phone        null             +0.00   -6.61   (null)   +442079460958
postcode     null             +0.00   -6.61   (null)   EC1A 1BB
birth_date   null             +0.00   -6.61   (null)   1990-12-25
household                     -0.01   -6.63
would-be match weight -6.63   probability 0.0100   decision non_match
thresholds: match 0.9000   review 0.2000
values: as standardised, from records.parquet

blocking rules (3)
rule                     crm:C4     crm:C2             verdict
email                    (no key)   jane@example.com   no: crm:C4 has no key
phone                    (no key)   +442079460958      no: crm:C4 has no key
last_name & birth_date   (no key)   doe & 1990-12-25   no: crm:C4 has no key

kept apart by:
  no blocking rule put them in one block, so they were never compared
  weight below the thresholds: probability 0.0100 is under the review threshold 0.2000
crm:C4 is in golden record {g4}
crm:C2 is in golden record {g2} (different golden records)
"
    );
    assert_eq!(text, expected, "\n{text}");
    // Different keys under every rule: the same people at different addresses.
    let text = golden_ok(&["explain", dir(&out), "--pair", "crm:C2", "crm:C3"]);
    assert!(
        text.contains("last_name & birth_date   doe & 1990-12-25   smith & 1985-02-03       no: different keys\n"),
        "{text}"
    );
    assert!(
        text.contains("would-be match weight -25.57   probability 0.0000   decision non_match\n"),
        "{text}"
    );
}

#[test]
fn review_pair_is_kept_apart_by_the_band_the_household_term_and_the_conflict() {
    let out = run(&repo("tests/data/tiny/tiny.toml"));
    assert_eq!(
        reasons(&out, "crm:C1", "crm:C3"),
        [
            "the review band: probability 0.2512 is between the review threshold 0.2000 and the match threshold 0.9000; a person decides",
            "the household term (-15.43): without it the pair would reach the match threshold",
        ]
    );
    // With the identity conflict on (Robert and John disagree), it is one more reason.
    let tmp = tempdir();
    let toml = tiny_copy(tmp.path());
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = text.replace("[model]\n", "[model]\nconflict_field = \"first_name\"\n");
    std::fs::write(&toml, text).unwrap();
    let out = run(&toml);
    assert_eq!(
        reasons(&out, "crm:C1", "crm:C3")[1],
        "the identity conflict: first_name disagrees and no override field agrees exactly (never linked automatically)"
    );
}

/// The lines under `kept apart by:` of pair `a` ~ `b`.
fn reasons(out: &tempfile::TempDir, a: &str, b: &str) -> Vec<String> {
    let text = golden_ok(&["explain", dir(out), "--pair", a, b]);
    let apart = text.split("kept apart by:\n").nth(1).expect("a reason");
    apart
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(str::to_string)
        .collect()
}

#[test]
fn redacted_pair_shows_no_value_and_no_key() {
    let out = run(&repo("tests/data/tiny/tiny.toml"));
    for pair in [["crm:C1", "support:7"], ["crm:C2", "crm:C3"]] {
        let text = golden_ok(&["explain", dir(&out), "--pair", pair[0], pair[1], "--redact"]);
        for value in [
            "Robert", "Bob", "Jane", "John", "Smith", "Doe", "@", "+44", "SW1A", "EC1A", "1985",
            "1990", "(null)", "(no key)",
        ] {
            assert!(!text.contains(value), "{pair:?} shows {value}: {text}");
        }
        let values = text.lines().filter(|l| l.ends_with("***")).count();
        let keys = text.lines().filter(|l| l.contains("***   ")).count() - values;
        assert_eq!(
            (values, keys),
            (6, 3),
            "{pair:?}: six fields, three rules: {text}"
        );
    }
}

#[test]
fn unknown_record_is_named_with_how_to_find_ids() {
    let out = run(&repo("tests/data/tiny/tiny.toml"));
    let res = golden(&["explain", dir(&out), "--pair", "crm:C1", "crm:C9"]);
    assert_eq!(res.status.code(), Some(2));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("record `crm:C9` is not in ")
            && err.contains("\"select source, source_id from crosswalk where source = 'crm'\""),
        "{err}"
    );
}

#[test]
fn a_run_without_records_parquet_explains_compared_pairs_as_before() {
    let out = run(&repo("tests/data/tiny/tiny.toml"));
    let latest = out.path().join("latest");
    std::fs::remove_file(latest.join("records.parquet")).unwrap();
    let text = golden_ok(&["explain", dir(&out), "--pair", "crm:C1", "support:7"]);
    assert!(
        text.contains(
            "first_name   exact   0.800   0.0500    +4.00    -2.61   (not kept)      Bob\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("this run has no records.parquet (written by an older golden): the compared values were not kept by that run\n"),
        "{text}"
    );
    let text = golden_ok(&["explain", dir(&out), "--pair", "crm:C2", "crm:C3"]);
    assert!(text.starts_with("pair crm:C2 ~ crm:C3: not compared: no blocking rule put them in one block\ncrm:C2 is in golden record "), "{text}");
}

/// Recomputes every pair of the run in `out` with `why::rescore` and checks levels, weights,
/// term-frequency and household terms, match weight and probability against `decisions`.
fn assert_one_scoring_path(out: &tempfile::TempDir) -> usize {
    let run = golden::run::resolve_run(out.path()).unwrap();
    let mut tables = RunTables::load(&run).unwrap();
    tables.load_records().unwrap();
    let rec = tables.records.clone().expect("records.parquet");
    let p = why::run_pipeline(&rec).expect("the run's pipeline");
    let pairs = tables.pairs(|_, _| true).unwrap();
    let index = |r: &RecordRef| rec.index_of(r).unwrap().expect("record kept");
    for pair in &pairs {
        let stored = tables.scores(pair).unwrap();
        let idx = (index(&pair.left), index(&pair.right));
        let (levels, again) = why::rescore(&tables.model, &p, &rec.batch, idx).unwrap();
        let what = format!("{} ~ {}", pair.left, pair.right);
        let stored_levels: Vec<i8> = stored.fields.iter().map(|f| f.level).collect();
        assert_eq!(levels, stored_levels, "{what}");
        assert_eq!(again.fields, stored.fields, "{what}");
        let close = |x: Option<f64>, y: Option<f64>| (x.unwrap() - y.unwrap()).abs() < 1e-9;
        assert!(close(again.match_weight, stored.match_weight), "{what}");
        assert!(close(again.probability, stored.probability), "{what}");
        assert_eq!(
            again.household.is_some(),
            stored.household.is_some(),
            "{what}"
        );
        if let (Some(x), Some(y)) = (again.household, stored.household) {
            assert!((x - y).abs() < 1e-9, "{what}");
        }
        if pair.decision != golden::model::Decision::Manual {
            assert_eq!(again.decision, pair.decision, "{what}");
        }
    }
    pairs.len()
}

#[test]
fn every_compared_pair_of_the_demo_scores_the_same_recomputed() {
    let out = run(&repo("pipelines/demo.toml"));
    assert!(assert_one_scoring_path(&out) > 100);
    // And with term-frequency adjustment, which reads every record's share of a value.
    let tmp = tempdir();
    let text = std::fs::read_to_string(repo("pipelines/demo.toml")).unwrap();
    let fixtures = repo("fixtures").display().to_string();
    let text = text.replace("../fixtures", &fixtures)
        + "\n[model]\nterm_frequency = [\"last_name\", \"city\"]\n";
    let toml = tmp.path().join("demo_tf.toml");
    std::fs::write(&toml, text).unwrap();
    let out = run(&toml);
    assert!(assert_one_scoring_path(&out) > 100);
}

/// The latest run's directory in output directory `out`.
fn latest(out: &tempfile::TempDir) -> std::path::PathBuf {
    golden::run::resolve_run(out.path()).unwrap()
}

#[test]
fn the_runs_copy_of_its_pipeline_explains_after_the_file_and_its_inputs_are_gone() {
    let tmp = tempdir();
    let toml = tiny_copy(tmp.path());
    let out = run(&toml);
    let copy = latest(&out).join("pipeline.toml");
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&toml).unwrap());
    let explain = |a: &str, b: &str| golden_ok(&["explain", dir(&out), "--pair", a, b]);
    let (never, compared) = (explain("crm:C2", "crm:C3"), explain("crm:C1", "crm:C3"));
    assert!(
        never.contains("would-be match weight -25.57   probability 0.0000   decision non_match\nthresholds: match 0.9000   review 0.2000\n"),
        "{never}"
    );
    assert!(
        compared.contains("kept apart by:\n  the review band: probability 0.2512"),
        "{compared}"
    );
    // Edited, then deleted with every file it names: the run's copy explains as before.
    let text = std::fs::read_to_string(&toml).unwrap();
    let edited = text.replace("[model]\n", "[model]\nconflict_field = \"first_name\"\n");
    std::fs::write(&toml, edited).unwrap();
    assert_eq!(explain("crm:C2", "crm:C3"), never);
    assert_eq!(explain("crm:C1", "crm:C3"), compared);
    for f in ["crm.csv", "support.ndjson", "model.json", "tiny.toml"] {
        std::fs::remove_file(tmp.path().join(f)).unwrap();
    }
    assert_eq!(explain("crm:C2", "crm:C3"), never);
    assert_eq!(explain("crm:C1", "crm:C3"), compared);
    // A copy changed since the run is refused, as `golden verify` would.
    std::fs::write(&copy, text + "# edited in the run\n").unwrap();
    let text = explain("crm:C2", "crm:C3");
    assert!(
        text.contains(
            "\nnot scored: the run's pipeline.toml changed since the run (its SHA-256 differs)\n"
        ),
        "{text}"
    );
}

#[test]
fn a_run_without_a_copy_of_its_pipeline_reads_the_pipeline_file_as_before() {
    let tmp = tempdir();
    let toml = tiny_copy(tmp.path());
    let out = run(&toml);
    let explain = |a: &str, b: &str| golden_ok(&["explain", dir(&out), "--pair", a, b]);
    let with_copy = explain("crm:C2", "crm:C3");
    std::fs::remove_file(latest(&out).join("pipeline.toml")).unwrap();
    assert_eq!(explain("crm:C2", "crm:C3"), with_copy);
    let text = std::fs::read_to_string(&toml).unwrap() + "# edited after the run\n";
    std::fs::write(&toml, text).unwrap();
    let text = explain("crm:C2", "crm:C3");
    let lines: Vec<&str> = text.lines().take(4).collect();
    assert_eq!(
        lines,
        [
            "pair crm:C2 ~ crm:C3: not compared: no blocking rule put them in one block",
            &format!(
                "not scored: the run's pipeline {} changed since the run (its SHA-256 differs)",
                toml.display()
            ),
            "values: as standardised, from records.parquet",
            "",
        ],
        "{text}"
    );
    // The blocking rules need no pipeline: their keys come from the records' match keys.
    assert!(
        text.contains("email                    jane@example.com   john.smith@example.com   no: different keys\n"),
        "{text}"
    );
    assert!(
        text.contains("kept apart by:\n  no blocking rule put them in one block, so they were never compared\ncrm:C2 is in"),
        "{text}"
    );
    // A compared pair keeps the run's score; only its reasons need the pipeline.
    let text = explain("crm:C1", "crm:C3");
    assert!(
        text.contains("match weight -1.58   probability 0.2512   decision review\nthresholds not shown: the run's pipeline "),
        "{text}"
    );
    assert!(
        text.contains("kept apart by:\n  (not worked out: the run's pipeline is needed)\n"),
        "{text}"
    );
    std::fs::remove_file(&toml).unwrap();
    let text = explain("crm:C2", "crm:C3");
    assert!(
        text.contains(&format!(
            "\nnot scored: the run's pipeline {} cannot be loaded: ",
            toml.display()
        )),
        "{text}"
    );
}

#[test]
fn a_manual_cannot_link_is_what_keeps_a_matching_pair_apart() {
    let tmp = tempdir();
    tiny_copy(tmp.path());
    std::fs::create_dir(tmp.path().join("decisions")).unwrap();
    std::fs::write(
        tmp.path().join("decisions/manual.csv"),
        "left,right,decision,reason,author,date\ncrm:C1,support:7,cannot_link,two people,ana,2026-11-01\n",
    )
    .unwrap();
    let out = run(&tmp.path().join("tiny.toml"));
    assert_eq!(
        reasons(&out, "crm:C1", "support:7"),
        ["a manual decision (cannot-link)"]
    );
}
