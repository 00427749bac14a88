//! The decisions floor (issue 16 item 1): a run writes to `decisions.parquet` only the pairs
//! at or above the posterior floor, the matches and review band, and the manual pairs; it
//! counts the clear non-matches below it per blocking rule and in the weight histogram.
//! `[output] decisions = "all"` writes every candidate pair and changes no result, and
//! `explain --pair` recomputes a pair the run left out.

use std::path::{Path, PathBuf};

use golden::generate::{GenerateOptions, generate};
use golden::output::Manifest;

use crate::util::{golden_ok, repo, tempdir};

/// The floor the default run records (`DECISIONS_FLOOR`).
const FLOOR: f64 = 1e-3;

/// Writes `text` as a pipeline file at `path` with `output` added to its `[output]` section.
fn write_pipeline(path: &Path, text: &str, output: &str) -> PathBuf {
    let text = text.replacen("[output]\n", &format!("[output]\n{output}"), 1);
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// Copies the demo pipeline and fixtures into `dir`, `output` added to its `[output]`.
fn demo(dir: &Path, output: &str) -> PathBuf {
    let fixtures = dir.join("fixtures/demo");
    std::fs::create_dir_all(&fixtures).unwrap();
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    for f in ["crm.csv", "billing.parquet", "support.ndjson"] {
        std::fs::copy(repo(&format!("fixtures/demo/{f}")), fixtures.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(repo("pipelines/demo.toml")).unwrap();
    write_pipeline(&dir.join("pipelines/demo.toml"), &text, output)
}

/// `golden generate --entities 2000 --seed 7` into `dir`, `output` added to its `[output]`.
fn generated(dir: &Path, output: &str) -> PathBuf {
    generate(&GenerateOptions {
        entities: 2000,
        seed: 7,
        out: dir.to_path_buf(),
        broken_rows: false,
        household_share: None,
    })
    .unwrap();
    let pipeline = dir.join("pipeline.toml");
    let text = std::fs::read_to_string(&pipeline).unwrap();
    write_pipeline(&pipeline, &text, output)
}

/// Runs `pipeline` into `out`; returns the run directory.
fn run(pipeline: &Path, out: &Path) -> PathBuf {
    let (p, o) = (pipeline.to_str().unwrap(), out.to_str().unwrap());
    golden_ok(&["run", p, "--output", o]);
    std::fs::canonicalize(out.join("latest")).unwrap()
}

/// The rows of `sql` over `run`'s tables as CSV lines, header left out, sorted.
fn query(run: &Path, sql: &str) -> Vec<String> {
    let csv = golden_ok(&["query", run.to_str().unwrap(), sql, "--format", "csv"]);
    let mut rows: Vec<String> = csv.lines().skip(1).map(str::to_string).collect();
    rows.sort();
    rows
}

/// The single number `sql` returns.
fn number(run: &Path, sql: &str) -> u64 {
    query(run, sql)[0].parse().expect("a count")
}

fn manifest(run: &Path) -> Manifest {
    Manifest::read(&run.join("manifest.json")).unwrap()
}

/// Per blocking rule: (rule, candidate pairs it found first, of those below the floor).
fn per_rule(m: &Manifest) -> Vec<(String, u64, u64)> {
    m.blocking
        .iter()
        .map(|r| {
            let found = r.candidate_pairs.expect("candidate_pairs per rule");
            (r.rule.clone(), found, r.below_floor.expect("below_floor"))
        })
        .collect()
}

/// Asserts what holds of every run's counts: the rows of `decisions.parquet` are the pairs
/// written; the candidate pairs are the written ones that a rule found (not the manual pairs
/// no rule found, blocking rule `manual`) plus those below the floor; the per-rule counts and
/// the weight histogram cover every candidate pair. Returns (rows, below the floor).
fn assert_counts_add_up(run: &Path) -> (u64, u64) {
    let m = manifest(run);
    let c = &m.counts;
    let rows = number(run, "select count(*) from decisions");
    let unfound = number(
        run,
        "select count(*) from decisions where blocking_rule = 'manual'",
    );
    let (candidates, below) = (c.candidate_pairs.unwrap(), c.pairs_below_floor.unwrap());
    assert_eq!(c.decisions_written, Some(rows));
    assert_eq!(candidates, rows - unfound + below);
    let rules = per_rule(&m);
    assert_eq!(rules.iter().map(|r| r.1).sum::<u64>(), candidates);
    assert_eq!(rules.iter().map(|r| r.2).sum::<u64>(), below);
    let histogram = m.weight_histogram.expect("weight_histogram");
    assert_eq!(histogram.counts.iter().sum::<u64>(), candidates);
    (rows, below)
}

#[test]
fn default_run_writes_only_pairs_at_or_above_the_floor_and_counts_the_rest() {
    let dir = tempdir();
    let run = run(&demo(dir.path(), ""), &dir.path().join("out"));
    let m = manifest(&run);
    let kept = m.decisions.as_ref().expect("manifest decisions");
    assert_eq!((kept.kept.as_str(), kept.floor), ("above_floor", FLOOR));
    assert_eq!(assert_counts_add_up(&run), (173, 22));
    assert_eq!(m.counts.candidate_pairs, Some(195));
    let expected = [
        ("email", 145, 0),
        ("phone", 44, 22),
        ("last_name & birth_date", 6, 0),
        ("metaphone(first_name) & postcode", 0, 0),
        ("first_name & birth_date", 0, 0),
    ];
    let expected: Vec<(String, u64, u64)> =
        expected.iter().map(|&(r, n, b)| (r.into(), n, b)).collect();
    assert_eq!(per_rule(&m), expected);
    let unwritten = format!(
        "select count(*) from decisions where match_probability < {FLOOR} and decision = 'non_match'"
    );
    assert_eq!(number(&run, &unwritten), 0);
    // The floor leaves the report and the run's integrity as they were.
    let html = dir.path().join("report.html");
    let (r, h) = (run.to_str().unwrap(), html.to_str().unwrap());
    golden_ok(&["report", r, "--out", h]);
    assert_eq!(
        std::fs::read(&html).unwrap(),
        std::fs::read(run.join("report.html")).unwrap()
    );
    let verified = golden_ok(&["verify", r]);
    assert!(verified.contains(": intact ("), "{verified}");
}

/// Runs the pipeline `make` writes with the default floor and with `decisions = "all"` and
/// asserts that both write the same result; returns (rows, below the floor) of the default run.
fn all_decisions_change_no_result(make: fn(&Path, &str) -> PathBuf) -> (u64, u64) {
    let (a, b) = (tempdir(), tempdir());
    let floor = run(&make(a.path(), ""), &a.path().join("out"));
    let all = run(
        &make(b.path(), "decisions = \"all\"\n"),
        &b.path().join("out"),
    );
    let (rows, below) = assert_counts_add_up(&floor);
    let m = manifest(&all);
    let kept = m.decisions.as_ref().expect("manifest decisions");
    assert_eq!((kept.kept.as_str(), kept.floor), ("all", 0.0));
    assert_eq!(assert_counts_add_up(&all), (rows + below, 0));
    assert_eq!(
        m.counts.candidate_pairs,
        manifest(&floor).counts.candidate_pairs
    );
    let decided = |m: &Manifest| {
        let c = &m.counts;
        (
            c.match_pairs,
            c.review_pairs,
            c.manual_pairs,
            c.golden_records,
        )
    };
    assert_eq!(decided(&m), decided(&manifest(&floor)));
    assert_eq!(
        m.weight_histogram.as_ref().map(|h| &h.counts),
        manifest(&floor)
            .weight_histogram
            .as_ref()
            .map(|h| &h.counts)
    );
    // The default run's rows are exactly the `all` run's at or above the floor.
    let above = format!(
        "select * from decisions where match_probability >= {FLOOR} or decision <> 'non_match'"
    );
    assert_eq!(
        query(&all, &above),
        query(&floor, "select * from decisions")
    );
    // Every crosswalk column but the source file, whose path names the temporary directory.
    let crosswalk = "select * except (source_file) from crosswalk";
    assert_eq!(query(&all, crosswalk), query(&floor, crosswalk));
    // Every golden column but the id of the run that created it.
    let golden = "select * except (created_run) from golden";
    assert_eq!(query(&all, golden), query(&floor, golden));
    (rows, below)
}

#[test]
fn decisions_all_writes_every_pair_and_changes_no_result_on_the_demo() {
    assert_eq!(all_decisions_change_no_result(demo), (173, 22));
}

#[test]
fn decisions_all_writes_every_pair_and_changes_no_result_on_generated_data() {
    assert_eq!(all_decisions_change_no_result(generated), (2072, 138));
}

#[test]
fn explain_recomputes_a_pair_below_the_floor_as_the_all_run_wrote_it() {
    let (a, b) = (tempdir(), tempdir());
    let floor = run(&demo(a.path(), ""), &a.path().join("out"));
    let all = run(
        &demo(b.path(), "decisions = \"all\"\n"),
        &b.path().join("out"),
    );
    // Two CRM records sharing a phone number: the rule `phone` paired them.
    let pair = "left_id = 'C0000108' and right_id = 'C0000109'";
    let sql = format!("select blocking_rule, decision from decisions where {pair}");
    assert_eq!(query(&floor, &sql), Vec::<String>::new());
    assert_eq!(query(&all, &sql), ["phone,non_match"]);
    let explain = |run: &Path| {
        let r = run.to_str().unwrap();
        golden_ok(&["explain", r, "--pair", "crm:C0000108", "crm:C0000109"])
    };
    let (text, written) = (explain(&floor), explain(&all));
    let (title, rest) = text.split_once('\n').unwrap();
    assert_eq!(
        title,
        "pair crm:C0000108 ~ crm:C0000109   (blocking rule: phone; below the decisions floor \
         0.001, not written to decisions.parquet: recomputed)"
    );
    assert!(
        rest.contains("\nmatch weight -10.52   probability 0.0007   decision non_match\n"),
        "{text}"
    );
    assert!(!text.contains("would-be"), "{text}");
    // Apart from the title, the report is the one of the run that wrote the pair.
    let (written_title, written_rest) = written.split_once('\n').unwrap();
    assert_eq!(
        written_title,
        "pair crm:C0000108 ~ crm:C0000109   (blocking rule: phone)"
    );
    assert_eq!(rest, written_rest);
}

#[test]
fn a_manual_pair_below_the_floor_is_written_under_the_rule_that_found_it() {
    let dir = tempdir();
    let pipeline = demo(dir.path(), "");
    let decisions = dir.path().join("pipelines/decisions");
    std::fs::create_dir_all(&decisions).unwrap();
    std::fs::write(
        decisions.join("manual.csv"),
        "left,right,decision,reason,author,date\n\
         crm:C0000108,crm:C0000109,must_link,same person,ana,2026-11-01\n",
    )
    .unwrap();
    let run = run(&pipeline, &dir.path().join("out"));
    let pair = "left_id = 'C0000108' and right_id = 'C0000109'";
    let sql = format!("select blocking_rule, decision from decisions where {pair}");
    assert_eq!(query(&run, &sql), ["phone,manual"]);
    // Written, so no longer counted below the floor: one of the 22 pairs of the rule `phone`.
    assert_eq!(assert_counts_add_up(&run), (174, 21));
    let phone = per_rule(&manifest(&run)).into_iter().nth(1);
    assert_eq!(phone, Some(("phone".into(), 44, 21)));
}
