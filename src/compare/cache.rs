//! Comparison reuse for incremental runs: a pair of records whose match values are unchanged
//! since the previous run gets the levels that run computed, read back from its
//! `decisions.parquet`; only pairs touching a new or changed record are compared again.
//! Levels are a pure function of the two records' match values, so reuse cannot change a
//! result: an incremental run and `--full` with the same model give the same clusters.

use std::path::Path;

use foldhash::{HashMap, HashMapExt};
use rayon::prelude::*;

use arrow::array::{Array, AsArray, Int8Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{Int8Type, UInt64Type};

use crate::config::ComparisonConfig;
use crate::run::{Previous, Table};
use crate::schema::{self, match_column};
use crate::{Error, Result};

/// Name of the crosswalk column holding each record's content hash.
pub use crate::schema::CONTENT_HASH;

/// FNV-1a hash of every compared field's match value of each record (stable across runs and
/// builds; nulls hash differently from empty strings).
pub fn record_hashes(batch: &RecordBatch, comparisons: &[ComparisonConfig]) -> Result<Vec<u64>> {
    let cols = comparisons
        .iter()
        .map(|c| {
            batch
                .column_by_name(&match_column(&c.field))
                .map(|a| a.as_string::<i32>().clone())
                .ok_or_else(|| {
                    Error::Internal(format!("content hash: no match column for `{}`", c.field))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let step = |h: u64, b: u8| (h ^ b as u64).wrapping_mul(PRIME);
    Ok((0..batch.num_rows())
        .into_par_iter()
        .map(|i| {
            cols.iter().fold(OFFSET, |h, c| {
                if c.is_null(i) {
                    step(h, 0xff)
                } else {
                    c.value(i).bytes().fold(step(h, 0x1f), step)
                }
            })
        })
        .collect())
}

/// Levels of the previous run's pairs whose two records are unchanged, by current indices.
#[derive(Debug, Default)]
pub struct PairCache {
    index: HashMap<(u32, u32), u32>,
    levels: Vec<i8>,
    k: usize,
}

/// Column `name` of the previous run's table `file` (or of this run's records) as Utf8.
fn strings(batch: &RecordBatch, name: &str, file: &Path) -> Result<arrow::array::StringArray> {
    crate::run::text(batch, name, crate::run::Text::Cast).map_err(|what| Error::Input {
        path: file.to_path_buf(),
        message: format!("{what}; not a golden run table"),
    })
}

/// The source, source id and content hash of each record of the previous crosswalk `xw` (at
/// `path`); `None` for a run from before content hashes.
fn previous_hashes(
    xw: &RecordBatch,
    path: &Path,
) -> Result<Option<(StringArray, StringArray, UInt64Array)>> {
    let Some(prev_hash) = xw.column_by_name(CONTENT_HASH) else {
        return Ok(None);
    };
    let prev_hash = prev_hash
        .as_primitive_opt::<UInt64Type>()
        .filter(|c| c.null_count() == 0)
        .ok_or_else(|| Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "column `{CONTENT_HASH}` is {} with {} nulls, not UInt64 without nulls; not a golden run table",
                prev_hash.data_type(),
                prev_hash.null_count()
            ),
        })?;
    let (ps, pi) = (
        strings(xw, schema::SOURCE, path)?,
        strings(xw, schema::SOURCE_ID, path)?,
    );
    Ok(Some((ps, pi, prev_hash.clone())))
}

/// The previous run's scored pairs: each pair's records and each comparison's level.
struct PreviousPairs {
    /// `left_source`, `left_id`, `right_source`, `right_id`.
    keys: Vec<StringArray>,
    /// Level of each comparison, in pipeline order.
    levels: Vec<Int8Array>,
}

impl PreviousPairs {
    /// The pairs of `prev`'s decisions table, with the levels of `comparisons`.
    fn read(prev: &Previous, comparisons: &[ComparisonConfig]) -> Result<Self> {
        let dec_path = prev.path(Table::Decisions);
        let keys = ["left_source", "left_id", "right_source", "right_id"];
        let level_names: Vec<String> = comparisons
            .iter()
            .map(|c| format!("{}_level", c.field))
            .collect();
        let wanted: Vec<&str> = keys
            .iter()
            .copied()
            .chain(level_names.iter().map(String::as_str))
            .collect();
        let dec = prev.decisions(&wanted)?;
        let keys = keys
            .iter()
            .map(|c| strings(&dec, c, &dec_path))
            .collect::<Result<Vec<_>>>()?;
        let levels = level_names
            .iter()
            .map(|name| {
                dec.column_by_name(name)
                    .and_then(|a| a.as_primitive_opt::<Int8Type>())
                    .filter(|a| a.null_count() == 0)
                    .cloned()
                    .ok_or_else(|| Error::Input {
                        path: dec_path.clone(),
                        message: format!(
                            "column `{name}` is missing, not Int8 or has nulls; not a golden run table"
                        ),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PreviousPairs { keys, levels })
    }

    /// The cache of the pairs whose two records are unchanged (`current`: their current
    /// indices); `k` comparisons.
    fn cache(&self, current: &HashMap<(&str, &str), u32>, k: usize) -> PairCache {
        let cols = &self.keys;
        let mut cache = PairCache {
            k,
            ..Default::default()
        };
        // Each previous pair, by current record indices, when both records are unchanged.
        let pairs: Vec<Option<(u32, u32)>> = (0..cols[0].len())
            .into_par_iter()
            .map(|r| {
                let a = current.get(&(cols[0].value(r), cols[1].value(r)))?;
                let b = current.get(&(cols[2].value(r), cols[3].value(r)))?;
                Some((*a.min(b), *a.max(b)))
            })
            .collect();
        cache.index.reserve(pairs.len());
        for (r, key) in pairs.into_iter().enumerate() {
            if let Some(key) = key
                && let std::collections::hash_map::Entry::Vacant(slot) = cache.index.entry(key)
            {
                slot.insert((cache.levels.len() / k.max(1)) as u32);
                cache.levels.extend(self.levels.iter().map(|c| c.value(r)));
            }
        }
        cache
    }
}

impl PairCache {
    /// Builds the cache from the previous run `prev` (its crosswalk and decisions) for the
    /// current records.
    pub fn load(
        prev: &Previous,
        batch: &RecordBatch,
        hashes: &[u64],
        comparisons: &[ComparisonConfig],
    ) -> Result<Self> {
        let xw_path = prev.path(Table::Crosswalk);
        let xw = prev.crosswalk().map_err(|e| Error::Input {
            path: xw_path.clone(),
            message: e.to_string(),
        })?;
        let Some((ps, pi, prev_hash)) = previous_hashes(xw, &xw_path)? else {
            return Ok(PairCache::default()); // a run from before content hashes: compare everything
        };
        let mut old: HashMap<(&str, &str), u64> = HashMap::with_capacity(xw.num_rows());
        for r in 0..xw.num_rows() {
            old.insert((ps.value(r), pi.value(r)), prev_hash.value(r));
        }
        let (src, ids) = (
            strings(batch, schema::SOURCE, &xw_path)?,
            strings(batch, schema::SOURCE_ID, &xw_path)?,
        );
        let unchanged: Vec<bool> = (0..hashes.len())
            .into_par_iter()
            .map(|r| old.get(&(src.value(r), ids.value(r))) == Some(&hashes[r]))
            .collect();
        drop(old);
        let mut current: HashMap<(&str, &str), u32> = HashMap::with_capacity(hashes.len());
        for r in (0..hashes.len()).filter(|&r| unchanged[r]) {
            current.insert((src.value(r), ids.value(r)), r as u32);
        }
        let pairs = PreviousPairs::read(prev, comparisons)?;
        Ok(pairs.cache(&current, comparisons.len()))
    }

    /// Copies the cached levels of `(a, b)` (a < b) into `out`; false when not cached.
    #[inline]
    pub fn get(&self, a: u32, b: u32, out: &mut [i8]) -> bool {
        match self.index.get(&(a, b)) {
            Some(&i) => {
                let i = i as usize * self.k;
                out.copy_from_slice(&self.levels[i..i + self.k]);
                true
            }
            None => false,
        }
    }

    /// Number of cached pairs.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}
