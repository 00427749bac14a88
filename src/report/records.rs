//! The compared values of the records the report shows, from `records.parquet` (one row per
//! input record: `source`, `source_id`, per field its display value `<field>` and match key
//! `<field>__match`). Runs written before golden kept that table show no values.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use arrow::array::Array;
use rayon::prelude::*;

use super::read::{TableRead, text};
use crate::Result;
use crate::schema::{MATCH_SUFFIX, SOURCE, SOURCE_ID};

/// A record by source and source id.
pub type RecordKey = (String, String);

/// The display values of some records, field by field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordValues {
    /// The fields, in the table's column order.
    pub fields: Vec<String>,
    /// Per record, its display value of each field (`None` where missing).
    pub values: HashMap<RecordKey, Vec<Option<String>>>,
}

impl RecordValues {
    /// The value of `field` of record `key`, if kept and set.
    pub fn get(&self, key: &RecordKey, field: &str) -> Option<&str> {
        let f = self.fields.iter().position(|x| x == field)?;
        self.values.get(key)?.get(f)?.as_deref()
    }
}

/// The values of the records `wanted` from `dir/records.parquet`; `None` when the run has no
/// such table. Fields are the columns that have a `<field>__match` partner.
pub fn read_values(dir: &Path, wanted: &HashSet<RecordKey>) -> Result<Option<RecordValues>> {
    let path = dir.join(crate::run::Table::Records.file_name());
    if !path.is_file() {
        return Ok(None);
    }
    let names = crate::run::column_names(&path)?;
    let fields: Vec<String> = names
        .iter()
        .filter(|n| !n.ends_with(MATCH_SUFFIX))
        .filter(|n| names.iter().any(|m| **m == format!("{n}{MATCH_SUFFIX}")))
        .cloned()
        .collect();
    // The keys first; then the display values of the wanted rows only (a few hundred of
    // millions at scale: the others are skipped, not decoded).
    let keys = TableRead::file(&path, Some(&[SOURCE, SOURCE_ID]))?;
    let (sources, ids) = (keys.strings(SOURCE)?, keys.strings(SOURCE_ID)?);
    let wanted: foldhash::HashSet<(&str, &str)> = wanted
        .iter()
        .map(|(s, i)| (s.as_str(), i.as_str()))
        .collect();
    let rows: Vec<usize> = (0..keys.rows())
        .into_par_iter()
        .filter(|&i| wanted.contains(&(text(&sources, i), text(&ids, i))))
        .collect();
    let columns: Vec<&str> = fields.iter().map(String::as_str).collect();
    let table = TableRead {
        batch: crate::run::read_rows(&path, &columns, &rows)?,
        path: path.clone(),
    };
    let columns = fields
        .iter()
        .map(|f| table.strings(f))
        .collect::<Result<Vec<_>>>()?;
    let mut values = HashMap::new();
    for (i, &r) in rows.iter().enumerate() {
        let row = columns
            .iter()
            .map(|c| (!c.is_null(i)).then(|| c.value(i).to_string()))
            .collect();
        let key = (text(&sources, r).to_string(), text(&ids, r).to_string());
        values.insert(key, row);
    }
    Ok(Some(RecordValues { fields, values }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, RecordBatch, StringArray};
    use std::sync::Arc;

    #[test]
    fn reads_the_wanted_records_display_values_from_a_records_table() {
        let dir = tempfile::tempdir().unwrap();
        let s = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
        let batch = RecordBatch::try_from_iter([
            ("source", s(vec![Some("crm"), Some("crm"), Some("billing")])),
            ("source_id", s(vec![Some("1"), Some("2"), Some("1")])),
            ("email", s(vec![Some("A@x.com"), None, Some("b@y.org")])),
            ("phone", s(vec![None, Some("+441"), Some("+442")])),
            (
                "email__match",
                s(vec![Some("a@x.com"), None, Some("b@y.org")]),
            ),
            ("phone__match", s(vec![None, Some("+441"), Some("+442")])),
        ])
        .unwrap();
        let none = read_values(dir.path(), &HashSet::new()).unwrap();
        assert_eq!(none, None, "a run without records.parquet keeps no values");
        crate::run::write_parquet(
            &dir.path().join(crate::run::Table::Records.file_name()),
            &batch,
        )
        .unwrap();
        let key = |s: &str, i: &str| (s.to_string(), i.to_string());
        let wanted: HashSet<RecordKey> =
            [key("crm", "1"), key("billing", "1"), key("x", "9")].into();
        let got = read_values(dir.path(), &wanted).unwrap().unwrap();
        let want = RecordValues {
            fields: vec!["email".into(), "phone".into()],
            values: [
                (key("crm", "1"), vec![Some("A@x.com".into()), None]),
                (
                    key("billing", "1"),
                    vec![Some("b@y.org".into()), Some("+442".into())],
                ),
            ]
            .into(),
        };
        assert_eq!(got, want);
        assert_eq!(got.get(&key("crm", "1"), "email"), Some("A@x.com"));
        assert_eq!(got.get(&key("crm", "1"), "phone"), None);
    }
}
