//! `[survivorship]`: the default rule, per-field rules and the order of sources.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::super::raw::{self, OrderedTable};
use super::super::{Rule, SurvivorshipConfig};
use super::{Checker, join_key, unmapped};

/// Where the rule `source_priority` is first used (span and key), for the "list the sources"
/// check.
type PriorityUse = Option<(Range<usize>, String)>;

impl Checker<'_> {
    /// `[survivorship]`: known rules on mapped fields, and an order of known sources when a
    /// rule needs one.
    pub(super) fn check_survivorship(
        &mut self,
        raw: Option<&raw::RawSurvivorship>,
        sources: &[String],
        mapped: &[String],
    ) -> SurvivorshipConfig {
        let mut s = SurvivorshipConfig {
            default: Rule::parse(raw::DEFAULT_SURVIVORSHIP_RULE).unwrap_or(Rule::MostRecent),
            source_priority: Vec::new(),
            fields: BTreeMap::new(),
        };
        let Some(raw) = raw else { return s };
        let mut priority_used: PriorityUse = None;
        if let Some(d) = &raw.default
            && let Some(r) = self.rule(d, "survivorship.default".to_string(), &mut priority_used)
        {
            s.default = r;
        }
        for (field, v) in raw.fields.iter().flat_map(|t: &OrderedTable<_>| t.0.iter()) {
            let key = join_key("survivorship.fields", field.get_ref());
            if !mapped.contains(field.get_ref()) {
                self.err(field.span(), key.clone(), unmapped(field.get_ref(), mapped));
            }
            if let Some(r) = self.rule(v, key, &mut priority_used) {
                s.fields.insert(field.get_ref().clone(), r);
            }
        }
        s.source_priority = self.source_priority(raw, sources, priority_used);
        s
    }

    /// Rule `v` (at `key`), reporting an unknown name and noting where `source_priority` is
    /// first used.
    fn rule(
        &mut self,
        v: &Spanned<String>,
        key: String,
        priority_used: &mut PriorityUse,
    ) -> Option<Rule> {
        let parsed = Rule::parse(v.get_ref());
        match parsed {
            None => self.err(
                v.span(),
                key,
                format!(
                    "unknown rule `{}`; expected one of {}",
                    v.get_ref(),
                    Rule::NAMES.join(", ")
                ),
            ),
            Some(Rule::SourcePriority) if priority_used.is_none() => {
                *priority_used = Some((v.span(), key));
            }
            Some(_) => {}
        }
        parsed
    }

    /// `source_priority`: known sources, present when the rule `source_priority` is used.
    fn source_priority(
        &mut self,
        raw: &raw::RawSurvivorship,
        sources: &[String],
        priority_used: PriorityUse,
    ) -> Vec<String> {
        let mut order = Vec::new();
        for (j, p) in raw
            .source_priority
            .iter()
            .flat_map(|p| p.get_ref().iter())
            .enumerate()
        {
            if !sources.contains(p.get_ref()) {
                self.err(
                    p.span(),
                    format!("survivorship.source_priority[{j}]"),
                    format!(
                        "unknown source `{}`; sources: {}",
                        p.get_ref(),
                        sources.join(", ")
                    ),
                );
            }
            order.push(p.get_ref().clone());
        }
        if order.is_empty()
            && let Some((span, key)) = priority_used
        {
            let listed: Vec<String> = sources.iter().map(|n| format!("{n:?}")).collect();
            self.err(
                span,
                key,
                format!(
                    "rule `source_priority` needs an order of sources; add source_priority = [{}] \
                     to [survivorship], most trusted first",
                    listed.join(", ")
                ),
            );
        }
        order
    }
}
