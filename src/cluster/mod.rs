//! Stage "cluster": linked pairs → clusters (connected components), then golden ids.
//!
//! [`stable_ids::assign`] gives each cluster its golden id: the id of the previous run's golden
//! record it shares most members with, else one derived from its smallest member key
//! (`source`, `source_id`), so a rerun on the same inputs gives the same ids.

pub mod crosswalk;
pub mod manual;
pub mod stable_ids;
pub mod union_find;

use foldhash::{HashMap, HashMapExt};

use arrow::array::RecordBatch;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::Result;
use crate::compare::Compared;
use crate::model::{Decision, Scored};
pub use manual::ManualDecisions;
pub use union_find::UnionFind;

/// Every record's cluster.
#[derive(Debug, Clone)]
pub struct Clusters {
    /// Cluster index of each record (dense, in order of first member).
    pub cluster_of: Vec<u32>,
    /// Golden id of each cluster (empty until [`stable_ids::assign`] gives them).
    pub golden_ids: Vec<String>,
    /// Highest probability of a linking pair touching each record, if any.
    pub best_link: Vec<Option<f64>>,
}

impl Clusters {
    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.golden_ids.len()
    }

    /// True when there are no clusters.
    pub fn is_empty(&self) -> bool {
        self.golden_ids.is_empty()
    }

    /// Members of each cluster, in record order.
    pub fn members(&self) -> Members {
        // A counting sort: cluster sizes, their running sums, then each record in its slot.
        let mut offsets = vec![0u32; self.len() + 1];
        for &c in &self.cluster_of {
            offsets[c as usize + 1] += 1;
        }
        for c in 0..self.len() {
            offsets[c + 1] += offsets[c];
        }
        let mut next = offsets.clone();
        let mut records = vec![0u32; self.cluster_of.len()];
        for (r, &c) in self.cluster_of.iter().enumerate() {
            records[next[c as usize] as usize] = r as u32;
            next[c as usize] += 1;
        }
        Members { offsets, records }
    }
}

/// The records of every cluster, stored one cluster after another (no vector per cluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    /// Cluster `c`'s records are `records[offsets[c]..offsets[c + 1]]`.
    offsets: Vec<u32>,
    /// Record indices, grouped by cluster, in record order within each.
    records: Vec<u32>,
}

impl Members {
    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when there are no clusters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records of cluster `c`, in record order.
    pub fn of(&self, c: usize) -> &[u32] {
        &self.records[self.offsets[c] as usize..self.offsets[c + 1] as usize]
    }

    /// Every cluster's records, in cluster order.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> {
        (0..self.len()).map(|c| self.of(c))
    }
}

/// Golden id of a cluster whose smallest member key is `key`.
pub fn golden_id(source: &str, source_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0x1f]);
    h.update(source_id.as_bytes());
    let d = h.finalize();
    let mut id = String::with_capacity(17);
    id.push('G');
    for &b in &d[..8] {
        for nibble in [b >> 4, b & 0xf] {
            id.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    id
}

/// The identity-conflict pairs among the candidates (`candidates`, from scoring) that no
/// manual decision covers: [`cluster`] never puts the two records of one into the same
/// cluster.
pub fn conflict_pairs(candidates: &[(u32, u32)], manual: &ManualDecisions) -> Vec<(u32, u32)> {
    candidates
        .iter()
        .copied()
        .filter(|pair| !manual.pairs.contains_key(pair))
        .collect()
}

/// Joins every pair decided `match`, and every manual must-link, into clusters, strongest
/// links first; a link that would put the two records of a cannot-link pair, or of an
/// identity-conflict pair (`conflicts`), into one cluster is skipped, so a cluster never chains
/// through other members to hold two records with contradicting identities.
pub fn cluster(
    batch: &RecordBatch,
    compared: &Compared,
    scored: &Scored,
    manual: &ManualDecisions,
    conflicts: &[(u32, u32)],
) -> Result<Clusters> {
    let n = batch.num_rows();
    let mut uf = UnionFind::new(n);
    let mut best_link: Vec<Option<f64>> = vec![None; n];
    let must = |i: usize| {
        scored.decision[i] == Decision::Manual
            && manual.is_must_link(compared.left[i], compared.right[i])
    };
    let mut edges: Vec<usize> = (0..compared.len())
        .into_par_iter()
        .filter(|&i| scored.decision[i] == Decision::Match || must(i))
        .collect();
    // A total order (ties broken by pair index), so the parallel sort is deterministic.
    edges.par_sort_unstable_by(|&x, &y| {
        must(y)
            .cmp(&must(x))
            .then(scored.probability[y].total_cmp(&scored.probability[x]))
            .then(x.cmp(&y))
    });
    // Cannot-link partners of each set, keyed by the set's root.
    let mut forbidden: HashMap<u32, Vec<u32>> = HashMap::new();
    for (a, b) in manual
        .cannot_links()
        .into_iter()
        .chain(conflicts.iter().copied())
    {
        forbidden.entry(a).or_default().push(b);
        forbidden.entry(b).or_default().push(a);
    }
    for i in edges {
        {
            let (a, b) = (compared.left[i], compared.right[i]);
            let (ra, rb) = (uf.find(a), uf.find(b));
            if ra == rb {
                continue;
            }
            let clash = |uf: &mut UnionFind, from: u32, to: u32| {
                forbidden
                    .get(&from)
                    .is_some_and(|v| v.iter().any(|&x| uf.find(x) == to))
            };
            if clash(&mut uf, ra, rb) || clash(&mut uf, rb, ra) {
                continue;
            }
            uf.union(a, b);
            let root = uf.find(a);
            let mut merged = forbidden.remove(&ra).unwrap_or_default();
            merged.extend(forbidden.remove(&rb).unwrap_or_default());
            if !merged.is_empty() {
                forbidden.insert(root, merged);
            }
            let p = scored.probability[i];
            for x in [a, b] {
                let slot = &mut best_link[x as usize];
                *slot = Some(slot.map_or(p, |q: f64| q.max(p)));
            }
        }
    }
    let cluster_of = uf.components();
    let k = cluster_of.iter().max().map_or(0, |&m| m as usize + 1);
    // Ids are derived (or carried over from the previous run) by `stable_ids::assign`.
    let golden_ids = vec![String::new(); k];
    Ok(Clusters {
        cluster_of,
        golden_ids,
        best_link,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;
    use arrow::array::{ArrayRef, StringArray};
    use std::sync::Arc;

    /// Four records and three matching pairs: 0–1 (0.99), 1–2 (0.95), 2–3 (0.90).
    fn chain() -> (RecordBatch, Compared, Scored) {
        let col = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
        let batch = RecordBatch::try_from_iter([
            (
                schema::SOURCE,
                col(vec!["crm", "crm", "billing", "support"]),
            ),
            (schema::SOURCE_ID, col(vec!["1", "2", "9", "4"])),
        ])
        .expect("batch");
        let compared = Compared {
            left: vec![0, 1, 2],
            right: vec![1, 2, 3],
            rule: vec![0; 3],
            levels: vec![1; 3],
            n_comparisons: 1,
            reused: 0,
        };
        let scored = Scored {
            weights: vec![0.0; 3],
            tf_adjustments: Vec::new(),
            tf_fields: Vec::new(),
            household_adjustment: Vec::new(),
            match_weight: vec![9.0, 8.0, 7.0],
            probability: vec![0.99, 0.95, 0.90],
            decision: vec![Decision::Match; 3],
        };
        (batch, compared, scored)
    }

    #[test]
    fn matching_pairs_form_connected_components_with_the_smallest_key_as_id() {
        let (batch, compared, scored) = chain();
        let mut c =
            cluster(&batch, &compared, &scored, &ManualDecisions::default(), &[]).expect("ok");
        assert_eq!(c.cluster_of, vec![0, 0, 0, 0]);
        stable_ids::assign(&mut c, &batch, None, "r1").expect("ids");
        assert_eq!(c.golden_ids, vec![golden_id("billing", "9")]);
        assert_eq!(
            c.best_link,
            vec![Some(0.99), Some(0.99), Some(0.95), Some(0.90)]
        );
    }

    #[test]
    fn a_conflict_pair_breaks_the_chain_at_its_weakest_link() {
        let (batch, compared, scored) = chain();
        // Records 0 and 3 contradict each other: the weakest link on the path between them
        // (2–3) is the one left out, so 3 stays alone.
        let c = cluster(
            &batch,
            &compared,
            &scored,
            &ManualDecisions::default(),
            &[(0, 3)],
        )
        .expect("ok");
        assert_eq!(c.cluster_of, vec![0, 0, 0, 1]);
        assert_eq!(c.best_link[3], None);
        // A conflict between direct neighbours cuts exactly that link.
        let c = cluster(
            &batch,
            &compared,
            &scored,
            &ManualDecisions::default(),
            &[(1, 2)],
        )
        .expect("ok");
        assert_eq!(c.cluster_of, vec![0, 0, 1, 1]);
    }
}
