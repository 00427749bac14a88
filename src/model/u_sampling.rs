//! u probabilities: level frequencies among random record pairs (almost all non-matches).
//!
//! As in Splink's `estimate_u_using_random_sampling`, the pairs are every pair of a random
//! sample of records (about `sqrt(2 × u_sample_pairs)` of them), not independent random pairs:
//! the sample's values fit in the CPU cache, where a million independent pairs would each cost
//! two cache misses per compared field (at 1M entities that was a tenth of the run's CPU time).

use std::collections::HashSet;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use rayon::prelude::*;

use crate::compare::Comparator;
use crate::config::ComparisonConfig;
use crate::schema::match_column;
use crate::{Error, Result};

/// Estimates u per comparison and level from every pair among a random sample of the records
/// of `batch`, the sample just large enough for `sample` pairs (every record when there are
/// fewer). Returns (u per comparison, pairs compared).
pub fn estimate_u(
    batch: &RecordBatch,
    comparisons: &[ComparisonConfig],
    level_counts: &[usize],
    sample: usize,
    seed: u64,
) -> Result<(Vec<Vec<f64>>, u64)> {
    let n = batch.num_rows();
    let pairs_of = |m: usize| (m as u64).saturating_mul(m.saturating_sub(1) as u64) / 2;
    let sampled;
    let (batch, n) = if pairs_of(n) <= sample as u64 {
        (batch, n)
    } else {
        let mut m = ((2.0 * sample as f64).sqrt() as usize).max(2);
        while pairs_of(m) < sample as u64 {
            m += 1;
        }
        let columns = comparisons
            .iter()
            .map(|c| {
                let name = match_column(&c.field);
                batch.schema().index_of(&name).map_err(|_| {
                    Error::Internal(format!("comparison of `{}` has no column {name}", c.field))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = UInt32Array::from(sample_rows(n, m, seed));
        sampled = take_record_batch(&batch.project(&columns)?, &rows)?;
        (&sampled, m)
    };
    let comparator = Comparator::new(batch, comparisons)?;
    let k = comparator.len();
    let zero = || {
        level_counts
            .iter()
            .map(|&l| vec![0u64; l])
            .collect::<Vec<_>>()
    };
    let counts = (0..n as u32)
        .into_par_iter()
        .fold(zero, |mut acc, a| {
            let mut buf = vec![0i8; k];
            for b in a + 1..n as u32 {
                comparator.levels(a, b, &mut buf);
                for (c, &l) in buf.iter().enumerate() {
                    if l >= 0 {
                        acc[c][l as usize] += 1;
                    }
                }
            }
            acc
        })
        .reduce(zero, |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                for (p, q) in x.iter_mut().zip(y) {
                    *p += q;
                }
            }
            a
        });
    let u = counts
        .iter()
        .map(|c| {
            let total: u64 = c.iter().sum();
            // Add-half smoothing: a level never seen among random pairs still gets a finite weight.
            let denom = total as f64 + 0.5 * c.len() as f64;
            c.iter().map(|&x| (x as f64 + 0.5) / denom).collect()
        })
        .collect();
    Ok((u, pairs_of(n)))
}

/// `m` distinct record indices out of `0..n` (m ≤ n), drawn with `seed` by Floyd's algorithm,
/// in ascending order.
fn sample_rows(n: usize, m: usize, seed: u64) -> Vec<u32> {
    let mut rng = SplitMix64(seed);
    let mut chosen: HashSet<u32> = HashSet::with_capacity(m);
    for j in n - m..n {
        let t = rng.below(j as u64 + 1) as u32;
        if !chosen.insert(t) {
            chosen.insert(j as u32);
        }
    }
    let mut rows: Vec<u32> = chosen.into_iter().collect();
    rows.sort_unstable();
    rows
}

/// A small, fast, seedable generator (SplitMix64); deterministic across platforms.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..n` (n > 0).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_has_distinct_rows_in_range_and_depends_only_on_the_seed() {
        let rows = sample_rows(1000, 300, 7);
        assert_eq!(rows.len(), 300);
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        assert!(rows.iter().all(|&r| r < 1000));
        assert_eq!(rows, sample_rows(1000, 300, 7));
        assert_ne!(rows, sample_rows(1000, 300, 8));
        assert_eq!(sample_rows(5, 5, 1), vec![0, 1, 2, 3, 4]);
    }
}
