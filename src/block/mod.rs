//! Stage "block": standardized records → blocks of records that share a blocking key.
//!
//! Each rule assigns every record a group id (records agreeing on all of the rule's keys share
//! one; a null or empty key never groups). Blocks are yielded as sorted index ranges; the pairs
//! of a block are enumerated lazily by [`Blocks::work`], and a pair is tagged with the FIRST rule
//! whose keys it agrees on, so a pair found by several rules is compared once. Blocks larger than
//! `max_block_size` are skipped with a warning that names the rule and the size.

use foldhash::HashMap;
use foldhash::HashMapExt;
use rayon::prelude::*;

use arrow::array::{Array, RecordBatch, StringArray};

use crate::config::{BlockingConfig, BlockingRule, KeyTransform};
use crate::standardize::keys::key;
use crate::standardize::value_ids::{self, MatchIds, ValueIds};
use crate::{Error, Result};

/// Group id of a record whose key is null, or whose block was skipped.
pub const NONE: u32 = value_ids::NO_VALUE;

/// One block: a range of [`Blocks::members`] whose records share a rule's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Rule index.
    pub rule: u8,
    /// Start in [`Blocks::members`].
    pub start: u32,
    /// Number of records.
    pub len: u32,
}

/// Counts per rule, for the manifest and the logs.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RuleStats {
    /// The rule as written.
    pub rule: String,
    /// Blocks with at least two records that were kept.
    pub blocks: u64,
    /// Records of the largest kept block.
    pub largest_block: u64,
    /// Blocks skipped for exceeding the size cap.
    pub capped_blocks: u64,
    /// Records in skipped blocks.
    pub capped_records: u64,
    /// Pairs in kept blocks, before pairs found by earlier rules are removed.
    pub pairs_in_blocks: u64,
    /// Candidate pairs this rule found first (compared once, under this rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_pairs: Option<u64>,
    /// Of those, pairs below the decisions floor (counted, not written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_floor: Option<u64>,
    /// The size cap the blocks were held to (`max_block_size`); absent in runs written
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_block_size: Option<u64>,
}

/// Every rule's groups and blocks.
pub struct Blocks {
    /// Per rule, the group id of each record ([`NONE`] when it cannot pair under that rule).
    pub groups: Vec<Vec<u32>>,
    /// Blocks of two or more records, rule by rule.
    pub blocks: Vec<Block>,
    /// Record indices of every block, concatenated; each block's slice is sorted.
    pub members: Vec<u32>,
    /// Per-rule counts.
    pub stats: Vec<RuleStats>,
}

/// Where a [`WorkItem`] starts: a block (its index in [`Blocks::blocks`]) and an outer row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkPosition {
    /// Index of the block.
    pub block: u32,
    /// First outer row of the item.
    pub row: u32,
}

/// A slice of a block's pairs small enough to be one task: outer rows `rows` against every
/// later member of the block.
#[derive(Debug, Clone, Copy)]
pub struct WorkItem {
    /// The block.
    pub block: Block,
    /// First outer row (offset within the block).
    pub row_start: u32,
    /// One past the last outer row.
    pub row_end: u32,
}

impl Blocks {
    /// The first rule whose keys `a` and `b` share, if any.
    pub fn first_rule(&self, a: u32, b: u32) -> Option<u8> {
        self.groups
            .iter()
            .position(|g| {
                let ga = g[a as usize];
                ga != NONE && ga == g[b as usize]
            })
            .map(|r| r as u8)
    }

    /// Records of `block`.
    pub fn block_members(&self, block: Block) -> &[u32] {
        &self.members[block.start as usize..(block.start + block.len) as usize]
    }

    /// Every block split into tasks of about `pairs_per_item` pairs (so one huge block does
    /// not serialise the comparison stage), in order from `from`, each with its position;
    /// made as they are read, never held (millions of blocks at 1M records).
    pub fn work_from(
        &self,
        pairs_per_item: u64,
        from: WorkPosition,
    ) -> impl Iterator<Item = (WorkPosition, WorkItem)> + '_ {
        let mut at = from;
        std::iter::from_fn(move || {
            let &block = self.blocks.get(at.block as usize)?;
            let n = block.len as u64;
            let rows = if n * (n - 1) / 2 <= pairs_per_item {
                block.len
            } else {
                (pairs_per_item / n).max(1) as u32
            };
            let here = at;
            let row_end = block.len.min(at.row + rows);
            at = if row_end == block.len {
                WorkPosition {
                    block: at.block + 1,
                    row: 0,
                }
            } else {
                WorkPosition {
                    block: at.block,
                    row: row_end,
                }
            };
            let item = WorkItem {
                block,
                row_start: here.row,
                row_end,
            };
            Some((here, item))
        })
    }

    /// Gathers the groups of `block`'s members under the rules before its own, member by
    /// member, into `earlier` (for [`Blocks::for_each_gathered_row`]).
    pub fn gather_earlier(&self, block: Block, earlier: &mut Vec<u32>) {
        let r = block.rule as usize;
        earlier.clear();
        for &a in self.block_members(block) {
            earlier.extend(self.groups[..r].iter().map(|g| g[a as usize]));
        }
    }

    /// Calls `f(x, ys)` for each outer row `x` of `item` with `ys`, the later members that its
    /// rule is the first to pair with `x` (no earlier rule puts both in one block), in order,
    /// as positions in its block's members. `earlier` is the block's
    /// [`Blocks::gather_earlier`], so the test reads memory in order; `ys` is scratch.
    #[inline]
    pub fn for_each_gathered_row(
        &self,
        item: WorkItem,
        earlier: &[u32],
        ys: &mut Vec<u32>,
        mut f: impl FnMut(usize, &[u32]),
    ) {
        let (n, r) = (item.block.len as usize, item.block.rule as usize);
        let groups = |x: usize| &earlier[x * r..(x + 1) * r];
        for x in item.row_start as usize..item.row_end as usize {
            let gx = groups(x);
            ys.clear();
            ys.extend((x as u32 + 1..n as u32).filter(|&y| {
                !gx.iter()
                    .zip(groups(y as usize))
                    .any(|(&g, &h)| g != NONE && g == h)
            }));
            if !ys.is_empty() {
                f(x, ys);
            }
        }
    }
}

/// Interns values into dense ids in first-seen order.
struct Interner<K> {
    ids: HashMap<K, u32>,
}

impl<K: std::hash::Hash + Eq> Interner<K> {
    fn new(capacity: usize) -> Self {
        Interner {
            ids: HashMap::with_capacity(capacity),
        }
    }
    fn id(&mut self, k: K) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(k).or_insert(next)
    }
}

/// Group ids of one key part: equal non-empty values share an id.
fn part_groups(values: &StringArray) -> Vec<u32> {
    ValueIds::of(values).ids
}

/// The values of blocking key `k` of every record of `batch` (its field's match key, transformed).
fn key_values(batch: &RecordBatch, k: &crate::config::BlockKey) -> Result<StringArray> {
    Ok(key(value_ids::match_values(batch, &k.field)?, k.transform))
}

/// Group ids of a rule: records share an id when they agree on every key.
/// A key that is a field's match value as it is takes that field's ids from `ids` when they
/// were interned there (the same ids [`part_groups`] gives).
/// Those ids are borrowed while keys are combined: only a rule of that one key copies them.
fn rule_groups(batch: &RecordBatch, rule: &BlockingRule, ids: &MatchIds) -> Result<Vec<u32>> {
    use std::borrow::Cow;
    let mut groups: Option<Cow<[u32]>> = None;
    for k in &rule.keys {
        let part = match (k.transform, ids.get(&k.field)) {
            (KeyTransform::Identity, Some(interned)) => Cow::Borrowed(&interned.ids[..]),
            _ => Cow::Owned(part_groups(&key_values(batch, k)?)),
        };
        groups = Some(match groups {
            None => part,
            Some(prev) => {
                let mut interner = Interner::new(prev.len() / 2);
                prev.iter()
                    .zip(part.iter())
                    .map(|(&a, &b)| {
                        if a == NONE || b == NONE {
                            NONE
                        } else {
                            interner.id((a, b))
                        }
                    })
                    .collect()
            }
        });
    }
    let groups = groups.map(Cow::into_owned);
    groups.ok_or_else(|| Error::Internal(format!("blocking rule `{}` has no keys", rule.text)))
}

/// Each record's blocking key under `rule`: its keys' values joined by
/// [`crate::schema::KEY_SEPARATOR`], null when any of them is null or empty (the record then
/// cannot pair under the rule). Records share a key exactly when [`rule_groups`] groups them.
pub fn rule_keys(batch: &RecordBatch, rule: &BlockingRule) -> Result<StringArray> {
    let parts = rule
        .keys
        .iter()
        .map(|k| key_values(batch, k))
        .collect::<Result<Vec<StringArray>>>()?;
    let mut joined = String::new();
    Ok((0..batch.num_rows())
        .map(|i| {
            joined.clear();
            for (n, part) in parts.iter().enumerate() {
                let v = Some(part).filter(|p| p.is_valid(i)).map(|p| p.value(i));
                let v = v.filter(|v| !v.is_empty())?;
                if n > 0 {
                    joined.push_str(crate::schema::KEY_SEPARATOR);
                }
                joined.push_str(v);
            }
            Some(joined.clone())
        })
        .collect())
}

/// Builds the blocks of every rule over `batch` (standardized, with `__match` columns).
pub fn block(batch: &RecordBatch, cfg: &BlockingConfig) -> Result<Blocks> {
    block_with(batch, cfg, &MatchIds::default())
}

/// [`block`], taking the ids of the fields `ids` interned from there.
pub fn block_with(batch: &RecordBatch, cfg: &BlockingConfig, ids: &MatchIds) -> Result<Blocks> {
    // The rules are independent: each is built in parallel, then assembled in rule order.
    let rules = cfg
        .rules
        .par_iter()
        .enumerate()
        .map(|(r, rule)| rule_blocks(batch, (r as u8, rule), ids, cfg.max_block_size))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Blocks {
        groups: Vec::new(),
        blocks: Vec::new(),
        members: Vec::new(),
        stats: Vec::new(),
    };
    for one in rules {
        let base = out.members.len() as u32;
        out.blocks.extend(one.blocks.into_iter().map(|b| Block {
            start: base + b.start,
            ..b
        }));
        out.members.extend(one.members);
        debug_assert_eq!(one.groups.len(), batch.num_rows());
        out.groups.push(one.groups);
        out.stats.push(one.stats);
    }
    Ok(out)
}

/// One rule's part of [`Blocks`], its block starts relative to its own members.
struct RuleBlocks {
    groups: Vec<u32>,
    blocks: Vec<Block>,
    members: Vec<u32>,
    stats: RuleStats,
}

/// Groups the records of `batch` under rule number `r` and lays out its blocks; groups larger
/// than `max_block_size` are skipped with a warning.
fn rule_blocks(
    batch: &RecordBatch,
    (r, rule): (u8, &BlockingRule),
    ids: &MatchIds,
    max_block_size: usize,
) -> Result<RuleBlocks> {
    let mut groups = rule_groups(batch, rule, ids)?;
    let n_groups = groups
        .iter()
        .filter(|&&g| g != NONE)
        .max()
        .map_or(0, |&g| g as usize + 1);
    let mut sizes = vec![0u32; n_groups];
    for &g in &groups {
        if g != NONE {
            sizes[g as usize] += 1;
        }
    }
    let mut stats = RuleStats {
        rule: rule.text.clone(),
        max_block_size: Some(max_block_size as u64),
        ..Default::default()
    };
    for &s in &sizes {
        if s as usize > max_block_size {
            stats.capped_blocks += 1;
            stats.capped_records += s as u64;
            tracing::warn!(
                rule = %rule.text,
                block_size = s,
                max_block_size,
                "block skipped: larger than max_block_size; make the rule more specific or raise the cap"
            );
        } else if s >= 2 {
            stats.blocks += 1;
            stats.largest_block = stats.largest_block.max(s as u64);
            stats.pairs_in_blocks += s as u64 * (s as u64 - 1) / 2;
        }
    }
    // Records in skipped blocks do not group under this rule.
    for g in groups.iter_mut() {
        if *g != NONE && sizes[*g as usize] as usize > max_block_size {
            *g = NONE;
        }
    }
    // Counting sort of records by group: blocks in order of their first record.
    let mut starts = vec![0u32; n_groups + 1];
    for (g, &s) in sizes.iter().enumerate() {
        let keep = s >= 2 && s as usize <= max_block_size;
        starts[g + 1] = starts[g] + if keep { s } else { 0 };
    }
    let mut members = vec![0u32; starts[n_groups] as usize];
    let mut fill = starts.clone();
    for (i, &g) in groups.iter().enumerate() {
        if g != NONE && sizes[g as usize] >= 2 {
            members[fill[g as usize] as usize] = i as u32;
            fill[g as usize] += 1;
        }
    }
    let blocks = (0..n_groups)
        .filter_map(|g| {
            let len = starts[g + 1] - starts[g];
            (len >= 2).then_some(Block {
                rule: r,
                start: starts[g],
                len,
            })
        })
        .collect();
    Ok(RuleBlocks {
        groups,
        blocks,
        members,
        stats,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::schema::match_column;
    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::config::{BlockKey, KeyTransform};

    fn batch(cols: &[(&str, Vec<Option<&str>>)]) -> RecordBatch {
        let fields: Vec<Field> = cols
            .iter()
            .map(|(n, _)| Field::new(match_column(n), DataType::Utf8, true))
            .collect();
        let arrays: Vec<ArrayRef> = cols
            .iter()
            .map(|(_, v)| Arc::new(StringArray::from(v.clone())) as ArrayRef)
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    fn rule(fields: &[&str]) -> BlockingRule {
        BlockingRule {
            keys: fields
                .iter()
                .map(|f| BlockKey {
                    field: f.to_string(),
                    transform: KeyTransform::Identity,
                })
                .collect(),
            text: fields.join(" & "),
        }
    }

    fn pairs(b: &Blocks) -> Vec<(u32, u32, u8)> {
        let (mut out, mut gathered, mut earlier, mut ys) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (_, item) in b.work_from(2, WorkPosition::default()) {
            // By definition: each later member whose first shared rule is this block's.
            let (m, rule) = (b.block_members(item.block), item.block.rule);
            for x in item.row_start as usize..item.row_end as usize {
                for &y in &m[x + 1..] {
                    if b.first_rule(m[x], y) == Some(rule) {
                        out.push((m[x], y, rule));
                    }
                }
            }
            b.gather_earlier(item.block, &mut earlier);
            b.for_each_gathered_row(item, &earlier, &mut ys, |x, ys| {
                gathered.extend(ys.iter().map(|&y| (m[x], m[y as usize], item.block.rule)))
            });
        }
        assert_eq!(gathered, out, "the same pairs in the same order, gathered");
        out.sort();
        out
    }

    #[test]
    fn pairs_once_tagged_with_first_rule_nulls_never_block() {
        let b = batch(&[
            (
                "email",
                vec![Some("a@x"), Some("a@x"), None, None, Some("")],
            ),
            (
                "phone",
                vec![Some("1"), Some("1"), Some("2"), Some("2"), Some("")],
            ),
        ]);
        let cfg = BlockingConfig {
            rules: vec![rule(&["email"]), rule(&["phone"])],
            max_block_size: 10,
        };
        let blocks = block(&b, &cfg).unwrap();
        // (0,1) agrees on both rules: found once, by rule 0. Nulls/empties never pair.
        assert_eq!(pairs(&blocks), vec![(0, 1, 0), (2, 3, 1)]);
        assert_eq!(blocks.first_rule(0, 1), Some(0));
        assert_eq!(blocks.first_rule(2, 3), Some(1));
        assert_eq!(blocks.first_rule(0, 4), None);
    }

    #[test]
    fn multi_key_rules_need_every_key() {
        let b = batch(&[
            ("last_name", vec![Some("lee"), Some("lee"), Some("lee")]),
            (
                "birth_date",
                vec![Some("1990-01-01"), Some("1990-01-01"), Some("1991-01-01")],
            ),
        ]);
        let cfg = BlockingConfig {
            rules: vec![rule(&["last_name", "birth_date"])],
            max_block_size: 10,
        };
        assert_eq!(pairs(&block(&b, &cfg).unwrap()), vec![(0, 1, 0)]);
    }

    #[test]
    fn interned_fields_give_the_same_groups_and_pairs_as_interning_here() {
        let names = [
            Some("lee"),
            Some(""),
            None,
            Some("kim"),
            Some("lee"),
            Some("kim"),
        ];
        let dates = [
            Some("1990"),
            Some("1990"),
            Some("1991"),
            None,
            Some("1990"),
            Some("1991"),
        ];
        let b = batch(&[
            ("last_name", names.to_vec()),
            ("birth_date", dates.to_vec()),
        ]);
        let cfg = BlockingConfig {
            rules: vec![rule(&["last_name", "birth_date"]), rule(&["last_name"])],
            max_block_size: 10,
        };
        let here = block(&b, &cfg).unwrap();
        let ids = MatchIds::of(&b, &["last_name"]).unwrap();
        let shared = block_with(&b, &cfg, &ids).unwrap();
        assert_eq!(shared.groups, here.groups);
        assert_eq!(pairs(&shared), pairs(&here));
        assert_eq!(pairs(&here), vec![(0, 4, 0), (3, 5, 1)]);
    }

    #[test]
    fn oversized_blocks_are_skipped_and_counted_and_later_rules_still_pair() {
        let b = batch(&[
            ("city", vec![Some("leeds"); 4]),
            ("phone", vec![Some("1"), Some("1"), None, None]),
        ]);
        let cfg = BlockingConfig {
            rules: vec![rule(&["city"]), rule(&["phone"])],
            max_block_size: 3,
        };
        let blocks = block(&b, &cfg).unwrap();
        assert_eq!(blocks.stats[0].capped_blocks, 1);
        assert_eq!(blocks.stats[0].capped_records, 4);
        assert_eq!(pairs(&blocks), vec![(0, 1, 1)]);
    }

    #[test]
    fn matches_brute_force_on_random_keys() {
        // Oracle: every pair agreeing on some rule appears exactly once, with the first rule.
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % 5
        };
        let n = 60;
        let vals: Vec<Vec<Option<String>>> = (0..3)
            .map(|_| {
                (0..n)
                    .map(|_| match next() {
                        0 => None,
                        v => Some(v.to_string()),
                    })
                    .collect()
            })
            .collect();
        let cols: Vec<(&str, Vec<Option<&str>>)> = ["a", "b", "c"]
            .iter()
            .zip(&vals)
            .map(|(name, v)| (*name, v.iter().map(|x| x.as_deref()).collect()))
            .collect();
        let b = batch(&cols);
        let cfg = BlockingConfig {
            rules: vec![rule(&["a"]), rule(&["b", "c"]), rule(&["c"])],
            max_block_size: 1000,
        };
        let blocks = block(&b, &cfg).unwrap();
        let mut want = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let eq = |k: usize| vals[k][i].is_some() && vals[k][i] == vals[k][j];
                let rule = if eq(0) {
                    Some(0)
                } else if eq(1) && eq(2) {
                    Some(1)
                } else if eq(2) {
                    Some(2)
                } else {
                    None
                };
                if let Some(r) = rule {
                    want.push((i as u32, j as u32, r));
                }
            }
        }
        assert_eq!(pairs(&blocks), want);
        // A record's key under a rule is shared exactly by the records of its group.
        for (r, rule) in cfg.rules.iter().enumerate() {
            let keys = rule_keys(&b, rule).unwrap();
            let g = &blocks.groups[r];
            for i in 0..n {
                assert_eq!(keys.is_null(i), g[i] == NONE, "rule {r} record {i}");
                for j in 0..n {
                    let same =
                        keys.is_valid(i) && keys.is_valid(j) && keys.value(i) == keys.value(j);
                    assert_eq!(same, g[i] != NONE && g[i] == g[j], "rule {r} ({i}, {j})");
                }
            }
        }
    }

    #[test]
    fn rule_keys_join_the_rule_keys_and_are_null_when_one_is_missing() {
        let b = batch(&[
            ("last_name", vec![Some("lee"), Some("lee"), None]),
            (
                "birth_date",
                vec![Some("1990-01-01"), Some(""), Some("1991-01-01")],
            ),
        ]);
        let keys = rule_keys(&b, &rule(&["last_name", "birth_date"])).unwrap();
        assert_eq!(
            keys.iter().collect::<Vec<_>>(),
            [Some("lee & 1990-01-01"), None, None]
        );
    }
}
