//! The source profile (the diagnostic assessment before consolidation): per source and field,
//! how many records carry a value, how many standardised cleanly, and how many distinct match
//! keys they hold. Counts only, never values; one pass per column.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use foldhash::HashSet;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::schema::match_column;

/// Counts of one field of one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProfile {
    /// Records with a non-empty raw value.
    pub present: u64,
    /// Records whose standardised display value is set (the value standardised cleanly).
    pub clean: u64,
    /// Distinct match keys.
    pub distinct: u64,
}

/// Per source, per field, its [`FieldProfile`] (the manifest's `profile`).
pub type Profile = BTreeMap<String, BTreeMap<String, FieldProfile>>;

/// The profile of one source: `raw` as ingested, `cleaned` as [`super::standardize`] returned
/// it; fields the source lacks count zero raw values. Fields run in parallel.
pub fn profile(
    raw: &RecordBatch,
    cleaned: &RecordBatch,
    fields: &[String],
) -> BTreeMap<String, FieldProfile> {
    fields
        .par_iter()
        .map(|field| {
            let present = raw
                .column_by_name(field)
                .map_or(0, |c| non_empty(c.as_ref()));
            let clean = cleaned
                .column_by_name(field)
                .map_or(0, |c| (c.len() - c.null_count()) as u64);
            let distinct = cleaned
                .column_by_name(&match_column(field))
                .and_then(|c| c.as_string_opt::<i32>())
                .map_or(0, distinct_keys);
            let counts = FieldProfile {
                present,
                clean,
                distinct,
            };
            (field.clone(), counts)
        })
        .collect()
}

/// Values of `column` that are set and, as text, not blank.
fn non_empty(column: &dyn Array) -> u64 {
    match column.as_string_opt::<i32>() {
        Some(s) => s.iter().flatten().filter(|v| !v.trim().is_empty()).count() as u64,
        None => (column.len() - column.null_count()) as u64,
    }
}

/// Distinct non-null values of `keys`.
fn distinct_keys(keys: &StringArray) -> u64 {
    let mut seen: HashSet<&str> = HashSet::default();
    seen.extend(keys.iter().flatten());
    seen.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_present_clean_and_distinct_per_field() {
        let s = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as arrow::array::ArrayRef;
        let raw = RecordBatch::try_from_iter([(
            "email",
            s(vec![
                Some("A@x.com"),
                Some(" "),
                Some("bad"),
                None,
                Some("a@X.com"),
            ]),
        )])
        .unwrap();
        let cleaned = RecordBatch::try_from_iter([
            (
                "email",
                s(vec![Some("a@x.com"), None, None, None, Some("a@x.com")]),
            ),
            (
                "email__match",
                s(vec![Some("a@x.com"), None, None, None, Some("a@x.com")]),
            ),
            ("phone", s(vec![None; 5])),
            ("phone__match", s(vec![None; 5])),
        ])
        .unwrap();
        let fields = ["email".to_string(), "phone".to_string()];
        let p = profile(&raw, &cleaned, &fields);
        assert_eq!(
            p["email"],
            FieldProfile {
                present: 3,
                clean: 2,
                distinct: 1
            }
        );
        assert_eq!(p["phone"], FieldProfile::default());
    }
}
