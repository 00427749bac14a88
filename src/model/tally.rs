//! What training needs of the candidate pairs, counted chunk by chunk while they are compared:
//! each rule's distinct comparison vectors (sampled down to [`EM_PAIRS_PER_RULE`]) for its EM
//! run, and every candidate's, for the priors and the thresholds. No per-pair rows are kept.

use super::{Conflict, em, u_sampling};
use crate::block::{self, Blocks};
use crate::compare::Compared;
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
        let keep_below = totals
            .iter()
            .map(|&total| {
                if total <= EM_PAIRS_PER_RULE {
                    u64::MAX
                } else {
                    (u64::MAX / total) * EM_PAIRS_PER_RULE
                }
            })
            .collect();
        TallyPlan {
            blocks,
            keep_below,
            seed: pipeline.model.seed,
            conflict: Conflict::new(pipeline),
        }
    }

    /// The counts of one chunk of compared pairs.
    pub fn of(&self, compared: &Compared) -> Tally {
        let rules = self.blocks.groups.len();
        let mut t = Tally {
            rules: vec![em::PatternCounts::new(); rules],
            candidates: em::PatternCounts::new(),
            pairs: compared.len() as u64,
        };
        for i in 0..compared.len() {
            let levels = compared.pair_levels(i);
            if self.conflict.is_conflict(levels) {
                continue;
            }
            let key = em::pack(levels);
            *t.candidates.entry(key).or_default() += 1;
            let (a, b) = (compared.left[i], compared.right[i]);
            for (r, groups) in self.blocks.groups.iter().enumerate() {
                let g = groups[a as usize];
                if g == block::NONE || g != groups[b as usize] {
                    continue;
                }
                if self.keep_below[r] != u64::MAX && mix(self.seed, a, b) > self.keep_below[r] {
                    continue;
                }
                *t.rules[r].entry(key).or_default() += 1;
            }
        }
        t
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

/// A deterministic hash of a pair, for even sampling.
fn mix(seed: u64, a: u32, b: u32) -> u64 {
    u_sampling::SplitMix64(seed ^ ((a as u64) << 32 | b as u64)).next_u64()
}
