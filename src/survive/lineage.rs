//! Lineage rows: one per non-null golden value, with the record and rule behind it.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};

use crate::Result;
use crate::schema;

/// One row of `lineage.parquet`.
pub struct LineageRow<'a> {
    /// Golden id.
    pub golden_id: &'a str,
    /// Field name.
    pub field: &'a str,
    /// Surviving value.
    pub value: &'a str,
    /// Source of the record the value came from.
    pub source: &'a str,
    /// Id of that record in its source.
    pub source_id: &'a str,
    /// Rule that chose it.
    pub rule: &'a str,
}

/// Column builders of `lineage.parquet`.
pub struct LineageBuilder {
    golden_id: StringBuilder,
    field: StringBuilder,
    value: StringBuilder,
    source: StringBuilder,
    source_id: StringBuilder,
    rule: StringBuilder,
}

impl LineageBuilder {
    /// Builders sized for about `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        let text = |bytes: usize| StringBuilder::with_capacity(rows, rows * bytes);
        LineageBuilder {
            golden_id: text(17),
            field: text(10),
            value: text(10),
            source: text(8),
            source_id: text(10),
            rule: text(12),
        }
    }

    /// Appends one row.
    pub fn push(&mut self, row: LineageRow) {
        self.golden_id.append_value(row.golden_id);
        self.field.append_value(row.field);
        self.value.append_value(row.value);
        self.source.append_value(row.source);
        self.source_id.append_value(row.source_id);
        self.rule.append_value(row.rule);
    }

    /// The rows as a batch of [`schema::LINEAGE_COLUMNS`].
    pub fn finish(mut self) -> Result<RecordBatch> {
        let schema = Schema::new(
            schema::LINEAGE_COLUMNS
                .iter()
                .map(|n| Field::new(*n, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        );
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.golden_id.finish()),
            Arc::new(self.field.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.source_id.finish()),
            Arc::new(self.rule.finish()),
        ];
        Ok(RecordBatch::try_new(Arc::new(schema), cols)?)
    }
}
