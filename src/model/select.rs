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
    pub histogram: WeightHistogram,
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
    let parts = packed.map_chunks(blocks, |chunk, table| {
        let k = chunk.n_comparisons;
        let pairs = || scorer.score(&table.with_levels(&chunk));
        let v = Verdicts::of(scorer, k, table.vectors, pairs, floor);
        let mut part = Selected {
            kept: Compared::with_comparisons(chunk.n_comparisons),
            histogram: WeightHistogram::default(),
            per_rule: vec![0; rules],
            below_floor: vec![0; rules],
            conflicts: Vec::new(),
        };
        let mut per_vector = vec![0u64; v.conflict.len()];
        for i in 0..chunk.len() {
            let (a, b, rule) = (chunk.left[i], chunk.right[i], chunk.rule[i]);
            let id = table.ids.get(i);
            per_vector[id] += 1;
            part.per_rule[rule as usize] += 1;
            if v.conflict[id] {
                part.conflicts.push((a, b));
            }
            let x = if v.by_vector { id } else { i };
            if v.keep[x] || manual(a, b) {
                part.kept
                    .push(a, b, rule, table.levels(i, chunk.n_comparisons));
            } else {
                part.below_floor[rule as usize] += 1;
            }
        }
        v.add_weights(&mut part.histogram, &per_vector);
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

/// [`select`] over pairs compared elsewhere (a cluster): `counted` holds every candidate
/// pair as rows of a first rule, a packed vector ([`super::em::pack`]) and a number of pairs;
/// `fetched`, in the local run's order, the pairs that may be kept: those of the vectors that
/// [`fetched_vectors`] names (and the manual pairs), every pair when a term-frequency field
/// scores pair by pair; `rules` blocking rules.
pub fn select_fetched(
    scorer: &Scorer,
    rules: usize,
    counted: &[(u8, u64, u64)],
    fetched: &Compared,
    floor: f64,
    manual: impl Fn(u32, u32) -> bool,
) -> Selected {
    let mut all = Selected {
        kept: Compared::with_comparisons(fetched.n_comparisons),
        per_rule: vec![0; rules],
        below_floor: vec![0; rules],
        ..Selected::default()
    };
    for &(rule, _, n) in counted {
        all.per_rule[rule as usize] += n;
    }
    let k = fetched.n_comparisons;
    let patterns = Patterns::of(counted.iter().map(|&(_, code, _)| code), k);
    let v = Verdicts::of(
        scorer,
        k,
        &patterns.vectors,
        || scorer.score(fetched),
        floor,
    );
    if v.by_vector {
        for &(_, code, n) in counted {
            all.histogram.add_weight(v.weight[patterns.id[&code]], n);
        }
    } else {
        v.add_weights(&mut all.histogram, &[]);
    }
    for i in 0..fetched.len() {
        let (a, b, rule) = (fetched.left[i], fetched.right[i], fetched.rule[i]);
        let levels = fetched.pair_levels(i);
        let id = patterns.id[&super::em::pack(levels)];
        if v.conflict[id] {
            all.conflicts.push((a, b));
        }
        if v.keep[if v.by_vector { id } else { i }] || manual(a, b) {
            all.kept.push(a, b, rule, levels);
        }
    }
    for (r, below) in all.below_floor.iter_mut().enumerate() {
        let kept = all.kept.rule.iter().filter(|&&x| x as usize == r).count() as u64;
        *below = all.per_rule[r] - kept;
    }
    all
}

/// The packed vectors that a run on a cluster fetches pairs of: those kept (at or above the
/// floor, or not a non-match) or an identity conflict; `None` when a term-frequency field
/// scores pair by pair, so every pair is fetched.
pub fn fetched_vectors(scorer: &Scorer, codes: &[u64], k: usize, floor: f64) -> Option<Vec<u64>> {
    if scorer.has_term_frequencies() {
        return None;
    }
    let patterns = Patterns::of(codes.iter().copied(), k);
    let none = || scorer.score(&Compared::with_comparisons(k));
    let v = Verdicts::of(scorer, k, &patterns.vectors, none, floor);
    let wanted = (patterns.codes.iter().enumerate())
        .filter(|&(id, _)| v.keep[id] || v.conflict[id])
        .map(|(_, &code)| code);
    Some(wanted.collect())
}

/// Distinct packed vectors in first-seen order, each with its levels.
struct Patterns {
    codes: Vec<u64>,
    id: std::collections::HashMap<u64, usize>,
    vectors: Vec<i8>,
}

impl Patterns {
    /// The distinct vectors of `codes`, `k` levels each.
    fn of(codes: impl Iterator<Item = u64>, k: usize) -> Patterns {
        let mut p = Patterns {
            codes: Vec::new(),
            id: Default::default(),
            vectors: Vec::new(),
        };
        for code in codes {
            if let std::collections::hash_map::Entry::Vacant(e) = p.id.entry(code) {
                e.insert(p.codes.len());
                p.codes.push(code);
                super::em::unpack(code, k, &mut p.vectors);
            }
        }
        p
    }
}

/// A chunk's scores: per distinct vector when a pair's score depends on its vector alone (no
/// term-frequency field), else per pair.
struct Verdicts {
    /// True when `weight` and `keep` are indexed by vector id, false by pair.
    by_vector: bool,
    /// Match weight.
    weight: Vec<f64>,
    /// Kept: at or above the floor, or not a non-match.
    keep: Vec<bool>,
    /// Per vector id, whether it is an identity conflict.
    conflict: Vec<bool>,
}

impl Verdicts {
    /// Scores the distinct vectors `distinct` (`k` levels each), or, with a term-frequency
    /// field, the pairs themselves (`score_pairs`).
    fn of(
        scorer: &Scorer,
        k: usize,
        distinct: &[i8],
        score_pairs: impl FnOnce() -> super::score::Scored,
        floor: f64,
    ) -> Verdicts {
        let vectors = distinct.len() / k.max(1);
        let distinct = Compared {
            left: vec![0; vectors],
            right: vec![0; vectors],
            rule: vec![0; vectors],
            levels: distinct.to_vec(),
            n_comparisons: k,
            reused: 0,
        };
        let conflict = (0..vectors)
            .map(|v| scorer.is_conflict(distinct.pair_levels(v)))
            .collect();
        let by_vector = !scorer.has_term_frequencies();
        let scored = if by_vector {
            scorer.score(&distinct)
        } else {
            // A term-frequency adjustment depends on the pair's records: scored pair by pair.
            score_pairs()
        };
        let keep = (scored.probability.iter().zip(&scored.decision))
            .map(|(&p, &d)| p >= floor || d != Decision::NonMatch)
            .collect();
        Verdicts {
            by_vector,
            weight: scored.match_weight,
            keep,
            conflict,
        }
    }

    /// Adds every pair's weight to `h` (`per_vector`: pairs per vector id).
    fn add_weights(&self, h: &mut WeightHistogram, per_vector: &[u64]) {
        if self.by_vector {
            for (&w, &n) in self.weight.iter().zip(per_vector) {
                h.add_weight(w, n);
            }
        } else {
            for &w in &self.weight {
                h.add_weight(w, 1);
            }
        }
    }
}

impl Selected {
    /// Adds the pairs and counts of `part`.
    fn add(&mut self, part: Selected) {
        self.kept.append(part.kept);
        self.histogram.add(&part.histogram);
        for (x, y) in self.per_rule.iter_mut().zip(part.per_rule) {
            *x += y;
        }
        for (x, y) in self.below_floor.iter_mut().zip(part.below_floor) {
            *x += y;
        }
        self.conflicts.extend(part.conflicts);
    }
}
