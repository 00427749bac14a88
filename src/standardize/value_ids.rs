//! Match values interned to dense ids, once per column: blocking groups records by a field's
//! ids and comparison compares through them, so a field that is both a blocking key and a
//! comparison is hashed value by value once, not once per use.

use std::collections::HashMap;

use arrow::array::{AsArray, RecordBatch, StringArray};
use rayon::prelude::*;

use crate::schema::match_column;
use crate::{Error, Result};

/// Id of a missing (null or empty) value.
pub const NO_VALUE: u32 = u32::MAX;

/// The match column (`__match` values) of `field` in `batch`: an internal error names the field
/// and column when the batch lacks it or holds it as other than text.
pub fn match_values<'a>(batch: &'a RecordBatch, field: &str) -> Result<&'a StringArray> {
    let name = match_column(field);
    batch
        .column_by_name(&name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| Error::Internal(format!("field `{field}` has no text column {name}")))
}

/// One column's values as ids: equal non-empty values share an id, numbered in first-seen
/// row order.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueIds<'a> {
    /// Each row's id ([`NO_VALUE`] for a null or empty value).
    pub ids: Vec<u32>,
    /// The value of each id.
    pub distinct: Vec<&'a str>,
}

impl<'a> ValueIds<'a> {
    /// Interns `values`.
    pub fn of(values: &'a StringArray) -> Self {
        Self::interned(values, false)
    }

    /// Interns `values`, the empty string as a value of its own (only nulls are
    /// [`NO_VALUE`]).
    pub fn with_empty(values: &'a StringArray) -> Self {
        Self::interned(values, true)
    }

    /// Interns `values`; an empty one is [`NO_VALUE`] unless `keep_empty`.
    fn interned(values: &'a StringArray, keep_empty: bool) -> Self {
        let mut index: foldhash::HashMap<&str, u32> = Default::default();
        let mut distinct = Vec::new();
        let ids = values
            .iter()
            .map(|v| match v {
                Some(s) if keep_empty || !s.is_empty() => *index.entry(s).or_insert_with(|| {
                    distinct.push(s);
                    (distinct.len() - 1) as u32
                }),
                _ => NO_VALUE,
            })
            .collect();
        ValueIds { ids, distinct }
    }
}

/// The [`ValueIds`] of some fields' match columns of one batch, by field name.
#[derive(Debug, Default)]
pub struct MatchIds<'a> {
    by_field: HashMap<String, ValueIds<'a>>,
}

impl<'a> MatchIds<'a> {
    /// Interns the match column of each of `fields` (each once, in parallel).
    pub fn of(batch: &'a RecordBatch, fields: &[&str]) -> Result<Self> {
        let mut wanted: Vec<&str> = fields.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let columns = wanted
            .iter()
            .map(|&field| Ok((field.to_string(), match_values(batch, field)?)))
            .collect::<Result<Vec<_>>>()?;
        let by_field = columns
            .into_par_iter()
            .map(|(field, values)| (field, ValueIds::of(values)))
            .collect();
        Ok(MatchIds { by_field })
    }

    /// The ids of `field`, if interned.
    pub fn get(&self, field: &str) -> Option<&ValueIds<'a>> {
        self.by_field.get(field)
    }

    /// Moves the ids of `field` out, if interned.
    pub fn take(&mut self, field: &str) -> Option<ValueIds<'a>> {
        self.by_field.remove(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn equal_values_share_ids_in_first_seen_order_and_missing_ones_have_none() {
        let values = StringArray::from(vec![Some("b"), None, Some("a"), Some(""), Some("b")]);
        let ids = ValueIds::of(&values);
        assert_eq!(ids.ids, vec![0, NO_VALUE, 1, NO_VALUE, 0]);
        assert_eq!(ids.distinct, vec!["b", "a"]);
        let with_empty = ValueIds::with_empty(&values);
        assert_eq!(with_empty.ids, vec![0, NO_VALUE, 1, 2, 0]);
        assert_eq!(with_empty.distinct, vec!["b", "a", ""]);
    }

    #[test]
    fn match_ids_intern_each_named_field_once_and_name_a_missing_column() {
        let col = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as arrow::array::ArrayRef;
        let batch = RecordBatch::try_from_iter([
            (match_column("email"), col(vec![Some("x"), Some("x")])),
            (match_column("phone"), col(vec![None, Some("1")])),
        ])
        .expect("batch");
        let mut ids = MatchIds::of(&batch, &["phone", "email", "phone"]).expect("ids");
        assert_eq!(ids.get("email").map(|v| v.ids.clone()), Some(vec![0, 0]));
        assert_eq!(ids.take("phone").map(|v| v.ids), Some(vec![NO_VALUE, 0]));
        assert!(ids.get("phone").is_none(), "taken");
        let err = MatchIds::of(&batch, &["city"]).expect_err("no city column");
        assert!(err.to_string().contains("city"), "{err}");
    }
}
