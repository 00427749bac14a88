//! `[model]`: thresholds, conflict rule, term frequencies, EM settings and a pinned model file.

use super::super::ModelConfig;
use super::super::raw;
use super::Checker;

impl Checker<'_> {
    /// `[model]`, defaults filled in.
    pub(super) fn check_model(
        &mut self,
        raw: Option<&raw::RawModel>,
        compared: &[String],
    ) -> ModelConfig {
        let mut m = ModelConfig {
            match_threshold: None,
            review_threshold: None,
            term_frequency: Vec::new(),
            u_sample_pairs: raw::DEFAULT_U_SAMPLE_PAIRS,
            em_max_iterations: raw::DEFAULT_EM_MAX_ITERATIONS,
            em_tolerance: raw::DEFAULT_EM_TOLERANCE,
            seed: raw::DEFAULT_SEED,
            model_file: None,
            conflict_field: None,
            conflict_unless_exact: vec!["email".to_string()],
        };
        let Some(raw) = raw else { return m };

        self.model_conflict(raw, compared, &mut m);
        self.model_thresholds(raw, &mut m);
        self.model_term_frequency(raw, compared, &mut m);
        self.model_em(raw, &mut m);
        if let Some(s) = &raw.seed {
            match u64::try_from(*s.get_ref()) {
                Ok(n) => m.seed = n,
                Err(_) => self.err(
                    s.span(),
                    "model.seed",
                    format!("must be a non-negative integer, got {}", s.get_ref()),
                ),
            }
        }
        m.model_file = raw
            .model_file
            .as_ref()
            .map(|p| self.existing_file(p, "model.model_file"));
        m
    }

    /// `conflict_field` and `conflict_unless_exact`: compared fields.
    fn model_conflict(&mut self, raw: &raw::RawModel, compared: &[String], m: &mut ModelConfig) {
        if let Some(f) = &raw.conflict_field {
            let name = f.get_ref().trim();
            m.conflict_field = (!name.is_empty()).then(|| name.to_string());
            if !name.is_empty() && !compared.iter().any(|c| c == name) {
                self.err(
                    f.span(),
                    "model.conflict_field",
                    format!("`{name}` is not compared; name a compared field ({}) or \"\" to turn the rule off", compared.join(", ")),
                );
            }
        }
        if let Some(list) = &raw.conflict_unless_exact {
            m.conflict_unless_exact.clear();
            for (j, f) in list.iter().enumerate() {
                if !compared.contains(f.get_ref()) {
                    self.err(
                        f.span(),
                        format!("model.conflict_unless_exact[{j}]"),
                        format!(
                            "`{}` is not compared; name compared fields: {}",
                            f.get_ref(),
                            compared.join(", ")
                        ),
                    );
                }
                m.conflict_unless_exact.push(f.get_ref().clone());
            }
        }
    }

    /// `match_threshold` and `review_threshold`: probabilities, review at or below match.
    fn model_thresholds(&mut self, raw: &raw::RawModel, m: &mut ModelConfig) {
        let mut thresholds_ok = true;
        for (t, name, default, slot) in [
            (
                &raw.match_threshold,
                "match_threshold",
                raw::DEFAULT_MATCH_THRESHOLD,
                &mut m.match_threshold,
            ),
            (
                &raw.review_threshold,
                "review_threshold",
                raw::DEFAULT_REVIEW_THRESHOLD,
                &mut m.review_threshold,
            ),
        ] {
            if let Some(t) = t {
                let v = *t.get_ref();
                *slot = Some(v);
                if !(v > 0.0 && v < 1.0) {
                    thresholds_ok = false;
                    self.err(
                        t.span(),
                        format!("model.{name}"),
                        format!("{v} is outside (0, 1); use a probability such as {default}"),
                    );
                }
            }
        }
        if let (true, Some(review), Some(matched), Some(t)) = (
            thresholds_ok,
            m.review_threshold,
            m.match_threshold,
            &raw.review_threshold,
        ) && review > matched
        {
            self.err(
                t.span(),
                "model.review_threshold",
                format!(
                    "review_threshold {review} is above match_threshold {matched}; set \
                     review_threshold at or below match_threshold"
                ),
            );
        }
    }

    /// `term_frequency`: compared fields.
    fn model_term_frequency(
        &mut self,
        raw: &raw::RawModel,
        compared: &[String],
        m: &mut ModelConfig,
    ) {
        for (j, f) in raw.term_frequency.iter().flatten().enumerate() {
            if !compared.contains(f.get_ref()) {
                self.err(
                    f.span(),
                    format!("model.term_frequency[{j}]"),
                    format!(
                        "`{}` is not compared; term-frequency adjustment applies to compared \
                         fields: {}",
                        f.get_ref(),
                        compared.join(", ")
                    ),
                );
            }
            m.term_frequency.push(f.get_ref().clone());
        }
    }

    /// `u_sample_pairs`, `em_max_iterations` and `em_tolerance`, each within its bounds.
    fn model_em(&mut self, raw: &raw::RawModel, m: &mut ModelConfig) {
        if let Some(u) = &raw.u_sample_pairs {
            match usize::try_from(*u.get_ref()) {
                Ok(n) if n >= raw::MIN_U_SAMPLE_PAIRS => m.u_sample_pairs = n,
                _ => self.err(
                    u.span(),
                    "model.u_sample_pairs",
                    format!(
                        "{} is too few; sample at least {} pairs (default {})",
                        u.get_ref(),
                        raw::MIN_U_SAMPLE_PAIRS,
                        raw::DEFAULT_U_SAMPLE_PAIRS
                    ),
                ),
            }
        }
        if let Some(it) = &raw.em_max_iterations {
            match usize::try_from(*it.get_ref()) {
                Ok(n) if (1..=raw::MAX_EM_ITERATIONS).contains(&n) => m.em_max_iterations = n,
                Ok(n) if n > raw::MAX_EM_ITERATIONS => self.err(
                    it.span(),
                    "model.em_max_iterations",
                    format!(
                        "must be at most {}, got {n} (default {}); EM converges in far fewer \
                         iterations, raise em_tolerance instead",
                        raw::MAX_EM_ITERATIONS,
                        raw::DEFAULT_EM_MAX_ITERATIONS
                    ),
                ),
                _ => self.err(
                    it.span(),
                    "model.em_max_iterations",
                    format!(
                        "must be at least 1, got {} (default {})",
                        it.get_ref(),
                        raw::DEFAULT_EM_MAX_ITERATIONS
                    ),
                ),
            }
        }
        if let Some(t) = &raw.em_tolerance {
            m.em_tolerance = *t.get_ref();
            if !(m.em_tolerance > 0.0 && m.em_tolerance.is_finite()) {
                self.err(
                    t.span(),
                    "model.em_tolerance",
                    format!(
                        "must be a finite number greater than 0, got {} (default {})",
                        m.em_tolerance,
                        raw::DEFAULT_EM_TOLERANCE
                    ),
                );
            }
        }
    }
}
