//! Row numbers found by key: the sharded hash index behind [`super::PreviousRun`]'s lookups.

use hashbrown::hash_table::{Entry, HashTable};
use rayon::prelude::*;

/// The hasher of [`super::PreviousRun`]'s tables.
pub fn hash_of(parts: &[&str]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x601d).build_hasher();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// Bits of a hash that pick an [`Index`] shard.
const SHARD_BITS: u32 = 6;

/// Row numbers found by key: hash tables of row numbers, split by hash into shards that are
/// built in parallel (one table of millions of rows is a long sequential build).
#[derive(Debug, Clone, Default)]
pub struct Index {
    shards: Vec<HashTable<u32>>,
}

impl Index {
    /// Indexes rows `0..rows` by `hash`; of rows with equal keys (`eq`), the first is kept.
    pub fn build(
        rows: usize,
        hash: impl Fn(u32) -> u64 + Sync,
        eq: impl Fn(u32, u32) -> bool + Sync,
    ) -> Index {
        let hashed: Vec<(u64, u32)> = (0..rows as u32)
            .into_par_iter()
            .map(|r| (hash(r), r))
            .collect();
        let mut buckets: Vec<Vec<(u64, u32)>> = vec![Vec::new(); 1 << SHARD_BITS];
        for &(h, r) in &hashed {
            buckets[Self::shard(h)].push((h, r));
        }
        let shards = buckets
            .into_par_iter()
            .map(|bucket| {
                let mut table = HashTable::with_capacity(bucket.len());
                for (h, r) in bucket {
                    if let Entry::Vacant(v) = table.entry(h, |&x| eq(x, r), |&x| hash(x)) {
                        v.insert(r);
                    }
                }
                table
            })
            .collect();
        Index { shards }
    }

    /// Number of distinct keys indexed.
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }

    /// The shard of hash `hash`.
    fn shard(hash: u64) -> usize {
        (hash >> (64 - SHARD_BITS)) as usize
    }

    /// The row with hash `hash` for which `eq` holds.
    pub fn find(&self, hash: u64, eq: impl Fn(u32) -> bool) -> Option<u32> {
        let shard = self.shards.get(Self::shard(hash))?;
        shard.find(hash, |&x| eq(x)).copied()
    }

    /// Adds `row` (a key not in the index yet) with hash `hash`.
    pub fn insert(&mut self, hash: u64, row: u32, rehash: impl Fn(u32) -> u64) {
        if self.shards.is_empty() {
            self.shards = vec![HashTable::new(); 1 << SHARD_BITS];
        }
        self.shards[Self::shard(hash)].insert_unique(hash, row, |&x| rehash(x));
    }
}
