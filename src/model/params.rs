//! Trained Fellegi–Sunter parameters, as written to and read from `model.json`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::labels::LabelReport;
use super::threshold::ChosenThresholds;
use crate::config::raw::{DEFAULT_MATCH_THRESHOLD, DEFAULT_REVIEW_THRESHOLD};
use crate::config::{ComparisonConfig, Method, ModelConfig, Pipeline};
use crate::{Error, Result};

/// m and u per level of one comparison; index = level (0 = else … top = exact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub m_estimated_from: Vec<String>,
    /// P(level | same household, different person), per level; empty without a household class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub h: Vec<f64>,
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

    /// log2 of h / u at `level` (how much likelier a household pair is than two strangers);
    /// 0 for the null level and without a household class.
    #[inline]
    pub fn household_weight(&self, level: i8) -> f64 {
        if level < 0 || self.h.is_empty() {
            return 0.0;
        }
        let l = level as usize;
        (self.h[l].max(MIN_PROBABILITY) / self.u[l].max(MIN_PROBABILITY)).log2()
    }
}

/// Smallest probability used in a weight, so no level has an infinite weight.
pub const MIN_PROBABILITY: f64 = 1e-6;

/// How the parameters were obtained: enough for an auditor to judge them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
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
#[serde(deny_unknown_fields, default)]
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
    /// Estimated share of household pairs among them, when the run had a household class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household_share: Option<f64>,
    /// True when the run found no match class (its "matches" disagreed on most fields) and
    /// its estimates were left out of the model.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub left_out: bool,
}

/// Every trained parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelParams {
    /// Tool version that trained the model.
    #[serde(default)]
    pub golden_version: String,
    /// Probability that two random records are the same customer.
    pub prior: f64,
    /// One entry per comparison, in pipeline order.
    pub comparisons: Vec<ComparisonParams>,
    /// Per group of fields compared together (an address), the share of matches whose group
    /// differs: the person moved (the group's fields' m is then that of people who did not).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub moved: BTreeMap<String, f64>,
    /// The "same household, different person" class, when the pipeline compares both person
    /// and household fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household: Option<HouseholdParams>,
    /// What the manual decisions, read as labels, said about the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelReport>,
    /// Thresholds chosen from the fitted model, used where the pipeline sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<ChosenThresholds>,
    /// How the parameters were obtained.
    #[serde(default)]
    pub history: TrainingHistory,
}

/// The household class: its prior and how its person fields were tied to m and u.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdParams {
    /// Probability that two random records are different people of one household.
    pub prior: f64,
    /// Per compared field that identifies a person, the share of household pairs that agree
    /// on it as one person would (twins on a birth date, juniors on a given name), by EM.
    pub person_agreement: BTreeMap<String, f64>,
    /// Per household group (`address`, or a field such as `last_name`, `phone`, `email`), the
    /// share of household pairs that share it, by EM.
    pub shared: BTreeMap<String, f64>,
    /// Expected household pairs among the candidate pairs.
    pub candidate_pairs: f64,
}

impl ModelParams {
    /// Prior match weight, log2(prior / (1 - prior)).
    pub fn prior_weight(&self) -> f64 {
        (self.prior / (1.0 - self.prior - self.household_prior())).log2()
    }

    /// Match and review thresholds: the pipeline's where it sets them, else the model's
    /// chosen ones, else the defaults; review never above match.
    pub fn thresholds_for(&self, cfg: &ModelConfig) -> (f64, f64) {
        let chosen = self.thresholds.as_ref();
        let mt = cfg
            .match_threshold
            .or(chosen.map(|t| t.match_threshold))
            .unwrap_or(DEFAULT_MATCH_THRESHOLD);
        let rt = cfg
            .review_threshold
            .or(chosen.map(|t| t.review_threshold))
            .unwrap_or(DEFAULT_REVIEW_THRESHOLD);
        (mt, rt.min(mt))
    }

    /// Prior of the household class (0 without one).
    pub fn household_prior(&self) -> f64 {
        self.household.as_ref().map_or(0.0, |h| h.prior)
    }

    /// log2 of the household class's prior odds against two strangers, when there is one.
    pub fn household_prior_weight(&self) -> Option<f64> {
        let h = self.household.as_ref()?;
        Some((h.prior / (1.0 - self.prior - h.prior)).log2())
    }

    /// The text of `model.json`; the run store writes it (fsynced, like every run file).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("model serialisation: {e}")))
    }

    /// Reads a `model.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("not a golden model file: {e}; retrain with `golden train`"),
        })
    }

    /// Reads the pipeline's `model.model_file` and checks it against the pipeline ([`Self::fit`]);
    /// every problem is an [`Error::Pipeline`] (exit 2) naming the file.
    pub fn load_pinned(path: &Path, p: &Pipeline) -> Result<Self> {
        let refused = |problems: Vec<String>| {
            Error::Pipeline(format!(
                "model file {} (model.model_file of {}) cannot be used:\n  {}\nretrain it with \
                 `golden train {} --out {}`, or remove `model_file` to train in every run",
                path.display(),
                p.path.display(),
                problems.join("\n  "),
                p.path.display(),
                path.display()
            ))
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| refused(vec![format!("cannot be read: {e}")]))?;
        let model: ModelParams = serde_json::from_str(&text)
            .map_err(|e| refused(vec![format!("is not a golden model file (JSON): {e}")]))?;
        model.fit(&p.comparisons).map_err(refused)
    }

    /// This model with its comparisons matched to `comparisons` by field name and put in their
    /// order, or every problem found: a comparison missing, extra or twice, another method,
    /// other thresholds, level arrays of the wrong length, and numbers that are not
    /// probabilities (prior strictly between 0 and 1; m and u in [0, 1], each summing to 1).
    pub fn fit(mut self, comparisons: &[ComparisonConfig]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        if !(self.prior > 0.0 && self.prior < 1.0) {
            problems.push(format!(
                "prior: {} is not a probability strictly between 0 and 1",
                self.prior
            ));
        }
        if let Some(h) = &self.household
            && !(h.prior > 0.0 && self.prior + h.prior < 1.0)
        {
            problems.push(format!(
                "household.prior: {} is not a probability above 0 that leaves room for non-matches",
                h.prior
            ));
        }
        let mut ordered = Vec::with_capacity(comparisons.len());
        for c in comparisons {
            let found: Vec<&ComparisonParams> = self
                .comparisons
                .iter()
                .filter(|cp| cp.field == c.field)
                .collect();
            match found.as_slice() {
                [] => problems.push(format!("comparison `{}`: not in the model", c.field)),
                [cp] => {
                    problems.extend(cp.misfits(c));
                    ordered.push((*cp).clone());
                }
                _ => problems.push(format!(
                    "comparison `{}`: in the model {} times; keep one",
                    c.field,
                    found.len()
                )),
            }
        }
        for cp in &self.comparisons {
            if !comparisons.iter().any(|c| c.field == cp.field) {
                problems.push(format!(
                    "comparison `{}`: in the model but not compared by the pipeline",
                    cp.field
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        self.comparisons = ordered;
        Ok(self)
    }
}

#[cfg(test)]
impl ComparisonParams {
    /// Parameters of one comparison, not estimated from any rule (for tests).
    pub(crate) fn for_test(
        field: &str,
        method: &str,
        thresholds: &[f64],
        m: &[f64],
        u: &[f64],
    ) -> Self {
        ComparisonParams {
            field: field.into(),
            method: method.into(),
            thresholds: thresholds.to_vec(),
            m: m.to_vec(),
            u: u.to_vec(),
            m_estimated_from: Vec::new(),
            h: Vec::new(),
        }
    }
}

/// Largest distance from 1 accepted for the sum of a comparison's m or u.
const SUM_TOLERANCE: f64 = 1e-3;

impl ComparisonParams {
    /// What keeps these parameters from scoring comparison `c`: another method or thresholds,
    /// level arrays of the wrong length, values outside [0, 1] or not summing to 1.
    fn misfits(&self, c: &ComparisonConfig) -> Vec<String> {
        let field = &c.field;
        let method = c.method.as_str();
        let mut out = Vec::new();
        if self.method != method {
            out.push(format!(
                "comparison `{field}`: the model compares it with {}, the pipeline with {method}",
                self.method
            ));
        }
        if self.thresholds != c.levels {
            out.push(format!(
                "comparison `{field}`: the model's thresholds are {:?}, the pipeline's {:?}",
                self.thresholds, c.levels
            ));
        }
        let shape = match c.method {
            Method::Exact | Method::Date => method.to_string(),
            _ => format!("{method} with thresholds {:?}", c.levels),
        };
        let mut arrays = vec![("m", &self.m), ("u", &self.u)];
        if !self.h.is_empty() {
            arrays.push(("h", &self.h));
        }
        for (name, values) in arrays {
            if values.len() != c.level_count() {
                out.push(format!(
                    "comparison `{field}`: {name} has {} level{}; {shape} has {}",
                    values.len(),
                    if values.len() == 1 { "" } else { "s" },
                    c.level_count()
                ));
            }
            let mut valid = true;
            for (l, &v) in values.iter().enumerate() {
                if !(0.0..=1.0).contains(&v) {
                    valid = false;
                    out.push(format!(
                        "comparison `{field}`: {name}[{l}] is {v}, outside [0, 1]"
                    ));
                }
            }
            let sum: f64 = values.iter().sum();
            if valid && (sum - 1.0).abs() > SUM_TOLERANCE {
                out.push(format!(
                    "comparison `{field}`: {name} sums to {}, not 1",
                    (sum * 1e6).round() / 1e6
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: &str, method: Method, levels: &[f64]) -> ComparisonConfig {
        ComparisonConfig {
            field: field.into(),
            method,
            levels: levels.to_vec(),
        }
    }

    use ComparisonParams as P;

    fn model(prior: f64, comparisons: Vec<ComparisonParams>) -> ModelParams {
        ModelParams {
            golden_version: String::new(),
            prior,
            comparisons,
            moved: BTreeMap::new(),
            household: None,
            labels: None,
            thresholds: None,
            history: TrainingHistory::default(),
        }
    }

    fn pipeline() -> Vec<ComparisonConfig> {
        vec![
            cmp("first_name", Method::JaroWinkler, &[0.9]),
            cmp("email", Method::Exact, &[]),
        ]
    }

    #[test]
    fn comparisons_are_matched_by_field_and_put_in_pipeline_order() {
        let email = P::for_test("email", "exact", &[], &[0.3, 0.7], &[0.999, 0.001]);
        let first = P::for_test(
            "first_name",
            "jaro_winkler",
            &[0.9],
            &[0.1, 0.1, 0.8],
            &[0.9, 0.05, 0.05],
        );
        let fitted = model(0.01, vec![email.clone(), first.clone()])
            .fit(&pipeline())
            .unwrap();
        assert_eq!(fitted.comparisons, vec![first, email]);
    }

    #[test]
    fn every_misfit_and_impossible_number_is_listed() {
        let got = model(
            1.0,
            vec![
                P::for_test(
                    "first_name",
                    "jaro",
                    &[0.8],
                    &[0.2, 0.8],
                    &[0.9, 0.05, 0.05],
                ),
                P::for_test("email", "exact", &[], &[-0.3, 1.3], &[0.5, 0.4]),
                P::for_test("phone", "exact", &[], &[0.2, 0.8], &[0.9, 0.1]),
            ],
        )
        .fit(&pipeline())
        .unwrap_err();
        assert_eq!(
            got,
            [
                "prior: 1 is not a probability strictly between 0 and 1",
                "comparison `first_name`: the model compares it with jaro, the pipeline with \
                 jaro_winkler",
                "comparison `first_name`: the model's thresholds are [0.8], the pipeline's [0.9]",
                "comparison `first_name`: m has 2 levels; jaro_winkler with thresholds [0.9] has 3",
                "comparison `email`: m[0] is -0.3, outside [0, 1]",
                "comparison `email`: m[1] is 1.3, outside [0, 1]",
                "comparison `email`: u sums to 0.9, not 1",
                "comparison `phone`: in the model but not compared by the pipeline",
            ]
        );
    }

    #[test]
    fn a_missing_or_doubled_comparison_and_a_nan_are_named() {
        let email = P::for_test("email", "exact", &[], &[f64::NAN, 0.7], &[0.999, 0.001]);
        let got = model(f64::NAN, vec![email.clone(), email])
            .fit(&pipeline())
            .unwrap_err();
        assert_eq!(
            got,
            [
                "prior: NaN is not a probability strictly between 0 and 1",
                "comparison `first_name`: not in the model",
                "comparison `email`: in the model 2 times; keep one",
            ]
        );
    }

    #[test]
    fn unknown_and_missing_keys_are_parse_errors() {
        let ok = r#"{"prior": 0.1, "comparisons": []}"#;
        assert!(serde_json::from_str::<ModelParams>(ok).is_ok());
        let unknown = r#"{"prior": 0.1, "priors": 0.2, "comparisons": []}"#;
        let e = serde_json::from_str::<ModelParams>(unknown).unwrap_err();
        assert!(e.to_string().contains("unknown field `priors`"), "{e}");
        let missing = r#"{"comparisons": []}"#;
        let e = serde_json::from_str::<ModelParams>(missing).unwrap_err();
        assert!(e.to_string().contains("missing field `prior`"), "{e}");
    }
}
