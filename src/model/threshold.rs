//! Thresholds chosen from the fitted model, when the pipeline sets none: the match threshold
//! that maximises the pairwise F1 the model expects of itself over the candidate pairs (each
//! pair counts as `p` of a true match), never below 0.5, so an automatic link is always more
//! likely a match than not; the review threshold at half of it.

use serde::{Deserialize, Serialize};

use super::em::Patterns;
use super::score::{WeightTables, probability};

/// Lowest match threshold the model may choose.
pub const MIN_MATCH_THRESHOLD: f64 = 0.5;
/// Highest match threshold the model may choose.
pub const MAX_MATCH_THRESHOLD: f64 = 0.99;

/// Thresholds the model chose, with what it expects of them (recorded in model.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChosenThresholds {
    /// Posterior at or above which a pair links.
    pub match_threshold: f64,
    /// Posterior at or above which a non-linking pair goes to review.
    pub review_threshold: f64,
    /// How they were chosen, in words.
    pub chosen_by: String,
    /// Pairwise precision the model expects at the match threshold.
    pub expected_precision: f64,
    /// Pairwise recall (among candidate pairs) the model expects at the match threshold.
    pub expected_recall: f64,
}

/// The thresholds that maximise the expected pairwise F1 over `patterns` (candidate pairs'
/// comparison vectors with their counts), without term-frequency adjustments.
pub fn choose(patterns: &Patterns, tables: &WeightTables) -> Option<ChosenThresholds> {
    let k = patterns.k;
    let mut scored: Vec<(f64, f64)> = (0..patterns.len())
        .map(|p| {
            let levels = &patterns.levels[p * k..(p + 1) * k];
            (probability(tables.total(levels)), patterns.counts[p] as f64)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let expected: f64 = scored.iter().map(|(p, c)| p * c).sum();
    if expected <= 0.0 {
        return None;
    }
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut best = (0.0, 1.0, 0.0, 0.0);
    for &(p, c) in &scored {
        tp += p * c;
        fp += (1.0 - p) * c;
        let f1 = 2.0 * tp / (tp + fp + expected);
        if f1 > best.0 {
            best = (f1, p, tp / (tp + fp), tp / expected);
        }
    }
    let t = best.1.clamp(MIN_MATCH_THRESHOLD, MAX_MATCH_THRESHOLD);
    let (precision, recall) = expectation(&scored, t, expected);
    Some(ChosenThresholds {
        match_threshold: round(t),
        review_threshold: round(t / 2.0),
        chosen_by: format!(
            "the match threshold maximises the pairwise F1 that the fitted model expects over \
             the candidate pairs (clamped to [{MIN_MATCH_THRESHOLD}, {MAX_MATCH_THRESHOLD}]); \
             review at half of it"
        ),
        expected_precision: precision,
        expected_recall: recall,
    })
}

/// Expected precision and recall of linking every pair at or above `t`.
fn expectation(scored: &[(f64, f64)], t: f64, expected: f64) -> (f64, f64) {
    let (tp, n) = scored
        .iter()
        .filter(|(p, _)| *p >= t)
        .fold((0.0, 0.0), |(tp, n), (p, c)| (tp + p * c, n + c));
    (if n > 0.0 { tp / n } else { 1.0 }, tp / expected)
}

/// A threshold rounded down to four decimals, so that model.json reads well and the pair that
/// set it still passes.
fn round(t: f64) -> f64 {
    (t * 1e4).floor() / 1e4
}
