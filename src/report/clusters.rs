//! The section "Clusters": the largest clusters and those with the weakest internal links, each
//! drawn as the graph of its links (linked, manual and review pairs of `decisions.parquet`
//! within it) with their probabilities; links whose removal splits the cluster (bridges) are
//! marked, the weakest of them most.

use std::collections::{BTreeSet, HashSet};

use foldhash::{HashMap, HashMapExt};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::index::{Crosswalk, NO_CLUSTER, RowIndex};
use super::read::{TableRead, text};
use super::records::{RecordKey, RecordValues};
use super::review::shown;
use crate::Result;
use crate::run::Table;
use crate::schema::{MATCH_PROBABILITY, RECORD_COUNT, SOURCES};

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
pub const LINKS: [&str; 3] = ["match", "manual", "review"];

/// The columns of `decisions.parquet` the clusters' links come from, of the run in `dir`.
pub fn read_links(dir: &Path) -> Result<TableRead> {
    TableRead::of(dir, Table::Decisions, Some(&LINK_COLUMNS))
}

/// The clusters section, from the run's golden records (`golden`), its crosswalk indexed
/// (`xw`) and the links within its clusters.
pub fn clusters_view(
    golden: &TableRead,
    xw: &Crosswalk,
    links: Vec<(u32, Link)>,
) -> Result<ClustersView> {
    let ids = &xw.keys.golden;
    let (sizes, sources) = (golden.floats(RECORD_COUNT)?, golden.strings(SOURCES)?);
    let size = |c: usize| sizes[c].unwrap_or(0.0) as u64;
    let weakest = weakest_links(&links, golden.rows());
    let (by_size, by_weak) = listed(golden.rows(), |c| text(ids, c), size, |c| weakest[c]);
    let entry = |c: usize| Entry {
        id: text(ids, c).to_string(),
        size: size(c),
        weakest: weakest[c],
    };
    let chosen: BTreeSet<usize> = by_size.iter().chain(&by_weak).copied().collect();
    let mut members = members_of(xw, &chosen);
    let mut chosen_links: HashMap<usize, Vec<Link>> = HashMap::new();
    for &(c, link) in links
        .iter()
        .filter(|(c, _)| chosen.contains(&(*c as usize)))
    {
        chosen_links.entry(c as usize).or_default().push(link);
    }
    let clusters = chosen
        .iter()
        .map(|&c| {
            let rows = members.remove(&c).unwrap_or_default();
            let links = chosen_links.remove(&c).unwrap_or_default();
            let mut view = graph(xw, rows, &links);
            let e = entry(c);
            (view.id, view.size, view.weakest) = (e.id, e.size, e.weakest);
            view.sources = text(&sources, c).replace(',', ", ");
            view
        })
        .collect();
    Ok(ClustersView {
        total: golden.rows(),
        largest: by_size.into_iter().map(entry).collect(),
        weakest: by_weak.into_iter().map(entry).collect(),
        clusters,
    })
}

/// The rows of each of the `chosen` clusters.
fn members_of(xw: &Crosswalk, chosen: &BTreeSet<usize>) -> HashMap<usize, Vec<u32>> {
    let mut members: HashMap<usize, Vec<u32>> = HashMap::new();
    for (r, &c) in xw.cluster.iter().enumerate() {
        if c != NO_CLUSTER && chosen.contains(&(c as usize)) {
            members.entry(c as usize).or_default().push(r as u32);
        }
    }
    members
}

/// The clusters listed among `n`: the largest (more than one record) and those with the
/// weakest links, [`CLUSTER_CAP`] of each, ties by golden id (`id`, `size` and `weakest` of
/// each cluster).
fn listed<'i>(
    n: usize,
    id: impl Fn(usize) -> &'i str,
    size: impl Fn(usize) -> u64,
    weakest: impl Fn(usize) -> Option<f64>,
) -> (Vec<usize>, Vec<usize>) {
    let by_size = |&a: &usize, &b: &usize| size(b).cmp(&size(a)).then_with(|| id(a).cmp(id(b)));
    let w = |c: usize| weakest(c).unwrap_or(1.0);
    let by_weak = |&a: &usize, &b: &usize| w(a).total_cmp(&w(b)).then_with(|| id(a).cmp(id(b)));
    let sized = (0..n).filter(|&c| size(c) > 1).collect();
    let linked = (0..n).filter(|&c| weakest(c).is_some()).collect();
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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// One record (its crosswalk row).
    pub a: u32,
    /// The other.
    pub b: u32,
    /// Match probability.
    pub p: f64,
    /// Decision (one of [`LINKS`]).
    pub d: &'static str,
}

/// The linked, manual and review pairs of `decisions.parquet` within one cluster, in
/// decision order, each with its cluster.
pub fn internal_links(t: &TableRead, xw: &RowIndex) -> Result<Vec<(u32, Link)>> {
    let cols = LINK_COLUMNS;
    let (ls, li, rs, ri) = (
        t.strings(cols[0])?,
        t.strings(cols[1])?,
        t.strings(cols[2])?,
        t.strings(cols[3])?,
    );
    let (p, d) = (t.floats(MATCH_PROBABILITY)?, t.strings("decision")?);
    // Each decision's two records looked up in parallel, kept in decision order.
    Ok((0..t.rows())
        .into_par_iter()
        .filter_map(|i| {
            let &kind = LINKS.iter().find(|k| **k == text(&d, i))?;
            let (a, x) = xw.find(text(&ls, i), text(&li, i))?;
            let (b, y) = xw.find(text(&rs, i), text(&ri, i))?;
            let p = p[i].unwrap_or(0.0);
            (x == y).then_some((x, Link { a, b, p, d: kind }))
        })
        .collect())
}

/// Per cluster of `n`, the lowest probability among its `links` that join (match and
/// manual), `None` without any.
fn weakest_links(links: &[(u32, Link)], n: usize) -> Vec<Option<f64>> {
    let mut weakest: Vec<Option<f64>> = vec![None; n];
    for (c, l) in links.iter().filter(|(_, l)| l.d != "review") {
        let w = &mut weakest[*c as usize];
        *w = Some(w.map_or(l.p, |w| if l.p.total_cmp(&w).is_lt() { l.p } else { w }));
    }
    weakest
}

/// The drawn graph of a cluster with `members` and `links`: at most [`NODE_CAP`] records (by
/// key order) and [`EDGE_CAP`] links among them, bridges marked.
fn graph(xw: &Crosswalk, rows: Vec<u32>, links: &[Link]) -> ClusterView {
    let mut members: Vec<(RecordKey, u32)> = rows.into_iter().map(|r| (xw.key(r), r)).collect();
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
    edges.sort_by_key(|e| (e.a, e.b));
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

    fn list(entries: &[Entry]) -> (Vec<usize>, Vec<usize>) {
        let e = |c: usize| &entries[c];
        listed(entries.len(), |c| &e(c).id, |c| e(c).size, |c| e(c).weakest)
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
        assert_eq!(list(&entries), (vec![1, 0, 3], vec![0, 3, 1]));
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
        assert_eq!(list(&entries), (by_size, by_weak));
    }
}
