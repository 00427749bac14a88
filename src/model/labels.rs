//! Manual decisions as labels: the must-link and cannot-link pairs a steward recorded say what
//! the model should have decided. They check the model (how many it decides the same way,
//! recorded in model.json) and calibrate it: every pair's match weight is shifted by the number
//! of bits that makes the model expect, among the labelled pairs, as many matches as the
//! steward found. Review-band labels are the pairs the model is least sure of, so a shift learnt
//! on them moves the decisions where they are closest.

use serde::{Deserialize, Serialize};

use super::ModelParams;
use super::score::probability;

/// Fewest labels, and fewest of each kind, that calibrate the model.
pub const MIN_LABELS: usize = 20;
/// Fewest labels of each kind that calibrate the model.
pub const MIN_PER_KIND: usize = 5;
/// Largest shift of the match weight, in bits, that labels may make.
pub const MAX_SHIFT_BITS: f64 = 10.0;

/// What the labels said about the model (model.json → `labels`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelReport {
    /// Must-link pairs.
    pub must_link: u64,
    /// Cannot-link pairs.
    pub cannot_link: u64,
    /// Labels the trained model decided the same way (linked a must-link, kept a cannot-link
    /// apart) at its match threshold.
    pub agreed_before: u64,
    /// The same after calibration.
    pub agreed_after: u64,
    /// Bits added to every pair's match weight (0 when there were too few labels).
    pub shift_bits: f64,
}

/// Checks the model on `labelled` pairs (match weight, must-link?) at match threshold
/// `threshold`, and calibrates its prior when there are enough labels of both kinds.
pub fn calibrate(
    params: &mut ModelParams,
    labelled: &[(f64, bool)],
    threshold: f64,
) -> LabelReport {
    let must = labelled.iter().filter(|l| l.1).count();
    let agreed = |shift: f64| {
        let ok = |&&(w, must): &&(f64, bool)| (probability(w + shift) >= threshold) == must;
        labelled.iter().filter(ok).count() as u64
    };
    let enough = labelled.len() >= MIN_LABELS && must.min(labelled.len() - must) >= MIN_PER_KIND;
    let shift = if enough {
        shift_for(labelled, must as f64)
    } else {
        0.0
    };
    if shift != 0.0 {
        params.shift_prior(shift);
    }
    LabelReport {
        must_link: must as u64,
        cannot_link: (labelled.len() - must) as u64,
        agreed_before: agreed(0.0),
        agreed_after: agreed(shift),
        shift_bits: shift,
    }
}

/// The shift (bits) at which the labelled pairs' posteriors add up to `matches`, by bisection.
fn shift_for(labelled: &[(f64, bool)], matches: f64) -> f64 {
    let expected = |d: f64| {
        labelled
            .iter()
            .map(|&(w, _)| probability(w + d))
            .sum::<f64>()
    };
    let (mut lo, mut hi) = (-MAX_SHIFT_BITS, MAX_SHIFT_BITS);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if expected(mid) < matches {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shift_makes_expected_matches_equal_the_must_links() {
        // The model thinks these are unlikely matches; the steward says half are.
        let labelled: Vec<(f64, bool)> = (0..40)
            .map(|i| (-3.0 + (i % 4) as f64 * 0.1, i % 2 == 0))
            .collect();
        let d = shift_for(&labelled, 20.0);
        let expected: f64 = labelled.iter().map(|&(w, _)| probability(w + d)).sum();
        assert!((expected - 20.0).abs() < 1e-6, "{expected}");
        assert!(d > 2.5 && d < 3.5, "{d}");
    }
}
