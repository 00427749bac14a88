//! Incremental runs: comparisons of unchanged records are reused, and the clusters equal those
//! of `--full` over successive deltas (with a fixed model, and with the model retrained every
//! run, as DESIGN §5 requires).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use golden::generate::{GenerateOptions, generate};

use crate::util::{golden_ok, pin_model, strings, table, tempdir};

/// (source:id → golden id) of the latest run under `out`.
fn assignment(out: &Path) -> HashMap<String, String> {
    let xw = table(&out.join("latest"), "crosswalk");
    let keys = strings(&xw, "source")
        .into_iter()
        .zip(strings(&xw, "source_id"))
        .map(|(s, i)| format!("{}:{}", s.unwrap(), i.unwrap()));
    keys.zip(strings(&xw, "golden_id").into_iter().map(Option::unwrap))
        .collect()
}

/// The clusters as a set of member sets.
fn partition(a: &HashMap<String, String>) -> BTreeSet<BTreeSet<String>> {
    let mut by: HashMap<&String, BTreeSet<String>> = HashMap::new();
    for (k, g) in a {
        by.entry(g).or_default().insert(k.clone());
    }
    by.into_values().collect()
}

/// A change to one CRM line (1-based data row number → replacement lines).
type Delta<'a> = &'a dyn Fn(usize, &str) -> Vec<String>;

fn edit_crm(data: &Path, f: impl Fn(usize, &str) -> Vec<String>) {
    let path = data.join("crm.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push(line.to_string());
        } else {
            out.extend(f(i, line));
        }
    }
    std::fs::write(&path, out.join("\n") + "\n").unwrap();
}

#[test]
fn incremental_equals_full_over_three_deltas_and_reuses_comparisons() {
    incremental_equals_full_over_three_deltas(true);
}

/// Runs incremental and `--full` into two output directories after each of three deltas to the
/// CRM export and asserts equal clusters and golden ids, and that the incremental runs reuse
/// comparisons. `pinned`: the model is fixed by `model_file`; otherwise every run trains its
/// own, and the manifest must say so.
pub(crate) fn incremental_equals_full_over_three_deltas(pinned: bool) {
    let dir = tempdir();
    let data = dir.path().join("data");
    generate(&GenerateOptions {
        entities: 1000,
        seed: 9,
        out: data.clone(),
        broken_rows: false,
        household_share: None,
    })
    .unwrap();
    let pipeline = data.join("pipeline.toml");
    let p = pipeline.to_str().unwrap();
    if pinned {
        // Train once, then fix the model.
        let model = data.join("model.json");
        golden_ok(&["train", p, "--out", model.to_str().unwrap()]);
        pin_model(&pipeline);
    }

    let (inc, full) = (dir.path().join("inc"), dir.path().join("full"));
    let (i, f) = (inc.to_str().unwrap(), full.to_str().unwrap());
    golden_ok(&["run", p, "--output", i]);
    golden_ok(&["run", p, "--output", f, "--full"]);
    assert_eq!(assignment(&inc), assignment(&full));

    let deltas: [Delta; 3] = [
        // 1: some emails change.
        &|i, line| {
            vec![if i % 40 == 0 {
                line.replacen('@', "x@", 1)
            } else {
                line.to_string()
            }]
        },
        // 2: some records leave the CRM.
        &|i, line| {
            if i % 60 == 0 {
                vec![]
            } else {
                vec![line.to_string()]
            }
        },
        // 3: new records: copies of existing people under new ids.
        &|i, line| {
            let mut v = vec![line.to_string()];
            if i % 50 == 0 {
                v.push(line.replacen(',', "N,", 1));
            }
            v
        },
    ];
    for (n, delta) in deltas.iter().enumerate() {
        edit_crm(&data, delta);
        let before = golden::output::Manifest::read(&inc.join("latest/manifest.json")).unwrap();
        let unwritten = before.counts.pairs_below_floor.unwrap();
        golden_ok(&["run", p, "--output", i]);
        golden_ok(&["run", p, "--output", f, "--full"]);
        let (a, b) = (assignment(&inc), assignment(&full));
        assert_eq!(
            partition(&a),
            partition(&b),
            "delta {}: incremental and full clusters differ",
            n + 1
        );
        assert_eq!(a, b, "delta {}: golden ids differ", n + 1);
        let m = golden::output::Manifest::read(&inc.join("latest/manifest.json")).unwrap();
        assert_eq!(m.mode, "incremental");
        if pinned {
            let loaded = format!("loaded from {}", data.join("model.json").display());
            assert_eq!(m.model_source, loaded, "delta {}", n + 1);
        } else {
            assert_eq!(m.model_source, "trained in this run", "delta {}", n + 1);
        }
        let reused = m.counts.pairs_reused.unwrap();
        let pairs = m.counts.candidate_pairs.unwrap();
        assert!(reused > 0, "delta {}: nothing reused", n + 1);
        // Removing records changes no remaining pair: every pair the previous run wrote is
        // reused, and only those it left below the decisions floor are compared again;
        // changed and new records must be compared.
        assert_eq!(
            reused + unwritten >= pairs,
            n == 1,
            "delta {}: {reused} of {pairs} pairs reused, {unwritten} not written before",
            n + 1
        );
        assert!(
            reused < pairs,
            "delta {}: pairs below the floor were reused",
            n + 1
        );
        let mf = golden::output::Manifest::read(&full.join("latest/manifest.json")).unwrap();
        assert_eq!(
            (mf.mode.as_str(), mf.counts.pairs_reused),
            ("full", Some(0))
        );
    }
}
