//! The sections "Run summary" and "Source profile": inputs, rows read and rejected, stage
//! timings, golden records, changes; per source and field completeness, distinct values, share
//! standardised cleanly, duplicates within a source and overlap between sources.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use std::path::Path;

use rayon::prelude::*;

use serde::Serialize;

use super::index::{Crosswalk, NO_CLUSTER};
use super::read::{TableRead, text};
use crate::Result;
use crate::cluster::stable_ids::ChangeKind;
use crate::output::Manifest;
use crate::output::manifest::{Counts, InputFile};
use crate::run::Table;
use crate::schema::{SOURCE, SOURCES};

/// A named count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Count {
    /// What is counted.
    pub name: String,
    /// How many.
    pub n: u64,
}

/// One source's rows.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRows {
    /// Source name.
    pub name: String,
    /// Rows read.
    pub rows_read: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Records kept.
    pub records: u64,
    /// Rejected rows per reason, most first.
    pub reasons: Vec<Count>,
}

/// The section "Run summary".
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Input files with size and SHA-256 (at most [`INPUTS_CAP`]).
    pub inputs: Vec<InputFile>,
    /// Input files beyond the cap.
    pub inputs_rest: usize,
    /// Rows per source.
    pub sources: Vec<SourceRows>,
    /// The run's headline counts.
    pub counts: Vec<Count>,
    /// Seconds per stage, as recorded before the report was built.
    pub timings: Vec<(String, String)>,
    /// Golden ids changed since the previous run, per kind.
    pub changes: Vec<Count>,
}

/// Stages whose timing is recorded only after the report is built (left out, so a rebuilt
/// report has the same bytes).
const LATER_STAGES: [&str; 2] = ["report", "checksum_outputs"];

/// Input files listed at most (a glob may match thousands).
const INPUTS_CAP: usize = 100;

/// Stages in the order a run goes through them (others after, by name).
const STAGE_ORDER: [&str; 15] = [
    "checksum",
    "ingest",
    "standardize",
    "placeholders",
    "block",
    "pair_cache",
    "compare",
    "train",
    "score",
    "write_records",
    "cluster",
    "stable_ids",
    "write_decisions",
    "survive",
    "write",
];

/// Counts shown in the summary, in order.
/// The counts the summary leads with, in this order.
fn headline(c: &Counts) -> [(&'static str, Option<u64>); 7] {
    [
        ("golden records", c.golden_records),
        ("records", c.records),
        ("rows read", c.rows_read),
        ("rows rejected", c.rows_rejected),
        ("candidate pairs", c.candidate_pairs),
        ("match pairs", c.match_pairs),
        ("review pairs", c.review_pairs),
    ]
}

/// The summary of the run in `dir` described by `m`.
pub fn summary(dir: &Path, m: &Manifest) -> Result<Summary> {
    let reasons = reject_reasons(dir)?;
    let sources = m
        .sources
        .iter()
        .map(|(name, c)| SourceRows {
            name: name.clone(),
            rows_read: c.rows_read,
            rows_rejected: c.rows_rejected,
            records: c.records,
            reasons: reasons.get(name).cloned().unwrap_or_default(),
        })
        .collect();
    let counts = headline(&m.counts)
        .into_iter()
        .map(|(name, n)| Count {
            name: name.to_string(),
            n: n.unwrap_or(0),
        })
        .collect();
    let changes = ChangeKind::ALL
        .iter()
        .filter_map(|kind| {
            Some(Count {
                name: kind.as_str().to_string(),
                n: m.counts.changes(kind)?,
            })
        })
        .collect();
    let mut timings: Vec<(&String, &f64)> = m
        .timings_s
        .iter()
        .filter(|(k, _)| !LATER_STAGES.contains(&k.as_str()))
        .collect();
    let place = |k: &str| {
        STAGE_ORDER
            .iter()
            .position(|s| *s == k)
            .unwrap_or(usize::MAX)
    };
    timings.sort_by_key(|(k, _)| (place(k), k.as_str()));
    let timings = timings
        .into_iter()
        .map(|(k, s)| (k.clone(), format!("{s:.3}")))
        .collect();
    Ok(Summary {
        inputs: m.inputs.iter().take(INPUTS_CAP).cloned().collect(),
        inputs_rest: m.inputs.len().saturating_sub(INPUTS_CAP),
        sources,
        counts,
        timings,
        changes,
    })
}

/// Rejected rows per source and reason (`rejects.parquet`), most first.
fn reject_reasons(dir: &Path) -> Result<BTreeMap<String, Vec<Count>>> {
    let t = TableRead::of(dir, Table::Rejects, Some(&[SOURCE, "reason"]))?;
    let (sources, reasons) = (t.strings(SOURCE)?, t.strings("reason")?);
    let mut by: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for i in 0..t.rows() {
        let per = by.entry(text(&sources, i).to_string()).or_default();
        *per.entry(text(&reasons, i).to_string()).or_default() += 1;
    }
    Ok(by
        .into_iter()
        .map(|(s, per)| (s, most_first(per)))
        .collect())
}

/// Counts, most first (ties by name).
pub fn most_first(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<Count> {
    let mut out: Vec<Count> = counts
        .into_iter()
        .map(|(name, n)| Count { name, n })
        .collect();
    out.sort_by(|a, b| b.n.cmp(&a.n).then_with(|| a.name.cmp(&b.name)));
    out
}

/// One field of one source in the profile.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileCell {
    /// Field name.
    pub field: String,
    /// Records with a raw value.
    pub present: u64,
    /// Share of the source's records with a raw value.
    pub complete: String,
    /// Share of the raw values that standardised cleanly.
    pub clean: String,
    /// Distinct match keys.
    pub distinct: u64,
}

/// One source in the profile.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileSource {
    /// Source name.
    pub name: String,
    /// Records kept.
    pub records: u64,
    /// Per field.
    pub cells: Vec<ProfileCell>,
    /// Golden records holding two or more of this source's records.
    pub duplicate_golden: u64,
    /// Records of this source in those golden records.
    pub duplicate_records: u64,
}

/// The section "Source profile".
#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    /// Per source.
    pub sources: Vec<ProfileSource>,
    /// Golden records per combination of sources, most first (capped).
    pub overlap: Vec<Count>,
    /// Combinations beyond the cap.
    pub overlap_rest: usize,
}

/// Combinations of sources listed in the overlap table.
const OVERLAP_CAP: usize = 50;

/// A share as a percentage with one decimal; `-` when `of` is 0.
pub fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        return "-".into();
    }
    format!("{:.1}%", n as f64 * 100.0 / of as f64)
}

/// The profile of the run in `dir` described by `m`.
pub fn profile(m: &Manifest, golden: &TableRead, xw: &Crosswalk) -> Result<ProfileView> {
    let dups = duplicates_within_sources(xw);
    let sources = m
        .profile
        .iter()
        .map(|(name, fields)| {
            let records = m.sources.get(name).map_or(0, |c| c.records);
            let cells = fields
                .iter()
                .map(|(field, p)| ProfileCell {
                    field: field.clone(),
                    present: p.present,
                    complete: percent(p.present, records),
                    clean: percent(p.clean.min(p.present), p.present),
                    distinct: p.distinct,
                })
                .collect();
            let (duplicate_golden, duplicate_records) = dups.get(name).copied().unwrap_or((0, 0));
            ProfileSource {
                name: name.clone(),
                records,
                cells,
                duplicate_golden,
                duplicate_records,
            }
        })
        .collect();
    let mut overlap = overlap(golden)?;
    let overlap_rest = overlap.len().saturating_sub(OVERLAP_CAP);
    overlap.truncate(OVERLAP_CAP);
    Ok(ProfileView {
        sources,
        overlap,
        overlap_rest,
    })
}

/// Per source, the golden records holding two or more of its records, and those records
/// (rows whose golden id is unknown are grouped by that id).
fn duplicates_within_sources(xw: &Crosswalk) -> HashMap<String, (u64, u64)> {
    let rows = xw.cluster.len();
    let known = |r: &usize| xw.cluster[*r] != NO_CLUSTER;
    // (source, cluster) of every row as one number, sorted: equal neighbours share a cluster.
    let mut keys: Vec<u64> = (0..rows)
        .into_par_iter()
        .filter(known)
        .map(|r| ((xw.source[r] as u64) << 32) | xw.cluster[r] as u64)
        .collect();
    keys.par_sort_unstable();
    let mut counts: Vec<(u32, u64)> = keys
        .chunk_by(|a, b| a == b)
        .map(|run| ((run[0] >> 32) as u32, run.len() as u64))
        .collect();
    let mut unknown: HashMap<(u32, &str), u64> = HashMap::new();
    for r in (0..rows).filter(|r| !known(r)) {
        *unknown
            .entry((xw.source[r], text(&xw.keys.golden_of, r)))
            .or_default() += 1;
    }
    counts.extend(unknown.into_iter().map(|((s, _), n)| (s, n)));
    let mut out: HashMap<String, (u64, u64)> = HashMap::new();
    for (source, n) in counts.into_iter().filter(|(_, n)| *n > 1) {
        let e = out
            .entry(xw.names[source as usize].to_string())
            .or_default();
        e.0 += 1;
        e.1 += n;
    }
    out
}

/// Golden records per combination of sources (`golden.parquet` → `sources`), most first.
fn overlap(t: &TableRead) -> Result<Vec<Count>> {
    let sources = t.strings(SOURCES)?;
    let mut per: HashMap<&str, u64> = HashMap::new();
    for i in 0..t.rows() {
        *per.entry(text(&sources, i)).or_default() += 1;
    }
    Ok(most_first(
        per.into_iter().map(|(k, n)| (k.replace(',', " + "), n)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_counts_read_as_shown() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(0, 0), "-");
        let counts = most_first([
            ("b".to_string(), 2),
            ("a".to_string(), 2),
            ("c".to_string(), 5),
        ]);
        let names: Vec<&str> = counts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["c", "a", "b"]);
    }
}
