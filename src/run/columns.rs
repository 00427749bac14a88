//! Columns of a table read back by name, as Utf8: one place that finds a column, casts
//! dictionary, LargeUtf8 and Utf8View (or any castable type) to a `StringArray`, and says
//! what is wrong, naming the column.

use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::error::ArrowError;

use crate::{Error, Result};

/// Which stored types a column may have to be read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// Any type Arrow casts to Utf8 (dictionaries, numbers, …).
    Cast,
    /// Only string types (Utf8, LargeUtf8, Utf8View): ids stored as another type were not
    /// written by golden, and casting them would invent ids ("0", "1", …).
    Strings,
}

/// Column `name` of a batch this program built; an internal error when it is missing.
pub fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::Internal(format!("missing column {name}")))
}

/// `column` as a `StringArray`, cast when it is not Utf8.
pub fn as_utf8(column: &ArrayRef) -> std::result::Result<StringArray, ArrowError> {
    let column = match column.data_type() {
        DataType::Utf8 => column.clone(),
        _ => cast(column, &DataType::Utf8)?,
    };
    column
        .as_string_opt::<i32>()
        .cloned()
        .ok_or_else(|| ArrowError::CastError("a cast to Utf8 did not give Utf8".into()))
}

/// Column `name` of `batch` as a `StringArray`; `Err` says what is wrong, naming the column
/// (`no column `name``, `column `name` is Int64, not a string`, `column `name`: <cast error>`).
pub fn text(
    batch: &RecordBatch,
    name: &str,
    accept: Text,
) -> std::result::Result<StringArray, String> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column `{name}`"))?;
    let string = matches!(
        column.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    if accept == Text::Strings && !string {
        return Err(format!(
            "column `{name}` is {}, not a string",
            column.data_type()
        ));
    }
    as_utf8(column).map_err(|e| format!("column `{name}`: {e}"))
}

/// [`text`], and an error when the column has a null.
pub fn non_null_text(
    batch: &RecordBatch,
    name: &str,
    accept: Text,
) -> std::result::Result<StringArray, String> {
    let column = text(batch, name, accept)?;
    match column.null_count() {
        0 => Ok(column),
        n => Err(format!("column `{name}` has {n} null values")),
    }
}

/// [`text`] (any castable type) of the table file `path`: an input error naming the file and
/// the column when it is missing or cannot be cast.
pub fn utf8_column(batch: &RecordBatch, name: &str, path: &Path) -> Result<StringArray> {
    text(batch, name, Text::Cast).map_err(|message| Error::Input {
        path: path.to_path_buf(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{DictionaryArray, Int64Array, LargeStringArray, StringViewArray};
    use arrow::datatypes::Int32Type;
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let dict: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
        RecordBatch::try_from_iter([
            (
                "large",
                Arc::new(LargeStringArray::from(vec!["x", "y", "z"])) as ArrayRef,
            ),
            (
                "view",
                Arc::new(StringViewArray::from(vec!["p", "q", "r"])) as _,
            ),
            ("dict", Arc::new(dict) as _),
            ("int", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
            (
                "nulls",
                Arc::new(StringArray::from(vec![Some("s"), None, None])) as _,
            ),
        ])
        .unwrap()
    }

    fn values(a: &StringArray) -> Vec<Option<&str>> {
        a.iter().collect()
    }

    #[test]
    fn string_and_dictionary_columns_come_back_as_utf8() {
        let b = batch();
        let got = |n: &str| text(&b, n, Text::Cast).unwrap();
        assert_eq!(values(&got("large")), [Some("x"), Some("y"), Some("z")]);
        assert_eq!(values(&got("view")), [Some("p"), Some("q"), Some("r")]);
        assert_eq!(values(&got("dict")), [Some("a"), Some("b"), Some("a")]);
        assert_eq!(values(&got("int")), [Some("1"), Some("2"), Some("3")]);
        let strict = text(&b, "view", Text::Strings).unwrap();
        assert_eq!(values(&strict), [Some("p"), Some("q"), Some("r")]);
    }

    #[test]
    fn a_missing_non_string_or_null_column_is_named() {
        let b = batch();
        assert_eq!(
            text(&b, "gone", Text::Cast).unwrap_err(),
            "no column `gone`"
        );
        assert_eq!(
            text(&b, "int", Text::Strings).unwrap_err(),
            "column `int` is Int64, not a string"
        );
        assert_eq!(
            non_null_text(&b, "nulls", Text::Cast).unwrap_err(),
            "column `nulls` has 2 null values"
        );
        let err = utf8_column(&b, "gone", Path::new("t.parquet")).unwrap_err();
        assert_eq!(err.to_string(), "t.parquet: no column `gone`");
    }
}
