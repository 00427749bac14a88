//! `records.parquet`: one row per input record with what blocking and comparison saw — each
//! field's standardised display value and match key (DESIGN §3), built here where both are
//! made. A record's key under a blocking rule is `block::rule_keys` of its match keys.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};

use crate::schema::{self, MATCH_SUFFIX};
use crate::{Error, Result};

/// The fields of standardised `records`, in pipeline order: those with a `__match` column.
pub fn fields_of(records: &RecordBatch) -> Vec<String> {
    let schema = records.schema();
    schema
        .fields()
        .iter()
        .filter_map(|f| f.name().strip_suffix(MATCH_SUFFIX).map(str::to_string))
        .collect()
}

/// The `records.parquet` table of standardised `records`: `source`, `source_id`, per field
/// `<field>` and `<field>__match`.
pub fn records_table(records: &RecordBatch) -> Result<RecordBatch> {
    let mut names = vec![schema::SOURCE.to_string(), schema::SOURCE_ID.to_string()];
    for f in fields_of(records) {
        let key = schema::match_column(&f);
        names.extend([f, key]);
    }
    let mut fields = Vec::with_capacity(names.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.capacity());
    for (i, name) in names.iter().enumerate() {
        let col = records
            .column_by_name(name)
            .ok_or_else(|| Error::Internal(format!("records table: no column {name}")))?;
        let col = arrow::compute::cast(col, &DataType::Utf8)?;
        // `source` and `source_id` are never null.
        fields.push(Field::new(name, DataType::Utf8, i >= 2));
        columns.push(col);
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}
