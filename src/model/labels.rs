//! Manual decisions as labels: the must-link and cannot-link pairs a steward recorded say what
//! the model should have decided. They check the model (how many it decides the same way,
//! recorded in model.json) and, where the pipeline sets no match threshold, move it within the
//! review band to where it agrees with the most labels. Only the band moves: a pair the model
//! links with certainty, or rejects below the band, is decided as before, so a few hundred
//! labels from the most uncertain pairs cannot tip the whole model (a shift of every weight
//! calibrated on them did: on pseudopeople with doubled noise, 200 labels from the band, 80 %
//! of them matches, pushed F1 from 0.960 to 0.879).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{ModelParams, Scored};
use crate::compare::Compared;
use crate::config::Pipeline;

/// Checks the model on the manually labelled pairs (`manual`: pair → must-link) and, unless
/// the pipeline fixes the match threshold, moves it to agree with them ([`refine`]).
pub fn refine_with_labels(
    p: &Pipeline,
    params: &mut ModelParams,
    compared: &Compared,
    scored: &Scored,
    manual: &HashMap<(u32, u32), bool>,
) -> LabelReport {
    let labelled: Vec<(f64, bool)> = (0..compared.len())
        .filter_map(|i| {
            let must = manual.get(&(compared.left[i], compared.right[i]))?;
            Some((scored.probability[i], *must))
        })
        .collect();
    let (matched, review) = params.thresholds_for(&p.model);
    let movable = p.model.match_threshold.is_none();
    refine(params, &labelled, (review, matched), movable)
}

/// Fewest labels that may move the match threshold.
pub const MIN_LABELS: usize = 20;
/// Fewest labels of each kind that may move the match threshold.
pub const MIN_PER_KIND: usize = 5;

/// What the labels said about the model (model.json → `labels`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelReport {
    /// Must-link pairs.
    pub must_link: u64,
    /// Cannot-link pairs.
    pub cannot_link: u64,
    /// Labels the trained model decided the same way at its match threshold (linked a
    /// must-link, kept a cannot-link apart).
    pub agreed_before: u64,
    /// The same at the match threshold the labels chose.
    pub agreed_after: u64,
    /// The match threshold before the labels.
    pub threshold_before: f64,
    /// The match threshold after (the same when the labels were too few, or the pipeline sets
    /// the threshold).
    pub threshold_after: f64,
}

/// Checks the model on `labelled` pairs (posterior, must-link?) and, when `movable` and there
/// are enough labels of both kinds, moves the model's match threshold within the review band
/// `(review, matched)` to the value that agrees with the most labels (the highest such value).
pub fn refine(
    params: &mut ModelParams,
    labelled: &[(f64, bool)],
    (review, matched): (f64, f64),
    movable: bool,
) -> LabelReport {
    let must = labelled.iter().filter(|l| l.1).count();
    let agreed = |t: f64| {
        let ok = |&&(p, must): &&(f64, bool)| (p >= t) == must;
        labelled.iter().filter(ok).count() as u64
    };
    let enough = labelled.len() >= MIN_LABELS && must.min(labelled.len() - must) >= MIN_PER_KIND;
    let mut best = matched;
    if movable && enough {
        let mut candidates: Vec<f64> = labelled
            .iter()
            .map(|l| l.0)
            .filter(|&p| p >= review && p < matched)
            .collect();
        candidates.sort_by(|a, b| b.total_cmp(a));
        for t in candidates {
            if agreed(t) > agreed(best) {
                best = t;
            }
        }
    }
    if best != matched
        && let Some(chosen) = params.thresholds.as_mut()
    {
        chosen.match_threshold = best;
        chosen.chosen_by.push_str(&format!(
            "; moved from {matched} by {} manual decisions used as labels",
            labelled.len()
        ));
    }
    LabelReport {
        must_link: must as u64,
        cannot_link: (labelled.len() - must) as u64,
        agreed_before: agreed(matched),
        agreed_after: agreed(best),
        threshold_before: matched,
        threshold_after: best,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::threshold::ChosenThresholds;

    fn params() -> ModelParams {
        let text = r#"{"prior": 0.01, "comparisons": []}"#;
        let mut p: ModelParams = serde_json::from_str(text).unwrap();
        p.thresholds = Some(ChosenThresholds {
            match_threshold: 0.5,
            review_threshold: 0.25,
            chosen_by: "test".into(),
            expected_precision: 1.0,
            expected_recall: 1.0,
        });
        p
    }

    /// Labels from the band that are mostly matches above 0.35 move the threshold to the
    /// lowest must-link that does not let a cannot-link in; too few labels move nothing.
    #[test]
    fn labels_move_the_threshold_within_the_review_band_only() {
        let mut labelled: Vec<(f64, bool)> =
            (0..15).map(|i| (0.36 + i as f64 * 0.008, true)).collect();
        labelled.extend((0..15).map(|i| (0.26 + i as f64 * 0.006, false)));
        labelled.push((0.9, true));
        let mut p = params();
        let r = refine(&mut p, &labelled, (0.25, 0.5), true);
        assert_eq!(r.threshold_after, 0.36);
        assert_eq!((r.agreed_before, r.agreed_after), (16, 31));
        assert_eq!(p.thresholds.as_ref().unwrap().match_threshold, 0.36);
        let mut p = params();
        let r = refine(&mut p, &labelled[..10], (0.25, 0.5), true);
        assert_eq!(r.threshold_after, 0.5);
        let r = refine(&mut p, &labelled, (0.25, 0.5), false);
        assert_eq!(
            r.threshold_after, 0.5,
            "a threshold the pipeline sets stays"
        );
    }
}
