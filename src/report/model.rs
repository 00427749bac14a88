//! The section "Model": m, u and weight per level per field (a match-weights chart), the
//! training history, and the histogram of every candidate pair's match weight with the match
//! and review thresholds.

use serde::Serialize;

use crate::config::raw::{DEFAULT_MATCH_THRESHOLD, DEFAULT_REVIEW_THRESHOLD};
use crate::explain::render::level_label;
use crate::model::histogram::WeightHistogram;
use crate::model::{ModelParams, TrainingHistory};
use crate::output::Manifest;

/// One level of one compared field.
#[derive(Debug, Clone, Serialize)]
pub struct LevelView {
    /// Its name (`exact`, `jaro_winkler ≥ 0.92`, `else`).
    pub label: String,
    /// P(level | match).
    pub m: f64,
    /// P(level | non-match).
    pub u: f64,
    /// log2(m / u).
    pub weight: f64,
}

/// One compared field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldView {
    /// Field name.
    pub field: String,
    /// Comparison method.
    pub method: String,
    /// Its levels, best first.
    pub levels: Vec<LevelView>,
}

/// The section "Model".
#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    /// Whether the run has a model.
    pub available: bool,
    /// Whether trained in this run or loaded.
    pub source: String,
    /// Prior match weight.
    pub prior_weight: f64,
    /// Posterior at or above which a pair links.
    pub match_threshold: f64,
    /// Posterior at or above which a pair goes to review.
    pub review_threshold: f64,
    /// The match threshold as a match weight.
    pub match_weight: f64,
    /// The review threshold as a match weight.
    pub review_weight: f64,
    /// Per compared field.
    pub fields: Vec<FieldView>,
    /// How the parameters were obtained.
    pub history: TrainingHistory,
    /// The weights of every candidate pair, binned, when the run kept them.
    pub histogram: Option<WeightHistogram>,
}

/// The match weight of posterior `p`.
pub fn weight_of(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).log2()
}

/// The thresholds the run decided by: recorded with its histogram, else the model's chosen
/// ones, else the defaults.
pub fn thresholds(m: &Manifest, model: Option<&ModelParams>) -> (f64, f64) {
    if let Some(h) = &m.weight_histogram {
        return (h.match_threshold, h.review_threshold);
    }
    model
        .and_then(|p| p.thresholds.as_ref())
        .map_or((DEFAULT_MATCH_THRESHOLD, DEFAULT_REVIEW_THRESHOLD), |t| {
            (t.match_threshold, t.review_threshold)
        })
}

/// The model section of a run with manifest `m` and model `model`.
pub fn model_view(m: &Manifest, model: Option<&ModelParams>) -> ModelView {
    let (mt, rt) = thresholds(m, model);
    let fields = model.map_or_else(Vec::new, |p| {
        p.comparisons
            .iter()
            .map(|cp| FieldView {
                field: cp.field.clone(),
                method: cp.method.clone(),
                levels: (0..cp.m.len())
                    .rev()
                    .map(|l| LevelView {
                        label: level_label(cp, l as i8),
                        m: cp.m[l],
                        u: cp.u[l],
                        weight: cp.weight(l as i8),
                    })
                    .collect(),
            })
            .collect()
    });
    ModelView {
        available: model.is_some(),
        source: m.model_source.clone(),
        prior_weight: model.map_or(0.0, ModelParams::prior_weight),
        match_threshold: mt,
        review_threshold: rt,
        match_weight: weight_of(mt),
        review_weight: weight_of(rt),
        fields,
        history: model.map(|p| p.history.clone()).unwrap_or_default(),
        histogram: m.weight_histogram.clone(),
    }
}
