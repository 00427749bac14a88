//! Which scored pairs a run keeps: every candidate pair is scored chunk by chunk as its
//! packed comparison vector is unpacked; pairs at or above the decisions floor (matches, the
//! review band, near misses) are kept with their levels, clear non-matches below it are only
//! counted, per blocking rule and in the weight histogram. Identity conflicts are kept as
//! record pairs: clustering never joins them, whatever their score.

use super::histogram::WeightHistogram;
use super::score::{Decision, Scorer};
use crate::block::Blocks;
use crate::compare::Compared;
use crate::compare::chunks::Packed;

/// Posterior below which a pair is a clear non-match, left out of `decisions.parquet` unless
/// the pipeline asks for every decision.
pub const DECISIONS_FLOOR: f64 = 1e-3;

/// The kept pairs and the counts of all of them.
#[derive(Debug, Default)]
pub struct Selected {
    /// Pairs at or above the floor (or not a non-match, or manual), with their levels.
    pub kept: Compared,
    /// Every candidate pair's match weight (thresholds not set yet).
    pub histogram: Option<WeightHistogram>,
    /// Per rule, candidate pairs it found first.
    pub per_rule: Vec<u64>,
    /// Per rule, those below the floor (not kept).
    pub below_floor: Vec<u64>,
    /// Candidate pairs whose levels are an identity conflict.
    pub conflicts: Vec<(u32, u32)>,
}

/// Scores every packed pair with `scorer` and keeps those with a posterior of at least
/// `floor`, a decision other than non-match, or `manual` (the manual pairs, written under the
/// rule that found them); `floor` 0 keeps every pair.
pub fn select(
    scorer: &Scorer,
    packed: &Packed,
    blocks: &Blocks,
    floor: f64,
    manual: impl Fn(u32, u32) -> bool + Sync,
) -> Selected {
    let rules = blocks.groups.len();
    let parts = packed.map_chunks(blocks, |chunk| {
        let scored = scorer.score(&chunk);
        let mut part = Selected {
            kept: Compared::with_comparisons(chunk.n_comparisons),
            histogram: Some(WeightHistogram::of(&scored.match_weight, (0.0, 0.0))),
            per_rule: vec![0; rules],
            below_floor: vec![0; rules],
            conflicts: Vec::new(),
        };
        for i in 0..chunk.len() {
            let (a, b, rule) = (chunk.left[i], chunk.right[i], chunk.rule[i]);
            let levels = chunk.pair_levels(i);
            part.per_rule[rule as usize] += 1;
            if scorer.is_conflict(levels) {
                part.conflicts.push((a, b));
            }
            let above = scored.probability[i] >= floor || scored.decision[i] != Decision::NonMatch;
            if above || manual(a, b) {
                part.kept.push(a, b, rule, levels);
            } else {
                part.below_floor[rule as usize] += 1;
            }
        }
        part
    });
    let mut all = Selected {
        kept: Compared::with_comparisons(packed.n_comparisons),
        per_rule: vec![0; rules],
        below_floor: vec![0; rules],
        ..Selected::default()
    };
    for part in parts {
        all.add(part);
    }
    all
}

impl Selected {
    /// Adds the pairs and counts of `part`.
    fn add(&mut self, part: Selected) {
        self.kept.append(part.kept);
        self.histogram = match (self.histogram.take(), part.histogram) {
            (Some(mut h), Some(p)) => {
                h.add(&p);
                Some(h)
            }
            (h, p) => h.or(p),
        };
        for (x, y) in self.per_rule.iter_mut().zip(part.per_rule) {
            *x += y;
        }
        for (x, y) in self.below_floor.iter_mut().zip(part.below_floor) {
            *x += y;
        }
        self.conflicts.extend(part.conflicts);
    }
}
