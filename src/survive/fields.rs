//! Per-field rule application: the value of one field that survives in one cluster.

use arrow::array::{Array, RecordBatch, StringArray};

use super::records::{Records, text_column};
use super::rules::{self, Candidate};
use crate::Result;
use crate::config::{Pipeline, Rule};
use crate::schema;

/// One field's values, match keys and survivorship rule.
pub struct FieldPlan<'b> {
    values: &'b StringArray,
    /// The field's match key: a value shown but with a null match key is a placeholder
    /// (`standardize::placeholder`); it survives only when no member of the cluster has a real
    /// value.
    keys: Option<&'b StringArray>,
    /// The field's survivorship rule.
    pub rule: Rule,
}

impl<'b> FieldPlan<'b> {
    /// The plan of each of `fields` over `batch`.
    pub fn all(
        batch: &'b RecordBatch,
        pipeline: &Pipeline,
        fields: &[String],
    ) -> Result<Vec<Self>> {
        fields
            .iter()
            .map(|f| {
                Ok(FieldPlan {
                    values: text_column(batch, f)?,
                    keys: text_column(batch, &schema::match_column(f)).ok(),
                    rule: pipeline.survivorship.rule_for(f),
                })
            })
            .collect()
    }

    /// The member of `members` whose value survives; `by_recency` holds the same members most
    /// recent first, `cands` is scratch space.
    pub fn pick(
        &self,
        records: &Records<'b>,
        members: &[u32],
        by_recency: &[u32],
        cands: &mut Vec<Candidate<'b>>,
    ) -> Option<Candidate<'b>> {
        let values = self.values;
        let real = |r: u32| self.keys.is_none_or(|k| k.is_valid(r as usize));
        let has_real = members
            .iter()
            .any(|&r| values.is_valid(r as usize) && real(r));
        let usable = |r: u32| values.is_valid(r as usize) && (real(r) || !has_real);
        if self.rule == Rule::MostRecent {
            // The first member in recency order that has a value: what `pick` would choose
            // among them (it takes the first of equal candidates too).
            return by_recency
                .iter()
                .find(|&&r| usable(r))
                .map(|&r| records.candidate(r, values.value(r as usize)));
        }
        cands.clear();
        cands.extend(
            members
                .iter()
                .filter(|&&r| usable(r))
                .map(|&r| records.candidate(r, values.value(r as usize))),
        );
        rules::pick(self.rule, cands)
    }
}
