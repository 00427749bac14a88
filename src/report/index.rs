//! The crosswalk indexed once for the sections that need it: each row's source as a small
//! code, its cluster (the row of its golden id in `golden.parquet`) and the row of each
//! `(source, source_id)`. The maps are split by key hash over the threads and built side by
//! side: at millions of records they are most of the report's time.

use std::hash::{BuildHasher, Hash};

use arrow::array::{Array, StringArray};
use foldhash::fast::FixedState;
use foldhash::{HashMap, HashMapExt};
use rayon::prelude::*;

use super::read::{Clustering, text};
use crate::Result;
use crate::schema::{GOLDEN_ID, SOURCE, SOURCE_ID};

/// The cluster of a crosswalk row whose golden id is not in `golden.parquet`.
pub const NO_CLUSTER: u32 = u32::MAX;

/// The key columns the index is built from, decoded once.
pub struct Keys {
    /// Crosswalk `source`.
    pub sources: StringArray,
    /// Crosswalk `source_id`.
    pub ids: StringArray,
    /// Crosswalk `golden_id`.
    pub golden_of: StringArray,
    /// Golden `golden_id`, one per cluster.
    pub golden: StringArray,
}

impl Keys {
    /// The key columns of `tables`.
    pub fn of(tables: &Clustering) -> Result<Keys> {
        let xw = &tables.crosswalk;
        Ok(Keys {
            sources: xw.strings(SOURCE)?,
            ids: xw.strings(SOURCE_ID)?,
            golden_of: xw.strings(GOLDEN_ID)?,
            golden: tables.golden.strings(GOLDEN_ID)?,
        })
    }
}

/// The crosswalk's rows by source, cluster and key.
pub struct Crosswalk<'a> {
    /// The columns indexed.
    pub keys: &'a Keys,
    /// The sources, in order of first appearance.
    pub names: Vec<&'a str>,
    /// Each row's source, as its place in `names`.
    pub source: Vec<u32>,
    /// Each row's cluster, [`NO_CLUSTER`] where its golden id is unknown.
    pub cluster: Vec<u32>,
    /// The row of each `(source code, source_id)`.
    row_of: Sharded<(u32, &'a str)>,
}

impl<'a> Crosswalk<'a> {
    /// Indexes `keys`.
    pub fn new(keys: &'a Keys) -> Self {
        let (names, source) = source_codes(&keys.sources);
        let (golden, cluster_rows) = rayon::join(
            || Sharded::build(keys.golden.len(), |i| text(&keys.golden, i)),
            || Sharded::build(source.len(), |i| (source[i], text(&keys.ids, i))),
        );
        let cluster = (0..source.len())
            .into_par_iter()
            .map(|i| golden.get(&text(&keys.golden_of, i)).unwrap_or(NO_CLUSTER))
            .collect();
        Crosswalk {
            keys,
            names,
            source,
            cluster,
            row_of: cluster_rows,
        }
    }

    /// The row and cluster of record `(source, id)`, `None` when it is not in the crosswalk
    /// or its golden id is unknown.
    pub fn find(&self, source: &str, id: &str) -> Option<(u32, u32)> {
        let code = self.names.iter().position(|n| *n == source)? as u32;
        let r = self.row_of.get(&(code, id))?;
        let c = self.cluster[r as usize];
        (c != NO_CLUSTER).then_some((r, c))
    }

    /// The key of row `r`.
    pub fn key(&self, r: u32) -> (String, String) {
        let r = r as usize;
        (
            text(&self.keys.sources, r).to_string(),
            text(&self.keys.ids, r).to_string(),
        )
    }
}

/// The distinct values of `sources` in order of first appearance, and each row's place among
/// them (a crosswalk holds runs of one source, so most rows match the row before).
fn source_codes(sources: &StringArray) -> (Vec<&str>, Vec<u32>) {
    let mut names: Vec<&str> = Vec::new();
    let mut last = u32::MAX;
    let codes = (0..sources.len())
        .map(|i| {
            let s = text(sources, i);
            if names.get(last as usize) != Some(&s) {
                last = match names.iter().position(|n| *n == s) {
                    Some(c) => c as u32,
                    None => {
                        names.push(s);
                        (names.len() - 1) as u32
                    }
                };
            }
            last
        })
        .collect();
    (names, codes)
}

/// A map from keys to rows built on every thread at once: each thread keeps the keys of its
/// hash shard. A key given twice keeps its last row, as a map built in row order would.
pub struct Sharded<K> {
    /// The shards' maps.
    shards: Vec<HashMap<K, u32>>,
    /// Hashes a key to its shard.
    state: FixedState,
}

impl<K: Hash + Eq + Send + Sync> Sharded<K> {
    /// The rows `0..n` by their keys `key(row)`.
    pub fn build(n: usize, key: impl Fn(usize) -> K + Sync) -> Self {
        let state = FixedState::with_seed(0x9e37_79b9);
        let count = rayon::current_num_threads().max(1);
        let shard_of = |k: &K| (state.hash_one(k) % count as u64) as usize;
        let shards = (0..count)
            .into_par_iter()
            .map(|s| {
                let mut map = HashMap::with_capacity(n / count + n / (8 * count) + 1);
                for i in 0..n {
                    let k = key(i);
                    if shard_of(&k) == s {
                        map.insert(k, i as u32);
                    }
                }
                map
            })
            .collect();
        Sharded { shards, state }
    }

    /// The row of `k`.
    pub fn get(&self, k: &K) -> Option<u32> {
        let s = (self.state.hash_one(k) % self.shards.len() as u64) as usize;
        self.shards[s].get(k).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sharded_map_finds_every_key_and_keeps_the_last_row_of_a_repeated_one() {
        let keys: Vec<String> = (0..10_000).map(|i| format!("k{}", i % 7_000)).collect();
        let map = Sharded::build(keys.len(), |i| keys[i].as_str());
        for (i, k) in keys.iter().enumerate() {
            let last = if i < 3_000 { i + 7_000 } else { i };
            assert_eq!(map.get(&k.as_str()), Some(last as u32), "{k}");
        }
        assert_eq!(map.get(&"k7000"), None);
    }

    #[test]
    fn sources_are_coded_in_order_of_first_appearance() {
        let a = StringArray::from(vec![
            Some("crm"),
            Some("crm"),
            Some("web"),
            None,
            Some("crm"),
        ]);
        let (names, codes) = source_codes(&a);
        assert_eq!(names, ["crm", "web", ""]);
        assert_eq!(codes, [0, 0, 1, 2, 0]);
    }
}
