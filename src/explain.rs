//! `golden explain`: why a pair scored as it did, where a record went, and what a golden record
//! is made of.
//!
//! In: a run's tables ([`RunTables`]: `model.json`, `crosswalk`, `lineage`, `decisions`).
//! Out: a plain-text report. Every number is read back from the run, never recomputed, so the
//! report shows what the run decided. Standardized values are not kept in a run; the values shown
//! are the surviving values in `lineage`, so a record shows a value only for the fields where its
//! value won, and `(not kept)` elsewhere. `redact` replaces every value with `***`.

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int8Type, UInt64Type};

use crate::model::params::{ComparisonParams, ModelParams};
use crate::output::read_parquet;
use crate::schema;
use crate::{Error, Result};
use Align::{Left, Right};

/// One input record, named as `SOURCE:ID`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordRef {
    /// Source name.
    pub source: String,
    /// The record's id in its source.
    pub id: String,
}

impl FromStr for RecordRef {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((source, id)) if !source.is_empty() && !id.is_empty() => Ok(RecordRef {
                source: source.to_string(),
                id: id.to_string(),
            }),
            _ => Err(format!(
                "`{s}` is not SOURCE:ID; write the source name, a colon and the record's id, e.g. crm:C1"
            )),
        }
    }
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.id)
    }
}

/// What to explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The score of a pair of records, field by field (a waterfall).
    Pair(RecordRef, RecordRef),
    /// One record: its golden record and the pairs it was part of.
    Record(RecordRef),
    /// One golden record: its values with their origin, its members and the links among them.
    Golden(String),
}

/// The tables of a run that explanations are read from.
#[derive(Debug, Clone)]
pub struct RunTables {
    /// The run directory (named in error messages).
    pub dir: PathBuf,
    /// `model.json`.
    pub model: ModelParams,
    /// `crosswalk.parquet`.
    pub crosswalk: RecordBatch,
    /// `lineage.parquet`.
    pub lineage: RecordBatch,
    /// `decisions.parquet`.
    pub decisions: RecordBatch,
}

impl RunTables {
    /// Reads the tables of the run directory `dir`; a file that cannot be read is named, with
    /// the advice that the run looks damaged.
    pub fn load(dir: &Path) -> Result<Self> {
        let table = |name: &str| {
            let path = dir.join(name);
            read_parquet(&path).map_err(|e| damaged(dir, &path, &e.to_string()))
        };
        let model_path = dir.join("model.json");
        Ok(RunTables {
            dir: dir.to_path_buf(),
            model: ModelParams::load(&model_path)
                .map_err(|e| damaged(dir, &model_path, &e.to_string()))?,
            crosswalk: table("crosswalk.parquet")?,
            lineage: table("lineage.parquet")?,
            decisions: table("decisions.parquet")?,
        })
    }

    /// Column `name` of `table`, cast to `ty`; a missing column names the file and the fix.
    fn column(&self, table: &str, name: &str, ty: &DataType) -> Result<Option<ArrayRef>> {
        let batch = match table {
            "crosswalk" => &self.crosswalk,
            "lineage" => &self.lineage,
            _ => &self.decisions,
        };
        batch
            .column_by_name(name)
            .map(|c| cast(c, ty).map_err(|e| self.bad(table, &format!("column `{name}`: {e}"))))
            .transpose()
    }

    fn required(&self, table: &str, name: &str, ty: &DataType) -> Result<ArrayRef> {
        self.column(table, name, ty)?
            .ok_or_else(|| self.bad(table, &format!("no column `{name}`")))
    }

    fn bad(&self, table: &str, what: &str) -> Error {
        damaged(&self.dir, &self.dir.join(format!("{table}.parquet")), what)
    }

    fn strings(&self, table: &str, name: &str) -> Result<Vec<Option<String>>> {
        let col = self.required(table, name, &DataType::Utf8)?;
        Ok(col
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    }

    fn floats(&self, table: &str, name: &str) -> Result<Option<Vec<Option<f64>>>> {
        Ok(self
            .column(table, name, &DataType::Float64)?
            .map(|c| c.as_primitive::<Float64Type>().iter().collect()))
    }

    fn crosswalk_rows(&self) -> Result<Vec<Member>> {
        let source = self.strings("crosswalk", schema::SOURCE)?;
        let id = self.strings("crosswalk", schema::SOURCE_ID)?;
        let gid = self.strings("crosswalk", schema::GOLDEN_ID)?;
        let prob = self
            .floats("crosswalk", schema::MATCH_PROBABILITY)?
            .unwrap_or_else(|| vec![None; source.len()]);
        let file = match self.column("crosswalk", schema::SOURCE_FILE, &DataType::Utf8)? {
            Some(c) => c
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect(),
            None => vec![None; source.len()],
        };
        let row: Vec<Option<u64>> =
            match self.column("crosswalk", schema::ROW_NUMBER, &DataType::UInt64)? {
                Some(c) => c.as_primitive::<UInt64Type>().iter().collect(),
                None => vec![None; source.len()],
            };
        Ok((0..source.len())
            .map(|i| Member {
                record: RecordRef {
                    source: source[i].clone().unwrap_or_default(),
                    id: id[i].clone().unwrap_or_default(),
                },
                golden_id: gid[i].clone().unwrap_or_default(),
                probability: prob[i],
                file: file[i].clone(),
                row: row[i],
            })
            .collect())
    }

    fn lineage_rows(&self) -> Result<Vec<LineageRow>> {
        let cols = schema::LINEAGE_COLUMNS
            .iter()
            .map(|c| self.strings("lineage", c))
            .collect::<Result<Vec<_>>>()?;
        let get = |c: usize, i: usize| cols[c][i].clone().unwrap_or_default();
        Ok((0..cols[0].len())
            .map(|i| LineageRow {
                golden_id: get(0, i),
                field: get(1, i),
                value: cols[2][i].clone(),
                record: RecordRef {
                    source: get(3, i),
                    id: get(4, i),
                },
                rule: get(5, i),
            })
            .collect())
    }

    /// The pairs of `decisions` for which `keep(left, right)` holds, in table order.
    fn pairs(&self, keep: impl Fn(&RecordRef, &RecordRef) -> bool) -> Result<Vec<Pair>> {
        let ls = self.strings("decisions", "left_source")?;
        let li = self.strings("decisions", "left_id")?;
        let rs = self.strings("decisions", "right_source")?;
        let ri = self.strings("decisions", "right_id")?;
        let rule = self.strings("decisions", "blocking_rule")?;
        let mw = self
            .floats("decisions", schema::MATCH_WEIGHT)?
            .ok_or_else(|| self.bad("decisions", "no column `match_weight`"))?;
        let mp = self
            .floats("decisions", schema::MATCH_PROBABILITY)?
            .ok_or_else(|| self.bad("decisions", "no column `match_probability`"))?;
        let decision = self.strings("decisions", "decision")?;
        let rec = |s: &[Option<String>], i: &[Option<String>], k: usize| RecordRef {
            source: s[k].clone().unwrap_or_default(),
            id: i[k].clone().unwrap_or_default(),
        };
        let mut out = Vec::new();
        for k in 0..ls.len() {
            let (left, right) = (rec(&ls, &li, k), rec(&rs, &ri, k));
            if keep(&left, &right) {
                out.push(Pair {
                    row: k,
                    left,
                    right,
                    blocking_rule: rule[k].clone().unwrap_or_default(),
                    match_weight: mw[k],
                    probability: mp[k],
                    decision: decision[k].clone().unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// The household class's term of decisions row `row`, when the model has one.
    fn household_adjustment(&self, row: usize) -> Result<Option<f64>> {
        Ok(self
            .column(
                "decisions",
                schema::HOUSEHOLD_ADJUSTMENT,
                &DataType::Float64,
            )?
            .map(|c| c.slice(row, 1))
            .and_then(|c| c.as_primitive::<Float64Type>().iter().next().flatten()))
    }

    /// Level, weight and term-frequency adjustment of each comparison for decisions row `row`.
    fn field_scores(&self, row: usize) -> Result<Vec<FieldScore>> {
        let one = |c: &ArrayRef| c.slice(row, 1);
        self.model
            .comparisons
            .iter()
            .map(|cp| {
                let name = format!("{}_level", cp.field);
                let level_col = self.required("decisions", &name, &DataType::Int8)?;
                let level_col = one(&level_col);
                let level = level_col.as_primitive::<Int8Type>();
                let level = if level.is_null(0) { -1 } else { level.value(0) };
                let f64_at = |suffix: &str| -> Result<Option<f64>> {
                    let name = format!("{}_{suffix}", cp.field);
                    Ok(self
                        .column("decisions", &name, &DataType::Float64)?
                        .map(|c| one(&c))
                        .and_then(|c| c.as_primitive::<Float64Type>().iter().next().flatten()))
                };
                Ok(FieldScore {
                    level,
                    weight: f64_at("weight")?.unwrap_or_else(|| cp.weight(level)),
                    tf_adjustment: f64_at("tf_adjustment")?,
                })
            })
            .collect()
    }
}

/// A crosswalk row.
struct Member {
    record: RecordRef,
    golden_id: String,
    probability: Option<f64>,
    file: Option<String>,
    row: Option<u64>,
}

/// A lineage row.
struct LineageRow {
    golden_id: String,
    field: String,
    value: Option<String>,
    record: RecordRef,
    rule: String,
}

/// A decisions row, without its per-field columns.
struct Pair {
    row: usize,
    left: RecordRef,
    right: RecordRef,
    blocking_rule: String,
    match_weight: Option<f64>,
    probability: Option<f64>,
    decision: String,
}

impl Pair {
    fn other(&self, r: &RecordRef) -> &RecordRef {
        if &self.left == r {
            &self.right
        } else {
            &self.left
        }
    }
}

/// One comparison's part of a pair's score.
struct FieldScore {
    level: i8,
    weight: f64,
    tf_adjustment: Option<f64>,
}

/// Explains `target` from the run's tables; `redact` hides every customer value.
///
/// A record or golden id that the run does not have is an [`Error::Usage`] with a hint.
pub fn explain(tables: &RunTables, target: &Target, redact: bool) -> Result<String> {
    let members = tables.crosswalk_rows()?;
    let mut out = String::new();
    match target {
        Target::Pair(a, b) => {
            let ga = golden_of(tables, &members, a)?;
            let gb = golden_of(tables, &members, b)?;
            let found = tables.pairs(|l, r| (l == a && r == b) || (l == b && r == a))?;
            let Some(pair) = found.first() else {
                let same = if ga == gb {
                    "the same golden record, linked through other records"
                } else {
                    "different golden records"
                };
                let _ = writeln!(
                    out,
                    "pair {a} ~ {b}: not compared: no blocking rule put them in one block\n\
                     {a} is in golden record {ga}\n{b} is in golden record {gb} ({same})"
                );
                return Ok(out);
            };
            let lineage = if redact {
                Vec::new()
            } else {
                tables.lineage_rows()?
            };
            waterfall(&mut out, tables, pair, a, b, &lineage, redact)?;
            let _ = writeln!(
                out,
                "{a} is in golden record {ga}\n{b} is in golden record {gb}"
            );
        }
        Target::Record(r) => {
            let m = members
                .iter()
                .find(|m| &m.record == r)
                .ok_or_else(|| unknown_record(tables, r))?;
            let _ = writeln!(out, "record {r}{}", origin(m));
            let rows = vec![
                vec!["golden id".to_string(), m.golden_id.clone()],
                vec!["match probability".into(), prob(m.probability)],
            ];
            render(&mut out, None, &[Left, Left], &rows);
            let pairs = tables.pairs(|l, rr| l == r || rr == r)?;
            let _ = writeln!(out, "\npairs with {r} ({})", pairs.len());
            let rows: Vec<Vec<String>> = pairs
                .iter()
                .map(|p| {
                    vec![
                        p.other(r).to_string(),
                        p.decision.clone(),
                        prob(p.probability),
                        signed(p.match_weight),
                        p.blocking_rule.clone(),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                render(
                    &mut out,
                    Some(&[
                        "other",
                        "decision",
                        "probability",
                        "match weight",
                        "blocking rule",
                    ]),
                    &[Left, Left, Right, Right, Left],
                    &rows,
                );
            }
            out.push('\n');
            golden_report(&mut out, tables, &members, &m.golden_id, redact)?;
        }
        Target::Golden(g) => {
            if !members.iter().any(|m| &m.golden_id == g) {
                return Err(Error::Usage(format!(
                    "golden id `{g}` is not in {}; list the ids with `golden query {} \"select golden_id from golden\"`",
                    tables.dir.join("crosswalk.parquet").display(),
                    tables.dir.display()
                )));
            }
            golden_report(&mut out, tables, &members, g, redact)?;
        }
    }
    Ok(out)
}

/// A file of run `dir` that cannot be used: names it and says what to do (exit 3).
fn damaged(dir: &Path, path: &Path, what: &str) -> Error {
    let what = what
        .strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or(what);
    Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "{what}; the run looks damaged, or was written by another version of golden: check \
             it with `golden verify {}`, or rerun `golden run`",
            dir.display()
        ),
    }
}

fn golden_of<'a>(tables: &RunTables, members: &'a [Member], r: &RecordRef) -> Result<&'a str> {
    members
        .iter()
        .find(|m| &m.record == r)
        .map(|m| m.golden_id.as_str())
        .ok_or_else(|| unknown_record(tables, r))
}

fn unknown_record(tables: &RunTables, r: &RecordRef) -> Error {
    Error::Usage(format!(
        "record `{r}` is not in {}; check the source name and id with `golden query {} \"select source, source_id from crosswalk where source = '{}'\"`, or look for the row in rejects",
        tables.dir.join("crosswalk.parquet").display(),
        tables.dir.display(),
        r.source.replace('\'', "''")
    ))
}

fn origin(m: &Member) -> String {
    match (&m.file, m.row) {
        (Some(f), Some(n)) => format!("   ({f} row {n})"),
        (Some(f), None) => format!("   ({f})"),
        _ => String::new(),
    }
}

/// The waterfall of one pair: prior, one row per comparison, the final score.
fn waterfall(
    out: &mut String,
    tables: &RunTables,
    pair: &Pair,
    a: &RecordRef,
    b: &RecordRef,
    lineage: &[LineageRow],
    redact: bool,
) -> Result<()> {
    let scores = tables.field_scores(pair.row)?;
    let has_tf = scores.iter().any(|s| s.tf_adjustment.is_some());
    let _ = writeln!(
        out,
        "pair {a} ~ {b}   (blocking rule: {})",
        pair.blocking_rule
    );
    let (a_col, b_col) = (a.to_string(), b.to_string());
    let mut header = vec!["step", "level", "m", "u", "weight"];
    let mut align = vec![Left, Left, Right, Right, Right];
    if has_tf {
        header.push("tf");
        align.push(Right);
    }
    header.push("total");
    align.push(Right);
    header.extend([a_col.as_str(), b_col.as_str()]);
    align.extend([Left, Left]);
    let prior = tables.model.prior_weight();
    let mut total = prior;
    let mut rows = Vec::new();
    let mut row = vec![
        "prior".to_string(),
        String::new(),
        String::new(),
        String::new(),
        signed(Some(prior)),
    ];
    if has_tf {
        row.push(String::new());
    }
    row.push(signed(Some(total)));
    rows.push(row);
    let value = |r: &RecordRef, field: &str| -> String {
        if redact {
            return "***".into();
        }
        lineage
            .iter()
            .find(|l| &l.record == r && l.field == field)
            .map_or("(not kept)".into(), |l| {
                l.value.clone().unwrap_or_else(|| "(null)".into())
            })
    };
    for (cp, s) in tables.model.comparisons.iter().zip(&scores) {
        total += s.weight + s.tf_adjustment.unwrap_or(0.0);
        let (m, u) = if s.level < 0 {
            (String::new(), String::new())
        } else {
            let l = s.level as usize;
            (
                cp.m.get(l).map_or(String::new(), |&x| format!("{x:.3}")),
                cp.u.get(l).map_or(String::new(), |&x| format_u(x)),
            )
        };
        let mut row = vec![
            cp.field.clone(),
            level_label(cp, s.level),
            m,
            u,
            signed(Some(s.weight)),
        ];
        if has_tf {
            row.push(s.tf_adjustment.map_or(String::new(), |t| signed(Some(t))));
        }
        row.push(signed(Some(total)));
        row.push(value(a, &cp.field));
        row.push(value(b, &cp.field));
        rows.push(row);
    }
    if let Some(adj) = tables.household_adjustment(pair.row)? {
        total += adj;
        let mut row = vec!["household".to_string(), String::new(), String::new()];
        row.extend([String::new(), signed(Some(adj))]);
        if has_tf {
            row.push(String::new());
        }
        row.extend([signed(Some(total)), String::new(), String::new()]);
        rows.push(row);
    }
    render(out, Some(&header), &align, &rows);
    let _ = writeln!(
        out,
        "match weight {}   probability {}   decision {}",
        signed(pair.match_weight),
        prob(pair.probability),
        pair.decision
    );
    if !redact {
        let _ = writeln!(
            out,
            "values: the surviving values in lineage; (not kept) where another record's value survived"
        );
    }
    Ok(())
}

/// A golden record: its values with their origin, its members, the links among them.
fn golden_report(
    out: &mut String,
    tables: &RunTables,
    members: &[Member],
    g: &str,
    redact: bool,
) -> Result<()> {
    let mine: Vec<&Member> = members.iter().filter(|m| m.golden_id == g).collect();
    let names: Vec<String> = mine.iter().map(|m| m.record.to_string()).collect();
    let _ = writeln!(
        out,
        "golden record {g}   ({} record{}: {})",
        mine.len(),
        if mine.len() == 1 { "" } else { "s" },
        names.join(", ")
    );
    let rows: Vec<Vec<String>> = tables
        .lineage_rows()?
        .into_iter()
        .filter(|l| l.golden_id == g)
        .map(|l| {
            let value = match (redact, l.value) {
                (true, _) => "***".to_string(),
                (false, Some(v)) => v,
                (false, None) => "(null)".to_string(),
            };
            vec![l.field, value, l.record.source, l.record.id, l.rule]
        })
        .collect();
    if rows.is_empty() {
        let _ = writeln!(out, "(no field has a value)");
    } else {
        render(
            out,
            Some(&["field", "value", "source", "source_id", "rule"]),
            &[Left, Left, Left, Left, Left],
            &rows,
        );
    }
    let _ = writeln!(out, "\nmembers ({})", mine.len());
    let rows: Vec<Vec<String>> = mine
        .iter()
        .map(|m| {
            vec![
                m.record.source.clone(),
                m.record.id.clone(),
                prob(m.probability),
                m.file.clone().unwrap_or_default(),
                m.row.map_or(String::new(), |r| r.to_string()),
            ]
        })
        .collect();
    render(
        out,
        Some(&["source", "source_id", "match probability", "file", "row"]),
        &[Left, Left, Right, Left, Right],
        &rows,
    );
    let set: HashSet<&RecordRef> = mine.iter().map(|m| &m.record).collect();
    let links = tables.pairs(|l, r| set.contains(l) && set.contains(r))?;
    let rows: Vec<Vec<String>> = links
        .iter()
        .filter(|p| p.decision == "match" || p.decision == "manual")
        .map(|p| {
            vec![
                p.left.to_string(),
                p.right.to_string(),
                p.decision.clone(),
                prob(p.probability),
                p.blocking_rule.clone(),
            ]
        })
        .collect();
    let _ = writeln!(out, "\nlinks ({})", rows.len());
    if !rows.is_empty() {
        render(
            out,
            Some(&["left", "right", "decision", "probability", "blocking rule"]),
            &[Left, Left, Left, Right, Left],
            &rows,
        );
    }
    Ok(())
}

/// A human name for `level` of a comparison: `null`, `else`, `exact`, the similarity threshold
/// it passed (`jaro_winkler ≥ 0.92`), or for dates `day/month swapped` / `one-character typo`.
pub fn level_label(cp: &ComparisonParams, level: i8) -> String {
    if level < 0 {
        return "null".into();
    }
    if level == 0 {
        return "else".into();
    }
    let l = level as usize;
    if l + 1 == cp.m.len() {
        return "exact".into();
    }
    if cp.method == "date" {
        return match l {
            1 => "one-character typo".into(),
            2 => "day/month swapped".into(),
            _ => format!("level {l}"),
        };
    }
    // Thresholds are stored best first; level 1 is the loosest.
    let n = cp.thresholds.len();
    match n.checked_sub(l).and_then(|k| cp.thresholds.get(k)) {
        Some(t) => format!("{} ≥ {t}", cp.method),
        None => format!("level {l}"),
    }
}

fn signed(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:+.2}"))
}

fn prob(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.4}"))
}

fn format_u(x: f64) -> String {
    if x != 0.0 && x < 0.0001 {
        format!("{x:.1e}")
    } else {
        format!("{x:.4}")
    }
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// Writes `rows` as columns separated by three spaces, widths by character count.
fn render(out: &mut String, header: Option<&[&str]>, align: &[Align], rows: &[Vec<String>]) {
    let mut widths = vec![0usize; align.len()];
    let all = header
        .map(|h| h.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .into_iter()
        .chain(rows.iter().cloned())
        .collect::<Vec<_>>();
    for r in &all {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in &all {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i > 0 {
                line.push_str("   ");
            }
            let pad = widths[i].saturating_sub(c.chars().count());
            match align.get(i).copied().unwrap_or(Left) {
                Left => {
                    line.push_str(c);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
                Right => {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(c);
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float32Array, Float64Array, Int8Array, StringArray, UInt64Array};
    use arrow::datatypes::{Field, Schema};

    use super::*;
    use crate::model::params::TrainingHistory;

    fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = cols
            .iter()
            .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
            .collect();
        let arrays = cols.into_iter().map(|(_, c)| c).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    fn s(v: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn cp(field: &str, method: &str, thresholds: &[f64], m: &[f64], u: &[f64]) -> ComparisonParams {
        ComparisonParams::for_test(field, method, thresholds, m, u)
    }

    /// Three records: a:1 and b:2 linked into G1 (with a tf adjustment on first_name), c:3
    /// alone in G2 and compared with a:1 as a non-match.
    fn tables() -> RunTables {
        let model = ModelParams {
            golden_version: "test".into(),
            prior: 0.01,
            comparisons: vec![
                cp(
                    "first_name",
                    "jaro_winkler",
                    &[0.92, 0.8],
                    &[0.1, 0.1, 0.2, 0.6],
                    &[0.85, 0.1, 0.04, 0.01],
                ),
                cp(
                    "birth_date",
                    "date",
                    &[],
                    &[0.05, 0.05, 0.05, 0.85],
                    &[0.95, 0.03, 0.01, 0.01],
                ),
            ],
            moved: Default::default(),
            household: None,
            labels: None,
            thresholds: None,
            history: TrainingHistory::default(),
        };
        let crosswalk = batch(vec![
            ("source", s(&["a", "b", "c"])),
            ("source_id", s(&["1", "2", "3"])),
            ("golden_id", s(&["G1", "G1", "G2"])),
            (
                "match_probability",
                Arc::new(Float64Array::from(vec![Some(0.95), Some(0.95), None])),
            ),
            ("source_file", s(&["a.csv", "b.csv", "c.csv"])),
            ("row_number", Arc::new(UInt64Array::from(vec![1, 2, 3]))),
        ]);
        let lineage = batch(vec![
            ("golden_id", s(&["G1", "G1", "G2"])),
            ("field", s(&["first_name", "birth_date", "first_name"])),
            ("value", s(&["Ann", "1990-02-03", "Cy"])),
            ("source", s(&["a", "b", "c"])),
            ("source_id", s(&["1", "2", "3"])),
            ("rule", s(&["most_recent", "longest", "most_recent"])),
        ]);
        let decisions = batch(vec![
            ("left_source", s(&["a", "a"])),
            ("left_id", s(&["1", "1"])),
            ("right_source", s(&["b", "c"])),
            ("right_id", s(&["2", "3"])),
            ("blocking_rule", s(&["last_name", "phone"])),
            ("first_name_level", Arc::new(Int8Array::from(vec![2, 0]))),
            (
                "first_name_weight",
                Arc::new(Float32Array::from(vec![2.321928, -3.087463])),
            ),
            (
                "first_name_tf_adjustment",
                Arc::new(Float32Array::from(vec![1.0, 0.0])),
            ),
            ("birth_date_level", Arc::new(Int8Array::from(vec![2, -1]))),
            (
                "birth_date_weight",
                Arc::new(Float32Array::from(vec![2.321928, 0.0])),
            ),
            (
                "match_weight",
                Arc::new(Float64Array::from(vec![-0.985567, -9.716870])),
            ),
            (
                "match_probability",
                Arc::new(Float64Array::from(vec![0.335576, 0.001188])),
            ),
            ("decision", s(&["match", "non_match"])),
        ]);
        RunTables {
            dir: PathBuf::from("run"),
            model,
            crosswalk,
            lineage,
            decisions,
        }
    }

    fn rec(s: &str) -> RecordRef {
        s.parse().unwrap()
    }

    #[test]
    fn level_labels_name_thresholds_dates_and_ends() {
        let t = tables();
        let (jw, date) = (&t.model.comparisons[0], &t.model.comparisons[1]);
        let labels: Vec<String> = (-1..=3).map(|l| level_label(jw, l)).collect();
        assert_eq!(
            labels,
            [
                "null",
                "else",
                "jaro_winkler ≥ 0.8",
                "jaro_winkler ≥ 0.92",
                "exact"
            ]
        );
        let labels: Vec<String> = (-1..=3).map(|l| level_label(date, l)).collect();
        assert_eq!(
            labels,
            [
                "null",
                "else",
                "one-character typo",
                "day/month swapped",
                "exact"
            ]
        );
        let exact = cp("email", "exact", &[], &[0.3, 0.7], &[0.999, 0.001]);
        assert_eq!(level_label(&exact, 1), "exact");
    }

    #[test]
    fn pair_waterfall_runs_from_prior_to_decision() {
        let text = explain(&tables(), &Target::Pair(rec("a:1"), rec("b:2")), false).unwrap();
        let expected = "\
pair a:1 ~ b:2   (blocking rule: last_name)
step         level                     m        u   weight      tf   total   a:1          b:2
prior                                                -6.63           -6.63
first_name   jaro_winkler ≥ 0.92   0.200   0.0400    +2.32   +1.00   -3.31   Ann          (not kept)
birth_date   day/month swapped     0.050   0.0100    +2.32           -0.99   (not kept)   1990-02-03
match weight -0.99   probability 0.3356   decision match
values: the surviving values in lineage; (not kept) where another record's value survived
a:1 is in golden record G1
b:2 is in golden record G1
";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn pair_is_found_in_either_order_and_redacted() {
        let text = explain(&tables(), &Target::Pair(rec("b:2"), rec("a:1")), true).unwrap();
        assert!(text.starts_with("pair b:2 ~ a:1   (blocking rule: last_name)\n"));
        assert!(!text.contains("Ann") && !text.contains("1990"), "{text}");
        assert!(text.contains("+2.32   +1.00   -3.31   ***   ***"), "{text}");
    }

    #[test]
    fn pair_never_compared_says_so() {
        let text = explain(&tables(), &Target::Pair(rec("b:2"), rec("c:3")), false).unwrap();
        assert_eq!(
            text,
            "pair b:2 ~ c:3: not compared: no blocking rule put them in one block\n\
             b:2 is in golden record G1\n\
             c:3 is in golden record G2 (different golden records)\n"
        );
    }

    #[test]
    fn null_levels_show_no_m_or_u() {
        let text = explain(&tables(), &Target::Pair(rec("a:1"), rec("c:3")), false).unwrap();
        let line = text.lines().find(|l| l.starts_with("birth_date")).unwrap();
        assert_eq!(
            line,
            "birth_date   null                      +0.00           -9.72   (not kept)   (not kept)"
        );
    }

    #[test]
    fn golden_lists_values_members_and_only_linking_pairs() {
        let text = explain(&tables(), &Target::Golden("G1".into()), false).unwrap();
        let expected = "\
golden record G1   (2 records: a:1, b:2)
field        value        source   source_id   rule
first_name   Ann          a        1           most_recent
birth_date   1990-02-03   b        2           longest

members (2)
source   source_id   match probability   file    row
a        1                      0.9500   a.csv     1
b        2                      0.9500   b.csv     2

links (1)
left   right   decision   probability   blocking rule
a:1    b:2     match           0.3356   last_name
";
        assert_eq!(text, expected, "\n{text}");
        let redacted = explain(&tables(), &Target::Golden("G1".into()), true).unwrap();
        assert!(
            redacted.contains("first_name   ***     a        1"),
            "{redacted}"
        );
        assert!(!redacted.contains("Ann"));
    }

    #[test]
    fn record_lists_its_pairs_and_golden_record() {
        let text = explain(&tables(), &Target::Record(rec("c:3")), false).unwrap();
        assert!(text.starts_with("record c:3   (c.csv row 3)\ngolden id           G2\nmatch probability   -\n\npairs with c:3 (1)\n"), "{text}");
        assert!(
            text.contains("a:1     non_match        0.0012          -9.72   phone"),
            "{text}"
        );
        assert!(
            text.contains("golden record G2   (1 record: c:3)"),
            "{text}"
        );
        assert!(text.contains("links (0)"), "{text}");
    }

    #[test]
    fn unknown_ids_are_usage_errors_with_a_hint() {
        let t = tables();
        for target in [
            Target::Record(rec("a:9")),
            Target::Pair(rec("a:1"), rec("z:1")),
            Target::Golden("G9".into()),
        ] {
            let e = explain(&t, &target, false).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
            assert!(e.to_string().contains("golden query run"), "{e}");
        }
    }

    #[test]
    fn record_refs_parse_at_the_first_colon() {
        assert_eq!(rec("crm:C:1").id, "C:1");
        assert!("crm".parse::<RecordRef>().is_err());
        assert!(":1".parse::<RecordRef>().is_err());
    }
}
