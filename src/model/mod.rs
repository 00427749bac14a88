//! Stage "score": comparison vectors → match weights and probabilities (Fellegi–Sunter).
//!
//! u is estimated from random record pairs ([`u_sampling`]); m by EM over each blocking rule's
//! pairs with the rule's own fields left out ([`em`]), averaged over the rules weighted by
//! their expected matches; the prior from the expected matches among all candidate pairs.
//! Weights are log2 Bayes factors; term-frequency adjustment ([`tf`]) refines exact agreements.

pub mod em;
pub mod params;
pub mod tf;
pub mod u_sampling;

use std::collections::HashSet;

use arrow::array::RecordBatch;
use rayon::prelude::*;

use crate::block::{self, Blocks};
use crate::compare::{Comparator, Compared};
use crate::config::{ModelConfig, Pipeline};
use crate::{Error, Result};
pub use params::{ComparisonParams, EmRun, ModelParams, TrainingHistory};

/// The identity-conflict rule: household members (twins, siblings, spouses) agree on surname,
/// address and phone, which naive Bayes adds up to overwhelming evidence. A pair whose
/// `model.conflict_field` (default `first_name`) values are both present and disagree at the
/// "else" level is a conflict, unless it agrees exactly on one of `model.conflict_unless_exact`
/// (default `email`): such a pair is never linked automatically (at most `review`) and is left
/// out of EM, so household pairs do not teach the model that different given names are common
/// among matches.
#[derive(Debug, Clone, Default)]
pub struct Conflict {
    person: Option<usize>,
    overrides: Vec<(usize, i8)>,
}

impl Conflict {
    /// Finds the conflict and override comparisons of the pipeline.
    pub fn new(pipeline: &Pipeline) -> Self {
        let find = |f: &str| pipeline.comparisons.iter().position(|c| c.field == f);
        let m = &pipeline.model;
        Conflict {
            person: m.conflict_field.as_deref().and_then(find),
            overrides: m
                .conflict_unless_exact
                .iter()
                .filter_map(|f| find(f))
                .map(|i| (i, (pipeline.comparisons[i].level_count() - 1) as i8))
                .collect(),
        }
    }

    /// True when `levels` show an identity conflict.
    #[inline]
    pub fn is_conflict(&self, levels: &[i8]) -> bool {
        let Some(p) = self.person else { return false };
        levels[p] == 0 && !self.overrides.iter().any(|&(i, top)| levels[i] == top)
    }
}

/// Pairs of one rule used for EM, at most (sampled evenly beyond that).
const EM_PAIRS_PER_RULE: u64 = 2_000_000;

/// Trains m, u and the prior on the standardized records and their blocks.
pub fn train(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    blocks: &Blocks,
    compared: &Compared,
) -> Result<ModelParams> {
    let cfg = &pipeline.model;
    let comparator = Comparator::new(batch, &pipeline.comparisons)?;
    let k = comparator.len();
    if k > 16 || pipeline.comparisons.iter().any(|c| c.level_count() > 15) {
        return Err(Error::Usage(
            "at most 16 comparisons with at most 13 thresholds each are supported".into(),
        ));
    }
    let level_counts: Vec<usize> = pipeline
        .comparisons
        .iter()
        .map(|c| c.level_count())
        .collect();
    let n = batch.num_rows();
    let conflict = Conflict::new(pipeline);
    let (u, u_pairs) = u_sampling::estimate_u(
        batch,
        &pipeline.comparisons,
        &level_counts,
        cfg.u_sample_pairs,
        cfg.seed,
    )?;

    let settings = em::EmSettings {
        max_iterations: cfg.em_max_iterations,
        tolerance: cfg.em_tolerance,
        update_m: true,
    };
    let init: Vec<Vec<f64>> = level_counts.iter().map(|&l| em::initial_m(l)).collect();
    let mut m_sum: Vec<Vec<f64>> = level_counts.iter().map(|&l| vec![0.0; l]).collect();
    let mut m_weight = vec![0.0; k];
    let mut m_from: Vec<Vec<String>> = vec![Vec::new(); k];
    let mut runs = Vec::new();
    let patterns = rule_patterns(compared, blocks, cfg.seed, &conflict);
    for (r, rule) in pipeline.blocking.rules.iter().enumerate() {
        let fixed: HashSet<&str> = rule.keys.iter().map(|key| key.field.as_str()).collect();
        let active: Vec<bool> = pipeline
            .comparisons
            .iter()
            .map(|c| !fixed.contains(c.field.as_str()))
            .collect();
        if !active.iter().any(|&a| a) {
            continue;
        }
        let patterns = &patterns[r];
        if patterns.is_empty() {
            continue;
        }
        let res = em::run(patterns, &u, &init, &active, 0.5, settings);
        let expected_matches = res.lambda * patterns.pairs() as f64;
        for c in (0..k).filter(|&c| active[c]) {
            for (s, v) in m_sum[c].iter_mut().zip(&res.m[c]) {
                *s += v * expected_matches;
            }
            m_weight[c] += expected_matches;
            m_from[c].push(rule.text.clone());
        }
        tracing::info!(
            blocking_rule = %rule.text,
            iterations = res.iterations,
            final_change = res.delta,
            converged = res.converged,
            match_share = res.lambda,
            "EM finished"
        );
        runs.push(EmRun {
            blocking_rule: rule.text.clone(),
            fields_fixed: pipeline
                .comparisons
                .iter()
                .filter(|c| fixed.contains(c.field.as_str()))
                .map(|c| c.field.clone())
                .collect(),
            pairs: patterns.pairs(),
            distinct_patterns: patterns.len() as u64,
            iterations: res.iterations as u64,
            final_delta: res.delta,
            converged: res.converged,
            match_share: res.lambda,
        });
    }
    let m: Vec<Vec<f64>> = (0..k)
        .map(|c| {
            if m_weight[c] > 0.0 {
                m_sum[c].iter().map(|s| s / m_weight[c]).collect()
            } else {
                init[c].clone()
            }
        })
        .collect();
    let comparisons: Vec<ComparisonParams> = pipeline
        .comparisons
        .iter()
        .enumerate()
        .map(|(c, cc)| ComparisonParams {
            field: cc.field.clone(),
            method: cc.method.as_str().to_string(),
            thresholds: cc.levels.clone(),
            m: m[c].clone(),
            u: u[c].clone(),
            m_estimated_from: m_from[c].clone(),
        })
        .collect();
    let prior = estimate_prior(compared, &m, &u, n, cfg, &conflict);
    Ok(ModelParams {
        golden_version: env!("CARGO_PKG_VERSION").to_string(),
        prior,
        comparisons,
        history: TrainingHistory {
            u_sample_pairs: u_pairs,
            seed: cfg.seed,
            em_runs: runs,
            prior_pairs: compared.len() as u64,
            records: n as u64,
            trained_at: chrono::Utc::now().to_rfc3339(),
        },
    })
}

/// Distinct comparison vectors of every pair in each rule's blocks (including pairs earlier
/// rules also find), each rule sampled down to [`EM_PAIRS_PER_RULE`].
///
/// Every pair of every kept block is in `compared` once (tagged with its first rule), so a
/// rule's pairs are the compared pairs whose records share that rule's group: one pass over the
/// levels already computed, no second comparison.
fn rule_patterns(
    compared: &Compared,
    blocks: &Blocks,
    seed: u64,
    conflict: &Conflict,
) -> Vec<em::Patterns> {
    let k = compared.n_comparisons;
    let rules = blocks.groups.len();
    let mut totals = vec![0u64; rules];
    for b in &blocks.blocks {
        totals[b.rule as usize] += b.len as u64 * (b.len as u64 - 1) / 2;
    }
    let keep_below: Vec<u64> = totals
        .iter()
        .map(|&total| {
            if total <= EM_PAIRS_PER_RULE {
                u64::MAX
            } else {
                (u64::MAX / total) * EM_PAIRS_PER_RULE
            }
        })
        .collect();
    let zero = || vec![em::PatternCounts::new(); rules];
    let counts = (0..compared.len())
        .into_par_iter()
        .with_min_len(1 << 14)
        .fold(zero, |mut acc, i| {
            let levels = compared.pair_levels(i);
            if conflict.is_conflict(levels) {
                return acc;
            }
            let (a, b) = (compared.left[i], compared.right[i]);
            let mut packed = None;
            for (r, groups) in blocks.groups.iter().enumerate() {
                let g = groups[a as usize];
                if g == block::NONE || g != groups[b as usize] {
                    continue;
                }
                if keep_below[r] != u64::MAX && mix(seed, a, b) > keep_below[r] {
                    continue;
                }
                let key = *packed.get_or_insert_with(|| em::pack(levels));
                *acc[r].entry(key).or_default() += 1;
            }
            acc
        })
        .reduce(zero, |mut x, y| {
            for (a, b) in x.iter_mut().zip(y) {
                for (key, v) in b {
                    *a.entry(key).or_default() += v;
                }
            }
            x
        });
    counts
        .iter()
        .map(|c| em::Patterns::from_counts(k, c))
        .collect()
}

/// A deterministic hash of a pair, for even sampling.
fn mix(seed: u64, a: u32, b: u32) -> u64 {
    u_sampling::SplitMix64(seed ^ ((a as u64) << 32 | b as u64)).next_u64()
}

/// Probability that two random records match: expected matches among the candidate pairs
/// (λ by EM with m and u fixed) over all record pairs.
fn estimate_prior(
    compared: &Compared,
    m: &[Vec<f64>],
    u: &[Vec<f64>],
    n: usize,
    cfg: &ModelConfig,
    conflict: &Conflict,
) -> f64 {
    let all_pairs = (n as f64) * (n as f64 - 1.0) / 2.0;
    if compared.is_empty() || all_pairs < 1.0 {
        return 1e-6;
    }
    let k = compared.n_comparisons;
    let mut counts = em::PatternCounts::new();
    for i in 0..compared.len() {
        let levels = compared.pair_levels(i);
        if !conflict.is_conflict(levels) {
            *counts.entry(em::pack(levels)).or_default() += 1;
        }
    }
    let patterns = em::Patterns::from_counts(k, &counts);
    let settings = em::EmSettings {
        max_iterations: cfg.em_max_iterations,
        tolerance: cfg.em_tolerance,
        update_m: false,
    };
    let res = em::run(&patterns, u, m, &vec![true; k], 0.1, settings);
    tracing::info!(
        blocking_rule = "(all, for the prior)",
        iterations = res.iterations,
        final_change = res.delta,
        converged = res.converged,
        "EM finished"
    );
    let expected = res.lambda * compared.len() as f64;
    (expected / all_pairs).clamp(1e-12, 0.5)
}

/// Decision of a scored pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// At or above the match threshold: linked.
    Match,
    /// Between review and match thresholds: queued for a person.
    Review,
    /// Below the review threshold.
    NonMatch,
    /// Forced by a manual must-link or cannot-link decision.
    Manual,
}

impl Decision {
    /// The value written to `decisions.parquet`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Match => "match",
            Decision::Review => "review",
            Decision::NonMatch => "non_match",
            Decision::Manual => "manual",
        }
    }
}

/// Scores of every candidate pair, aligned with [`Compared`].
#[derive(Debug, Default, Clone)]
pub struct Scored {
    /// Per pair and comparison weight, row-major like the levels.
    pub weights: Vec<f32>,
    /// Per pair and term-frequency field adjustment, row-major (`tf_fields.len()` per pair).
    pub tf_adjustments: Vec<f32>,
    /// Comparison indices that have a term-frequency adjustment.
    pub tf_fields: Vec<usize>,
    /// Total match weight, prior included.
    pub match_weight: Vec<f64>,
    /// Posterior match probability.
    pub probability: Vec<f64>,
    /// Decision.
    pub decision: Vec<Decision>,
}

/// Scores every pair of `compared` with `params`.
pub fn score(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    params: &ModelParams,
    compared: &Compared,
) -> Result<Scored> {
    let k = compared.n_comparisons;
    if params.comparisons.len() != k {
        return Err(Error::Usage(format!(
            "the model has {} comparisons but the pipeline has {k}; retrain with `golden train`",
            params.comparisons.len()
        )));
    }
    let tf_fields: Vec<usize> = pipeline
        .comparisons
        .iter()
        .enumerate()
        .filter(|(_, c)| pipeline.model.term_frequency.contains(&c.field))
        .map(|(i, _)| i)
        .collect();
    let shares: Vec<Vec<f64>> = tf_fields
        .iter()
        .map(|&c| tf::value_shares(batch, &pipeline.comparisons[c].field))
        .collect::<Result<_>>()?;
    // Weight table per comparison and level: no logarithms in the per-pair loop.
    let table: Vec<Vec<f64>> = params
        .comparisons
        .iter()
        .map(|p| (0..p.m.len()).map(|l| p.weight(l as i8)).collect())
        .collect();
    let prior_w = params.prior_weight();
    let conflict = Conflict::new(pipeline);
    let (mt, rt) = (
        pipeline.model.match_threshold,
        pipeline.model.review_threshold,
    );
    let t = tf_fields.len();
    let n = compared.len();
    if k == 0 {
        return Err(Error::Usage(
            "the pipeline has no comparisons; add at least one [[comparisons]]".into(),
        ));
    }
    // Term-frequency adjustments first (exact agreements on the listed fields only).
    let mut tf_adjustments = vec![0.0f32; n * t];
    if t > 0 {
        tf_adjustments
            .par_chunks_mut(t)
            .enumerate()
            .for_each(|(i, row)| {
                let levels = compared.pair_levels(i);
                for (x, &c) in tf_fields.iter().enumerate() {
                    let p = &params.comparisons[c];
                    if levels[c] as usize == p.m.len() - 1 {
                        let share = shares[x][compared.left[i] as usize];
                        row[x] = tf::adjustment(p.u[p.u.len() - 1], share) as f32;
                    }
                }
            });
    }
    let mut out = Scored {
        weights: vec![0.0; n * k],
        tf_adjustments,
        tf_fields,
        match_weight: vec![0.0; n],
        probability: vec![0.0; n],
        decision: vec![Decision::NonMatch; n],
    };
    const CHUNK: usize = 1 << 14;
    let tf_all = &out.tf_adjustments;
    out.weights
        .par_chunks_mut(CHUNK * k)
        .zip(out.match_weight.par_chunks_mut(CHUNK))
        .zip(out.probability.par_chunks_mut(CHUNK))
        .zip(out.decision.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(chunk, (((w, mw), pr), dec))| {
            for j in 0..mw.len() {
                let i = chunk * CHUNK + j;
                let levels = compared.pair_levels(i);
                let mut total = prior_w;
                for c in 0..k {
                    let l = levels[c];
                    let wc = if l < 0 { 0.0 } else { table[c][l as usize] };
                    w[j * k + c] = wc as f32;
                    total += wc;
                }
                total += tf_all[i * t..(i + 1) * t]
                    .iter()
                    .map(|&x| x as f64)
                    .sum::<f64>();
                mw[j] = total;
                let prob = 1.0 / (1.0 + (-total).exp2());
                pr[j] = prob;
                dec[j] = if prob >= mt && !conflict.is_conflict(levels) {
                    Decision::Match
                } else if prob >= rt {
                    Decision::Review
                } else {
                    Decision::NonMatch
                };
            }
        });
    Ok(out)
}
