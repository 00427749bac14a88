//! Expectation–maximisation of m, the share of matches that moved, the household class and the
//! class shares over counts of distinct comparison vectors (never over per-pair rows), with u
//! held fixed.

use std::collections::HashMap;

use super::household::{HouseholdFit, Layout, Responsibilities};

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

/// Appends the `k` levels that [`pack`] packed into `key`.
#[inline]
pub fn unpack(key: u64, k: usize, out: &mut Vec<i8>) {
    out.extend((0..k).rev().map(|c| ((key >> (4 * c)) & 0xF) as i8 - 1));
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
            unpack(key, k, &mut p.levels);
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

/// Largest share of matches EM may find moved from a multi-field group (an address): beyond it
/// the match class could take strangers who share one key.
pub const MAX_MOVED: f64 = 0.5;

/// The household class of one EM run ([`household`](super::household)): a third latent class
/// next to match and non-match.
#[derive(Debug, Clone)]
pub struct HouseholdClass<'a> {
    /// Each comparison's part in the class.
    pub layout: &'a Layout,
    /// Starting parameters.
    pub start: HouseholdFit,
    /// Starting share of household pairs.
    pub lambda_init: f64,
    /// Largest agreement share EM may estimate per person field (at or below 0: held fixed).
    pub max_agreement: f64,
}

/// Result of one EM run.
#[derive(Debug, Clone)]
pub struct EmResult {
    /// m per comparison and level (only `active` comparisons changed).
    pub m: Vec<Vec<f64>>,
    /// Per household group, the share of matches that moved from it (multi-field groups).
    pub moved: Vec<f64>,
    /// The household class's parameters, when the run had one.
    pub household: Option<HouseholdFit>,
    /// Estimated share of matches.
    pub lambda: f64,
    /// Estimated share of household pairs (0 without a household class).
    pub lambda_h: f64,
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
    /// Re-estimate m and h (false: only the class shares move).
    pub update_m: bool,
}

/// Expected counts of one E-step.
struct Expected {
    m_num: Vec<Vec<f64>>,
    /// Per household group: expected matches that moved from it, and matches with it present.
    moved: Vec<(f64, f64)>,
    household: Option<Responsibilities>,
    matches: f64,
    households: f64,
    total: f64,
}

/// Per-class likelihood of one comparison vector over the active comparisons.
#[inline]
fn likelihood(row: &[i8], active: &[bool], p: &[Vec<f64>]) -> f64 {
    let mut x = 1.0;
    for (c, &l) in row.iter().enumerate() {
        if active[c] && l >= 0 {
            x *= p[c][l as usize];
        }
    }
    x
}

/// E-step: posterior class shares per distinct vector, summed into expected counts.
fn expect(
    patterns: &Patterns,
    active: &[bool],
    (m, u, moved): (&[Vec<f64>], &[Vec<f64>], &[f64]),
    (layout, household): (&Layout, Option<&HouseholdFit>),
    (lambda, lambda_h): (f64, f64),
) -> Expected {
    let k = patterns.k;
    let mut e = Expected {
        m_num: m.iter().map(|x| vec![0.0; x.len()]).collect(),
        moved: vec![(0.0, 0.0); moved.len()],
        household: household.map(Responsibilities::new),
        matches: 0.0,
        households: 0.0,
        total: 0.0,
    };
    let mut mu = vec![None; k];
    let mut kept_of = vec![1.0; moved.len()];
    for (p, &count) in patterns.counts.iter().enumerate() {
        let row = &patterns.levels[p * k..(p + 1) * k];
        e.total += count as f64;
        for (c, &l) in row.iter().enumerate() {
            mu[c] = (active[c] && l >= 0).then(|| (m[c][l as usize], u[c][l as usize]));
        }
        let (like_m, kept) = layout.match_likelihood(moved, &mu);
        let pm = lambda * like_m;
        let ph = household.map_or(0.0, |fit| lambda_h * fit.likelihood(layout, &mu, None));
        let pu = (1.0 - lambda - lambda_h) * likelihood(row, active, u);
        let sum = pm + ph + pu;
        if sum <= 0.0 {
            continue;
        }
        let (wm, wh) = (pm / sum * count as f64, ph / sum * count as f64);
        e.matches += wm;
        e.households += wh;
        kept_of.iter_mut().for_each(|x| *x = 1.0);
        for &(g, share) in &kept {
            kept_of[g] = share;
            e.moved[g].0 += wm * (1.0 - share);
            e.moved[g].1 += wm;
        }
        for (c, &l) in row.iter().enumerate() {
            if active[c] && l >= 0 {
                let kept = layout.group[c].map_or(1.0, |g| kept_of[g]);
                e.m_num[c][l as usize] += wm * kept;
            }
        }
        if let (Some(fit), Some(r)) = (household, e.household.as_mut()) {
            fit.likelihood(layout, &mu, Some((r, wh)));
        }
    }
    e
}

/// Normalises `num` into `target` (when it has mass); returns the largest change.
fn normalise_into(target: &mut [f64], num: &[f64]) -> f64 {
    let s: f64 = num.iter().sum();
    if s <= 0.0 {
        return 0.0;
    }
    let mut delta: f64 = 0.0;
    for (old, n) in target.iter_mut().zip(num) {
        let new = n / s;
        delta = delta.max((new - *old).abs());
        *old = new;
    }
    delta
}

/// M-step of the household class: shared share per group, agreement share per person field
/// (capped, or held); returns the largest change.
fn maximise_household(fit: &mut HouseholdFit, r: &Responsibilities, max_agreement: f64) -> f64 {
    let mut delta: f64 = 0.0;
    let mut update = |old: &mut f64, (num, den): (f64, f64), max: f64| {
        if den > 0.0 {
            let new = (num / den).clamp(1e-4, max);
            delta = delta.max((new - *old).abs());
            *old = new;
        }
    };
    for (s, &x) in fit.shared.iter_mut().zip(&r.shared) {
        update(s, x, 1.0 - 1e-4);
    }
    if max_agreement > 0.0 {
        for (a, &x) in fit.agreement.iter_mut().zip(&r.agreement) {
            update(a, x, max_agreement);
        }
    }
    delta
}

/// Runs EM: E-step posterior per distinct vector, M-step m (and the household class) and the
/// class shares; `active[c]` false leaves comparison `c` out of the likelihood and its m
/// unchanged. With a household class, the non-match class is `1 - lambda - lambda_h`.
pub fn run(
    patterns: &Patterns,
    (u, m_init): (&[Vec<f64>], &[Vec<f64>]),
    active: &[bool],
    lambda_init: f64,
    (layout, moved_init, household): (&Layout, &[f64], Option<&HouseholdClass>),
    settings: EmSettings,
) -> EmResult {
    let k = patterns.k;
    let mut m: Vec<Vec<f64>> = m_init.to_vec();
    let mut moved = moved_init.to_vec();
    let mut fit = household.map(|hc| hc.start.clone());
    let mut lambda = lambda_init;
    let mut lambda_h = household.map_or(0.0, |hc| hc.lambda_init);
    let mut delta = f64::INFINITY;
    let mut iterations = 0;
    while iterations < settings.max_iterations && delta > settings.tolerance {
        iterations += 1;
        let e = expect(
            patterns,
            active,
            (&m, u, &moved),
            (layout, fit.as_ref()),
            (lambda, lambda_h),
        );
        delta = 0.0;
        if settings.update_m {
            if let (Some(fit), Some(hc), Some(r)) = (fit.as_mut(), household, &e.household) {
                delta = delta.max(maximise_household(fit, r, hc.max_agreement));
            }
            for c in (0..k).filter(|&c| active[c]) {
                delta = delta.max(normalise_into(&mut m[c], &e.m_num[c]));
            }
            for (mv, &(num, den)) in moved.iter_mut().zip(&e.moved) {
                if den > 0.0 {
                    let new = (num / den).clamp(1e-4, MAX_MOVED);
                    delta = delta.max((new - *mv).abs());
                    *mv = new;
                }
            }
        }
        if e.total > 0.0 {
            let (new, new_h) = (e.matches / e.total, e.households / e.total);
            delta = delta
                .max((new - lambda).abs())
                .max((new_h - lambda_h).abs());
            // Each class keeps a sliver of mass, so none can die out or leave no room for the
            // others (a rule whose pairs all match).
            lambda = new.clamp(1e-9, 1.0 - 2e-9);
            if fit.is_some() {
                lambda_h = new_h.clamp(1e-9, (1.0 - lambda - 1e-9).max(1e-9));
            }
        }
    }
    EmResult {
        m,
        moved,
        household: fit,
        lambda,
        lambda_h,
        iterations,
        delta,
        converged: delta <= settings.tolerance,
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
    use crate::model::household::{HouseholdFit, Layout};
    use crate::model::u_sampling::SplitMix64;

    /// The level drawn from distribution `p` by a uniform number `x`.
    fn draw(p: &[f64], x: f64) -> i8 {
        let mut acc = 0.0;
        for (i, &q) in p.iter().enumerate() {
            acc += q;
            if x < acc {
                return i as i8;
            }
        }
        (p.len() - 1) as i8
    }

    /// EM recovers m and λ from vectors simulated with known parameters.
    #[test]
    fn recovers_known_parameters() {
        let m_true = [vec![0.05, 0.15, 0.8], vec![0.1, 0.9], vec![0.2, 0.3, 0.5]];
        let u = vec![vec![0.9, 0.08, 0.02], vec![0.95, 0.05], vec![0.7, 0.2, 0.1]];
        let lambda_true = 0.3;
        let mut rng = SplitMix64(11);
        let mut uniform = || rng.next_u64() as f64 / u64::MAX as f64;
        let mut counts = PatternCounts::new();
        for _ in 0..200_000 {
            let is_match = uniform() < lambda_true;
            let dist = if is_match { &m_true[..] } else { &u[..] };
            let row: Vec<i8> = dist.iter().map(|d| draw(d, uniform())).collect();
            *counts.entry(pack(&row)).or_default() += 1;
        }
        let pats = Patterns::from_counts(3, &counts);
        let init: Vec<Vec<f64>> = m_true.iter().map(|v| initial_m(v.len())).collect();
        let layout = Layout::from_fields(["a", "b", "c"].into_iter());
        let r = run(
            &pats,
            (&u, &init),
            &[true; 3],
            0.1,
            (&layout, &[0.0; 3], None),
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
        let layout = Layout::from_fields(["a", "b"].into_iter());
        let r = run(
            &pats,
            (&u, &init),
            &[true, false],
            0.5,
            (&layout, &[0.0; 2], None),
            EmSettings {
                max_iterations: 50,
                tolerance: 1e-9,
                update_m: true,
            },
        );
        assert_eq!(r.m[1], vec![0.3, 0.7]);
    }

    /// Draws `n` comparison vectors: matches from `m`, household pairs (person fields as
    /// strangers, each household field shared as a match with `shared`), strangers from `u`.
    fn simulate(
        n: usize,
        (m, u): (&[Vec<f64>], &[Vec<f64>]),
        shares: (f64, f64),
        shared: f64,
    ) -> Patterns {
        let mut rng = SplitMix64(7);
        let mut uniform = || rng.next_u64() as f64 / u64::MAX as f64;
        let mut counts = PatternCounts::new();
        for _ in 0..n {
            let x = uniform();
            let row: Vec<i8> = (0..m.len())
                .map(|c| {
                    let household_field = c >= 2;
                    let from_m = x < shares.0
                        || (x < shares.0 + shares.1 && household_field && uniform() < shared);
                    let dist = if from_m { &m[c] } else { &u[c] };
                    draw(dist, uniform())
                })
                .collect();
            *counts.entry(pack(&row)).or_default() += 1;
        }
        Patterns::from_counts(m.len(), &counts)
    }

    /// The household class finds household pairs where there are some, and fades where there
    /// are none.
    #[test]
    fn the_household_class_turns_itself_up_and_down() {
        let m = vec![
            vec![0.05, 0.95],
            vec![0.05, 0.95],
            vec![0.1, 0.9],
            vec![0.1, 0.9],
        ];
        let u = vec![
            vec![0.99, 0.01],
            vec![0.999, 0.001],
            vec![0.99, 0.01],
            vec![0.999, 0.001],
        ];
        let layout =
            Layout::from_fields(["first_name", "birth_date", "last_name", "phone"].into_iter());
        let settings = EmSettings {
            max_iterations: 500,
            tolerance: 1e-8,
            update_m: true,
        };
        let init: Vec<Vec<f64>> = m.iter().map(|v| initial_m(v.len())).collect();
        let class = HouseholdClass {
            layout: &layout,
            start: HouseholdFit::start(&layout),
            lambda_init: 0.1,
            max_agreement: 0.1,
        };
        let fit = |pats: &Patterns| {
            let structure = (&layout, &[0.0; 3][..], Some(&class));
            run(pats, (&u, &init), &[true; 4], 0.3, structure, settings)
        };
        let with = fit(&simulate(400_000, (&m, &u), (0.2, 0.3), 0.8));
        assert!(
            (with.lambda - 0.2).abs() < 0.02,
            "match share {}",
            with.lambda
        );
        assert!(
            (with.lambda_h - 0.3).abs() < 0.03,
            "household share {}",
            with.lambda_h
        );
        let shared = &with.household.as_ref().unwrap().shared;
        assert!(
            shared.iter().all(|s| (s - 0.8).abs() < 0.05),
            "shared {shared:?}"
        );
        let without = fit(&simulate(400_000, (&m, &u), (0.2, 0.0), 0.8));
        assert!(
            (without.lambda - 0.2).abs() < 0.02,
            "match share {}",
            without.lambda
        );
        assert!(
            without.lambda_h < 0.05,
            "household share {}",
            without.lambda_h
        );
    }
}
