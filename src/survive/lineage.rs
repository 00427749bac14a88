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

/// Bytes per value that each lineage column is first sized for, in
/// [`schema::LINEAGE_COLUMNS`] order.
const WIDTHS: [usize; 6] = [17, 10, 10, 8, 10, 12];

/// Column builders of `lineage.parquet`, in [`schema::LINEAGE_COLUMNS`] order.
pub struct LineageBuilder {
    columns: [StringBuilder; 6],
}

impl LineageBuilder {
    /// Builders sized for about `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        LineageBuilder {
            columns: WIDTHS.map(|bytes| StringBuilder::with_capacity(rows, rows * bytes)),
        }
    }

    /// Appends one row.
    pub fn push(&mut self, row: LineageRow) {
        let values = [
            row.golden_id,
            row.field,
            row.value,
            row.source,
            row.source_id,
            row.rule,
        ];
        for (column, value) in self.columns.iter_mut().zip(values) {
            column.append_value(value);
        }
    }

    /// The rows as a batch of [`schema::LINEAGE_COLUMNS`].
    pub fn finish(mut self) -> Result<RecordBatch> {
        let schema = Schema::new(
            schema::LINEAGE_COLUMNS
                .iter()
                .map(|n| Field::new(*n, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        );
        let cols: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| Arc::new(c.finish()) as ArrayRef)
            .collect();
        Ok(RecordBatch::try_new(Arc::new(schema), cols)?)
    }
}
