//! The golden row: `golden.parquet`'s columns, defined once here, and their builders.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder, UInt32Builder};
use arrow::datatypes::{DataType, Field, Schema};

use crate::Result;
use crate::schema;

/// The schema of `golden.parquet` for `fields`: the golden id, one text column per field, then
/// record count, sources, first seen, last updated and the run that created the id.
pub fn golden_schema(fields: &[String]) -> Schema {
    let mut columns = vec![Field::new(schema::GOLDEN_ID, DataType::Utf8, false)];
    columns.extend(fields.iter().map(|f| Field::new(f, DataType::Utf8, true)));
    columns.extend([
        Field::new(schema::RECORD_COUNT, DataType::UInt32, false),
        Field::new(schema::SOURCES, DataType::Utf8, false),
        Field::new(schema::FIRST_SEEN, DataType::Utf8, true),
        Field::new(schema::LAST_UPDATED, DataType::Utf8, true),
        Field::new(schema::CREATED_RUN, DataType::Utf8, false),
    ]);
    Schema::new(columns)
}

/// Column builders of a chunk of golden rows, in [`golden_schema`] order.
pub struct GoldenRows {
    golden_id: StringBuilder,
    /// One builder per field.
    pub values: Vec<StringBuilder>,
    record_count: UInt32Builder,
    sources: StringBuilder,
    first_seen: StringBuilder,
    last_updated: StringBuilder,
    created_run: StringBuilder,
}

/// What a golden row holds besides its field values.
pub struct RowFacts<'a> {
    /// The golden id.
    pub golden_id: &'a str,
    /// Number of member records.
    pub record_count: u32,
    /// Sorted, comma-separated sources of the members.
    pub sources: &'a str,
    /// Earliest and latest `updated_at` of the members.
    pub seen: (Option<&'a str>, Option<&'a str>),
    /// Run that created the golden id.
    pub created_run: &'a str,
}

impl GoldenRows {
    /// Builders sized for `rows` golden rows of `fields` fields.
    pub fn with_capacity(rows: usize, fields: usize) -> Self {
        let text = |bytes: usize| StringBuilder::with_capacity(rows, rows * bytes);
        GoldenRows {
            golden_id: text(17),
            values: (0..fields).map(|_| text(8)).collect(),
            record_count: UInt32Builder::with_capacity(rows),
            sources: text(12),
            first_seen: text(19),
            last_updated: text(19),
            created_run: text(16),
        }
    }

    /// Appends the non-field columns of one row (its field values go to [`Self::values`]).
    pub fn push_facts(&mut self, facts: RowFacts) {
        self.golden_id.append_value(facts.golden_id);
        self.record_count.append_value(facts.record_count);
        self.sources.append_value(facts.sources);
        self.first_seen.append_option(facts.seen.0);
        self.last_updated.append_option(facts.seen.1);
        self.created_run.append_value(facts.created_run);
    }

    /// The rows as a batch of [`golden_schema`]`(fields)`.
    pub fn finish(mut self, fields: &[String]) -> Result<RecordBatch> {
        let mut cols: Vec<ArrayRef> = vec![Arc::new(self.golden_id.finish())];
        cols.extend(
            self.values
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        cols.push(Arc::new(self.record_count.finish()));
        cols.push(Arc::new(self.sources.finish()));
        cols.push(Arc::new(self.first_seen.finish()));
        cols.push(Arc::new(self.last_updated.finish()));
        cols.push(Arc::new(self.created_run.finish()));
        Ok(RecordBatch::try_new(Arc::new(golden_schema(fields)), cols)?)
    }
}
