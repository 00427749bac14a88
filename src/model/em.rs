//! Expectation–maximisation of m and the match share over counts of distinct comparison
//! vectors (never over per-pair rows), with u held fixed.

use std::collections::HashMap;

/// Distinct comparison vectors and how many pairs have each.
#[derive(Debug, Default, Clone)]
pub struct Patterns {
    /// Comparisons per vector.
    pub k: usize,
    /// Vectors, row-major (`levels[p * k + c]`).
    pub levels: Vec<i8>,
    /// Pairs per vector.
    pub counts: Vec<u64>,
}

/// Packs a comparison vector into a u64 key (4 bits a level; at most 16 comparisons).
#[inline]
pub fn pack(levels: &[i8]) -> u64 {
    levels
        .iter()
        .fold(0u64, |acc, &l| (acc << 4) | (l + 1) as u64)
}

/// Counts of packed comparison vectors.
pub type PatternCounts = HashMap<u64, u64>;

impl Patterns {
    /// Unpacks counted vectors, in a deterministic order.
    pub fn from_counts(k: usize, counts: &PatternCounts) -> Self {
        let mut keys: Vec<(&u64, &u64)> = counts.iter().collect();
        keys.sort();
        let mut p = Patterns {
            k,
            levels: Vec::with_capacity(keys.len() * k),
            counts: Vec::with_capacity(keys.len()),
        };
        for (&key, &count) in keys {
            for c in (0..k).rev() {
                p.levels.push(((key >> (4 * c)) & 0xF) as i8 - 1);
            }
            p.counts.push(count);
        }
        p
    }

    /// Number of distinct vectors.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Total pairs.
    pub fn pairs(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Result of one EM run.
#[derive(Debug, Clone)]
pub struct EmResult {
    /// m per comparison and level (only `active` comparisons changed).
    pub m: Vec<Vec<f64>>,
    /// Estimated share of matches.
    pub lambda: f64,
    /// Iterations run.
    pub iterations: usize,
    /// Largest change in the last iteration.
    pub delta: f64,
    /// Whether `delta` fell below the tolerance.
    pub converged: bool,
}

/// EM settings.
#[derive(Debug, Clone, Copy)]
pub struct EmSettings {
    /// Iteration cap.
    pub max_iterations: usize,
    /// Stop when no parameter moves more than this.
    pub tolerance: f64,
    /// Re-estimate m (false: only λ moves).
    pub update_m: bool,
}

/// Runs EM: E-step posterior per distinct vector, M-step m and λ; `active[c]` false leaves
/// comparison `c` out of the likelihood and its m unchanged.
pub fn run(
    patterns: &Patterns,
    u: &[Vec<f64>],
    m_init: &[Vec<f64>],
    active: &[bool],
    lambda_init: f64,
    settings: EmSettings,
) -> EmResult {
    let EmSettings {
        max_iterations,
        tolerance,
        update_m,
    } = settings;
    let k = patterns.k;
    let mut m: Vec<Vec<f64>> = m_init.to_vec();
    let mut lambda = lambda_init;
    let mut delta = f64::INFINITY;
    let mut iterations = 0;
    while iterations < max_iterations && delta > tolerance {
        iterations += 1;
        let mut m_num: Vec<Vec<f64>> = m.iter().map(|v| vec![0.0; v.len()]).collect();
        let mut match_total = 0.0;
        let mut total = 0.0;
        for (p, &count) in patterns.counts.iter().enumerate() {
            let row = &patterns.levels[p * k..(p + 1) * k];
            let (mut pm, mut pu) = (lambda, 1.0 - lambda);
            for c in 0..k {
                let l = row[c];
                if active[c] && l >= 0 {
                    pm *= m[c][l as usize];
                    pu *= u[c][l as usize];
                }
            }
            let post = if pm + pu > 0.0 { pm / (pm + pu) } else { 0.0 };
            let w = post * count as f64;
            match_total += w;
            total += count as f64;
            for c in 0..k {
                let l = row[c];
                if active[c] && l >= 0 {
                    m_num[c][l as usize] += w;
                }
            }
        }
        delta = 0.0;
        for c in 0..k {
            if !active[c] || !update_m {
                continue;
            }
            let s: f64 = m_num[c].iter().sum();
            if s <= 0.0 {
                continue;
            }
            for (old, num) in m[c].iter_mut().zip(&m_num[c]) {
                let new = num / s;
                delta = f64::max(delta, (new - *old).abs());
                *old = new;
            }
        }
        let new_lambda = if total > 0.0 {
            match_total / total
        } else {
            lambda
        };
        delta = delta.max((new_lambda - lambda).abs());
        lambda = new_lambda.clamp(1e-9, 1.0 - 1e-9);
    }
    EmResult {
        m,
        lambda,
        iterations,
        delta,
        converged: delta <= tolerance,
    }
}

/// Starting m: most mass on the exact level, decreasing towards "else".
pub fn initial_m(levels: usize) -> Vec<f64> {
    let raw: Vec<f64> = (0..levels).map(|l| 4f64.powi(l as i32)).collect();
    let s: f64 = raw.iter().sum();
    raw.iter().map(|x| x / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::u_sampling::SplitMix64;

    /// EM recovers m and λ from vectors simulated with known parameters.
    #[test]
    fn recovers_known_parameters() {
        let m_true = [vec![0.05, 0.15, 0.8], vec![0.1, 0.9], vec![0.2, 0.3, 0.5]];
        let u = vec![vec![0.9, 0.08, 0.02], vec![0.95, 0.05], vec![0.7, 0.2, 0.1]];
        let lambda_true = 0.3;
        let mut rng = SplitMix64(11);
        let mut uniform = || rng.next_u64() as f64 / u64::MAX as f64;
        let mut counts = PatternCounts::new();
        let draw = |p: &[f64], x: f64| {
            let mut acc = 0.0;
            for (i, &q) in p.iter().enumerate() {
                acc += q;
                if x < acc {
                    return i as i8;
                }
            }
            (p.len() - 1) as i8
        };
        for _ in 0..200_000 {
            let is_match = uniform() < lambda_true;
            let dist = if is_match { &m_true[..] } else { &u[..] };
            let row: Vec<i8> = dist.iter().map(|d| draw(d, uniform())).collect();
            *counts.entry(pack(&row)).or_default() += 1;
        }
        let pats = Patterns::from_counts(3, &counts);
        let init: Vec<Vec<f64>> = m_true.iter().map(|v| initial_m(v.len())).collect();
        let r = run(
            &pats,
            &u,
            &init,
            &[true; 3],
            0.1,
            EmSettings {
                max_iterations: 200,
                tolerance: 1e-7,
                update_m: true,
            },
        );
        assert!(r.converged);
        assert!((r.lambda - lambda_true).abs() < 0.01, "lambda {}", r.lambda);
        for (est, truth) in r.m.iter().zip(&m_true) {
            for (a, b) in est.iter().zip(truth) {
                assert!((a - b).abs() < 0.02, "m {est:?} vs {truth:?}");
            }
        }
    }

    #[test]
    fn inactive_comparisons_keep_their_m() {
        let mut counts = PatternCounts::new();
        counts.insert(pack(&[1, 1]), 10);
        counts.insert(pack(&[0, -1]), 90);
        let pats = Patterns::from_counts(2, &counts);
        assert_eq!(pats.levels, vec![0, -1, 1, 1]);
        let u = vec![vec![0.9, 0.1], vec![0.9, 0.1]];
        let init = vec![vec![0.2, 0.8], vec![0.3, 0.7]];
        let r = run(
            &pats,
            &u,
            &init,
            &[true, false],
            0.5,
            EmSettings {
                max_iterations: 50,
                tolerance: 1e-9,
                update_m: true,
            },
        );
        assert_eq!(r.m[1], vec![0.3, 0.7]);
    }
}
