//! Term-frequency adjustment: agreeing on a rare value is stronger evidence than agreeing on a
//! common one. For a pair that agrees exactly on value v, the exact-level weight log2(m/u) is
//! adjusted by log2(u_exact / p(v)), where p(v) is v's share of the field's non-null values.

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};

use crate::schema::match_column;
use crate::{Error, Result};

/// Share of each record's match value among the field's non-null values (0 when null).
pub fn value_shares(batch: &RecordBatch, field: &str) -> Result<Vec<f64>> {
    let name = match_column(field);
    let col = batch
        .column_by_name(&name)
        .ok_or_else(|| Error::Internal(format!("term frequency of `{field}`: no column {name}")))?
        .as_string::<i32>();
    let mut counts: HashMap<&str, u32> = HashMap::new();
    let mut non_null = 0u64;
    for v in col.iter().flatten() {
        if !v.is_empty() {
            *counts.entry(v).or_default() += 1;
            non_null += 1;
        }
    }
    Ok((0..col.len())
        .map(|i| {
            if col.is_null(i) {
                return 0.0;
            }
            counts
                .get(col.value(i))
                .map_or(0.0, |&c| c as f64 / non_null as f64)
        })
        .collect())
}

/// Weight adjustment for an exact agreement on a value with share `share`.
#[inline]
pub fn adjustment(u_exact: f64, share: f64) -> f64 {
    if share <= 0.0 {
        return 0.0;
    }
    (u_exact / share).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_values_weigh_less_than_rare_ones() {
        let u_exact = 0.01;
        let smith = adjustment(u_exact, 0.05);
        let rare = adjustment(u_exact, 0.0001);
        assert!(
            smith < 0.0,
            "agreeing on a common surname counts for less than average"
        );
        assert!(rare > 0.0, "agreeing on a rare surname counts for more");
        assert_eq!(adjustment(u_exact, 0.0), 0.0);
    }
}
