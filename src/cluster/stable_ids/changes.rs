//! The changes table (`changes.parquet`): how each golden id changed since the previous run.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;

use super::PreviousRun;
use super::assign::{Kept, Overlap};
use crate::Result;
use crate::cluster::Members;
use crate::schema;

/// How a golden id changed since the previous run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A new id whose members were in no previous golden record.
    New,
    /// Same id, membership changed.
    Updated,
    /// A previous id whose members went into the cluster that kept the related id.
    MergedInto,
    /// A new id made from members of the related previous id, which kept its id elsewhere.
    SplitFrom,
    /// A previous id with no members left.
    Retired,
}

impl ChangeKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [ChangeKind; 5] = [
        ChangeKind::New,
        ChangeKind::Updated,
        ChangeKind::MergedInto,
        ChangeKind::SplitFrom,
        ChangeKind::Retired,
    ];

    /// Short name, as counted in the manifest (`changes_<name>`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ChangeKind::New => "new",
            ChangeKind::Updated => "updated",
            ChangeKind::MergedInto => "merged_into",
            ChangeKind::SplitFrom => "split_from",
            ChangeKind::Retired => "retired",
        }
    }
}

/// One row of `changes.parquet`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// The golden id concerned.
    pub golden_id: String,
    /// What happened to it.
    pub kind: ChangeKind,
    /// The other id of a merge or split.
    pub related_id: Option<String>,
}

impl Change {
    /// The `change` column: `new`, `updated`, `merged_into:<id>`, `split_from:<id>`, `retired`.
    pub fn label(&self) -> String {
        match &self.related_id {
            Some(id) => format!("{}:{id}", self.kind.as_str()),
            None => self.kind.as_str().to_string(),
        }
    }
}

/// The outcome of [`assign`]: changes since the previous run and each cluster's creation run.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Changed ids, sorted by golden id then kind.
    pub rows: Vec<Change>,
    /// Run in which each cluster's golden id was first created (indexed like the clusters).
    pub created_run: Vec<std::sync::Arc<str>>,
}

impl Changes {
    /// Number of changes of `kind`.
    pub fn count(&self, kind: ChangeKind) -> u64 {
        self.rows.iter().filter(|c| c.kind == kind).count() as u64
    }

    /// `changes.parquet`: `golden_id`, `change`, `related_id`.
    pub fn batch(&self) -> Result<RecordBatch> {
        let gid: StringArray = self.rows.iter().map(|c| Some(&c.golden_id)).collect();
        let change: StringArray = self.rows.iter().map(|c| Some(c.label())).collect();
        let related: StringArray = self.rows.iter().map(|c| c.related_id.as_ref()).collect();
        let schema = Schema::new(vec![
            Field::new(schema::GOLDEN_ID, DataType::Utf8, false),
            Field::new("change", DataType::Utf8, false),
            Field::new("related_id", DataType::Utf8, true),
        ]);
        let cols: Vec<ArrayRef> = vec![Arc::new(gid), Arc::new(change), Arc::new(related)];
        Ok(RecordBatch::try_new(Arc::new(schema), cols)?)
    }
}

/// The changes since `prev` (sorted): one row per new, split or updated cluster, and one per
/// previous id not kept (merged or retired).
pub fn change_rows(
    overlap: &[Overlap],
    kept: &Kept,
    golden_ids: &[String],
    members: &Members,
    prev: &PreviousRun,
) -> Vec<Change> {
    let k = golden_ids.len();
    // `overlap` is sorted by cluster: cluster c's overlaps are `overlap[starts[c]..starts[c + 1]]`.
    let mut starts = vec![0u32; k + 1];
    let mut by_prev: Vec<Vec<(usize, u32)>> = vec![Vec::new(); prev.len()];
    for &((c, i), n) in overlap {
        starts[c as usize + 1] += 1;
        by_prev[i].push((n, c));
    }
    for c in 0..k {
        starts[c + 1] += starts[c];
    }
    let prev_size = prev.sizes();
    let mut rows: Vec<Change> = (0..k)
        .into_par_iter()
        .filter_map(|c| {
            let size = members.of(c).len();
            let shared: Vec<(usize, usize)> = overlap[starts[c] as usize..starts[c + 1] as usize]
                .iter()
                .map(|&((_, i), n)| (n, i))
                .collect();
            cluster_change(c, &shared, kept.kept[c], size, &prev_size, golden_ids, prev)
        })
        .collect();
    for (i, into) in by_prev.iter().enumerate() {
        if kept.keeper[i].is_none() {
            rows.push(previous_change(i, into, golden_ids, prev));
        }
    }
    super::sort_by_id(rows, |r| &r.golden_id, Change::cmp)
}

/// The change of cluster `c` (`size` members, overlaps `shared` as (members, previous id),
/// previous id `kept`); `None` when its membership is unchanged.
fn cluster_change(
    c: usize,
    shared: &[(usize, usize)],
    kept: Option<usize>,
    size: usize,
    prev_size: &[usize],
    golden_ids: &[String],
    prev: &PreviousRun,
) -> Option<Change> {
    let golden_id = golden_ids[c].clone();
    match kept {
        Some(i) => {
            let n = shared.iter().find(|&&(_, j)| j == i).map_or(0, |&(n, _)| n);
            (n != size || n != prev_size[i]).then_some(Change {
                golden_id,
                kind: ChangeKind::Updated,
                related_id: None,
            })
        }
        None => {
            // Largest overlap first, then the oldest id.
            let from = shared
                .iter()
                .min_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            Some(match from {
                Some(&(_, i)) => Change {
                    golden_id,
                    kind: ChangeKind::SplitFrom,
                    related_id: Some(prev.id(i).to_string()),
                },
                None => Change {
                    golden_id,
                    kind: ChangeKind::New,
                    related_id: None,
                },
            })
        }
    }
}

/// The change of previous id `i`, kept by no cluster, whose members now sit in clusters `into`
/// (as (members, cluster)): merged into the cluster holding most of them (then the smallest
/// current id), or retired.
fn previous_change(
    i: usize,
    into: &[(usize, u32)],
    golden_ids: &[String],
    prev: &PreviousRun,
) -> Change {
    let g = prev.id(i);
    let into = into.iter().min_by(|a, b| {
        b.0.cmp(&a.0)
            .then(golden_ids[a.1 as usize].cmp(&golden_ids[b.1 as usize]))
    });
    match into {
        Some(&(_, c)) => Change {
            golden_id: g.to_string(),
            kind: ChangeKind::MergedInto,
            related_id: Some(golden_ids[c as usize].clone()),
        },
        None => Change {
            golden_id: g.to_string(),
            kind: ChangeKind::Retired,
            related_id: None,
        },
    }
}
