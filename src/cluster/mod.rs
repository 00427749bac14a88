//! Stage "cluster": linked pairs → clusters (connected components) with golden ids.
//!
//! A golden id is derived from the cluster's smallest member key (`source`, `source_id`), so a
//! rerun on the same inputs gives the same ids; [`stable_ids`] then carries ids over from the
//! previous run.

pub mod stable_ids;
pub mod union_find;

use arrow::array::{AsArray, RecordBatch};
use sha2::{Digest, Sha256};

use crate::compare::Compared;
use crate::model::{Decision, Scored};
use crate::schema;
use crate::{Error, Result};
pub use union_find::UnionFind;

/// Every record's cluster.
#[derive(Debug, Clone)]
pub struct Clusters {
    /// Cluster index of each record (dense, in order of first member).
    pub cluster_of: Vec<u32>,
    /// Golden id of each cluster.
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
    pub fn members(&self) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.len()];
        for (r, &c) in self.cluster_of.iter().enumerate() {
            out[c as usize].push(r as u32);
        }
        out
    }
}

/// Golden id of a cluster whose smallest member key is `key`.
pub fn golden_id(source: &str, source_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0x1f]);
    h.update(source_id.as_bytes());
    let d = h.finalize();
    format!("G{}", hex::encode(&d[..8]))
}

/// Joins every pair decided `match` or `manual` (must-link) into clusters.
pub fn cluster(batch: &RecordBatch, compared: &Compared, scored: &Scored) -> Result<Clusters> {
    let n = batch.num_rows();
    let mut uf = UnionFind::new(n);
    let mut best_link: Vec<Option<f64>> = vec![None; n];
    for i in 0..compared.len() {
        if matches!(scored.decision[i], Decision::Match | Decision::Manual) {
            let (a, b) = (compared.left[i], compared.right[i]);
            uf.union(a, b);
            let p = scored.probability[i];
            for x in [a, b] {
                let slot = &mut best_link[x as usize];
                *slot = Some(slot.map_or(p, |q: f64| q.max(p)));
            }
        }
    }
    let cluster_of = uf.components();
    let k = cluster_of.iter().max().map_or(0, |&m| m as usize + 1);
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .map(|c| c.as_string::<i32>().clone())
            .ok_or_else(|| Error::Internal(format!("cluster: no column {name}")))
    };
    let (sources, ids) = (col(schema::SOURCE)?, col(schema::SOURCE_ID)?);
    let mut smallest: Vec<Option<(&str, &str)>> = vec![None; k];
    for (r, &c) in cluster_of.iter().enumerate() {
        let key = (sources.value(r), ids.value(r));
        let slot = &mut smallest[c as usize];
        if slot.is_none_or(|s| key < s) {
            *slot = Some(key);
        }
    }
    let golden_ids = smallest
        .into_iter()
        .map(|s| s.map(|(a, b)| golden_id(a, b)).unwrap_or_default())
        .collect();
    Ok(Clusters {
        cluster_of,
        golden_ids,
        best_link,
    })
}
