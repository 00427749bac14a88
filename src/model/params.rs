//! Trained Fellegi–Sunter parameters, as written to and read from `model.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// m and u per level of one comparison; index = level (0 = else … top = exact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    /// Field compared.
    pub field: String,
    /// Method name.
    pub method: String,
    /// Similarity thresholds, best first.
    pub thresholds: Vec<f64>,
    /// P(level | match), per level.
    pub m: Vec<f64>,
    /// P(level | non-match), per level.
    pub u: Vec<f64>,
    /// Blocking rules whose pairs estimated `m` (empty when m is the default).
    pub m_estimated_from: Vec<String>,
}

impl ComparisonParams {
    /// Match weight (log2 Bayes factor) of `level`; 0 for the null level.
    #[inline]
    pub fn weight(&self, level: i8) -> f64 {
        if level < 0 {
            return 0.0;
        }
        let l = level as usize;
        (self.m[l].max(MIN_PROBABILITY) / self.u[l].max(MIN_PROBABILITY)).log2()
    }
}

/// Smallest probability used in a weight, so no level has an infinite weight.
pub const MIN_PROBABILITY: f64 = 1e-6;

/// How the parameters were obtained: enough for an auditor to judge them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainingHistory {
    /// Random record pairs compared to estimate u.
    pub u_sample_pairs: u64,
    /// Seed of the random sample.
    pub seed: u64,
    /// One entry per blocking rule used for EM.
    pub em_runs: Vec<EmRun>,
    /// Candidate pairs used to estimate the prior.
    pub prior_pairs: u64,
    /// Records the model was trained on.
    pub records: u64,
    /// When training finished (RFC 3339).
    pub trained_at: String,
}

/// One EM run over the pairs of one blocking rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EmRun {
    /// Blocking rule whose pairs were used.
    pub blocking_rule: String,
    /// Fields left out because the rule forces them to agree.
    pub fields_fixed: Vec<String>,
    /// Pairs used.
    pub pairs: u64,
    /// Distinct comparison vectors among them.
    pub distinct_patterns: u64,
    /// Iterations run.
    pub iterations: u64,
    /// Largest parameter change in the last iteration.
    pub final_delta: f64,
    /// Whether the change fell below the tolerance.
    pub converged: bool,
    /// Estimated share of matches among the rule's pairs.
    pub match_share: f64,
}

/// Every trained parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    /// Tool version that trained the model.
    pub golden_version: String,
    /// Probability that two random records are the same customer.
    pub prior: f64,
    /// One entry per comparison, in pipeline order.
    pub comparisons: Vec<ComparisonParams>,
    /// How the parameters were obtained.
    pub history: TrainingHistory,
}

impl ModelParams {
    /// Prior match weight, log2(prior / (1 - prior)).
    pub fn prior_weight(&self) -> f64 {
        (self.prior / (1.0 - self.prior)).log2()
    }

    /// Writes `model.json`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("model serialisation: {e}")))?;
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    /// Reads a `model.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("not a golden model file: {e}; retrain with `golden train`"),
        })
    }
}
