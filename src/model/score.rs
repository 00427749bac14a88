//! Scoring: every candidate pair's match weight, posterior and decision from the trained
//! parameters (Fellegi–Sunter, with the household class when the model has one).

use arrow::array::RecordBatch;
use rayon::prelude::*;

use super::household::{self, HouseholdFit, Layout};
use super::{Conflict, ModelParams, tf};
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
    /// Every decision.
    pub const ALL: [Decision; 4] = [
        Decision::Match,
        Decision::Review,
        Decision::NonMatch,
        Decision::Manual,
    ];

    /// The decision written as `s` in `decisions.parquet` ([`Self::as_str`]).
    pub fn parse(s: &str) -> Option<Decision> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

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
    /// Each comparison's part in the household structure.
    pub layout: Layout,
    /// Per household group, the share of matches that moved from it (multi-field groups).
    pub moved: Vec<f64>,
    /// The household class: its prior weight (log2 of household prior / stranger prior) and
    /// parameters.
    pub household: Option<(f64, HouseholdFit)>,
}

impl WeightTables {
    /// The tables of `params`.
    pub fn new(params: &ModelParams) -> Self {
        let weights = params
            .comparisons
            .iter()
            .map(|p| (0..p.m.len()).map(|l| p.weight(l as i8)).collect())
            .collect();
        let fields = params.comparisons.iter().map(|c| c.field.as_str());
        let empty = Default::default();
        let hp = params.household.as_ref();
        let (layout, fit) = household::from_named(
            fields,
            hp.map_or(&empty, |h| &h.person_agreement),
            hp.map_or(&empty, |h| &h.shared),
        );
        let moved = layout
            .names
            .iter()
            .zip(&layout.multi)
            .map(|(name, &multi)| {
                if multi {
                    params.moved.get(name).copied().unwrap_or(0.0)
                } else {
                    0.0
                }
            })
            .collect();
        WeightTables {
            prior: params.prior_weight(),
            weights,
            layout,
            moved,
            household: params.household_prior_weight().map(|prior| (prior, fit)),
        }
    }

    /// True when pairs get a [`Self::household_adjustment`] (a household class or a group
    /// whose matches may have moved).
    pub fn adjusts(&self) -> bool {
        self.household.is_some() || self.moved.iter().any(|&m| m > 0.0)
    }

    /// Weight of comparison `c` at `level` (0 for null).
    #[inline]
    pub fn weight(&self, c: usize, level: i8) -> f64 {
        if level < 0 {
            0.0
        } else {
            self.weights[c][level as usize]
        }
    }

    /// What the model's dependence structure changes in a pair's match weight against naive
    /// Bayes, from each comparison's weight, term-frequency adjustment included (`None` for
    /// null fields): the address group kept or moved as one ([`Layout::moved_correction`]),
    /// and `-log2(1 + H/R)`, where H/R is the odds of "one household, two people" against "two
    /// strangers" ([`HouseholdFit::log2_ratio`]).
    #[inline]
    pub fn household_adjustment(&self, weights: &[Option<f64>]) -> f64 {
        let moved = self.layout.moved_correction(&self.moved, weights);
        let Some((prior, fit)) = &self.household else {
            return moved;
        };
        let x = prior + fit.log2_ratio(&self.layout, weights);
        moved
            + if x > 60.0 {
                -x
            } else {
                -(1.0 + x.exp2()).log2()
            }
    }

    /// Match weight of a comparison vector (no term-frequency adjustment).
    pub fn total(&self, levels: &[i8]) -> f64 {
        let w: Vec<Option<f64>> = (0..levels.len())
            .map(|c| (levels[c] >= 0).then(|| self.weight(c, levels[c])))
            .collect();
        self.prior + w.iter().flatten().sum::<f64>() + self.household_adjustment(&w)
    }
}

/// Posterior probability of a match weight.
#[inline]
pub fn probability(match_weight: f64) -> f64 {
    1.0 / (1.0 + (-match_weight).exp2())
}

/// What scoring needs besides the pairs: the weight tables, the term-frequency shares of each
/// record's value, the conflict rule and the thresholds. Built once per run, it scores any
/// chunk of pairs.
pub struct Scorer<'a> {
    params: &'a ModelParams,
    tables: WeightTables,
    conflict: Conflict,
    /// Comparison indices that have a term-frequency adjustment.
    tf_fields: Vec<usize>,
    /// Per term-frequency field, each record's value share.
    shares: Vec<Vec<f64>>,
    /// Match and review thresholds.
    thresholds: (f64, f64),
}

impl<'a> Scorer<'a> {
    /// The scorer of `pipeline`'s pairs over `batch` with `params`; thresholds from the
    /// pipeline where it sets them, else those the model chose
    /// ([`ModelParams::thresholds`]).
    pub fn new(batch: &RecordBatch, pipeline: &Pipeline, params: &'a ModelParams) -> Result<Self> {
        let k = pipeline.comparisons.len();
        if params.comparisons.len() != k {
            return Err(Error::Pipeline(format!(
                "the model has {} comparisons but the pipeline has {k}; retrain with `golden train`",
                params.comparisons.len()
            )));
        }
        if k == 0 {
            return Err(Error::Pipeline(
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
        let shares = tf_fields
            .iter()
            .map(|&c| tf::value_shares(batch, &pipeline.comparisons[c].field))
            .collect::<Result<_>>()?;
        Ok(Scorer {
            params,
            tables: WeightTables::new(params),
            conflict: Conflict::new(pipeline),
            tf_fields,
            shares,
            thresholds: params.thresholds_for(&pipeline.model),
        })
    }

    /// True when a pair's score depends on its records' values, not on its comparison vector
    /// alone (a term-frequency adjustment).
    pub fn has_term_frequencies(&self) -> bool {
        !self.tf_fields.is_empty()
    }

    /// True when `levels` show an identity conflict (never an automatic link).
    pub fn is_conflict(&self, levels: &[i8]) -> bool {
        self.conflict.is_conflict(levels)
    }

    /// Term-frequency adjustments of every pair (row-major, one per listed field), for exact
    /// agreements on the `tf_fields` only.
    fn tf_adjustments(&self, compared: &Compared) -> Vec<f32> {
        let t = self.tf_fields.len();
        let mut out = vec![0.0f32; compared.len() * t];
        if t > 0 {
            out.par_chunks_mut(t).enumerate().for_each(|(i, row)| {
                let levels = compared.pair_levels(i);
                for (x, &c) in self.tf_fields.iter().enumerate() {
                    let p = &self.params.comparisons[c];
                    if levels[c] as usize == p.m.len() - 1 {
                        let share = self.shares[x][compared.left[i] as usize];
                        row[x] = tf::adjustment(p.u[p.u.len() - 1], share) as f32;
                    }
                }
            });
        }
        out
    }
}

/// Scores every pair of `compared` with `params` ([`Scorer::score`] with a scorer of its own).
pub fn score(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    params: &ModelParams,
    compared: &Compared,
) -> Result<Scored> {
    Ok(Scorer::new(batch, pipeline, params)?.score(compared))
}

impl Scorer<'_> {
    /// Scores every pair of `compared`.
    pub fn score(&self, compared: &Compared) -> Scored {
        let k = compared.n_comparisons;
        let tf_adjustments = self.tf_adjustments(compared);
        let tables = &self.tables;
        let conflict = &self.conflict;
        let (mt, rt) = self.thresholds;
        let (t, n) = (self.tf_fields.len(), compared.len());
        let has_household = tables.adjusts();
        let mut out = Scored {
            weights: vec![0.0; n * k],
            tf_adjustments,
            tf_fields: self.tf_fields.clone(),
            household_adjustment: vec![0.0; if has_household { n } else { 0 }],
            match_weight: vec![0.0; n],
            probability: vec![0.0; n],
            decision: vec![Decision::NonMatch; n],
        };
        const CHUNK: usize = 1 << 14;
        let tf_all = &out.tf_adjustments;
        let tf_of = &out.tf_fields;
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
                    let tf_row = &tf_all[i * t..(i + 1) * t];
                    let mut fields = [None; household::MAX_COMPARISONS];
                    let mut total = tables.prior;
                    for c in 0..k {
                        let wc = tables.weight(c, levels[c]);
                        w[j * k + c] = wc as f32;
                        total += wc;
                        if levels[c] >= 0 {
                            fields[c] = Some(wc);
                        }
                    }
                    for (x, &c) in tf_of.iter().enumerate() {
                        total += tf_row[x] as f64;
                        fields[c] = fields[c].map(|w| w + tf_row[x] as f64);
                    }
                    if has_household {
                        let adj = tables.household_adjustment(&fields[..k]);
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
        out
    }
}
