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

/// Levels of the previous run's pairs whose two records are unchanged, by current indices:
/// each record's cached partners side by side (sorted), so a row of pairs is looked up
/// without hashing, and a record without any costs one comparison.
#[derive(Debug, Default)]
pub struct PairCache {
    /// Where each record's partners start in `partners` (one more entry than records).
    offsets: Vec<u32>,
    /// Each record's cached partners, ascending.
    partners: Vec<u32>,
    /// The pair of each entry of `partners`: where its levels start in `levels`, over `k`.
    slots: Vec<u32>,
    /// Levels of each cached pair, `k` a pair.
    levels: Vec<i8>,
    /// Comparisons.
    k: usize,
    /// Cached pairs.
    pairs: usize,
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
    /// indices, of `n` records); `k` comparisons.
    fn cache(&self, current: &HashMap<(&str, &str), u32>, n: usize, k: usize) -> PairCache {
        let cols = &self.keys;
        // Each previous pair, by current record indices, when both records are unchanged.
        let found: Vec<Option<(u32, u32)>> = (0..cols[0].len())
            .into_par_iter()
            .map(|r| {
                let a = current.get(&(cols[0].value(r), cols[1].value(r)))?;
                let b = current.get(&(cols[2].value(r), cols[3].value(r)))?;
                (a != b).then_some((*a.min(b), *a.max(b)))
            })
            .collect();
        let mut pairs: Vec<(u32, u32, u32)> = (found.into_iter().enumerate())
            .filter_map(|(r, key)| key.map(|(a, b)| (a, b, r as u32)))
            .collect();
        // The first row of a pair written twice wins, as a map insert would.
        pairs.par_sort_unstable();
        pairs.dedup_by_key(|&mut (a, b, _)| (a, b));
        let mut levels = Vec::with_capacity(pairs.len() * k);
        for &(_, _, r) in &pairs {
            levels.extend(self.levels.iter().map(|c| c.value(r as usize)));
        }
        PairCache::index(&pairs, n, k, levels)
    }
}

impl PairCache {
    /// The partner lists of `pairs` (`(a, b, _)` with a < b, sorted, the i-th pair's levels at
    /// `levels[i * k..]`) over `n` records.
    fn index(pairs: &[(u32, u32, u32)], n: usize, k: usize, levels: Vec<i8>) -> PairCache {
        let mut offsets = vec![0u32; n + 1];
        for &(a, b, _) in pairs {
            offsets[a as usize + 1] += 1;
            offsets[b as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut partners = vec![0u32; pairs.len() * 2];
        let mut slots = vec![0u32; pairs.len() * 2];
        // Pairs come sorted by (a, b), so each record's partners land in ascending order: the
        // smaller partners (as b) of a pair sorted first, then the larger ones (as a).
        let mut place = |at: u32, partner: u32, slot: usize| {
            let i = &mut next[at as usize];
            partners[*i as usize] = partner;
            slots[*i as usize] = slot as u32;
            *i += 1;
        };
        for (slot, &(a, b, _)) in pairs.iter().enumerate() {
            place(b, a, slot);
        }
        for (slot, &(a, b, _)) in pairs.iter().enumerate() {
            place(a, b, slot);
        }
        PairCache {
            offsets,
            partners,
            slots,
            levels,
            k,
            pairs: pairs.len(),
        }
    }

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
        Ok(pairs.cache(&current, hashes.len(), comparisons.len()))
    }

    /// Record `a`'s cached partners, ascending, empty for a record outside the cache.
    #[inline]
    pub fn partners(&self, a: u32) -> &[u32] {
        let a = a as usize;
        match (self.offsets.get(a), self.offsets.get(a + 1)) {
            (Some(&s), Some(&e)) => &self.partners[s as usize..e as usize],
            _ => &[],
        }
    }

    /// The levels of `a` with its `i`-th partner of [`PairCache::partners`].
    #[inline]
    pub fn levels_of(&self, a: u32, i: usize) -> &[i8] {
        let slot = self.slots[self.offsets[a as usize] as usize + i] as usize * self.k;
        &self.levels[slot..slot + self.k]
    }

    /// Number of cached pairs.
    pub fn len(&self) -> usize {
        self.pairs
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.pairs == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_record_lists_its_partners_ascending_with_their_pairs_levels() {
        // Pairs (a, b, _) sorted, two comparisons; record 4 has no pair.
        let pairs = [(0, 2, 0), (0, 3, 0), (1, 2, 0), (2, 3, 0)];
        let levels = vec![1, 2, 3, 4, 5, 6, 7, 8];
        let cache = PairCache::index(&pairs, 5, 2, levels);
        assert_eq!(cache.len(), 4);
        let lists: Vec<&[u32]> = (0..5).map(|r| cache.partners(r)).collect();
        assert_eq!(lists, [&[2, 3][..], &[2], &[0, 1, 3], &[0, 2], &[]]);
        let of = |a: u32, b: u32| {
            let i = cache.partners(a).binary_search(&b).expect("cached");
            cache.levels_of(a, i).to_vec()
        };
        // Either record of a pair finds the same levels.
        assert_eq!((of(0, 3), of(3, 0)), (vec![3, 4], vec![3, 4]));
        assert_eq!((of(2, 1), of(1, 2)), (vec![5, 6], vec![5, 6]));
        assert_eq!(of(3, 2), vec![7, 8]);
        assert!(
            cache.partners(9).is_empty(),
            "a record past the end has none"
        );
    }
}
