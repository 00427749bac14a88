//! `[[comparisons]]`: compared fields, their methods and similarity levels.

use toml::Spanned;

use super::super::raw;
use super::super::{ComparisonConfig, Method};
use super::{Checker, unmapped};

impl Checker<'_> {
    /// Every `[[comparisons]]` table: a mapped field compared once, a known method, its levels.
    pub(super) fn check_comparisons(
        &mut self,
        raw: &Spanned<Vec<raw::RawComparison>>,
        mapped: &[String],
    ) -> Vec<ComparisonConfig> {
        if raw.get_ref().is_empty() {
            self.err(
                raw.span(),
                "comparisons",
                "no comparisons; add at least one [[comparisons]] table",
            );
        }
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut out = Vec::new();
        for (i, c) in raw.get_ref().iter().enumerate() {
            let key = format!("comparisons[{i}]");
            let field = c.field.get_ref().as_str();
            self.comparison_field(c, &key, mapped, &mut seen);
            let method = Method::parse(c.method.get_ref());
            if method.is_none() {
                self.err(
                    c.method.span(),
                    format!("{key}.method"),
                    format!(
                        "unknown method `{}`; expected one of {}",
                        c.method.get_ref(),
                        Method::NAMES.join(", ")
                    ),
                );
            }
            let levels = self.check_levels(c, method, &key);
            out.push(ComparisonConfig {
                field: field.to_string(),
                method: method.unwrap_or(Method::Exact),
                levels,
            });
        }
        out
    }

    /// Reports a compared field that is not mapped, compared twice (`seen`: each field with
    /// its line), or that would name a decisions column twice.
    fn comparison_field<'r>(
        &mut self,
        c: &'r raw::RawComparison,
        key: &str,
        mapped: &[String],
        seen: &mut Vec<(&'r str, usize)>,
    ) {
        let field = c.field.get_ref().as_str();
        if !mapped.iter().any(|m| m == field) {
            self.err(
                c.field.span(),
                format!("{key}.field"),
                unmapped(field, mapped),
            );
        }
        if let Some(line) = self.seen_before(seen, field, &c.field.span()) {
            self.err(
                c.field.span(),
                format!("{key}.field"),
                format!("`{field}` is already compared (line {line}); compare each field once"),
            );
        }
        if let Some(column) = crate::schema::DECISION_FIELD_SUFFIXES
            .iter()
            .map(|suffix| format!("{field}{suffix}"))
            .find(|col| crate::schema::DECISION_COLUMNS.contains(&col.as_str()))
        {
            self.err(
                c.field.span(),
                format!("{key}.field"),
                format!(
                    "a compared field named `{field}` makes decisions.parquet's column \
                     `{column}` twice; rename the field"
                ),
            );
        }
    }

    /// The similarity thresholds of comparison `c` (`key`), reporting levels given to a method
    /// that takes none, and levels outside (0, 1) or not strictly decreasing.
    fn check_levels(
        &mut self,
        c: &raw::RawComparison,
        method: Option<Method>,
        key: &str,
    ) -> Vec<f64> {
        let lkey = format!("{key}.levels");
        let Some(method) = method else {
            return Vec::new();
        };
        let Some(levels) = &c.levels else {
            return match method {
                Method::Exact | Method::Date => Vec::new(),
                _ => raw::DEFAULT_STRING_LEVELS.to_vec(),
            };
        };
        if matches!(method, Method::Exact | Method::Date) {
            if !levels.get_ref().is_empty() {
                self.err(
                    levels.span(),
                    lkey,
                    format!("`{}` takes no levels; remove `levels`", method.as_str()),
                );
            }
            return Vec::new();
        }
        let mut prev: Option<f64> = None;
        for (j, l) in levels.get_ref().iter().enumerate() {
            let v = *l.get_ref();
            if !(v > 0.0 && v < 1.0) {
                self.err(
                    l.span(),
                    format!("{lkey}[{j}]"),
                    format!("{v} is outside (0, 1); levels are similarity thresholds such as 0.92"),
                );
            } else if let Some(p) = prev
                && v >= p
            {
                self.err(
                    l.span(),
                    format!("{lkey}[{j}]"),
                    format!("{v} is not below {p}; list levels strictly decreasing, best first"),
                );
            }
            prev = Some(v);
        }
        levels.get_ref().iter().map(|l| *l.get_ref()).collect()
    }
}
