//! The crosswalk indexed once for the sections that need it: each row's source as a small
//! code, its cluster (the row of its golden id in `golden.parquet`) and, to place the
//! decisions read back, the row of each `(source, source_id)`. Read back from the run's files
//! the maps are most of the report's time at millions of records, so they are split by key
//! hash over the threads; a run writing its report passes what it holds instead ([`Known`]).

use std::hash::{BuildHasher, Hash};
use std::path::Path;

use arrow::array::{Array, StringArray};
use foldhash::fast::FixedState;
use foldhash::{HashMap, HashMapExt};
use rayon::prelude::*;

use super::clusters::Link;
use super::read::{TableRead, text};
use crate::Result;
use crate::run::Table;
use crate::schema::{GOLDEN_ID, RECORD_COUNT, SOURCE, SOURCE_ID, SOURCES};

/// The cluster of a crosswalk row whose golden id is not in `golden.parquet`.
pub const NO_CLUSTER: u32 = u32::MAX;

/// The key columns the index is built from, decoded once.
pub struct Keys {
    /// Crosswalk `source`.
    pub sources: StringArray,
    /// Crosswalk `source_id`.
    pub ids: StringArray,
    /// Crosswalk `golden_id` (empty when the clusters are known: every row has one).
    pub golden_of: StringArray,
    /// Golden `golden_id`, one per cluster.
    pub golden: StringArray,
}

/// What a run still holds when it writes its report: the facts `golden report` reads back
/// from `crosswalk.parquet` and `decisions.parquet`, by record instead of by key, so the run
/// does not look millions of keys up in maps. Both give the same report (tested).
pub struct Known {
    /// Source of each record.
    pub sources: StringArray,
    /// Source id of each record.
    pub ids: StringArray,
    /// Cluster of each record: its golden record's row in `golden.parquet`.
    pub cluster: Vec<u32>,
    /// The linked, manual and review pairs within one cluster, in `decisions.parquet` order,
    /// each with its cluster.
    pub links: Vec<(u32, Link)>,
}

/// The crosswalk's rows by source and cluster.
pub struct Crosswalk {
    /// The columns indexed.
    pub keys: Keys,
    /// The sources, in order of first appearance.
    pub names: Vec<String>,
    /// Each row's source, as its place in `names`.
    pub source: Vec<u32>,
    /// Each row's cluster, [`NO_CLUSTER`] where its golden id is unknown.
    pub cluster: Vec<u32>,
}

impl Crosswalk {
    /// Indexes `keys` read from the run's files: each row's cluster found by golden id.
    pub fn new(keys: Keys) -> Self {
        let golden = Sharded::build(keys.golden.len(), |i| text(&keys.golden, i));
        let cluster = (0..keys.golden_of.len())
            .into_par_iter()
            .map(|i| golden.get(&text(&keys.golden_of, i)).unwrap_or(NO_CLUSTER))
            .collect();
        drop(golden);
        Self::known(keys, cluster)
    }

    /// The crosswalk of `keys` whose rows' clusters are `cluster`.
    pub fn known(keys: Keys, cluster: Vec<u32>) -> Self {
        let (names, source) = source_codes(&keys.sources);
        Crosswalk {
            keys,
            names,
            source,
            cluster,
        }
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

/// The crosswalk's row of each `(source, source_id)`, to find the records of decisions read
/// back from `decisions.parquet`.
pub struct RowIndex<'a> {
    /// The crosswalk.
    xw: &'a Crosswalk,
    /// The row of each `(source code, source_id)`.
    row_of: Sharded<(u32, &'a str)>,
}

impl<'a> RowIndex<'a> {
    /// Indexes the rows of `xw`.
    pub fn new(xw: &'a Crosswalk) -> Self {
        let ids = &xw.keys.ids;
        let row_of = Sharded::build(xw.source.len(), |i| (xw.source[i], text(ids, i)));
        RowIndex { xw, row_of }
    }

    /// The row and cluster of record `(source, id)`, `None` when it is not in the crosswalk
    /// or its golden id is unknown.
    pub fn find(&self, source: &str, id: &str) -> Option<(u32, u32)> {
        let code = self.xw.names.iter().position(|n| n == source)? as u32;
        let r = self.row_of.get(&(code, id))?;
        let c = self.xw.cluster[r as usize];
        (c != NO_CLUSTER).then_some((r, c))
    }
}

/// The golden records (golden id, record count, sources), the crosswalk indexed and the links
/// within its clusters, with each link's cluster.
pub type ClustersInput = (TableRead, Crosswalk, Vec<(u32, Link)>);

/// The [`ClustersInput`] of the run in `dir`: read back from its files, or taken from `known`.
pub fn clusters(dir: &Path, known: Option<Known>) -> Result<ClustersInput> {
    let golden_columns = [GOLDEN_ID, RECORD_COUNT, SOURCES];
    let golden = || TableRead::of(dir, Table::Golden, Some(&golden_columns));
    let Some(known) = known else {
        let crosswalk =
            || TableRead::of(dir, Table::Crosswalk, Some(&[SOURCE, SOURCE_ID, GOLDEN_ID]));
        let (golden, (xw, decisions)) = rayon::join(golden, || {
            rayon::join(crosswalk, || super::clusters::read_links(dir))
        });
        let (golden, xw, decisions) = (golden?, xw?, decisions?);
        let keys = Keys {
            sources: xw.strings(SOURCE)?,
            ids: xw.strings(SOURCE_ID)?,
            golden_of: xw.strings(GOLDEN_ID)?,
            golden: golden.strings(GOLDEN_ID)?,
        };
        let xw = Crosswalk::new(keys);
        let links = super::clusters::internal_links(&decisions, &RowIndex::new(&xw))?;
        return Ok((golden, xw, links));
    };
    let golden = golden()?;
    let rows = golden.rows();
    if known.cluster.len() != known.ids.len() || known.cluster.iter().any(|&c| c as usize >= rows) {
        return Err(crate::Error::Internal(format!(
            "report: the run's clusters do not match the {rows} rows of golden.parquet"
        )));
    }
    let keys = Keys {
        sources: known.sources,
        ids: known.ids,
        golden_of: StringArray::from(Vec::<&str>::new()),
        golden: golden.strings(GOLDEN_ID)?,
    };
    Ok((golden, Crosswalk::known(keys, known.cluster), known.links))
}

/// The distinct values of `sources` in order of first appearance, and each row's place among
/// them (a crosswalk holds runs of one source, so most rows match the row before).
fn source_codes(sources: &StringArray) -> (Vec<String>, Vec<u32>) {
    let mut names: Vec<String> = Vec::new();
    let mut last = u32::MAX;
    let codes = (0..sources.len())
        .map(|i| {
            let s = text(sources, i);
            if names.get(last as usize).is_none_or(|n| n != s) {
                last = match names.iter().position(|n| n == s) {
                    Some(c) => c as u32,
                    None => {
                        names.push(s.to_string());
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
