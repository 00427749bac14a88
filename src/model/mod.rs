//! Stage "score": comparison vectors → match weights and probabilities (Fellegi–Sunter).
//!
//! Three latent classes: matches, two people of one household ([`household`]) and strangers.
//! u is estimated from random record pairs ([`u_sampling`]); m, the share of matches that
//! moved, and the household class by EM over each blocking rule's pairs with the rule's own
//! fields left out ([`em`]), averaged over the rules weighted by their expected pairs of each
//! class; the priors from the expected pairs of each class among all candidate pairs; the
//! thresholds, unless the pipeline sets them, from the fitted model ([`threshold`]); manual
//! decisions check it and may move the match threshold within the review band ([`labels`]).
//! Weights are log2 Bayes factors; term-frequency adjustment ([`tf`]) refines exact agreements;
//! [`score`] scores every pair.

pub mod decisions_table;
pub mod em;
pub mod histogram;
pub mod household;
pub mod labels;
pub mod params;
pub mod score;
pub mod select;
pub mod tally;
pub mod tf;
pub mod threshold;
pub mod u_sampling;

use std::collections::HashSet;

use arrow::array::RecordBatch;

use crate::config::{ModelConfig, Pipeline};
use crate::{Error, Result};
use household::HouseholdFit;
pub use params::{ComparisonParams, EmRun, HouseholdParams, ModelParams, TrainingHistory};
pub use score::{Decision, Scored, score};

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

/// Starting share of household pairs among a rule's pairs.
const HOUSEHOLD_LAMBDA_INIT: f64 = 0.1;

/// m and the household class averaged over the blocking rules' EM runs, each weighted by the
/// run's expected pairs of the class.
struct Averages {
    m_sum: Vec<Vec<f64>>,
    m_weight: Vec<f64>,
    agreement: Vec<(f64, f64)>,
    shared: Vec<(f64, f64)>,
    moved: Vec<(f64, f64)>,
    m_from: Vec<Vec<String>>,
}

impl Averages {
    fn new(level_counts: &[usize], layout: &household::Layout) -> Self {
        let k = level_counts.len();
        Averages {
            m_sum: level_counts.iter().map(|&l| vec![0.0; l]).collect(),
            m_weight: vec![0.0; k],
            agreement: vec![(0.0, 0.0); layout.person_names.len()],
            shared: vec![(0.0, 0.0); layout.names.len()],
            moved: vec![(0.0, 0.0); layout.names.len()],
            m_from: vec![Vec::new(); k],
        }
    }

    /// Adds one rule's run over `pairs` pairs.
    fn add(
        &mut self,
        res: &em::EmResult,
        pairs: f64,
        active: &[bool],
        layout: &household::Layout,
        rule: &str,
    ) {
        let (wm, wh) = (res.lambda * pairs, res.lambda_h * pairs);
        let mut moved_seen = vec![false; layout.names.len()];
        for c in (0..active.len()).filter(|&c| active[c]) {
            add_weighted(&mut self.m_sum[c], &res.m[c], wm);
            self.m_weight[c] += wm;
            self.m_from[c].push(rule.to_string());
            if let Some(g) = layout.group[c].filter(|&g| layout.multi[g] && !moved_seen[g]) {
                moved_seen[g] = true;
                self.moved[g].0 += res.moved[g] * wm;
                self.moved[g].1 += wm;
            }
        }
        let Some(fit) = &res.household else { return };
        let on = |of: &[Option<usize>], x: usize| {
            (0..active.len()).any(|c| active[c] && of[c] == Some(x))
        };
        for (p, slot) in self
            .agreement
            .iter_mut()
            .enumerate()
            .filter(|(p, _)| on(&layout.person, *p))
        {
            slot.0 += fit.agreement[p] * wh;
            slot.1 += wh;
        }
        for (g, slot) in self
            .shared
            .iter_mut()
            .enumerate()
            .filter(|(g, _)| on(&layout.group, *g))
        {
            slot.0 += fit.shared[g] * wh;
            slot.1 += wh;
        }
    }

    /// Weighted mean m; `init` where no run estimated a comparison.
    fn m(&self, init: &[Vec<f64>]) -> Vec<Vec<f64>> {
        self.m_sum
            .iter()
            .zip(&self.m_weight)
            .zip(init)
            .map(|((s, &w), i)| {
                if w > 0.0 {
                    s.iter().map(|x| x / w).collect()
                } else {
                    i.clone()
                }
            })
            .collect()
    }

    /// Per household group, the share of matches that moved from it (starting value where no
    /// run estimated it).
    fn moved(&self) -> Vec<f64> {
        self.moved
            .iter()
            .map(|&(s, w)| if w > 0.0 { s / w } else { household::MOVED })
            .collect()
    }

    /// The household class averaged over the runs that had one (starting values where none
    /// estimated a parameter), or `None` when no run had one.
    fn household(&self, layout: &household::Layout) -> Option<HouseholdFit> {
        let had = |x: &[(f64, f64)]| x.iter().any(|&(_, w)| w > 0.0);
        if !had(&self.agreement) && !had(&self.shared) {
            return None;
        }
        let mut fit = HouseholdFit::start(layout);
        let mean = |slot: &mut f64, &(s, w): &(f64, f64)| {
            if w > 0.0 {
                *slot = s / w;
            }
        };
        fit.agreement
            .iter_mut()
            .zip(&self.agreement)
            .for_each(|(a, x)| mean(a, x));
        fit.shared
            .iter_mut()
            .zip(&self.shared)
            .for_each(|(a, x)| mean(a, x));
        Some(fit)
    }
}

fn add_weighted(sum: &mut [f64], v: &[f64], w: f64) {
    for (s, x) in sum.iter_mut().zip(v) {
        *s += x * w;
    }
}

/// Trains m, u, the household class and the priors on the standardized records and their
/// blocks, and chooses the thresholds.
pub fn train(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    tally: &tally::Tally,
) -> Result<ModelParams> {
    let cfg = &pipeline.model;
    let k = pipeline.comparisons.len();
    if k > household::MAX_COMPARISONS || pipeline.comparisons.iter().any(|c| c.level_count() > 15) {
        return Err(Error::Pipeline(
            "at most 16 comparisons with at most 13 thresholds each are supported".into(),
        ));
    }
    let level_counts: Vec<usize> = pipeline
        .comparisons
        .iter()
        .map(|c| c.level_count())
        .collect();
    let n = batch.num_rows();
    let layout = household::Layout::new(&pipeline.comparisons);
    let (u, u_pairs) = u_sampling::estimate_u(
        batch,
        &pipeline.comparisons,
        &level_counts,
        cfg.u_sample_pairs,
        cfg.seed,
    )?;
    let init: Vec<Vec<f64>> = level_counts.iter().map(|&l| em::initial_m(l)).collect();
    let (avg, runs) = em_per_rule(pipeline, tally, (&u, &init), &layout);
    let (m, moved) = (avg.m(&init), avg.moved());
    let fit = avg.household(&layout);
    let all = em::Patterns::from_counts(k, &tally.candidates);
    let priors = estimate_priors(
        &all,
        tally.pairs as usize,
        (&m, &u, &moved),
        (&layout, fit.as_ref()),
        n,
        cfg,
    );
    let mut params = ModelParams {
        golden_version: env!("CARGO_PKG_VERSION").to_string(),
        prior: priors.prior,
        comparisons: comparison_params(
            pipeline,
            (&m, &u),
            fit.as_ref().map(|f| (f, &layout)),
            &avg.m_from,
        ),
        moved: layout
            .names
            .iter()
            .zip(&layout.multi)
            .zip(&moved)
            .filter(|((_, multi), _)| **multi)
            .map(|((name, _), &x)| (name.clone(), x))
            .collect(),
        household: priors
            .household
            .zip(fit.as_ref())
            .map(|((prior, candidate_pairs), fit)| {
                let (person_agreement, shared) = fit.named(&layout);
                HouseholdParams {
                    prior,
                    person_agreement,
                    shared,
                    candidate_pairs,
                }
            }),
        history: TrainingHistory {
            u_sample_pairs: u_pairs,
            seed: cfg.seed,
            em_runs: runs,
            prior_pairs: tally.pairs,
            records: n as u64,
            trained_at: chrono::Utc::now().to_rfc3339(),
        },
        labels: None,
        thresholds: None,
    };
    params.thresholds = threshold::choose(&all, &score::WeightTables::new(&params));
    Ok(params)
}

/// EM over each blocking rule's pairs with the rule's own fields left out (and the household
/// class where the rule leaves both person and household fields to compare).
fn em_per_rule(
    pipeline: &Pipeline,
    tally: &tally::Tally,
    (u, init): (&[Vec<f64>], &[Vec<f64>]),
    layout: &household::Layout,
) -> (Averages, Vec<EmRun>) {
    let cfg = &pipeline.model;
    let settings = em::EmSettings {
        max_iterations: cfg.em_max_iterations,
        tolerance: cfg.em_tolerance,
        update_m: true,
    };
    let level_counts: Vec<usize> = init.iter().map(Vec::len).collect();
    let mut avg = Averages::new(&level_counts, layout);
    let mut runs = Vec::new();
    let k = pipeline.comparisons.len();
    let patterns: Vec<em::Patterns> = (0..pipeline.blocking.rules.len())
        .map(|r| {
            tally
                .rules
                .get(r)
                .map(|c| em::Patterns::from_counts(k, c))
                .unwrap_or_default()
        })
        .collect();
    for (r, rule) in pipeline.blocking.rules.iter().enumerate() {
        let fixed: HashSet<&str> = rule.keys.iter().map(|key| key.field.as_str()).collect();
        let active: Vec<bool> = pipeline
            .comparisons
            .iter()
            .map(|c| !fixed.contains(c.field.as_str()))
            .collect();
        if !active.iter().any(|&a| a) || patterns[r].is_empty() {
            continue;
        }
        let class = layout.usable(&active).then(|| em::HouseholdClass {
            layout,
            start: HouseholdFit::start(layout),
            lambda_init: HOUSEHOLD_LAMBDA_INIT,
            max_agreement: household::MAX_PERSON_AGREEMENT,
        });
        let start_moved = vec![household::MOVED; layout.names.len()];
        let structure = (layout, &start_moved[..], class.as_ref());
        let res = em::run(&patterns[r], (u, init), &active, 0.5, structure, settings);
        let mut run = em_run(&res, rule, &patterns[r], pipeline, &fixed);
        if looks_like_matches(&res.m, &active) {
            avg.add(
                &res,
                patterns[r].pairs() as f64,
                &active,
                layout,
                &rule.text,
            );
        } else {
            tracing::warn!(
                blocking_rule = %rule.text,
                pairs = patterns[r].pairs(),
                "EM found no match class among this rule's pairs (its \"matches\" disagree on \
                 most fields): the rule's estimates are left out of the model"
            );
            run.left_out = true;
        }
        runs.push(run);
    }
    (avg, runs)
}

/// The model.json entry of each comparison.
fn comparison_params(
    pipeline: &Pipeline,
    (m, u): (&[Vec<f64>], &[Vec<f64>]),
    household: Option<(&HouseholdFit, &household::Layout)>,
    m_from: &[Vec<String>],
) -> Vec<ComparisonParams> {
    pipeline
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
            h: household.map_or(Vec::new(), |(fit, layout)| {
                fit.marginal(layout, c, &m[c], &u[c])
            }),
        })
        .collect()
}

/// Largest mean share of "else" levels a rule's match class may have over its compared fields:
/// one person's records agree on most fields (a move or a new phone is its own, smaller share).
/// Under a liberal rule such as `[first_name]`, whose pairs are nearly all strangers, EM can
/// turn the match class into a second class of strangers (measured: 0.25 of 2M pairs
/// "matches", disagreeing on the surname in 95 %); its estimates would swamp the other rules'.
const MAX_MEAN_ELSE: f64 = 0.5;

/// True when the match class of a rule's EM looks like matches ([`MAX_MEAN_ELSE`]).
fn looks_like_matches(m: &[Vec<f64>], active: &[bool]) -> bool {
    let on: Vec<f64> = (0..m.len())
        .filter(|&c| active[c])
        .map(|c| m[c][0])
        .collect();
    on.is_empty() || on.iter().sum::<f64>() / (on.len() as f64) <= MAX_MEAN_ELSE
}

/// The training-history entry of one rule's EM run (also logged).
fn em_run(
    res: &em::EmResult,
    rule: &crate::config::BlockingRule,
    patterns: &em::Patterns,
    pipeline: &Pipeline,
    fixed: &HashSet<&str>,
) -> EmRun {
    tracing::info!(
        blocking_rule = %rule.text,
        iterations = res.iterations,
        final_change = res.delta,
        converged = res.converged,
        match_share = res.lambda,
        household_share = res.lambda_h,
        "EM finished"
    );
    EmRun {
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
        household_share: res.household.as_ref().map(|_| res.lambda_h),
        left_out: false,
    }
}

/// Priors of the classes over all record pairs.
struct Priors {
    /// Probability that two random records match.
    prior: f64,
    /// Probability that two random records are one household, and the expected household
    /// pairs among the candidates, when the model has a household class.
    household: Option<(f64, f64)>,
}

/// Class priors: expected matches (and household pairs) among the candidate pairs (class
/// shares by EM with m, h and u fixed) over all record pairs.
fn estimate_priors(
    patterns: &em::Patterns,
    candidates: usize,
    (m, u, moved): (&[Vec<f64>], &[Vec<f64>], &[f64]),
    (layout, household): (&household::Layout, Option<&HouseholdFit>),
    n: usize,
    cfg: &ModelConfig,
) -> Priors {
    let all_pairs = (n as f64) * (n as f64 - 1.0) / 2.0;
    if patterns.is_empty() || all_pairs < 1.0 {
        return Priors {
            prior: 1e-6,
            household: None,
        };
    }
    let k = patterns.k;
    let settings = em::EmSettings {
        max_iterations: cfg.em_max_iterations,
        tolerance: cfg.em_tolerance,
        update_m: false,
    };
    let class = household.map(|fit| em::HouseholdClass {
        layout,
        start: fit.clone(),
        lambda_init: HOUSEHOLD_LAMBDA_INIT,
        max_agreement: 0.0,
    });
    let structure = (layout, moved, class.as_ref());
    let res = em::run(patterns, (u, m), &vec![true; k], 0.1, structure, settings);
    tracing::info!(
        blocking_rule = "(all, for the prior)",
        iterations = res.iterations,
        final_change = res.delta,
        converged = res.converged,
        household_share = res.lambda_h,
        "EM finished"
    );
    let share = |lambda: f64| (lambda * candidates as f64 / all_pairs).clamp(1e-12, 0.4);
    Priors {
        prior: share(res.lambda),
        household: class.map(|_| (share(res.lambda_h), res.lambda_h * candidates as f64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The [first_name] rule's match class of a liberal pipeline (measured) is left out; a
    /// real one, with a rule field inactive, is kept.
    #[test]
    fn a_match_class_of_strangers_is_recognised() {
        let strangers = vec![
            vec![0.012, 0.047, 0.188, 0.753],
            vec![0.951, 0.008, 0.005, 0.036],
            vec![0.981, 0.019],
            vec![0.758, 0.014, 0.01, 0.218],
            vec![0.98, 0.002, 0.0, 0.018],
        ];
        let active = [false, true, true, true, true];
        assert!(!looks_like_matches(&strangers, &active));
        let matches = vec![
            vec![0.012, 0.047, 0.188, 0.753],
            vec![0.011, 0.018, 0.079, 0.892],
            vec![0.038, 0.962],
            vec![0.3, 0.04, 0.04, 0.62],
            vec![0.006, 0.033, 0.015, 0.946],
        ];
        assert!(looks_like_matches(&matches, &active));
    }
}
