//! Manual decisions: must-link and cannot-link pairs recorded by data stewards in a CSV
//! (`left,right,decision,reason,author,date`, records as `source:id`), honoured by every run.
//!
//! A must-link joins two records even when no blocking rule paired them; a cannot-link keeps
//! two records in different clusters even when other links would join them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;

use super::union_find::UnionFind;
use crate::compare::{Comparator, Compared};
use crate::config::Pipeline;
use crate::model::{Decision, Scored};
use crate::schema;
use crate::{Error, Result};

/// Rule index of a pair that only a manual decision brought in (written as `manual`).
pub const MANUAL_RULE: u8 = u8::MAX;

/// The manual decisions of a run, by record index (`left < right`).
#[derive(Debug, Clone, Default)]
pub struct ManualDecisions {
    /// Pair → true for must-link, false for cannot-link.
    pub pairs: HashMap<(u32, u32), bool>,
    /// Rows naming records that are not in this run (retired or rejected).
    pub unknown_records: usize,
    /// Cannot-link pairs whose records the must-links join ([`ManualDecisions::contradictions`]).
    pub contradictions: usize,
}

/// Where a pipeline's manual decisions live: the configured file, or
/// `decisions/manual.csv` next to the pipeline file when it exists.
pub fn path_of(p: &Pipeline) -> Option<PathBuf> {
    p.manual_decisions.clone().or_else(|| {
        let default = p.base_dir.join("decisions").join("manual.csv");
        default.exists().then_some(default)
    })
}

fn bad(path: &Path, line: usize, message: String) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    }
}

/// Reads the decisions file and maps its records onto `batch`'s record indices.
pub fn load(path: &Path, batch: &RecordBatch) -> Result<ManualDecisions> {
    let col = |n: &str| {
        crate::run::text(batch, n, crate::run::Text::Cast)
            .map_err(|what| Error::Internal(format!("manual decisions: {what}")))
    };
    let (sources, ids) = (col(schema::SOURCE)?, col(schema::SOURCE_ID)?);
    let index: HashMap<(&str, &str), u32> = (0..batch.num_rows())
        .map(|i| ((sources.value(i), ids.value(i)), i as u32))
        .collect();
    let (mut out, both_ways) = decide(read_rows(path)?, &index);
    let clashes = out.contradictions(batch.num_rows());
    out.contradictions = clashes.len() + both_ways.len();
    let name = |i: u32| format!("{}:{}", sources.value(i as usize), ids.value(i as usize));
    warn_clashes(path, &both_ways, &clashes, name);
    Ok(out)
}

/// One row of the decisions file: its two records (source, id) and whether they must link.
struct Row {
    left: (String, String),
    right: (String, String),
    must: bool,
}

/// The rows of the decisions file, checked: the header names `left`, `right` and `decision`
/// (any order, any case), each record is `source:id`, each decision `must_link` or
/// `cannot_link`; errors name the line.
fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| bad(path, 1, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let pos = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            bad(path, 1, format!("missing column `{name}`; the header must be left,right,decision,reason,author,date"))
        })
    };
    let columns = [pos("left")?, pos("right")?, pos("decision")?];
    rdr.records()
        .enumerate()
        .map(|(n, rec)| {
            let line = n + 2;
            let rec = rec.map_err(|e| bad(path, line, e.to_string()))?;
            parse_row(&rec, columns, |message| bad(path, line, message))
        })
        .collect()
}

/// Row `rec`, its left, right and decision in `columns`; `bad` makes the error of its line.
fn parse_row(
    rec: &csv::StringRecord,
    [l, r, d]: [usize; 3],
    bad: impl Fn(String) -> Error,
) -> Result<Row> {
    let field = |i: usize| rec.get(i).unwrap_or("").trim();
    let key = |s: &str| -> Result<(String, String)> {
        s.split_once(':')
            .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
            .ok_or_else(|| bad(format!("record `{s}` is not of the form source:id")))
    };
    let must = match field(d) {
        "must_link" => true,
        "cannot_link" => false,
        other => {
            return Err(bad(format!(
                "decision `{other}`; expected must_link or cannot_link"
            )));
        }
    };
    Ok(Row {
        left: key(field(l))?,
        right: key(field(r))?,
        must,
    })
}

/// The decisions of `rows` by record index (`index`), counting rows naming a record not in
/// this run, and the pairs decided both ways (must_link on one row, cannot_link on another:
/// the later row wins), sorted.
fn decide(
    rows: Vec<Row>,
    index: &HashMap<(&str, &str), u32>,
) -> (ManualDecisions, Vec<(u32, u32)>) {
    let mut out = ManualDecisions::default();
    let mut both_ways: Vec<(u32, u32)> = Vec::new();
    let find = |(s, id): &(String, String)| index.get(&(s.as_str(), id.as_str())).copied();
    for row in rows {
        let (Some(x), Some(y)) = (find(&row.left), find(&row.right)) else {
            out.unknown_records += 1;
            continue;
        };
        let pair = (x.min(y), x.max(y));
        if x != y
            && out
                .pairs
                .insert(pair, row.must)
                .is_some_and(|before| before != row.must)
        {
            both_ways.push(pair);
        }
    }
    if out.unknown_records > 0 {
        tracing::warn!(
            rows = out.unknown_records,
            "manual decisions name records not in this run; skipped"
        );
    }
    both_ways.sort_unstable();
    both_ways.dedup();
    (out, both_ways)
}

/// Warns of the pairs decided both ways and of the cannot-links the must-links join
/// (`clashes`), naming their records by id (`name`).
fn warn_clashes(
    path: &Path,
    both_ways: &[(u32, u32)],
    clashes: &[(u32, u32)],
    name: impl Fn(u32) -> String,
) {
    if !both_ways.is_empty() {
        let (n, s, is) = counted(both_ways.len());
        tracing::warn!(
            pairs = n,
            "{n} pair{s} of the manual decisions {is} decided both ways, must_link and \
             cannot_link ({}); the later row wins. Review {}",
            named(both_ways, &name),
            path.display()
        );
    }
    if !clashes.is_empty() {
        let (n, s, is) = counted(clashes.len());
        tracing::warn!(
            pairs = n,
            "{n} cannot-link pair{s} of the manual decisions {is} joined by must-links through \
             other records ({}); the cannot-link wins: the must-link that would complete the \
             chain is not applied. Review {}",
            named(clashes, &name),
            path.display()
        );
    }
}

/// `n` with the plural ending and verb that go with it: (n, "s" or "", "are" or "is").
fn counted(n: usize) -> (usize, &'static str, &'static str) {
    if n == 1 {
        (n, "", "is")
    } else {
        (n, "s", "are")
    }
}

/// Most pairs named in a warning.
const PAIRS_SHOWN: usize = 20;

/// `a ~ b, c ~ d, … N more`: the records of `pairs` by id (never values).
fn named(pairs: &[(u32, u32)], name: impl Fn(u32) -> String) -> String {
    let mut shown: Vec<String> = pairs
        .iter()
        .take(PAIRS_SHOWN)
        .map(|&(a, b)| format!("{} ~ {}", name(a), name(b)))
        .collect();
    if pairs.len() > PAIRS_SHOWN {
        shown.push(format!("… {} more", pairs.len() - PAIRS_SHOWN));
    }
    shown.join(", ")
}

impl ManualDecisions {
    /// Appends the manual pairs that no blocking rule found, compared like any other pair, so
    /// that every manual decision appears in `decisions.parquet`.
    pub fn append_missing(
        &self,
        batch: &RecordBatch,
        p: &Pipeline,
        compared: &mut Compared,
    ) -> Result<()> {
        if self.pairs.is_empty() {
            return Ok(());
        }
        let present: std::collections::HashSet<(u32, u32)> = compared
            .left
            .iter()
            .zip(&compared.right)
            .map(|(&a, &b)| (a, b))
            .collect();
        let comparator = Comparator::new(batch, &p.comparisons)?;
        let mut missing: Vec<(u32, u32)> = self
            .pairs
            .keys()
            .copied()
            .filter(|k| !present.contains(k))
            .collect();
        missing.sort_unstable();
        let mut buf = vec![0i8; compared.n_comparisons];
        for (a, b) in missing {
            comparator.levels(a, b, &mut buf);
            compared.left.push(a);
            compared.right.push(b);
            compared.rule.push(MANUAL_RULE);
            compared.levels.extend_from_slice(&buf);
        }
        Ok(())
    }

    /// Marks every manual pair's decision `manual`.
    pub fn mark(&self, compared: &Compared, scored: &mut Scored) {
        for i in 0..compared.len() {
            if self
                .pairs
                .contains_key(&(compared.left[i], compared.right[i]))
            {
                scored.decision[i] = Decision::Manual;
            }
        }
    }

    /// Whether pair `(a, b)` (a < b) is a must-link.
    pub fn is_must_link(&self, a: u32, b: u32) -> bool {
        self.pairs.get(&(a, b)).copied().unwrap_or(false)
    }

    /// Cannot-link pairs whose two records the must-links join, directly or through other
    /// records (A must-link B, B must-link C, A cannot-link C), sorted; `n` records in all.
    /// Clustering applies must-links first and skips one that would join a cannot-link pair,
    /// so the cannot-link wins.
    pub fn contradictions(&self, n: usize) -> Vec<(u32, u32)> {
        let mut uf = UnionFind::new(n);
        for (&(a, b), _) in self.pairs.iter().filter(|(_, must)| **must) {
            uf.union(a, b);
        }
        self.cannot_links()
            .into_iter()
            .filter(|&(a, b)| uf.find(a) == uf.find(b))
            .collect()
    }

    /// Cannot-link pairs.
    pub fn cannot_links(&self) -> Vec<(u32, u32)> {
        let mut v: Vec<(u32, u32)> = self.pairs.iter().filter(|e| !*e.1).map(|e| *e.0).collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decisions(pairs: &[((u32, u32), bool)]) -> ManualDecisions {
        ManualDecisions {
            pairs: pairs.iter().copied().collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_pair_decided_both_ways_counts_as_a_contradiction_and_the_later_row_wins() {
        use arrow::array::{ArrayRef, StringArray};
        use std::sync::Arc;
        let col = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
        let batch = RecordBatch::try_from_iter([
            (schema::SOURCE, col(vec!["crm", "crm", "crm"])),
            (schema::SOURCE_ID, col(vec!["A", "B", "C"])),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manual.csv");
        std::fs::write(
            &path,
            "left,right,decision\ncrm:A,crm:B,must_link\ncrm:B,crm:A,cannot_link\n\
             crm:B,crm:C,must_link\n",
        )
        .unwrap();
        let d = load(&path, &batch).unwrap();
        assert!(!d.pairs[&(0, 1)], "the later row wins");
        assert_eq!(d.contradictions, 1);
    }

    #[test]
    fn a_cannot_link_joined_by_a_chain_of_must_links_is_a_contradiction() {
        let d = decisions(&[
            ((0, 1), true),
            ((1, 2), true),
            ((0, 2), false),
            ((3, 4), false),
            ((2, 5), false),
        ]);
        assert_eq!(d.contradictions(6), vec![(0, 2)]);
        assert_eq!(decisions(&[((0, 1), false)]).contradictions(2), vec![]);
    }
}
