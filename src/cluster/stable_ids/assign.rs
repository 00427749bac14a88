//! The assignment steps: overlaps between new clusters and previous ids, the greedy choice of
//! which cluster keeps which id, and new ids for the rest.

use foldhash::{HashSet, HashSetExt};

use arrow::array::{RecordBatch, StringArray};
use rayon::prelude::*;

use super::changes::{Changes, change_rows};
use super::previous::PreviousRun;
use crate::cluster::{Clusters, Members, golden_id};
use crate::run::{Text, text};
use crate::schema;
use crate::{Error, Result};

/// (cluster, previous dense id) → number of shared members, sorted by cluster then previous id.
pub type Overlap = ((u32, usize), usize);

/// Which previous id each cluster kept (`kept`, by cluster) and which cluster kept each previous
/// id (`keeper`, by dense previous id).
pub struct Kept {
    /// Previous dense id kept by each cluster.
    pub kept: Vec<Option<usize>>,
    /// Cluster that kept each previous dense id.
    pub keeper: Vec<Option<u32>>,
}

/// Gives every cluster of `clusters` a golden id that is stable across runs (see the module
/// docs for the rules) and lists what changed since `previous`; new ids are stamped with
/// `run_id` as their `created_run`.
pub fn assign(
    clusters: &mut Clusters,
    batch: &RecordBatch,
    previous: Option<&PreviousRun>,
    run_id: &str,
) -> Result<Changes> {
    let col = |name: &str| -> Result<StringArray> {
        text(batch, name, Text::Cast).map_err(|what| Error::Internal(format!("stable ids: {what}")))
    };
    let keys = MemberKeys {
        sources: col(schema::SOURCE)?,
        ids: col(schema::SOURCE_ID)?,
        members: clusters.members(),
        k: clusters.len(),
    };
    let empty = PreviousRun::default();
    let prev = previous.unwrap_or(&empty);
    let smallest = keys.smallest();
    let overlap = keys.overlaps(prev);
    let kept = keep_greedily(&overlap, &smallest, keys.k, prev.len());
    let golden_ids = give_ids(&kept.kept, &smallest, prev);
    drop(smallest);
    // One shared string for every id this run creates (all of them in a first run).
    let this_run: std::sync::Arc<str> = run_id.into();
    let created_run: Vec<std::sync::Arc<str>> = (0..keys.k)
        .into_par_iter()
        .map(|c| kept.kept[c].map_or_else(|| this_run.clone(), |i| prev.created(i).into()))
        .collect();
    let rows = change_rows(&overlap, &kept, &golden_ids, &keys.members, prev);
    clusters.golden_ids = golden_ids;
    Ok(Changes { rows, created_run })
}

/// The (source, source id) key of every record, and the members of each of `k` clusters.
struct MemberKeys {
    sources: StringArray,
    ids: StringArray,
    members: Members,
    k: usize,
}

impl MemberKeys {
    /// The key of record `r`.
    fn key(&self, r: u32) -> (&str, &str) {
        (self.sources.value(r as usize), self.ids.value(r as usize))
    }

    /// Each cluster's smallest member key.
    fn smallest(&self) -> Vec<(&str, &str)> {
        (0..self.k)
            .into_par_iter()
            .map(|c| {
                let keys = self.members.of(c).iter().map(|&r| self.key(r));
                keys.min().unwrap_or(("", ""))
            })
            .collect()
    }

    /// How many members each cluster shares with each previous id it shares any with.
    fn overlaps(&self, prev: &PreviousRun) -> Vec<Overlap> {
        let mut shared_pairs: Vec<(u32, usize)> = Vec::new();
        if !prev.is_empty() {
            shared_pairs = (0..self.k)
                .into_par_iter()
                .flat_map_iter(|c| {
                    self.members.of(c).iter().filter_map(move |&r| {
                        let (s, id) = self.key(r);
                        prev.golden_of(s, id).map(|i| (c as u32, i))
                    })
                })
                .collect();
        }
        shared_pairs.par_sort_unstable();
        let mut overlap: Vec<Overlap> = Vec::new();
        for pair in shared_pairs {
            match overlap.last_mut() {
                Some((last, n)) if *last == pair => *n += 1,
                _ => overlap.push((pair, 1)),
            }
        }
        overlap
    }
}

/// Greedy: largest overlap, then oldest id (dense index), then smallest cluster key; a cluster
/// keeps at most one id and an id is kept by at most one cluster.
fn keep_greedily(
    overlap: &[Overlap],
    smallest: &[(&str, &str)],
    k: usize,
    previous: usize,
) -> Kept {
    let mut cands: Vec<(usize, usize, u32)> =
        overlap.iter().map(|&((c, i), n)| (n, i, c)).collect();
    cands.par_sort_unstable_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then_with(|| smallest[a.2 as usize].cmp(&smallest[b.2 as usize]))
    });
    let mut kept: Vec<Option<usize>> = vec![None; k];
    let mut keeper: Vec<Option<u32>> = vec![None; previous];
    for &(_, i, c) in &cands {
        if kept[c as usize].is_none() && keeper[i].is_none() {
            kept[c as usize] = Some(i);
            keeper[i] = Some(c);
        }
    }
    Kept { kept, keeper }
}

/// Each cluster's golden id: the `kept` previous id, else one from its smallest key; new ids
/// avoid every previous id and each other. Hashing is the expensive part of a new id: every id
/// is made in parallel, and the serial walk that renames clashing ids (`<id>-2`, …) only runs
/// when there is a clash.
fn give_ids(kept: &[Option<usize>], smallest: &[(&str, &str)], prev: &PreviousRun) -> Vec<String> {
    let mut golden_ids: Vec<String> = (0..kept.len())
        .into_par_iter()
        .map(|c| match kept[c] {
            Some(i) => prev.id(i).to_string(),
            None => golden_id(smallest[c].0, smallest[c].1),
        })
        .collect();
    if new_ids_clash(&golden_ids, kept, prev) {
        let mut taken: HashSet<String> = HashSet::new();
        for c in (0..kept.len()).filter(|&c| kept[c].is_none()) {
            let base = std::mem::take(&mut golden_ids[c]);
            let mut id = base.clone();
            let mut n = 1;
            while prev.has_id(&id) || taken.contains(&id) {
                n += 1;
                id = format!("{base}-{n}");
            }
            taken.insert(id.clone());
            golden_ids[c] = id;
        }
    }
    golden_ids
}

/// True when a new id (a cluster with no `kept` previous id) equals a previous id or another
/// id of this run: both are 64-bit hash prefixes, so this almost never happens.
fn new_ids_clash(ids: &[String], kept: &[Option<usize>], prev: &PreviousRun) -> bool {
    let is_new = |c: usize| kept[c].is_none();
    if (0..ids.len())
        .into_par_iter()
        .any(|c| is_new(c) && prev.has_id(&ids[c]))
    {
        return true;
    }
    let sorted = super::sort_by_id(
        ids.iter().collect(),
        |s| s.as_str(),
        |_, _| std::cmp::Ordering::Equal,
    );
    sorted.windows(2).any(|w| w[0] == w[1])
}
