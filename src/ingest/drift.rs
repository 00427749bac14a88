//! Schema drift: a column that a source's expressions use and that has disappeared or changed
//! type since the last run fails the run before anything is written, naming source, file and
//! column (an export whose layout changed silently is the classic nightly-job failure).

use std::collections::BTreeMap;

use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use super::source::{FILE_COL, ROW_COL};
use crate::config::SourceConfig;
use crate::{Error, Result};

/// One column of a source as read: its name and Arrow type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnType {
    /// Column name.
    pub name: String,
    /// Arrow data type, as text (`Utf8`, `Int64`, …).
    pub data_type: String,
}

/// Columns of every source, as recorded in `manifest.json`.
pub type SourceColumns = BTreeMap<String, Vec<ColumnType>>;

/// The source columns of a raw table (without golden's own row and file columns).
pub fn columns_of(batch: &RecordBatch) -> Vec<ColumnType> {
    batch
        .schema()
        .fields()
        .iter()
        .filter(|f| f.name() != ROW_COL && f.name() != FILE_COL)
        .map(|f| ColumnType {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
        })
        .collect()
}

/// Fails when a column `src` uses was in `previous` but is now missing or of another type.
pub fn check(src: &SourceConfig, previous: &[ColumnType], now: &[ColumnType]) -> Result<()> {
    let used = super::mapping::used_columns(src);
    let file = src.files.first().cloned().unwrap_or_default();
    for old in previous.iter().filter(|c| used.contains(&c.name)) {
        let message = match now.iter().find(|c| c.name == old.name) {
            None => format!(
                "source `{}`: column `{}` used by the pipeline was in the last run but is missing now; \
                 fix the export, or map the field to the column's new name",
                src.name, old.name
            ),
            Some(c) if c.data_type != old.data_type => format!(
                "source `{}`: column `{}` changed type from {} in the last run to {}; fix the export, \
                 or cast it in the field's expression",
                src.name, old.name, old.data_type, c.data_type
            ),
            Some(_) => continue,
        };
        return Err(Error::Input {
            path: file,
            message,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Format;

    fn col(n: &str, t: &str) -> ColumnType {
        ColumnType {
            name: n.into(),
            data_type: t.into(),
        }
    }

    fn source() -> SourceConfig {
        SourceConfig {
            name: "billing".into(),
            pattern: "b.parquet".into(),
            files: vec!["b.parquet".into()],
            format: Format::Parquet,
            id: "account_no".into(),
            updated_at: None,
            fields: vec![("postcode".into(), "upper(\"Zip Code\")".into())],
            max_reject_ratio: 0.01,
            delimiter: b',',
            positions: BTreeMap::new(),
        }
    }

    #[test]
    fn missing_or_retyped_used_columns_fail_unused_ones_do_not() {
        let prev = vec![
            col("account_no", "Utf8"),
            col("Zip Code", "Utf8"),
            col("notes", "Utf8"),
        ];
        assert!(
            check(
                &source(),
                &prev,
                &[col("account_no", "Utf8"), col("Zip Code", "Utf8")]
            )
            .is_ok(),
            "unused column may go"
        );
        let e = check(&source(), &prev, &[col("account_no", "Utf8")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "b.parquet: source `billing`: column `Zip Code` used by the pipeline was in the last run but is missing now; \
             fix the export, or map the field to the column's new name"
        );
        let e = check(
            &source(),
            &prev,
            &[col("account_no", "Int64"), col("Zip Code", "Utf8")],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "b.parquet: source `billing`: column `account_no` changed type from Utf8 in the last run to Int64; fix the export, \
             or cast it in the field's expression"
        );
    }

    #[test]
    fn a_quoted_column_with_punctuation_is_checked_too() {
        let mut src = source();
        src.fields = vec![("email".into(), "lower(\"e-mail\")".into())];
        let prev = vec![col("account_no", "Utf8"), col("e-mail", "Utf8")];
        let e = check(&src, &prev, &[col("account_no", "Utf8")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("column `e-mail` used by the pipeline"), "{e}");
    }
}
