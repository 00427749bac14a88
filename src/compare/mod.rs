//! Stage "compare": candidate pairs → comparison vectors, one level per field per pair.
//!
//! Levels follow Splink: -1 null (either side missing), 0 "else", then one level per similarity
//! threshold from the loosest up, and the top level for an exact match of the match values. The
//! comparison of all blocks runs in parallel with rayon; each task owns its output buffers.

pub mod cache;
pub mod method;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use rayon::prelude::*;

use crate::block::Blocks;
use crate::config::{ComparisonConfig, Method};
use crate::schema::match_column;
use crate::{Error, Result};

/// Level of a pair where either value is null.
pub const NULL_LEVEL: i8 = -1;

/// Compares one field of two records.
struct FieldComparator<'a> {
    values: &'a StringArray,
    method: Method,
    thresholds: Vec<f64>,
    exact_level: i8,
}

impl FieldComparator<'_> {
    #[inline]
    fn level(&self, a: u32, b: u32) -> i8 {
        let (a, b) = (a as usize, b as usize);
        if self.values.is_null(a) || self.values.is_null(b) {
            return NULL_LEVEL;
        }
        let (x, y) = (self.values.value(a), self.values.value(b));
        if x.is_empty() || y.is_empty() {
            return NULL_LEVEL;
        }
        if x == y {
            return self.exact_level;
        }
        if self.method == Method::Date {
            return method::date_level(x, y);
        }
        if self.thresholds.is_empty() {
            return 0;
        }
        let s = method::similarity(self.method, x, y);
        let n = self.thresholds.len();
        self.thresholds
            .iter()
            .position(|&t| s >= t)
            .map_or(0, |k| (n - k) as i8)
    }
}

/// Compares records field by field, per the pipeline's comparisons.
pub struct Comparator<'a> {
    fields: Vec<FieldComparator<'a>>,
}

impl<'a> Comparator<'a> {
    /// Prepares the comparisons over `batch`'s `__match` columns.
    pub fn new(batch: &'a RecordBatch, comparisons: &[ComparisonConfig]) -> Result<Self> {
        let fields = comparisons
            .iter()
            .map(|c| {
                let name = match_column(&c.field);
                let col = batch.column_by_name(&name).ok_or_else(|| {
                    Error::Internal(format!("comparison of `{}` has no column {name}", c.field))
                })?;
                Ok(FieldComparator {
                    values: col.as_string::<i32>(),
                    method: c.method,
                    thresholds: c.levels.clone(),
                    exact_level: (c.level_count() - 1) as i8,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Comparator { fields })
    }

    /// Number of comparisons.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no comparisons.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Writes the level of each comparison for records `a` and `b` into `out`.
    #[inline]
    pub fn levels(&self, a: u32, b: u32, out: &mut [i8]) {
        for (f, o) in self.fields.iter().zip(out.iter_mut()) {
            *o = f.level(a, b);
        }
    }
}

/// Comparison vectors of every candidate pair, column-wise.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Compared {
    /// Left record index (left < right).
    pub left: Vec<u32>,
    /// Right record index.
    pub right: Vec<u32>,
    /// Index of the first blocking rule that found the pair.
    pub rule: Vec<u8>,
    /// Levels, row-major: `levels[pair * n_comparisons + comparison]`.
    pub levels: Vec<i8>,
    /// Number of comparisons per pair.
    pub n_comparisons: usize,
    /// Pairs whose levels were reused from the previous run instead of computed.
    pub reused: u64,
}

impl Compared {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// Levels of pair `i`.
    pub fn pair_levels(&self, i: usize) -> &[i8] {
        &self.levels[i * self.n_comparisons..(i + 1) * self.n_comparisons]
    }

    fn append(&mut self, mut other: Compared) {
        self.left.append(&mut other.left);
        self.right.append(&mut other.right);
        self.rule.append(&mut other.rule);
        self.levels.append(&mut other.levels);
        self.reused += other.reused;
    }
}

/// Compares every candidate pair of `blocks`, in parallel; pairs found in `cache` (an
/// incremental run) take the previous run's levels.
pub fn compare(
    batch: &RecordBatch,
    comparisons: &[ComparisonConfig],
    blocks: &Blocks,
    cache: Option<&cache::PairCache>,
) -> Result<Compared> {
    let comparator = Comparator::new(batch, comparisons)?;
    let k = comparator.len();
    let work = blocks.work(1 << 16);
    let parts: Vec<Compared> = work
        .par_iter()
        .fold(
            || Compared {
                n_comparisons: k,
                ..Default::default()
            },
            |mut acc, &item| {
                let mut buf = vec![0i8; k];
                blocks.for_each_pair(item, |a, b, rule| {
                    if cache.is_some_and(|c| c.get(a, b, &mut buf)) {
                        acc.reused += 1;
                    } else {
                        comparator.levels(a, b, &mut buf);
                    }
                    acc.left.push(a);
                    acc.right.push(b);
                    acc.rule.push(rule);
                    acc.levels.extend_from_slice(&buf);
                });
                acc
            },
        )
        .collect();
    let mut out = Compared {
        n_comparisons: k,
        ..Default::default()
    };
    for p in parts {
        out.append(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::ArrayRef;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn levels_per_method_with_nulls() {
        let names: ArrayRef = Arc::new(StringArray::from(vec![
            Some("martha"),
            Some("marhta"),
            Some("zed"),
            None,
            Some("martha"),
        ]));
        let dates: ArrayRef = Arc::new(StringArray::from(vec![
            Some("1985-02-03"),
            Some("1985-03-02"),
            Some("1985-02-08"),
            Some("1985-02-03"),
            None,
        ]));
        let schema = Schema::new(vec![
            Field::new(match_column("first_name"), DataType::Utf8, true),
            Field::new(match_column("birth_date"), DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![names, dates]).unwrap();
        let cmp = vec![
            ComparisonConfig {
                field: "first_name".into(),
                method: Method::JaroWinkler,
                levels: vec![0.92, 0.80],
            },
            ComparisonConfig {
                field: "birth_date".into(),
                method: Method::Date,
                levels: vec![],
            },
        ];
        let c = Comparator::new(&batch, &cmp).unwrap();
        let mut out = [0i8; 2];
        c.levels(0, 4, &mut out);
        assert_eq!(out, [3, -1], "exact name, null date");
        c.levels(0, 1, &mut out);
        assert_eq!(out, [2, 2], "jw 0.96 ≥ 0.92, day/month swapped");
        c.levels(0, 2, &mut out);
        assert_eq!(out, [0, 1], "far name, one-digit date typo");
        c.levels(3, 0, &mut out);
        assert_eq!(out, [-1, 3], "null name, same date");
    }
}
