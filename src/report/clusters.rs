//! The section "Clusters": the largest clusters and those with the weakest internal links, each
//! drawn as the graph of its links (linked, manual and review pairs of `decisions.parquet`
//! within it) with their probabilities; links whose removal splits the cluster (bridges) are
//! marked, the weakest of them most.

use std::collections::{BTreeSet, HashSet};

use arrow::array::{Array, StringArray};
use foldhash::{HashMap, HashMapExt};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::read::{Clustering, TableRead, text};
use super::records::{RecordKey, RecordValues};
use super::review::shown;
use crate::Result;
use crate::run::Table;
use crate::schema::{GOLDEN_ID, MATCH_PROBABILITY, RECORD_COUNT, SOURCE, SOURCE_ID, SOURCES};

/// Clusters listed in each of the two lists.
pub const CLUSTER_CAP: usize = 20;
/// Records drawn at most per cluster.
pub const NODE_CAP: usize = 50;
/// Links drawn at most per cluster.
pub const EDGE_CAP: usize = 300;

/// A record in a cluster's graph.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// `source:id`.
    pub id: String,
    /// Its values, field by field (empty when the run kept none).
    pub values: Vec<(String, String)>,
    /// Its key.
    #[serde(skip)]
    pub key: RecordKey,
}

/// A link in a cluster's graph.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    /// Index of one end in the nodes.
    pub a: usize,
    /// Index of the other end.
    pub b: usize,
    /// Match probability.
    pub p: f64,
    /// Decision (`match`, `manual`, `review`).
    pub d: String,
    /// Whether removing it splits the drawn cluster.
    pub bridge: bool,
}

/// One cluster with its graph.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterView {
    /// Golden id.
    pub id: String,
    /// Records in it.
    pub size: u64,
    /// Its sources.
    pub sources: String,
    /// Lowest probability among its links (`None`: no link within it).
    pub weakest: Option<f64>,
    /// Records drawn (at most [`NODE_CAP`]).
    pub nodes: Vec<Node>,
    /// Links drawn among them.
    pub edges: Vec<Edge>,
}

/// A cluster in a list.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Golden id.
    pub id: String,
    /// Records in it.
    pub size: u64,
    /// Lowest probability among its links.
    pub weakest: Option<f64>,
}

/// The section "Clusters".
#[derive(Debug, Clone, Serialize)]
pub struct ClustersView {
    /// Golden records in the run.
    pub total: usize,
    /// The largest clusters, largest first.
    pub largest: Vec<Entry>,
    /// The clusters with the weakest links, weakest first.
    pub weakest: Vec<Entry>,
    /// Every cluster listed, by golden id order.
    pub clusters: Vec<ClusterView>,
}

/// The columns of `decisions.parquet` the links are read from.
const LINK_COLUMNS: [&str; 6] = [
    "left_source",
    "left_id",
    "right_source",
    "right_id",
    MATCH_PROBABILITY,
    "decision",
];

/// Decisions that hold a cluster together (or sit inside one).
const LINKS: [&str; 3] = ["match", "manual", "review"];

/// The columns of `decisions.parquet` the clusters' links come from, of the run in `dir`.
pub fn read_links(dir: &Path) -> Result<TableRead> {
    TableRead::of(dir, Table::Decisions, Some(&LINK_COLUMNS))
}

/// The clusters section, from the run's golden records and crosswalk (`tables`) and the
/// decisions read by [`read_links`].
pub fn clusters_view(tables: &Clustering, decisions: &TableRead) -> Result<ClustersView> {
    let (golden, xw) = (&tables.golden, &tables.crosswalk);
    let (ids, sizes, sources) = (
        golden.strings(GOLDEN_ID)?,
        golden.floats(RECORD_COUNT)?,
        golden.strings(SOURCES)?,
    );
    let (xs, xi, xg) = (
        xw.strings(SOURCE)?,
        xw.strings(SOURCE_ID)?,
        xw.strings(GOLDEN_ID)?,
    );
    let records = Records::new(&xs, &xi, &xg, &ids);
    let links = internal_links(decisions, &records, golden.rows())?;
    let entry = |c: usize| Entry {
        id: text(&ids, c).to_string(),
        size: sizes[c].unwrap_or(0.0) as u64,
        weakest: weakest_link(&links[c]),
    };
    let entries: Vec<Entry> = (0..golden.rows()).map(entry).collect();
    let (by_size, by_weak) = listed(&entries);
    let chosen: BTreeSet<usize> = by_size.iter().chain(&by_weak).copied().collect();
    let mut members = records.members_of(&chosen);
    let clusters = chosen
        .iter()
        .map(|&c| {
            let rows = members.remove(&c).unwrap_or_default();
            let mut view = graph(&records, rows, &links[c]);
            view.id = entries[c].id.clone();
            view.size = entries[c].size;
            view.sources = text(&sources, c).replace(',', ", ");
            view.weakest = entries[c].weakest;
            view
        })
        .collect();
    let pick = |list: Vec<usize>| list.into_iter().map(|c| entries[c].clone()).collect();
    Ok(ClustersView {
        total: golden.rows(),
        largest: pick(by_size),
        weakest: pick(by_weak),
        clusters,
    })
}

/// The crosswalk's records by row: their keys, the row of each key and each row's cluster
/// (its golden record's row), without a string copy per record.
struct Records<'a> {
    /// Source of each row.
    sources: &'a StringArray,
    /// Source id of each row.
    ids: &'a StringArray,
    /// The row of each `(source, source_id)`.
    row_of: HashMap<(&'a str, &'a str), u32>,
    /// The cluster of each row, `None` when its golden id is not in `golden.parquet`.
    cluster: Vec<Option<usize>>,
}

impl<'a> Records<'a> {
    /// Indexes the crosswalk columns against the golden ids `golden`.
    fn new(
        sources: &'a StringArray,
        ids: &'a StringArray,
        golden_of: &'a StringArray,
        golden: &'a StringArray,
    ) -> Self {
        // Two maps of millions of strings at scale: built side by side, then looked up in
        // parallel.
        let (index, row_of) = rayon::join(
            || -> HashMap<&str, usize> {
                (0..golden.len()).map(|i| (text(golden, i), i)).collect()
            },
            || {
                (0..sources.len())
                    .map(|i| ((text(sources, i), text(ids, i)), i as u32))
                    .collect()
            },
        );
        let cluster = (0..sources.len())
            .into_par_iter()
            .map(|i| index.get(text(golden_of, i)).copied())
            .collect();
        Records {
            sources,
            ids,
            row_of,
            cluster,
        }
    }

    /// The key of row `r`.
    fn key(&self, r: u32) -> RecordKey {
        let r = r as usize;
        (
            text(self.sources, r).to_string(),
            text(self.ids, r).to_string(),
        )
    }

    /// The row and cluster of record `(source, id)`.
    fn find(&self, source: &str, id: &str) -> Option<(u32, usize)> {
        let r = *self.row_of.get(&(source, id))?;
        Some((r, self.cluster[r as usize]?))
    }

    /// The rows of each of the `chosen` clusters.
    fn members_of(&self, chosen: &BTreeSet<usize>) -> HashMap<usize, Vec<u32>> {
        let mut members: HashMap<usize, Vec<u32>> = HashMap::new();
        for (r, c) in self.cluster.iter().enumerate() {
            if let Some(c) = c.filter(|c| chosen.contains(c)) {
                members.entry(c).or_default().push(r as u32);
            }
        }
        members
    }
}

/// The clusters listed: the largest (more than one record) and those with the weakest links,
/// [`CLUSTER_CAP`] of each, ties by golden id.
fn listed(entries: &[Entry]) -> (Vec<usize>, Vec<usize>) {
    let by_size = |&a: &usize, &b: &usize| {
        let (x, y) = (&entries[a], &entries[b]);
        y.size.cmp(&x.size).then_with(|| x.id.cmp(&y.id))
    };
    let by_weak = |&a: &usize, &b: &usize| {
        let (x, y) = (&entries[a], &entries[b]);
        let w = |e: &Entry| e.weakest.unwrap_or(1.0);
        w(x).total_cmp(&w(y)).then_with(|| x.id.cmp(&y.id))
    };
    let sized = (0..entries.len())
        .filter(|&c| entries[c].size > 1)
        .collect();
    let linked = (0..entries.len())
        .filter(|&c| entries[c].weakest.is_some())
        .collect();
    (first(sized, by_size), first(linked, by_weak))
}

/// The first [`CLUSTER_CAP`] of `items` in the order `cmp`, sorted (without sorting the rest).
fn first(mut items: Vec<usize>, cmp: impl Fn(&usize, &usize) -> std::cmp::Ordering) -> Vec<usize> {
    if items.len() > CLUSTER_CAP {
        items.select_nth_unstable_by(CLUSTER_CAP, &cmp);
        items.truncate(CLUSTER_CAP);
    }
    items.sort_by(cmp);
    items
}

/// A link between two records of one cluster.
#[derive(Debug, Clone, Copy)]
struct Link {
    /// One record (its crosswalk row).
    a: u32,
    /// The other.
    b: u32,
    /// Match probability.
    p: f64,
    /// Decision (one of [`LINKS`]).
    d: &'static str,
}

/// Per cluster index, the linked, manual and review pairs of `decisions.parquet` within it.
fn internal_links(t: &TableRead, records: &Records, clusters: usize) -> Result<Vec<Vec<Link>>> {
    let cols = LINK_COLUMNS;
    let (ls, li, rs, ri) = (
        t.strings(cols[0])?,
        t.strings(cols[1])?,
        t.strings(cols[2])?,
        t.strings(cols[3])?,
    );
    let (p, d) = (t.floats(MATCH_PROBABILITY)?, t.strings("decision")?);
    // Each decision's two records looked up in parallel, kept in decision order.
    let found: Vec<(usize, Link)> = (0..t.rows())
        .into_par_iter()
        .filter_map(|i| {
            let &kind = LINKS.iter().find(|k| **k == text(&d, i))?;
            let (a, x) = records.find(text(&ls, i), text(&li, i))?;
            let (b, y) = records.find(text(&rs, i), text(&ri, i))?;
            let p = p[i].unwrap_or(0.0);
            (x == y).then_some((x, Link { a, b, p, d: kind }))
        })
        .collect();
    let mut out: Vec<Vec<Link>> = vec![Vec::new(); clusters];
    for (x, link) in found {
        out[x].push(link);
    }
    Ok(out)
}

/// The lowest probability among `links` that join (match and manual), `None` without any.
fn weakest_link(links: &[Link]) -> Option<f64> {
    links
        .iter()
        .filter(|l| l.d != "review")
        .map(|l| l.p)
        .min_by(f64::total_cmp)
}

/// The drawn graph of a cluster with `members` and `links`: at most [`NODE_CAP`] records (by
/// key order) and [`EDGE_CAP`] links among them, bridges marked.
fn graph(records: &Records, rows: Vec<u32>, links: &[Link]) -> ClusterView {
    let mut members: Vec<(RecordKey, u32)> =
        rows.into_iter().map(|r| (records.key(r), r)).collect();
    members.sort();
    members.truncate(NODE_CAP);
    let at: HashMap<u32, usize> = members
        .iter()
        .enumerate()
        .map(|(i, (_, r))| (*r, i))
        .collect();
    let mut edges: Vec<Edge> = links
        .iter()
        .filter_map(|l| {
            let (a, b) = (*at.get(&l.a)?, *at.get(&l.b)?);
            Some(Edge {
                a: a.min(b),
                b: a.max(b),
                p: l.p,
                d: l.d.to_string(),
                bridge: false,
            })
        })
        .collect();
    edges.sort_by(|x, y| (x.a, x.b).cmp(&(y.a, y.b)));
    edges.truncate(EDGE_CAP);
    mark_bridges(members.len(), &mut edges);
    let nodes = members
        .into_iter()
        .map(|(key, _)| Node {
            id: format!("{}:{}", key.0, key.1),
            values: Vec::new(),
            key,
        })
        .collect();
    ClusterView {
        id: String::new(),
        size: 0,
        sources: String::new(),
        weakest: None,
        nodes,
        edges,
    }
}

/// Marks the joining links (not review) whose removal leaves fewer records connected.
fn mark_bridges(n: usize, edges: &mut [Edge]) {
    let joins = |e: &Edge| e.d != "review";
    let components = |skip: Option<usize>, edges: &[Edge]| {
        let mut uf = crate::cluster::union_find::UnionFind::new(n);
        for (i, e) in edges.iter().enumerate() {
            if Some(i) != skip && joins(e) {
                uf.union(e.a as u32, e.b as u32);
            }
        }
        (0..n).filter(|&x| uf.find(x as u32) == x as u32).count()
    };
    let whole = components(None, edges);
    let bridges: Vec<bool> = (0..edges.len())
        .map(|i| joins(&edges[i]) && components(Some(i), edges) > whole)
        .collect();
    for (e, b) in edges.iter_mut().zip(bridges) {
        e.bridge = b;
    }
}

/// Every record drawn in `view`.
pub fn wanted(view: &ClustersView) -> HashSet<RecordKey> {
    view.clusters
        .iter()
        .flat_map(|c| c.nodes.iter().map(|n| n.key.clone()))
        .collect()
}

/// Fills in each drawn record's values from `values` (`***` when `redact`).
pub fn fill_values(view: &mut ClustersView, values: Option<&RecordValues>, redact: bool) {
    let Some(values) = values else { return };
    for node in view.clusters.iter_mut().flat_map(|c| c.nodes.iter_mut()) {
        node.values = values
            .fields
            .iter()
            .filter_map(|f| Some((f.clone(), shown(values.get(&node.key, f)?, redact))))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(a: usize, b: usize, d: &str) -> Edge {
        Edge {
            a,
            b,
            p: 0.9,
            d: d.into(),
            bridge: false,
        }
    }

    #[test]
    fn bridges_are_the_joining_links_whose_removal_splits_the_cluster() {
        // A triangle 0-1-2, a tail 2-3 and a review pair 3-0 that does not join.
        let mut edges = vec![
            edge(0, 1, "match"),
            edge(1, 2, "match"),
            edge(0, 2, "manual"),
            edge(2, 3, "match"),
            edge(0, 3, "review"),
        ];
        mark_bridges(4, &mut edges);
        let bridges: Vec<bool> = edges.iter().map(|e| e.bridge).collect();
        assert_eq!(bridges, [false, false, false, true, false]);
    }

    #[test]
    fn lists_put_the_largest_and_the_weakest_first_ties_by_id() {
        let e = |id: &str, size, weakest| Entry {
            id: id.into(),
            size,
            weakest,
        };
        let entries = [
            e("Gb", 3, Some(0.7)),
            e("Ga", 3, Some(0.9)),
            e("Gc", 1, None),
            e("Gd", 2, Some(0.7)),
        ];
        assert_eq!(listed(&entries), (vec![1, 0, 3], vec![0, 3, 1]));
    }

    #[test]
    fn lists_past_the_cap_are_the_head_of_the_full_order() {
        let entries: Vec<Entry> = (0..200u64)
            .map(|i| Entry {
                id: format!("G{:03}", (i * 37) % 200),
                size: 1 + (i * 13) % 7,
                weakest: (i % 3 != 0).then(|| ((i * 29) % 11) as f64 / 10.0),
            })
            .collect();
        let mut by_size: Vec<usize> = (0..200).filter(|&c| entries[c].size > 1).collect();
        by_size.sort_by_key(|&c| (std::cmp::Reverse(entries[c].size), entries[c].id.clone()));
        let mut by_weak: Vec<usize> = (0..200).filter(|&c| entries[c].weakest.is_some()).collect();
        by_weak.sort_by(|&a, &b| {
            let w = |c: usize| entries[c].weakest.unwrap_or(1.0);
            w(a).total_cmp(&w(b))
                .then_with(|| entries[a].id.cmp(&entries[b].id))
        });
        by_size.truncate(CLUSTER_CAP);
        by_weak.truncate(CLUSTER_CAP);
        assert_eq!(listed(&entries), (by_size, by_weak));
    }
}
