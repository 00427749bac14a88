//! Scoring: every candidate pair's match weight, posterior and decision from the trained
//! parameters (Fellegi–Sunter, with the household class when the model has one).

use arrow::array::RecordBatch;
use rayon::prelude::*;

use super::{ComparisonParams, Conflict, ModelParams, tf};
use crate::compare::Compared;
use crate::config::Pipeline;
use crate::{Error, Result};

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
    /// Per pair, the household class's share of the weight (≤ 0): log2 of how much the chance
    /// that the pair is two people of one household lowers the match odds. Empty without a
    /// household class.
    pub household_adjustment: Vec<f32>,
    /// Total match weight, prior included.
    pub match_weight: Vec<f64>,
    /// Posterior match probability.
    pub probability: Vec<f64>,
    /// Decision.
    pub decision: Vec<Decision>,
}

/// Weight tables of a model: no logarithms in the per-pair loop.
pub struct WeightTables {
    /// Prior weight, log2(match prior / stranger prior).
    pub prior: f64,
    /// log2(m / u) per comparison and level.
    pub weights: Vec<Vec<f64>>,
    /// The household class, when the model has one.
    pub household: Option<HouseholdTables>,
}

/// The household class's tables: its prior weight, log2(h / u) per household field and level
/// (0 for person fields), and per person field its agreement share and m / u per level.
pub struct HouseholdTables {
    /// log2(household prior / stranger prior).
    pub prior: f64,
    /// log2(h / u) per comparison and level; 0 for person fields.
    pub weights: Vec<Vec<f64>>,
    /// Per person field: comparison index, agreement share, m / u per level.
    pub person: Vec<(usize, f64, Vec<f64>)>,
}

impl WeightTables {
    /// The tables of `params`.
    pub fn new(params: &ModelParams) -> Self {
        let table = |f: &dyn Fn(&ComparisonParams, i8) -> f64| -> Vec<Vec<f64>> {
            params
                .comparisons
                .iter()
                .map(|p| (0..p.m.len()).map(|l| f(p, l as i8)).collect())
                .collect()
        };
        let household = params.household.as_ref().zip(params.household_prior_weight());
        WeightTables {
            prior: params.prior_weight(),
            weights: table(&|p, l| p.weight(l)),
            household: household.map(|(hp, prior)| {
                let agreement = |p: &ComparisonParams| hp.person_agreement.get(&p.field).copied();
                HouseholdTables {
                    prior,
                    weights: table(&|p, l| match agreement(p) {
                        Some(_) => 0.0,
                        None => p.household_weight(l),
                    }),
                    person: params
                        .comparisons
                        .iter()
                        .enumerate()
                        .filter_map(|(c, p)| {
                            let ratios = (0..p.m.len()).map(|l| p.weight(l as i8).exp2());
                            agreement(p).map(|a| (c, a, ratios.collect()))
                        })
                        .collect(),
                }
            }),
        }
    }

    /// Weight of comparison `c` at `level` (0 for null).
    #[inline]
    pub fn weight(&self, c: usize, level: i8) -> f64 {
        if level < 0 { 0.0 } else { self.weights[c][level as usize] }
    }

    /// The household term of a pair's match weight: `-log2(1 + H/R)`, where H/R is the odds
    /// of "one household, two people" against "two strangers": the class's prior weight, the
    /// h/u weights of the household fields, the person fields' mixture (mostly strangers, a
    /// small share agreeing on one field as one person) and the pair's term-frequency
    /// adjustment, which lowers both alike; 0 without a household class.
    #[inline]
    pub fn household_adjustment(&self, levels: &[i8], tf: f64) -> f64 {
        let Some(h) = &self.household else {
            return 0.0;
        };
        let mut x = h.prior + tf;
        for (c, &l) in levels.iter().enumerate() {
            if l >= 0 {
                x += h.weights[c][l as usize];
            }
        }
        let mut mix = 1.0;
        for (c, a, ratios) in &h.person {
            if levels[*c] >= 0 {
                mix += a * (ratios[levels[*c] as usize] - 1.0);
            }
        }
        x += mix.max(1e-300).log2();
        if x > 60.0 { -x } else { -(1.0 + x.exp2()).log2() }
    }

    /// Match weight of a comparison vector with term-frequency adjustment `tf`.
    pub fn total(&self, levels: &[i8], tf: f64) -> f64 {
        let fields: f64 = (0..levels.len()).map(|c| self.weight(c, levels[c])).sum();
        self.prior + fields + tf + self.household_adjustment(levels, tf)
    }
}

/// Posterior probability of a match weight.
#[inline]
pub fn probability(match_weight: f64) -> f64 {
    1.0 / (1.0 + (-match_weight).exp2())
}

/// Term-frequency adjustments of every pair (row-major, one per listed field), for exact
/// agreements on the `tf_fields` only.
fn tf_adjustments(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    params: &ModelParams,
    compared: &Compared,
    tf_fields: &[usize],
) -> Result<Vec<f32>> {
    let shares: Vec<Vec<f64>> = tf_fields
        .iter()
        .map(|&c| tf::value_shares(batch, &pipeline.comparisons[c].field))
        .collect::<Result<_>>()?;
    let t = tf_fields.len();
    let mut out = vec![0.0f32; compared.len() * t];
    if t > 0 {
        out.par_chunks_mut(t).enumerate().for_each(|(i, row)| {
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
    Ok(out)
}

/// Scores every pair of `compared` with `params`; thresholds from the pipeline where it sets
/// them, else those the model chose ([`ModelParams::thresholds`]).
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
    if k == 0 {
        return Err(Error::Usage(
            "the pipeline has no comparisons; add at least one [[comparisons]]".into(),
        ));
    }
    let tf_fields: Vec<usize> = pipeline
        .comparisons
        .iter()
        .enumerate()
        .filter(|(_, c)| pipeline.model.term_frequency.contains(&c.field))
        .map(|(i, _)| i)
        .collect();
    let tf_adjustments = tf_adjustments(batch, pipeline, params, compared, &tf_fields)?;
    let tables = WeightTables::new(params);
    let conflict = Conflict::new(pipeline);
    let (mt, rt) = params.thresholds_for(&pipeline.model);
    let (t, n) = (tf_fields.len(), compared.len());
    let has_household = tables.household.is_some();
    let mut out = Scored {
        weights: vec![0.0; n * k],
        tf_adjustments,
        tf_fields,
        household_adjustment: vec![0.0; if has_household { n } else { 0 }],
        match_weight: vec![0.0; n],
        probability: vec![0.0; n],
        decision: vec![Decision::NonMatch; n],
    };
    const CHUNK: usize = 1 << 14;
    let tf_all = &out.tf_adjustments;
    let mut ha = std::mem::take(&mut out.household_adjustment);
    let ha_chunks: Vec<&mut [f32]> = if has_household {
        ha.chunks_mut(CHUNK).collect()
    } else {
        (0..n.div_ceil(CHUNK)).map(|_| &mut [][..]).collect()
    };
    out.weights
        .par_chunks_mut(CHUNK * k)
        .zip(out.match_weight.par_chunks_mut(CHUNK))
        .zip(out.probability.par_chunks_mut(CHUNK))
        .zip(out.decision.par_chunks_mut(CHUNK))
        .zip(ha_chunks.into_par_iter())
        .enumerate()
        .for_each(|(chunk, ((((w, mw), pr), dec), ha))| {
            for j in 0..mw.len() {
                let i = chunk * CHUNK + j;
                let levels = compared.pair_levels(i);
                let mut total = tables.prior;
                for c in 0..k {
                    let wc = tables.weight(c, levels[c]);
                    w[j * k + c] = wc as f32;
                    total += wc;
                }
                let tf: f64 = tf_all[i * t..(i + 1) * t].iter().map(|&x| x as f64).sum();
                total += tf;
                if has_household {
                    let adj = tables.household_adjustment(levels, tf);
                    ha[j] = adj as f32;
                    total += adj;
                }
                mw[j] = total;
                pr[j] = probability(total);
                dec[j] = if pr[j] >= mt && !conflict.is_conflict(levels) {
                    Decision::Match
                } else if pr[j] >= rt {
                    Decision::Review
                } else {
                    Decision::NonMatch
                };
            }
        });
    out.household_adjustment = ha;
    Ok(out)
}
