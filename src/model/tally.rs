//! What training needs of the candidate pairs, counted chunk by chunk while they are compared:
//! each rule's distinct comparison vectors (sampled down to [`EM_PAIRS_PER_RULE`]) for its EM
//! run, and every candidate's, for the priors and the thresholds. No per-pair rows are kept.

use super::{Conflict, em, u_sampling};
use crate::block::{self, Blocks};
use crate::compare::Compared;
use crate::compare::chunks::ChunkTable;
use crate::config::Pipeline;

/// Pairs of one rule used for EM, at most (sampled evenly beyond that).
const EM_PAIRS_PER_RULE: u64 = 2_000_000;

/// Counts of distinct comparison vectors.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Per rule, the vectors of the pairs in its blocks (including pairs an earlier rule also
    /// finds), identity conflicts left out.
    pub rules: Vec<em::PatternCounts>,
    /// The vectors of every candidate pair, identity conflicts left out.
    pub candidates: em::PatternCounts,
    /// Candidate pairs counted.
    pub pairs: u64,
}

/// How pairs are counted: the blocks (a pair is in a rule's blocks when its records share
/// the rule's group), each rule's sampling cut-off, the seed and the conflict rule.
pub struct TallyPlan<'a> {
    blocks: &'a Blocks,
    keep_below: Vec<u64>,
    seed: u64,
    conflict: Conflict,
}

impl<'a> TallyPlan<'a> {
    /// The plan for `pipeline`'s pairs in `blocks`.
    pub fn new(pipeline: &Pipeline, blocks: &'a Blocks) -> Self {
        let mut totals = vec![0u64; blocks.groups.len()];
        for b in &blocks.blocks {
            totals[b.rule as usize] += b.len as u64 * (b.len as u64 - 1) / 2;
        }
        TallyPlan {
            blocks,
            keep_below: keep_below(&totals),
            seed: pipeline.model.seed,
            conflict: Conflict::new(pipeline),
        }
    }

    /// The counts of one chunk of compared pairs, whose vectors `table` packs: counted per
    /// vector id first, each distinct vector packed and hashed once.
    pub fn of(&self, compared: &Compared, table: ChunkTable) -> Tally {
        let k = compared.n_comparisons;
        let vectors = table.vectors.len() / k.max(1);
        let levels = |id: usize| &table.vectors[id * k..(id + 1) * k];
        let conflict: Vec<bool> = (0..vectors)
            .map(|id| self.conflict.is_conflict(levels(id)))
            .collect();
        let rules = self.blocks.groups.len();
        let mut all = vec![0u64; vectors];
        let mut per_rule = vec![vec![0u64; vectors]; rules];
        for i in 0..table.ids.len() {
            let id = table.ids.get(i);
            if conflict[id] {
                continue;
            }
            all[id] += 1;
            for r in self.rules_of(compared.left[i], compared.right[i], compared.rule[i]) {
                per_rule[r][id] += 1;
            }
        }
        let counts = |n: &[u64]| -> em::PatternCounts {
            (n.iter().enumerate())
                .filter(|(_, n)| **n > 0)
                .map(|(id, &n)| (em::pack(levels(id)), n))
                .collect()
        };
        Tally {
            rules: per_rule.iter().map(|n| counts(n)).collect(),
            candidates: counts(&all),
            pairs: compared.len() as u64,
        }
    }

    /// The rules whose blocks hold pair (`a`, `b`), found first by rule `first` (no rule
    /// before it shares a group: that is what "first" means, and `first` itself does, since
    /// its block gave the pair), each kept by its sampling.
    fn rules_of(&self, a: u32, b: u32, first: u8) -> impl Iterator<Item = usize> + '_ {
        (self.blocks.groups.iter().enumerate().skip(first as usize)).filter_map(move |(r, g)| {
            let shared = r == first as usize || {
                let ga = g[a as usize];
                ga != block::NONE && ga == g[b as usize]
            };
            (shared && sampled(self.keep_below[r], self.seed, a, b)).then_some(r)
        })
    }
}

impl Tally {
    /// The sum of `parts`.
    pub fn merge(parts: Vec<Tally>) -> Tally {
        let mut all = Tally::default();
        for part in parts {
            all.rules
                .resize_with(part.rules.len().max(all.rules.len()), Default::default);
            for (into, from) in all.rules.iter_mut().zip(part.rules) {
                add_counts(into, from);
            }
            add_counts(&mut all.candidates, part.candidates);
            all.pairs += part.pairs;
        }
        all
    }
}

/// Adds the counts of `from` into `into`.
fn add_counts(into: &mut em::PatternCounts, from: em::PatternCounts) {
    for (key, n) in from {
        *into.entry(key).or_default() += n;
    }
}

/// Per rule, the pair hash ([`mix`]) at or below which a pair of the rule's blocks is counted
/// for its EM run, from the pairs in its blocks (`totals`): every pair (`u64::MAX`) up to
/// [`EM_PAIRS_PER_RULE`], an even sample of about that many beyond.
pub fn keep_below(totals: &[u64]) -> Vec<u64> {
    (totals.iter())
        .map(|&total| {
            if total <= EM_PAIRS_PER_RULE {
                u64::MAX
            } else {
                (u64::MAX / total) * EM_PAIRS_PER_RULE
            }
        })
        .collect()
}

/// True when pair (`a`, `b`) is in the EM sample of a rule whose cut-off is `keep`
/// ([`keep_below`]).
#[inline]
pub fn sampled(keep: u64, seed: u64, a: u32, b: u32) -> bool {
    keep == u64::MAX || mix(seed, a, b) <= keep
}

/// The counts of pairs compared elsewhere (a cluster), each row a first rule, the rules whose
/// EM sample holds the pairs (bit `r` for rule `r`), a packed vector ([`em::pack`]) and a
/// number of pairs: what [`TallyPlan::of`] counts, identity conflicts left out.
pub fn from_counted(
    pipeline: &Pipeline,
    rows: impl IntoIterator<Item = (u8, u64, u64, u64)>,
) -> Tally {
    let (k, conflict) = (pipeline.comparisons.len(), Conflict::new(pipeline));
    let mut all = Tally {
        rules: vec![Default::default(); pipeline.blocking.rules.len()],
        ..Tally::default()
    };
    let mut levels = Vec::with_capacity(k);
    for (_, tallied, code, n) in rows {
        all.pairs += n;
        levels.clear();
        em::unpack(code, k, &mut levels);
        if conflict.is_conflict(&levels) {
            continue;
        }
        *all.candidates.entry(code).or_default() += n;
        for (r, counts) in all.rules.iter_mut().enumerate() {
            if tallied >> r & 1 == 1 {
                *counts.entry(code).or_default() += n;
            }
        }
    }
    all
}

/// A deterministic hash of a pair, for even sampling.
fn mix(seed: u64, a: u32, b: u32) -> u64 {
    u_sampling::SplitMix64(seed ^ ((a as u64) << 32 | b as u64)).next_u64()
}
