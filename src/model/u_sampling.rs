//! u probabilities: level frequencies among random record pairs (almost all non-matches).

use rayon::prelude::*;

use crate::compare::Comparator;

/// Pairs per parallel task; each task has its own seeded generator, so results do not depend
/// on the number of threads.
const CHUNK: usize = 1 << 16;

/// Estimates u per comparison and level from `sample` random pairs of `n` records (every pair
/// when there are fewer). Returns (u per comparison, pairs compared).
pub fn estimate_u(
    comparator: &Comparator,
    level_counts: &[usize],
    n: usize,
    sample: usize,
    seed: u64,
) -> (Vec<Vec<f64>>, u64) {
    let k = comparator.len();
    let all_pairs = (n as u64).saturating_mul(n.saturating_sub(1) as u64) / 2;
    let count_into = |counts: &mut Vec<Vec<u64>>, a: u32, b: u32, buf: &mut [i8]| {
        comparator.levels(a, b, buf);
        for (c, &l) in buf.iter().enumerate() {
            if l >= 0 {
                counts[c][l as usize] += 1;
            }
        }
    };
    let zero = || {
        level_counts
            .iter()
            .map(|&l| vec![0u64; l])
            .collect::<Vec<_>>()
    };
    let merge = |mut a: Vec<Vec<u64>>, b: Vec<Vec<u64>>| {
        for (x, y) in a.iter_mut().zip(b) {
            for (p, q) in x.iter_mut().zip(y) {
                *p += q;
            }
        }
        a
    };
    let (counts, compared) = if all_pairs <= sample as u64 {
        let counts = (0..n as u32)
            .into_par_iter()
            .fold(zero, |mut acc, a| {
                let mut buf = vec![0i8; k];
                for b in a + 1..n as u32 {
                    count_into(&mut acc, a, b, &mut buf);
                }
                acc
            })
            .reduce(zero, merge);
        (counts, all_pairs)
    } else {
        let chunks = sample.div_ceil(CHUNK);
        let counts = (0..chunks)
            .into_par_iter()
            .fold(zero, |mut acc, chunk| {
                let mut rng = SplitMix64(seed ^ (chunk as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let mut buf = vec![0i8; k];
                let todo = CHUNK.min(sample - chunk * CHUNK);
                for _ in 0..todo {
                    let a = rng.below(n as u64) as u32;
                    let mut b = rng.below(n as u64 - 1) as u32;
                    if b >= a {
                        b += 1;
                    }
                    count_into(&mut acc, a, b, &mut buf);
                }
                acc
            })
            .reduce(zero, merge);
        (counts, sample as u64)
    };
    let u = counts
        .iter()
        .map(|c| {
            let total: u64 = c.iter().sum();
            // Add-half smoothing: a level never seen among random pairs still gets a finite weight.
            let denom = total as f64 + 0.5 * c.len() as f64;
            c.iter().map(|&x| (x as f64 + 0.5) / denom).collect()
        })
        .collect();
    (u, compared)
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
