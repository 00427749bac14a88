//! The text renderer: waterfalls, record and golden-record reports as aligned columns.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::RecordRef;
use super::reader::{FieldScore, LineageRow, Member, Pair, RunTables};
use crate::Result;
use crate::model::params::ComparisonParams;
use Align::{Left, Right};

/// The report of pair `a` ~ `b` (in golden records `ga` and `gb`) that no rule compared.
pub fn not_compared(out: &mut String, (a, ga): (&RecordRef, &str), (b, gb): (&RecordRef, &str)) {
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
}

/// The waterfall of one pair: prior, one row per comparison, the final score.
pub fn waterfall(
    out: &mut String,
    tables: &RunTables,
    pair: &Pair,
    (a, b): (&RecordRef, &RecordRef),
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
    let (header, align) = waterfall_columns(has_tf, [&a_col, &b_col]);
    let prior = tables.model.prior_weight();
    let mut total = prior;
    let blank = String::new;
    let mut rows = vec![step_row(
        lead_cells("prior", prior),
        has_tf.then(blank),
        total,
        None,
    )];
    let value = |r: &RecordRef, field: &str| kept_value(lineage, r, field, redact);
    for (cp, s) in tables.model.comparisons.iter().zip(&scores) {
        total += s.weight + s.tf_adjustment.unwrap_or(0.0);
        let tf = has_tf.then(|| s.tf_adjustment.map_or(blank(), |t| signed(Some(t))));
        let values = [value(a, &cp.field), value(b, &cp.field)];
        rows.push(step_row(field_cells(cp, s), tf, total, Some(values)));
    }
    if let Some(adj) = tables.household_adjustment(pair.row)? {
        total += adj;
        rows.push(step_row(
            lead_cells("household", adj),
            has_tf.then(blank),
            total,
            Some([blank(), blank()]),
        ));
    }
    render(out, Some(&header), &align, &rows);
    let _ = writeln!(
        out,
        "match weight {}   probability {}   decision {}",
        signed(pair.match_weight),
        prob(pair.probability),
        pair.decision.as_str()
    );
    if !redact {
        let _ = writeln!(
            out,
            "values: the surviving values in lineage; (not kept) where another record's value survived"
        );
    }
    Ok(())
}

/// The waterfall's column names and alignments: the tf column only when `has_tf`, then one
/// column per record named `records`.
fn waterfall_columns(has_tf: bool, records: [&str; 2]) -> (Vec<&str>, Vec<Align>) {
    let mut header = vec!["step", "level", "m", "u", "weight"];
    let mut align = vec![Left, Left, Right, Right, Right];
    if has_tf {
        header.push("tf");
        align.push(Right);
    }
    header.push("total");
    align.push(Right);
    header.extend(records);
    align.extend([Left, Left]);
    (header, align)
}

/// One waterfall row: step, level, m, u and weight (`cells`), the tf column when the waterfall
/// has one, the running total, then the two records' values.
fn step_row(
    cells: [String; 5],
    tf: Option<String>,
    total: f64,
    values: Option<[String; 2]>,
) -> Vec<String> {
    let mut row = cells.to_vec();
    row.extend(tf);
    row.push(signed(Some(total)));
    row.extend(values.into_iter().flatten());
    row
}

/// Step, level, m, u and weight of a step that is not a comparison: only its name and weight.
fn lead_cells(step: &str, weight: f64) -> [String; 5] {
    let blank = String::new;
    [
        step.to_string(),
        blank(),
        blank(),
        blank(),
        signed(Some(weight)),
    ]
}

/// Step, level, m, u and weight of comparison `cp` scored `s`.
fn field_cells(cp: &ComparisonParams, s: &FieldScore) -> [String; 5] {
    let (m, u) = if s.level < 0 {
        (String::new(), String::new())
    } else {
        let l = s.level as usize;
        (
            cp.m.get(l).map_or(String::new(), |&x| format!("{x:.3}")),
            cp.u.get(l).map_or(String::new(), |&x| format_u(x)),
        )
    };
    [
        cp.field.clone(),
        level_label(cp, s.level),
        m,
        u,
        signed(Some(s.weight)),
    ]
}

/// What the waterfall shows as record `r`'s value of `field`: its surviving value in
/// `lineage`, `(not kept)` where another record's value survived, `***` when redacted.
fn kept_value(lineage: &[LineageRow], r: &RecordRef, field: &str, redact: bool) -> String {
    if redact {
        return "***".into();
    }
    lineage
        .iter()
        .find(|l| &l.record == r && l.field == field)
        .map_or("(not kept)".into(), |l| {
            l.value.clone().unwrap_or_else(|| "(null)".into())
        })
}

/// Record `m`: its origin, golden id and best link probability, then the `pairs` it was part of.
pub fn record_report(out: &mut String, m: &Member, pairs: &[Pair]) {
    let r = &m.record;
    let _ = writeln!(out, "record {r}{}", origin(m));
    let rows = vec![
        vec!["golden id".to_string(), m.golden_id.clone()],
        vec!["match probability".into(), prob(m.probability)],
    ];
    render(out, None, &[Left, Left], &rows);
    let _ = writeln!(out, "\npairs with {r} ({})", pairs.len());
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|p| {
            vec![
                p.other(r).to_string(),
                p.decision.as_str().to_string(),
                prob(p.probability),
                signed(p.match_weight),
                p.blocking_rule.clone(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        render(
            out,
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
}

/// Where record `m` was read from: `   (FILE row N)`, or nothing when unknown.
fn origin(m: &Member) -> String {
    match (&m.file, m.row) {
        (Some(f), Some(n)) => format!("   ({f} row {n})"),
        (Some(f), None) => format!("   ({f})"),
        _ => String::new(),
    }
}

/// A golden record: its values with their origin, its members, the links among them.
pub fn golden_report(
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
    let lineage = tables.lineage_rows()?;
    golden_values(
        out,
        lineage.into_iter().filter(|l| l.golden_id == g),
        redact,
    );
    members_table(out, &mine);
    let set: HashSet<&RecordRef> = mine.iter().map(|m| &m.record).collect();
    let links = tables.pairs(|l, r| set.contains(l) && set.contains(r))?;
    links_table(out, &links);
    Ok(())
}

/// A golden record's values (its `lineage` rows) with their origin and rule.
fn golden_values(out: &mut String, lineage: impl Iterator<Item = LineageRow>, redact: bool) {
    let rows: Vec<Vec<String>> = lineage
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
}

/// A golden record's members with their origin.
fn members_table(out: &mut String, mine: &[&Member]) {
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
}

/// The pairs among a golden record's members that link them (match or manual).
fn links_table(out: &mut String, pairs: &[Pair]) {
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .filter(|p| p.links())
        .map(|p| {
            vec![
                p.left.to_string(),
                p.right.to_string(),
                p.decision.as_str().to_string(),
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

/// A weight with its sign and two decimals; `-` when unknown.
fn signed(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:+.2}"))
}

/// A probability with four decimals; `-` when unknown.
fn prob(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.4}"))
}

/// A u probability: four decimals, or scientific notation when it is tiny.
fn format_u(x: f64) -> String {
    if x != 0.0 && x < 0.0001 {
        format!("{x:.1e}")
    } else {
        format!("{x:.4}")
    }
}

/// How a column's cells are padded.
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
