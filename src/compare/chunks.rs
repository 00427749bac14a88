//! The candidate pairs in chunks of fewer than 65,536 pairs, compared in parallel. A run keeps
//! each pair's comparison vector as a 2-byte id into its chunk's table of distinct vectors
//! ([`Packed`]); the pairs themselves are enumerated again from the blocks when they are
//! scored, so holding every comparison costs 2 bytes a pair instead of 9 plus the levels.

use std::ops::Range;

use foldhash::HashMap;
use rayon::prelude::*;

use super::{Comparator, Compared, cache::PairCache};
use crate::block::{Blocks, WorkItem};

/// Most pairs in one chunk: a chunk's vector ids fit in a `u16`.
const CHUNK_PAIRS: u64 = u16::MAX as u64;

/// The blocks' work items grouped into consecutive chunks of at most [`CHUNK_PAIRS`] pairs.
pub struct Chunks {
    items: Vec<WorkItem>,
    ranges: Vec<Range<usize>>,
}

impl Chunks {
    /// Plans the chunks of `blocks` (pairs found by an earlier rule count here, so a chunk
    /// may hold fewer pairs than planned, never more).
    pub fn plan(blocks: &Blocks) -> Chunks {
        let items = blocks.work(CHUNK_PAIRS);
        let mut ranges = Vec::new();
        let (mut start, mut pairs) = (0, 0u64);
        for (i, item) in items.iter().enumerate() {
            let n = item_pairs(item);
            if pairs + n > CHUNK_PAIRS && i > start {
                ranges.push(start..i);
                (start, pairs) = (i, 0);
            }
            pairs += n;
        }
        if start < items.len() {
            ranges.push(start..items.len());
        }
        Chunks { items, ranges }
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when there are no pairs at all.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Calls `f(a, b, rule)` for each pair of chunk `c`, in a fixed order.
    fn for_each_pair(&self, blocks: &Blocks, c: usize, mut f: impl FnMut(u32, u32, u8)) {
        for &item in &self.items[self.ranges[c].clone()] {
            blocks.for_each_pair(item, &mut f);
        }
    }
}

/// Pairs of a work item before pairs of earlier rules are left out.
fn item_pairs(item: &WorkItem) -> u64 {
    let n = item.block.len as u64;
    (item.row_start as u64..item.row_end as u64)
        .map(|x| n - x - 1)
        .sum()
}

/// One chunk's comparison vectors: per pair, an id into the chunk's distinct vectors.
struct PackedChunk {
    ids: Vec<u16>,
    table: Vec<i8>,
}

impl PackedChunk {
    /// Packs the levels of `c` (at most [`CHUNK_PAIRS`] pairs).
    fn of(c: &Compared) -> PackedChunk {
        let mut index: HashMap<&[i8], u16> = HashMap::default();
        let mut table = Vec::new();
        let ids = (0..c.len())
            .map(|i| {
                let levels = c.pair_levels(i);
                let next = index.len() as u16;
                *index.entry(levels).or_insert_with(|| {
                    table.extend_from_slice(levels);
                    next
                })
            })
            .collect();
        PackedChunk { ids, table }
    }
}

impl PackedChunk {
    /// The chunk as [`ChunkTable`].
    fn view(&self) -> ChunkTable<'_> {
        ChunkTable {
            ids: &self.ids,
            vectors: &self.table,
        }
    }
}

/// A chunk's packed vectors, as [`Packed::map_chunks`] hands them out.
pub struct ChunkTable<'a> {
    /// Per pair (in the chunk's order), the id of its vector.
    pub ids: &'a [u16],
    /// The distinct vectors, row-major (`vectors[id * k + c]`).
    pub vectors: &'a [i8],
}

/// Every candidate pair's comparison vector, packed, with the chunks to enumerate the pairs
/// again.
pub struct Packed {
    chunks: Chunks,
    packed: Vec<PackedChunk>,
    /// Number of comparisons per pair.
    pub n_comparisons: usize,
    /// Candidate pairs.
    pub pairs: u64,
    /// Pairs whose levels were reused from the previous run instead of computed.
    pub reused: u64,
}

/// Compares every candidate pair of `blocks`, chunk by chunk in parallel (pairs found in
/// `cache` take the previous run's levels); `tally(chunk, table)` runs on each chunk's vectors while
/// they are at hand, and the tallies come back in chunk order.
pub fn compare_packed<T: Send>(
    comparator: &Comparator,
    blocks: &Blocks,
    cache: Option<&PairCache>,
    tally: impl Fn(&Compared, ChunkTable) -> T + Sync,
) -> (Packed, Vec<T>) {
    let chunks = Chunks::plan(blocks);
    let k = comparator.len();
    let results: Vec<(PackedChunk, u64, T)> = (0..chunks.len())
        .into_par_iter()
        .map(|c| {
            let mut out = Compared::with_comparisons(k);
            let mut buf = vec![0i8; k];
            chunks.for_each_pair(blocks, c, |a, b, rule| {
                if cache.is_some_and(|cache| cache.get(a, b, &mut buf)) {
                    out.reused += 1;
                } else {
                    comparator.levels(a, b, &mut buf);
                }
                out.push(a, b, rule, &buf);
            });
            let packed = PackedChunk::of(&out);
            let t = tally(&out, packed.view());
            (packed, out.reused, t)
        })
        .collect();
    let mut packed = Packed {
        chunks,
        packed: Vec::with_capacity(results.len()),
        n_comparisons: k,
        pairs: 0,
        reused: 0,
    };
    let mut tallies = Vec::with_capacity(results.len());
    for (chunk, reused, t) in results {
        packed.pairs += chunk.ids.len() as u64;
        packed.reused += reused;
        packed.packed.push(chunk);
        tallies.push(t);
    }
    (packed, tallies)
}

impl Packed {
    /// Enumerates each chunk's pairs again, with their levels, and hands them to `f` with
    /// the chunk's table (each pair's vector id, and the distinct vectors row-major); chunks
    /// in parallel, the results in chunk order.
    pub fn map_chunks<T: Send>(
        &self,
        blocks: &Blocks,
        f: impl Fn(Compared, ChunkTable) -> T + Sync,
    ) -> Vec<T> {
        let k = self.n_comparisons;
        (0..self.chunks.len())
            .into_par_iter()
            .map(|c| {
                let chunk = &self.packed[c];
                let mut out = Compared::with_comparisons(k);
                let mut ids = chunk.ids.iter();
                self.chunks.for_each_pair(blocks, c, |a, b, rule| {
                    let id = ids.next().map_or(0, |&id| id as usize);
                    out.push(a, b, rule, &chunk.table[id * k..(id + 1) * k]);
                });
                f(out, chunk.view())
            })
            .collect()
    }
}
