//! The histogram of the final match weight of every candidate pair (the manifest's
//! `weight_histogram`), with the thresholds it was decided by: computed where pairs are scored,
//! so it covers clear non-matches that the decisions table may leave out.

use serde::{Deserialize, Serialize};

/// Match weights binned by width, the outermost bins holding everything beyond them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightHistogram {
    /// Lower edge of the first bin (weights below it are counted there).
    pub min: f64,
    /// Width of each bin.
    pub width: f64,
    /// Pairs per bin; the last bin also holds weights above its upper edge.
    pub counts: Vec<u64>,
    /// Posterior probability at or above which a pair matched.
    pub match_threshold: f64,
    /// Posterior probability at or above which a pair went to review.
    pub review_threshold: f64,
}

/// Lower edge of the first bin.
const MIN_WEIGHT: f64 = -30.0;
/// Bins of width 1 from [`MIN_WEIGHT`] to +30.
const BINS: usize = 60;

impl WeightHistogram {
    /// The histogram of `weights` (NaN weights are left out) with the run's thresholds
    /// `(match, review)`.
    pub fn of(weights: &[f64], (match_threshold, review_threshold): (f64, f64)) -> Self {
        let mut h = WeightHistogram {
            min: MIN_WEIGHT,
            width: 1.0,
            counts: vec![0u64; BINS],
            match_threshold,
            review_threshold,
        };
        for &w in weights {
            h.add_weight(w, 1);
        }
        h
    }

    /// Counts `n` pairs of weight `w` (none for a NaN weight).
    #[inline]
    pub fn add_weight(&mut self, w: f64, n: u64) {
        if !w.is_nan() {
            let bin = ((w - MIN_WEIGHT).floor().max(0.0) as usize).min(BINS - 1);
            self.counts[bin] += n;
        }
    }
}

impl Default for WeightHistogram {
    /// No pairs yet, no thresholds.
    fn default() -> Self {
        WeightHistogram::of(&[], (0.0, 0.0))
    }
}

impl WeightHistogram {
    /// Adds the counts of `other` (same bins).
    pub fn add(&mut self, other: &WeightHistogram) {
        for (x, y) in self.counts.iter_mut().zip(&other.counts) {
            *x += y;
        }
    }

    /// The same counts with the run's thresholds `(match, review)`.
    pub fn with_thresholds(self, (match_threshold, review_threshold): (f64, f64)) -> Self {
        WeightHistogram {
            match_threshold,
            review_threshold,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_clamp_at_both_ends() {
        let h = WeightHistogram::of(
            &[-100.0, -30.0, -29.5, 0.0, 0.99, 29.9, 31.0, f64::NAN],
            (0.9, 0.5),
        );
        assert_eq!(h.counts.len(), 60);
        assert_eq!(h.counts[0], 3);
        assert_eq!(h.counts[30], 2);
        assert_eq!(h.counts[59], 2);
        assert_eq!(h.counts.iter().sum::<u64>(), 7);
    }
}
