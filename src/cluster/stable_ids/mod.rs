//! Stable golden ids across runs (DESIGN §5): the previous committed run's crosswalk and golden
//! ids in, this run's ids and `changes.parquet` out.
//!
//! Rules, applied in this order:
//!
//! 1. Every (new cluster, previous golden id) pair that shares members is a candidate, weighted
//!    by how many members they share. Candidates are taken greedily: largest overlap first; on a
//!    tie the oldest previous id (smallest `created_run`, the run in which the id was first
//!    created), then the smallest id, then the cluster whose smallest member key
//!    (`source`, `source_id`) sorts first. A cluster keeps at most one id and an id is kept by at
//!    most one cluster.
//! 2. A cluster left without an id gets a new one from the hash of its smallest member key
//!    ([`super::golden_id`]); if that collides with a previous id or one already given out in
//!    this run, `-2`, `-3`, … is appended, so a previous id is never handed to other members.
//! 3. Changes: `new` (new id, no member was in the previous run), `split_from:<id>` (new id,
//!    with members of previous `<id>`, which kept its id elsewhere; the previous id sharing most
//!    members is named), `updated` (kept id, membership changed), `merged_into:<id>` (a
//!    previous id not kept whose members now sit in the cluster `<id>`, the one holding most of
//!    them), `retired` (a previous id none of whose members is left). Unchanged clusters have no
//!    row, so a rerun on unchanged inputs gives an empty table.

mod assign;
mod changes;
mod index;
mod previous;

pub use assign::assign;
pub use changes::{Change, ChangeKind, Changes};
pub use previous::PreviousRun;

use std::cmp::Ordering;

/// Compares two ids as strings do, from their first 8 bytes read as one number first: the
/// order of [`sort_by_id`] (sorting a million golden ids by `memcmp` calls took most of a
/// first run's id stage).
#[cfg(test)]
fn id_order(a: &str, b: &str) -> Ordering {
    id_head(a).cmp(&id_head(b)).then_with(|| a.cmp(b))
}

/// The first 8 bytes of `s` as one number (zeros past its end): ids with smaller heads sort
/// first as strings.
fn id_head(s: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = s.len().min(8);
    bytes[..n].copy_from_slice(&s.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
}

/// `items` sorted by their ids (`id`) in string order, then by `tie`: the first 8 bytes of
/// each id read once as one number (most comparisons end there, without reading the string),
/// and the items moved once, by following the cycles of the permutation in place, not at
/// every step of the sort (a million changes or ids at 1M records). Extra memory: 20 bytes an
/// item.
fn sort_by_id<T: Send + Sync>(
    mut items: Vec<T>,
    id: impl Fn(&T) -> &str + Sync,
    tie: impl Fn(&T, &T) -> Ordering + Sync,
) -> Vec<T> {
    use rayon::prelude::*;
    let mut order: Vec<(u64, u32)> = (items.par_iter().enumerate())
        .map(|(i, item)| (id_head(id(item)), i as u32))
        .collect();
    order.par_sort_unstable_by(|&(x, i), &(y, j)| {
        let (a, b) = (&items[i as usize], &items[j as usize]);
        x.cmp(&y)
            .then_with(|| id(a).cmp(id(b)))
            .then_with(|| tie(a, b))
    });
    let mut from: Vec<u32> = order.into_iter().map(|(_, i)| i).collect();
    permute(&mut items, &mut from);
    items
}

/// Reorders `items` so that position `k` holds the item that was at `from[k]` (a
/// permutation), in place; `from` is left marked.
fn permute<T>(items: &mut [T], from: &mut [u32]) {
    const DONE: u32 = u32::MAX;
    for start in 0..items.len() {
        let mut k = start;
        // Along the cycle through `start`: each swap puts one item in its place and carries the
        // cycle's first item on, until the last place, which it fills.
        while from[k] != DONE {
            let src = from[k] as usize;
            from[k] = DONE;
            if src == start {
                break;
            }
            items.swap(k, src);
            k = src;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{Clusters, golden_id};

    #[test]
    fn a_golden_id_is_g_and_the_first_16_hex_digits_of_the_keys_sha256() {
        // The id of every run so far: a change here would give every customer a new id.
        assert_eq!(golden_id("crm", "C0000001"), "Gaa4a99c58f7e5bf9");
    }

    #[test]
    fn a_permutation_applied_in_place_puts_each_item_where_it_belongs() {
        for from in [
            vec![2, 0, 1],
            vec![0, 1, 2],
            vec![1, 0, 3, 2, 4],
            vec![4, 3, 2, 1, 0],
        ] {
            let mut items: Vec<u32> = (10..10 + from.len() as u32).collect();
            let want: Vec<u32> = from.iter().map(|&i| 10 + i).collect();
            permute(&mut items, &mut from.clone());
            assert_eq!(items, want, "{from:?}");
        }
    }

    #[test]
    fn sorting_by_id_is_string_order_then_the_tie_break() {
        let items = vec![
            ("G2", 1),
            ("G10", 3),
            ("G0000229d50c593b6", 0),
            ("G10", 2),
            ("", 9),
        ];
        let sorted = sort_by_id(items.clone(), |x| x.0, |a, b| a.1.cmp(&b.1));
        let mut want = items;
        want.sort();
        assert_eq!(sorted, want);
    }

    #[test]
    fn id_order_is_string_order() {
        let ids = [
            "",
            "G",
            "G0",
            "G00",
            "G0000229d50c593b5",
            "G0000229d50c593b5-2",
            "G0000229d50c593b",
            "G0000229d50c593b6",
            "a\0",
            "a",
            "a\0\0",
            "é",
            "zzzzzzzzzzzzzzzzzz",
            "zzzzzzzzzzzzzzzz",
        ];
        for a in ids {
            for b in ids {
                assert_eq!(id_order(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }
    use crate::schema;
    use arrow::array::{RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    /// A batch of (source, source_id) keys and clusters over it from `groups` (lists of keys).
    fn setup(groups: &[&[&str]]) -> (RecordBatch, Clusters) {
        let mut keys = Vec::new();
        let mut cluster_of = Vec::new();
        for (c, g) in groups.iter().enumerate() {
            for k in *g {
                keys.push(*k);
                cluster_of.push(c as u32);
            }
        }
        let schema = Schema::new(vec![
            Field::new(schema::SOURCE, DataType::Utf8, false),
            Field::new(schema::SOURCE_ID, DataType::Utf8, false),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from_iter_values(keys.iter().map(|_| "s"))),
                Arc::new(StringArray::from_iter_values(keys.iter().copied())),
            ],
        )
        .unwrap();
        let n = keys.len();
        let clusters = Clusters {
            cluster_of,
            golden_ids: vec![String::new(); groups.len()],
            best_link: vec![None; n],
        };
        (batch, clusters)
    }

    /// A previous run from (golden id, created_run, member keys).
    fn previous(groups: &[(&str, &str, &[&str])]) -> PreviousRun {
        let members: Vec<(&str, &str)> = groups
            .iter()
            .flat_map(|(g, _, m)| m.iter().map(move |m| (*g, *m)))
            .collect();
        PreviousRun::new(
            "R1".into(),
            [
                StringArray::from_iter_values(members.iter().map(|_| "s")),
                StringArray::from_iter_values(members.iter().map(|(_, m)| *m)),
                StringArray::from_iter_values(members.iter().map(|(g, _)| *g)),
            ],
            StringArray::from_iter_values(groups.iter().map(|(g, _, _)| *g)),
            Some(StringArray::from_iter_values(
                groups.iter().map(|(_, c, _)| *c),
            )),
        )
    }

    fn labels(ch: &Changes) -> Vec<(String, String)> {
        ch.rows
            .iter()
            .map(|c| (c.golden_id.clone(), c.label()))
            .collect()
    }

    #[test]
    fn first_run_gives_hash_ids_all_new() {
        let (batch, mut cl) = setup(&[&["b", "a"], &["c"]]);
        let ch = assign(&mut cl, &batch, None, "R1").unwrap();
        assert_eq!(
            cl.golden_ids,
            vec![golden_id("s", "a"), golden_id("s", "c")]
        );
        assert_eq!(ch.count(ChangeKind::New), 2);
        assert_eq!(
            ch.created_run,
            ["R1".into(), "R1".into()] as [std::sync::Arc<str>; 2]
        );
    }

    #[test]
    fn unchanged_membership_keeps_ids_and_has_no_changes() {
        let (batch, mut cl) = setup(&[&["a", "b"], &["c"]]);
        let prev = previous(&[("GX", "R0", &["a", "b"]), ("GY", "R1", &["c"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R2").unwrap();
        assert_eq!(cl.golden_ids, vec!["GX", "GY"]);
        assert!(ch.rows.is_empty(), "{:?}", ch.rows);
        assert_eq!(
            ch.created_run,
            ["R0".into(), "R1".into()] as [std::sync::Arc<str>; 2]
        );
    }

    #[test]
    fn merge_keeps_the_larger_overlap_and_on_a_tie_the_oldest() {
        // GA shares 2 members, GB 1: GA is kept, GB merged into it.
        let (batch, mut cl) = setup(&[&["a1", "a2", "b1"]]);
        let prev = previous(&[("GA", "R5", &["a1", "a2"]), ("GB", "R1", &["b1"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R9").unwrap();
        assert_eq!(cl.golden_ids, vec!["GA"]);
        assert_eq!(
            labels(&ch),
            vec![
                ("GA".into(), "updated".into()),
                ("GB".into(), "merged_into:GA".into())
            ]
        );
        // Tie 1–1: the id created first (R1) wins although it sorts after.
        let (batch, mut cl) = setup(&[&["a1", "b1"]]);
        let prev = previous(&[("GA", "R5", &["a1"]), ("GZ", "R1", &["b1"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R9").unwrap();
        assert_eq!(cl.golden_ids, vec!["GZ"]);
        assert_eq!(ch.created_run, ["R1".into()] as [std::sync::Arc<str>; 1]);
        assert_eq!(
            labels(&ch),
            vec![
                ("GA".into(), "merged_into:GZ".into()),
                ("GZ".into(), "updated".into())
            ]
        );
    }

    #[test]
    fn split_keeps_the_id_with_the_larger_part_and_retires_the_gone() {
        let (batch, mut cl) = setup(&[&["a3"], &["a1", "a2"], &["n"]]);
        let prev = previous(&[("GA", "R1", &["a1", "a2", "a3"]), ("GD", "R1", &["d"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R2").unwrap();
        assert_eq!(cl.golden_ids[1], "GA");
        assert_eq!(cl.golden_ids[0], golden_id("s", "a3"));
        assert_eq!(cl.golden_ids[2], golden_id("s", "n"));
        let mut want = vec![
            ("GA".to_string(), "updated".to_string()),
            ("GD".to_string(), "retired".to_string()),
            (golden_id("s", "a3"), "split_from:GA".to_string()),
            (golden_id("s", "n"), "new".to_string()),
        ];
        want.sort();
        assert_eq!(labels(&ch), want);
        assert_eq!(
            ch.created_run,
            ["R2".into(), "R1".into(), "R2".into()] as [std::sync::Arc<str>; 3]
        );
    }

    #[test]
    fn a_new_id_never_reuses_a_previous_id() {
        // The previous run kept hash(a) on a cluster that has since lost `a`; `a` comes back alone.
        let (batch, mut cl) = setup(&[&["a"], &["b", "c"]]);
        let ga = golden_id("s", "a");
        let prev = previous(&[(ga.as_str(), "R1", &["b", "c"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R2").unwrap();
        assert_eq!(cl.golden_ids, vec![format!("{ga}-2"), ga.clone()]);
        assert_eq!(labels(&ch), vec![(format!("{ga}-2"), "new".to_string())]);
    }

    #[test]
    fn changes_table_has_the_contract_columns() {
        let (batch, mut cl) = setup(&[&["a"]]);
        let ch = assign(&mut cl, &batch, None, "R1").unwrap();
        let b = ch.batch().unwrap();
        let names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, vec!["golden_id", "change", "related_id"]);
        assert_eq!(b.num_rows(), 1);
    }
}
