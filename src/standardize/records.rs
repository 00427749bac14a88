//! `records.parquet`: one row per input record with what blocking and comparison saw — each
//! field's standardised display value and match key (DESIGN §3), built here where both are
//! made. A record's key under a blocking rule is `block::rule_keys` of its match keys.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::buffer::{Buffer, OffsetBuffer};
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

/// `records` with the values of every `__match` column dropped and its nulls kept (a column
/// that shares its display column's array is left as it is). Once `records.parquet` is
/// written no stage reads a key's value, only whether it is null (survivorship's placeholder
/// test), so the run stops holding the keys through clustering and survivorship.
pub fn without_key_values(records: RecordBatch) -> Result<RecordBatch> {
    let schema = records.schema();
    let columns = (schema.fields().iter().zip(records.columns()))
        .map(|(field, column)| {
            let display = field
                .name()
                .strip_suffix(MATCH_SUFFIX)
                .and_then(|f| records.column_by_name(f));
            match display {
                Some(display)
                    if !Arc::ptr_eq(display, column) && column.data_type() == &DataType::Utf8 =>
                {
                    let empty = StringArray::try_new(
                        OffsetBuffer::new_zeroed(column.len()),
                        Buffer::from(Vec::<u8>::new()),
                        column.nulls().cloned(),
                    )?;
                    Ok(Arc::new(empty) as ArrayRef)
                }
                _ => Ok(column.clone()),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_dropped_nulls_kept_shared_keys_untouched() {
        let name: ArrayRef = Arc::new(StringArray::from(vec![Some("Ann"), Some("N/A"), None]));
        let key: ArrayRef = Arc::new(StringArray::from(vec![Some("ann"), None, None]));
        let email: ArrayRef = Arc::new(StringArray::from(vec![Some("a@x.io"), None, None]));
        let batch = RecordBatch::try_from_iter([
            ("first_name", name.clone()),
            ("first_name__match", key),
            ("email", email.clone()),
            ("email__match", email.clone()),
        ])
        .unwrap();
        let out = without_key_values(batch).unwrap();
        let key = out
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(key.len(), 3);
        assert_eq!(
            (0..3).map(|r| key.is_valid(r)).collect::<Vec<_>>(),
            [true, false, false]
        );
        assert_eq!(key.value(0), "");
        assert_eq!(key.value_data().len(), 0);
        assert!(Arc::ptr_eq(out.column(0), &name), "display values kept");
        assert!(
            Arc::ptr_eq(out.column(3), &email),
            "a shared key stays shared"
        );
    }
}
