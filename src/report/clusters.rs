//! The section "Clusters": the largest clusters and those with the weakest internal links, each
//! drawn as the graph of its links (linked, manual and review pairs of `decisions.parquet`
//! within it) with their probabilities; links whose removal splits the cluster (bridges) are
//! marked, the weakest of them most.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use super::read::{TableRead, text};
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

/// Decisions that hold a cluster together (or sit inside one).
const LINKS: [&str; 3] = ["match", "manual", "review"];

/// The clusters section of the run in `dir`.
pub fn clusters_view(dir: &Path) -> Result<ClustersView> {
    let golden = TableRead::of(
        dir,
        Table::Golden,
        Some(&[GOLDEN_ID, RECORD_COUNT, SOURCES]),
    )?;
    let (ids, sizes, sources) = (
        golden.strings(GOLDEN_ID)?,
        golden.floats(RECORD_COUNT)?,
        golden.strings(SOURCES)?,
    );
    let index: HashMap<&str, usize> = (0..golden.rows()).map(|i| (text(&ids, i), i)).collect();
    let xw = TableRead::of(dir, Table::Crosswalk, Some(&[SOURCE, SOURCE_ID, GOLDEN_ID]))?;
    let (xs, xi, xg) = (
        xw.strings(SOURCE)?,
        xw.strings(SOURCE_ID)?,
        xw.strings(GOLDEN_ID)?,
    );
    let cluster_of: HashMap<(&str, &str), usize> = (0..xw.rows())
        .filter_map(|i| Some(((text(&xs, i), text(&xi, i)), *index.get(text(&xg, i))?)))
        .collect();
    let links = internal_links(dir, &cluster_of)?;
    let weakest = weakest_link(&links);
    let entry = |c: usize| Entry {
        id: text(&ids, c).to_string(),
        size: sizes[c].unwrap_or(0.0) as u64,
        weakest: weakest.get(&c).copied(),
    };
    let entries: Vec<Entry> = (0..golden.rows()).map(entry).collect();
    let (by_size, by_weak) = listed(&entries);
    let chosen: BTreeSet<usize> = by_size.iter().chain(&by_weak).copied().collect();
    let mut members = members_of(&cluster_of, &chosen);
    let clusters = chosen
        .iter()
        .map(|&c| {
            let nodes = members.remove(&c).unwrap_or_default();
            let mut view = graph(nodes, links.get(&c).map_or(&[][..], |l| &l[..]));
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

/// The clusters listed: the largest (more than one record) and those with the weakest links,
/// [`CLUSTER_CAP`] of each, ties by golden id.
fn listed(entries: &[Entry]) -> (Vec<usize>, Vec<usize>) {
    let mut by_size: Vec<usize> = (0..entries.len())
        .filter(|&c| entries[c].size > 1)
        .collect();
    by_size.sort_by(|&a, &b| {
        let (x, y) = (&entries[a], &entries[b]);
        y.size.cmp(&x.size).then_with(|| x.id.cmp(&y.id))
    });
    let mut by_weak: Vec<usize> = (0..entries.len())
        .filter(|&c| entries[c].weakest.is_some())
        .collect();
    by_weak.sort_by(|&a, &b| {
        let (x, y) = (&entries[a], &entries[b]);
        let w = |e: &Entry| e.weakest.unwrap_or(1.0);
        w(x).total_cmp(&w(y)).then_with(|| x.id.cmp(&y.id))
    });
    by_size.truncate(CLUSTER_CAP);
    by_weak.truncate(CLUSTER_CAP);
    (by_size, by_weak)
}

/// The records of each of the `chosen` clusters.
fn members_of(
    cluster_of: &HashMap<(&str, &str), usize>,
    chosen: &BTreeSet<usize>,
) -> HashMap<usize, Vec<RecordKey>> {
    let mut members: HashMap<usize, Vec<RecordKey>> = HashMap::new();
    for (&(s, id), &c) in cluster_of {
        if chosen.contains(&c) {
            let key = (s.to_string(), id.to_string());
            members.entry(c).or_default().push(key);
        }
    }
    members
}

/// A link between two records of one cluster.
struct Link {
    /// One record.
    a: RecordKey,
    /// The other.
    b: RecordKey,
    /// Match probability.
    p: f64,
    /// Decision.
    d: String,
}

/// Per cluster index, the linked, manual and review pairs of `decisions.parquet` within it.
fn internal_links(
    dir: &Path,
    cluster_of: &HashMap<(&str, &str), usize>,
) -> Result<HashMap<usize, Vec<Link>>> {
    let cols = [
        "left_source",
        "left_id",
        "right_source",
        "right_id",
        MATCH_PROBABILITY,
        "decision",
    ];
    let t = TableRead::of(dir, Table::Decisions, Some(&cols))?;
    let (ls, li, rs, ri) = (
        t.strings(cols[0])?,
        t.strings(cols[1])?,
        t.strings(cols[2])?,
        t.strings(cols[3])?,
    );
    let (p, d) = (t.floats(MATCH_PROBABILITY)?, t.strings("decision")?);
    let mut out: HashMap<usize, Vec<Link>> = HashMap::new();
    for i in (0..t.rows()).filter(|&i| LINKS.contains(&text(&d, i))) {
        let (a, b) = ((text(&ls, i), text(&li, i)), (text(&rs, i), text(&ri, i)));
        match (cluster_of.get(&a), cluster_of.get(&b)) {
            (Some(x), Some(y)) if x == y => out.entry(*x).or_default().push(Link {
                a: (a.0.to_string(), a.1.to_string()),
                b: (b.0.to_string(), b.1.to_string()),
                p: p[i].unwrap_or(0.0),
                d: text(&d, i).to_string(),
            }),
            _ => {}
        }
    }
    Ok(out)
}

/// Per cluster, the lowest probability among the links that join it (match and manual).
fn weakest_link(links: &HashMap<usize, Vec<Link>>) -> HashMap<usize, f64> {
    links
        .iter()
        .filter_map(|(&c, l)| {
            let joining = l.iter().filter(|l| l.d != "review").map(|l| l.p);
            Some((c, joining.min_by(f64::total_cmp)?))
        })
        .collect()
}

/// The drawn graph of a cluster with `members` and `links`: at most [`NODE_CAP`] records (by
/// key order) and [`EDGE_CAP`] links among them, bridges marked.
fn graph(mut members: Vec<RecordKey>, links: &[Link]) -> ClusterView {
    members.sort();
    members.truncate(NODE_CAP);
    let at: HashMap<&RecordKey, usize> = members.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let mut edges: Vec<Edge> = links
        .iter()
        .filter_map(|l| {
            let (a, b) = (*at.get(&l.a)?, *at.get(&l.b)?);
            Some(Edge {
                a: a.min(b),
                b: a.max(b),
                p: l.p,
                d: l.d.clone(),
                bridge: false,
            })
        })
        .collect();
    edges.sort_by(|x, y| (x.a, x.b).cmp(&(y.a, y.b)));
    edges.truncate(EDGE_CAP);
    mark_bridges(members.len(), &mut edges);
    let nodes = members
        .into_iter()
        .map(|key| Node {
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
}
