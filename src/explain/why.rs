//! Why two records are, or are not, one customer: their score recomputed with the run's model
//! (the scoring path of the run itself: [`Comparator`] and [`model::score`]), which blocking
//! rules would have paired them, and what keeps them apart or which links join them.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use arrow::array::RecordBatch;

use super::RecordRef;
use super::reader::{FieldScore, Pair, RunPipeline, RunRecords, Scores};
use crate::Result;
use crate::compare::{Comparator, Compared};
use crate::config::Pipeline;
use crate::model::{self, Conflict, Decision, ModelParams};

/// The pipeline the run used: the run's copy (`pipeline.toml`), read as if from the pipeline
/// file the run was given without looking for the files it names; for a run without a copy
/// (an older golden), that file itself. Refused (with why) when it cannot be loaded or its
/// SHA-256 is not the run's, as its comparisons and thresholds may differ.
pub fn run_pipeline(rec: &RunRecords) -> std::result::Result<Pipeline, String> {
    let RunPipeline { path, hash, copy } = &rec.pipeline;
    let (loaded, name) = match copy {
        Some(text) => (
            crate::config::load_recorded(text, path),
            crate::run::layout::PIPELINE.to_string(),
        ),
        None => (
            crate::config::load(path),
            format!("pipeline {}", path.display()),
        ),
    };
    let p = loaded.map_err(|e| format!("the run's {name} cannot be loaded: {e}"))?;
    if &p.hash != hash {
        return Err(format!(
            "the run's {name} changed since the run (its SHA-256 differs)"
        ));
    }
    Ok(p)
}

/// The levels and score of records `a` and `b` (rows of `batch`, `records.parquet`) under the
/// run's `model` and pipeline `p`, computed as the run computes them.
pub fn rescore(
    model: &ModelParams,
    p: &Pipeline,
    batch: &RecordBatch,
    (a, b): (u32, u32),
) -> Result<(Vec<i8>, Scores)> {
    let comparator = Comparator::new(batch, &p.comparisons)?;
    let (left, right) = (a.min(b), a.max(b));
    let mut levels = vec![0i8; comparator.len()];
    comparator.levels(left, right, &mut levels);
    let compared = Compared {
        left: vec![left],
        right: vec![right],
        rule: vec![0],
        levels: levels.clone(),
        n_comparisons: comparator.len(),
        reused: 0,
    };
    let scored = model::score(batch, p, model, &compared)?;
    let fields = (0..compared.n_comparisons)
        .map(|c| FieldScore {
            level: levels[c],
            weight: f64::from(scored.weights[c]),
            tf_adjustment: scored
                .tf_fields
                .iter()
                .position(|&t| t == c)
                .map(|x| f64::from(scored.tf_adjustments[x])),
        })
        .collect();
    let scores = Scores {
        fields,
        household: scored.household_adjustment.first().map(|&h| f64::from(h)),
        match_weight: Some(scored.match_weight[0]),
        probability: Some(scored.probability[0]),
        decision: scored.decision[0],
    };
    Ok((levels, scores))
}

/// What a blocking rule made of a pair.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A record has no key under the rule (a key field is missing): `[a, b]` say which.
    Missing([bool; 2]),
    /// Their keys differ.
    Different,
    /// Same key, but its block was over the size cap and skipped.
    OverCap {
        /// Records with the key.
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// Same key, but an earlier rule (0-based) found the pair first.
    Earlier(usize),
    /// The rule paired them.
    Paired,
}

/// One blocking rule's verdict on a pair.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCheck {
    /// The rule as written (`last_name & birth_date`).
    pub rule: String,
    /// Both records' keys under the rule.
    pub keys: [Option<String>; 2],
    /// What the rule made of them.
    pub verdict: Verdict,
}

/// Each blocking rule's verdict on records `a` and `b`, from their keys under the rule (of
/// their match keys), the size of their block (records sharing the key) and the cap in the
/// manifest.
pub fn blocking(rec: &RunRecords, (a, b): (u32, u32)) -> Result<Vec<RuleCheck>> {
    let mut out: Vec<RuleCheck> = Vec::with_capacity(rec.rules.len());
    for (rule, stats) in rec.rules.iter().zip(&rec.blocking) {
        let keys = [rec.rule_key(rule, a)?, rec.rule_key(rule, b)?];
        let verdict = match &keys {
            [Some(x), Some(y)] if x == y => {
                let size = match stats.max_block_size {
                    Some(cap) => Some((rec.block_size(rule, x)?, cap)),
                    None => None,
                };
                match size {
                    Some((size, cap)) if size > cap => Verdict::OverCap { size, cap },
                    _ => out
                        .iter()
                        .position(|r| r.verdict == Verdict::Paired)
                        .map_or(Verdict::Paired, Verdict::Earlier),
                }
            }
            [Some(_), Some(_)] => Verdict::Different,
            [x, y] => Verdict::Missing([x.is_none(), y.is_none()]),
        };
        out.push(RuleCheck {
            rule: rule.text.clone(),
            keys,
            verdict,
        });
    }
    Ok(out)
}

/// Something that keeps two records in different golden records.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// No blocking rule put them in one block, so they were never compared.
    NotPaired,
    /// A manual decision (a cannot-link) keeps them apart.
    CannotLink,
    /// The probability is below the review threshold.
    BelowReview {
        /// Match probability.
        probability: f64,
        /// Review threshold.
        review: f64,
    },
    /// The probability is in the review band: a person has to decide.
    ReviewBand {
        /// Match probability.
        probability: f64,
        /// Review threshold.
        review: f64,
        /// Match threshold.
        matched: f64,
    },
    /// The identity conflict: the conflict field disagrees and no override field agrees.
    Conflict(String),
    /// The household term takes the probability below the match threshold.
    Household(f64),
    /// The pair matched, but clustering did not follow the link: it would have joined two
    /// records of a cannot-link or conflict pair.
    LinkSkipped,
}

/// What keeps records with `levels` and `scores` apart under pipeline `p`; `compared` is the
/// run's decision when it compared them.
pub fn reasons(
    model: &ModelParams,
    p: &Pipeline,
    (levels, scores): (&[i8], &Scores),
    compared: Option<Decision>,
) -> Vec<Reason> {
    let (matched, review) = model.thresholds_for(&p.model);
    let probability = scores.probability.unwrap_or(0.0);
    let mut out = Vec::new();
    match compared {
        None => out.push(Reason::NotPaired),
        Some(Decision::Manual) => return vec![Reason::CannotLink],
        Some(Decision::Match) => return vec![Reason::LinkSkipped],
        Some(_) => {}
    }
    if probability < review {
        out.push(Reason::BelowReview {
            probability,
            review,
        });
    } else if probability < matched {
        out.push(Reason::ReviewBand {
            probability,
            review,
            matched,
        });
    }
    if Conflict::new(p).is_conflict(levels) {
        let field = p.model.conflict_field.clone().unwrap_or_default();
        out.push(Reason::Conflict(field));
    }
    if let (Some(h), Some(w)) = (scores.household, scores.match_weight)
        && probability < matched
        && model::score::probability(w - h) >= matched
    {
        out.push(Reason::Household(h));
    }
    out
}

/// The links (pairs that link, among `pairs`) through which `a` reaches `b`, fewest first;
/// empty when none does.
pub fn path<'a>(pairs: &'a [Pair], a: &RecordRef, b: &RecordRef) -> Vec<&'a Pair> {
    let mut via: HashMap<&RecordRef, &Pair> = HashMap::new();
    let mut queue = VecDeque::from([a]);
    while let Some(r) = queue.pop_front() {
        if r == b {
            break;
        }
        for p in pairs.iter().filter(|p| p.links()) {
            let next = if &p.left == r {
                &p.right
            } else if &p.right == r {
                &p.left
            } else {
                continue;
            };
            if next != a && !via.contains_key(next) {
                via.insert(next, p);
                queue.push_back(next);
            }
        }
    }
    let mut out = Vec::new();
    let mut at = b;
    while let Some(p) = via.get(at) {
        out.push(*p);
        at = p.other(at);
    }
    out.reverse();
    out
}

/// The record index of `r` in `records.parquet`; an error (the run store is damaged) when the
/// crosswalk has it and `records.parquet` does not.
pub fn index_of(rec: &RunRecords, r: &RecordRef, dir: &Path) -> Result<u32> {
    rec.index_of(r)?.ok_or_else(|| {
        super::reader::damaged(
            dir,
            &dir.join(crate::run::Table::Records.file_name()),
            &format!("record `{r}` is in the crosswalk but not here"),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::block::RuleStats;

    /// Four records under two rules (`email`, `phone`, of their match keys): 0 and 1 share
    /// both keys, 2 has no key under rule 2, 0, 1 and 2 share rule 1's key and 0, 1 and 3 rule
    /// 2's, blocks of three.
    fn records(cap: Option<u64>) -> RunRecords {
        let col = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
        let schema = Schema::new(vec![
            Field::new("source", DataType::Utf8, false),
            Field::new("source_id", DataType::Utf8, false),
            Field::new("email__match", DataType::Utf8, true),
            Field::new("phone__match", DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                col(vec![Some("s"); 4]),
                col(vec![Some("0"), Some("1"), Some("2"), Some("3")]),
                col(vec![Some("k"), Some("k"), Some("k"), Some("m")]),
                col(vec![Some("x"), Some("x"), None, Some("x")]),
            ],
        )
        .unwrap();
        let stats = |rule: &str| RuleStats {
            rule: rule.into(),
            max_block_size: cap,
            ..Default::default()
        };
        let rules = ["email", "phone"].map(|r| crate::config::validate::parse_rule(r).unwrap());
        RunRecords {
            batch,
            blocking: vec![stats("email"), stats("phone")],
            rules: rules.to_vec(),
            pipeline: RunPipeline::default(),
            decisions_floor: None,
        }
    }

    fn verdicts(rec: &RunRecords, pair: (u32, u32)) -> Vec<Verdict> {
        let checks = blocking(rec, pair).unwrap();
        checks.into_iter().map(|c| c.verdict).collect()
    }

    #[test]
    fn rules_say_paired_earlier_different_missing_and_over_the_cap() {
        let rec = records(Some(10));
        assert_eq!(
            verdicts(&rec, (0, 1)),
            [Verdict::Paired, Verdict::Earlier(0)]
        );
        assert_eq!(
            verdicts(&rec, (1, 2)),
            [Verdict::Paired, Verdict::Missing([false, true])]
        );
        assert_eq!(
            verdicts(&rec, (0, 3)),
            [Verdict::Different, Verdict::Paired]
        );
        let capped = records(Some(2));
        assert_eq!(
            verdicts(&capped, (0, 1)),
            [
                Verdict::OverCap { size: 3, cap: 2 },
                Verdict::OverCap { size: 3, cap: 2 }
            ]
        );
        let checks = blocking(&capped, (2, 3)).unwrap();
        assert_eq!(checks[1].rule, "phone");
        assert_eq!(checks[1].keys, [None, Some("x".to_string())]);
    }

    #[test]
    fn path_follows_links_only_fewest_first() {
        let r = |id: &str| RecordRef {
            source: "s".into(),
            id: id.into(),
        };
        let pair = |l: &str, rr: &str, decision| Pair {
            row: 0,
            left: r(l),
            right: r(rr),
            blocking_rule: "email".into(),
            match_weight: None,
            probability: None,
            decision,
        };
        let pairs = [
            pair("a", "x", Decision::Match),
            pair("x", "b", Decision::Manual),
            pair("a", "b", Decision::Review),
            pair("b", "y", Decision::Match),
        ];
        let path: Vec<(String, String)> = path(&pairs, &r("a"), &r("b"))
            .iter()
            .map(|p| (p.left.id.clone(), p.right.id.clone()))
            .collect();
        assert_eq!(path, [("a".into(), "x".into()), ("x".into(), "b".into())]);
        assert!(super::path(&pairs[..1], &r("a"), &r("b")).is_empty());
    }
}
