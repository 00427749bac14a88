//! The candidate pairs in chunks of fewer than 65,536 pairs, compared in parallel. A run keeps
//! each pair's comparison vector as a 2-byte id into its chunk's table of distinct vectors
//! ([`Packed`]); the pairs themselves are enumerated again from the blocks when they are
//! scored, so holding every comparison costs 2 bytes a pair instead of 9 plus the levels.

use foldhash::HashMap;
use rayon::prelude::*;

use super::{Comparator, Compared, Gathered, cache::PairCache};
use crate::block::{Block, Blocks, WorkItem, WorkPosition};

/// Most pairs in one chunk: a chunk's vector ids fit in a `u16`.
const CHUNK_PAIRS: u64 = u16::MAX as u64;

/// The blocks' work items grouped into consecutive chunks of at most [`CHUNK_PAIRS`] pairs,
/// kept as the position where each chunk starts.
pub struct Chunks {
    starts: Vec<WorkPosition>,
}

impl Chunks {
    /// Plans the chunks of `blocks` (pairs found by an earlier rule count here, so a chunk
    /// may hold fewer pairs than planned, never more).
    pub fn plan(blocks: &Blocks) -> Chunks {
        let mut starts = Vec::new();
        let mut pairs = 0u64;
        for (at, item) in blocks.work_from(CHUNK_PAIRS, WorkPosition::default()) {
            let n = item_pairs(&item);
            if starts.is_empty() || pairs + n > CHUNK_PAIRS {
                starts.push(at);
                pairs = 0;
            }
            pairs += n;
        }
        Chunks { starts }
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// True when there are no pairs at all.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The work items of chunk `c`, in order.
    fn items<'b>(&self, blocks: &'b Blocks, c: usize) -> impl Iterator<Item = WorkItem> + 'b {
        let end = self.starts.get(c + 1).copied();
        let items = blocks.work_from(CHUNK_PAIRS, self.starts[c]);
        items
            .take_while(move |(at, _)| end.is_none_or(|end| *at < end))
            .map(|(_, item)| item)
    }

    /// Calls `f(block, members, x, ys)` for each outer row `x` of chunk `c` with `ys`, the
    /// later members that its block's rule is the first to pair with it, in a fixed order:
    /// `x` and `ys` are positions in `members`, the block's records. Each block's groups under
    /// the earlier rules are gathered once.
    fn for_each_row<'b>(
        &self,
        blocks: &'b Blocks,
        c: usize,
        mut f: impl FnMut(Block, &'b [u32], usize, &[u32]),
    ) {
        let (mut earlier, mut ys, mut at) = (Vec::new(), Vec::new(), None);
        for item in self.items(blocks, c) {
            if at != Some(item.block.start) {
                blocks.gather_earlier(item.block, &mut earlier);
                at = Some(item.block.start);
            }
            let m = blocks.block_members(item.block);
            blocks.for_each_gathered_row(item, &earlier, &mut ys, |x, ys| f(item.block, m, x, ys));
        }
    }

    /// Calls `f(block, members, x, y)` for each pair of [`Chunks::for_each_row`], in order.
    fn for_each_pair<'b>(
        &self,
        blocks: &'b Blocks,
        c: usize,
        mut f: impl FnMut(Block, &'b [u32], usize, usize),
    ) {
        self.for_each_row(blocks, c, |block, m, x, ys| {
            for &y in ys {
                f(block, m, x, y as usize)
            }
        });
    }
}

/// Pairs of a work item before pairs of earlier rules are left out.
fn item_pairs(item: &WorkItem) -> u64 {
    let n = item.block.len as u64;
    (item.row_start as u64..item.row_end as u64)
        .map(|x| n - x - 1)
        .sum()
}

/// Each pair's vector id in its chunk: one byte while the chunk has at most 256 distinct
/// vectors (most chunks), two after.
pub enum VectorIds {
    /// Ids below 256.
    Narrow(Vec<u8>),
    /// Any id of a chunk.
    Wide(Vec<u16>),
}

impl VectorIds {
    /// Appends the next pair's id (widening the ids once one passes 255).
    #[inline]
    fn push(&mut self, id: u16) {
        match self {
            VectorIds::Narrow(v) => match u8::try_from(id) {
                Ok(id) => v.push(id),
                Err(_) => {
                    let mut wide: Vec<u16> = v.iter().map(|&x| u16::from(x)).collect();
                    wide.push(id);
                    *self = VectorIds::Wide(wide);
                }
            },
            VectorIds::Wide(v) => v.push(id),
        }
    }

    /// The id of pair `i`.
    #[inline]
    pub fn get(&self, i: usize) -> usize {
        match self {
            VectorIds::Narrow(v) => usize::from(v[i]),
            VectorIds::Wide(v) => usize::from(v[i]),
        }
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        match self {
            VectorIds::Narrow(v) => v.len(),
            VectorIds::Wide(v) => v.len(),
        }
    }

    /// True when the chunk has no pairs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One chunk's comparison vectors: per pair, an id into the chunk's distinct vectors.
struct PackedChunk {
    ids: VectorIds,
    table: Vec<i8>,
}

/// Builds a [`PackedChunk`] pair by pair: each vector is looked up as one `u64` when it has
/// at most eight levels (every pipeline of the README), as a slice otherwise.
struct Packer {
    k: usize,
    /// The last small vector and its id: neighbouring pairs often share their vector.
    last: Option<(u64, u16)>,
    small: HashMap<u64, u16>,
    large: HashMap<Vec<i8>, u16>,
    chunk: PackedChunk,
}

impl Packer {
    /// An empty chunk of vectors of `k` levels.
    fn new(k: usize) -> Packer {
        Packer {
            k,
            last: None,
            small: HashMap::default(),
            large: HashMap::default(),
            chunk: PackedChunk {
                ids: VectorIds::Narrow(Vec::new()),
                table: Vec::new(),
            },
        }
    }

    /// Adds the next pair's `levels` (`k` of them; at most [`CHUNK_PAIRS`] pairs a chunk).
    #[inline]
    fn push(&mut self, levels: &[i8]) {
        let next = (self.chunk.table.len() / self.k.max(1)) as u16;
        let table = &mut self.chunk.table;
        let id = if self.k <= 8 {
            let key = levels
                .iter()
                .fold(0u64, |key, &l| (key << 8) | u64::from(l as u8));
            match self.last {
                Some((last, id)) if last == key => id,
                _ => {
                    let id = *self.small.entry(key).or_insert_with(|| {
                        table.extend_from_slice(levels);
                        next
                    });
                    self.last = Some((key, id));
                    id
                }
            }
        } else {
            match self.large.get(levels) {
                Some(&id) => id,
                None => {
                    table.extend_from_slice(levels);
                    self.large.insert(levels.to_vec(), next);
                    next
                }
            }
        };
        self.chunk.ids.push(id);
    }

    /// The chunk, its buffers no larger than they need be (a run holds every chunk).
    fn finish(mut self) -> PackedChunk {
        match &mut self.chunk.ids {
            VectorIds::Narrow(v) => v.shrink_to_fit(),
            VectorIds::Wide(v) => v.shrink_to_fit(),
        }
        self.chunk.table.shrink_to_fit();
        self.chunk
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
    pub ids: &'a VectorIds,
    /// The distinct vectors, row-major (`vectors[id * k + c]`).
    pub vectors: &'a [i8],
}

impl ChunkTable<'_> {
    /// The levels of pair `i` (`k` comparisons).
    #[inline]
    pub fn levels(&self, i: usize, k: usize) -> &[i8] {
        let id = self.ids.get(i);
        &self.vectors[id * k..(id + 1) * k]
    }

    /// `pairs` (this chunk's, without levels) with each one's levels.
    pub fn with_levels(&self, pairs: &Compared) -> Compared {
        let k = pairs.n_comparisons;
        let mut out = pairs.clone();
        out.levels = (0..pairs.len())
            .flat_map(|i| self.levels(i, k).iter().copied())
            .collect();
        out
    }
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
/// they are at hand (the chunk's pairs come without levels: the table holds them), and the
/// tallies come back in chunk order.
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
            // The pairs without their levels: those go straight into the packed table.
            let mut out = Compared::with_comparisons(k);
            let mut packer = Packer::new(k);
            let mut row = Vec::new();
            let mut reuse = Reuse::default();
            let mut gathered = Gathered::default();
            // The block whose members are gathered: a large block's items follow each other.
            let mut at = None;
            chunks.for_each_row(blocks, c, |block, m, x, ys| {
                if at != Some(block.start) {
                    comparator.gather(m, &mut gathered);
                    at = Some(block.start);
                }
                let a = m[x];
                row.resize(ys.len() * k, 0);
                match cache.filter(|c| !c.partners(a).is_empty()) {
                    None => comparator.row_levels(&mut gathered, x, ys, &mut row),
                    // An incremental run: some of the row's pairs have the previous run's levels.
                    Some(cache) => {
                        out.reused +=
                            reuse.row(cache, (comparator, &mut gathered), (m, x, ys), &mut row)
                    }
                }
                for (j, &y) in ys.iter().enumerate() {
                    out.push(a, m[y as usize], block.rule, &[]);
                    packer.push(&row[j * k..(j + 1) * k]);
                }
            });
            let packed = packer.finish();
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
    let narrow = (results.iter())
        .filter(|(chunk, ..)| matches!(chunk.ids, VectorIds::Narrow(_)))
        .count();
    tracing::debug!(chunks = results.len(), narrow, "comparison vectors packed");
    for (chunk, reused, t) in results {
        packed.pairs += chunk.ids.len() as u64;
        packed.reused += reused;
        packed.packed.push(chunk);
        tallies.push(t);
    }
    (packed, tallies)
}

/// Buffers of a row whose outer record has pairs in the previous run's cache.
#[derive(Default)]
struct Reuse {
    /// Positions in the row of the pairs not cached.
    fresh: Vec<usize>,
    /// Their members.
    fresh_ys: Vec<u32>,
    /// Their levels, computed.
    levels: Vec<i8>,
}

impl Reuse {
    /// Writes the levels of gathered record `x` of block `m` with each of `ys` into `row`, as
    /// [`Comparator::row_levels`] does, copying those `cache` holds; returns how many it copied.
    fn row<'a>(
        &mut self,
        cache: &PairCache,
        (comparator, g): (&Comparator<'a>, &mut Gathered<'a>),
        (m, x, ys): (&[u32], usize, &[u32]),
        row: &mut [i8],
    ) -> u64 {
        let (a, k) = (m[x], comparator.len());
        let partners = cache.partners(a);
        self.fresh.clear();
        self.fresh_ys.clear();
        for (j, &y) in ys.iter().enumerate() {
            match partners.binary_search(&m[y as usize]) {
                Ok(i) => row[j * k..(j + 1) * k].copy_from_slice(cache.levels_of(a, i)),
                Err(_) => {
                    self.fresh.push(j);
                    self.fresh_ys.push(y);
                }
            }
        }
        if !self.fresh.is_empty() {
            self.levels.resize(self.fresh.len() * k, 0);
            comparator.row_levels(g, x, &self.fresh_ys, &mut self.levels);
            for (levels, &j) in self.levels.chunks_exact(k.max(1)).zip(&self.fresh) {
                row[j * k..(j + 1) * k].copy_from_slice(levels);
            }
        }
        (ys.len() - self.fresh.len()) as u64
    }
}

impl Packed {
    /// Enumerates each chunk's pairs again and hands them to `f`, without their levels, with
    /// the chunk's table (each pair's vector id, and the distinct vectors row-major: the
    /// levels of pair `i` are [`ChunkTable::levels`]); chunks in parallel, the results in
    /// chunk order.
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
                self.chunks.for_each_pair(blocks, c, |block, m, x, y| {
                    out.push(m[x], m[y], block.rule, &[]);
                });
                f(out, chunk.view())
            })
            .collect()
    }
}
