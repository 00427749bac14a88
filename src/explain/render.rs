//! The text renderer: waterfalls, record and golden-record reports as aligned columns.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::RecordRef;
use super::reader::{FieldScore, LineageRow, Member, Pair, RunTables, Scores};
use super::why::{Reason, RuleCheck, Verdict};
use crate::Result;
use crate::model::params::{ComparisonParams, ModelParams};
use Align::{Left, Right};

/// The report of pair `a` ~ `b` (in golden records `ga` and `gb`) that no rule compared.
pub fn not_compared(out: &mut String, (a, ga): (&RecordRef, &str), (b, gb): (&RecordRef, &str)) {
    let _ = writeln!(out, "{}", not_compared_line(a, b));
    golden_lines(out, (a, ga), (b, gb));
}

/// The first line of the report of a pair no rule compared.
pub fn not_compared_line(a: &RecordRef, b: &RecordRef) -> String {
    format!("pair {a} ~ {b}: not compared: no blocking rule put them in one block")
}

/// The first line of the report of a pair the run compared but did not write: a clear
/// non-match below the decisions floor.
pub fn below_floor_line(a: &RecordRef, b: &RecordRef, rule: &str, floor: f64) -> String {
    format!(
        "pair {a} ~ {b}   (blocking rule: {rule}; below the decisions floor {floor}, not written \
         to decisions.parquet: recomputed)"
    )
}

/// The golden record of each record of a pair, and whether they are the same.
pub fn golden_lines(out: &mut String, (a, ga): (&RecordRef, &str), (b, gb): (&RecordRef, &str)) {
    let same = if ga == gb {
        "the same golden record"
    } else {
        "different golden records"
    };
    let _ = writeln!(
        out,
        "{a} is in golden record {ga}\n{b} is in golden record {gb} ({same})"
    );
}

/// A value of `records.parquet` as shown: `***` when redacted, `(null)` when missing.
pub fn record_value(value: Result<Option<String>>, redact: bool) -> String {
    match (redact, value) {
        (true, _) => "***".into(),
        (false, Ok(Some(v))) => v,
        (false, Ok(None)) => "(null)".into(),
        (false, Err(_)) => "(not kept)".into(),
    }
}

/// The run's thresholds, under a score.
pub fn thresholds(out: &mut String, (matched, review): (f64, f64)) {
    let _ = writeln!(
        out,
        "thresholds: match {}   review {}",
        prob(Some(matched)),
        prob(Some(review))
    );
}

/// Each blocking rule's keys for the pair and its verdict.
pub fn blocking_table(
    out: &mut String,
    checks: &[RuleCheck],
    (a, b): (&RecordRef, &RecordRef),
    redact: bool,
) {
    let _ = writeln!(out, "\nblocking rules ({})", checks.len());
    let key = |k: &Option<String>| match (redact, k) {
        (true, _) => "***".to_string(),
        (false, Some(k)) => k.clone(),
        (false, None) => "(no key)".to_string(),
    };
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            let verdict = verdict_text(&c.verdict, checks, (a, b));
            vec![c.rule.clone(), key(&c.keys[0]), key(&c.keys[1]), verdict]
        })
        .collect();
    let (a, b) = (a.to_string(), b.to_string());
    render(
        out,
        Some(&["rule", &a, &b, "verdict"]),
        &[Left, Left, Left, Left],
        &rows,
    );
}

/// A blocking rule's verdict in words.
fn verdict_text(v: &Verdict, checks: &[RuleCheck], (a, b): (&RecordRef, &RecordRef)) -> String {
    match v {
        Verdict::Missing([true, true]) => "no: neither record has a key".into(),
        Verdict::Missing([true, false]) => format!("no: {a} has no key"),
        Verdict::Missing(_) => format!("no: {b} has no key"),
        Verdict::Different => "no: different keys".into(),
        Verdict::OverCap { size, cap } => format!(
            "no: same key, but its block of {size} records is over the cap of {cap} and was skipped"
        ),
        Verdict::Earlier(k) => format!(
            "same key, but rule {} ({}) found the pair first",
            k + 1,
            checks.get(*k).map_or("", |c| c.rule.as_str())
        ),
        Verdict::Paired => "yes: paired them".into(),
    }
}

/// The links that put both records of a pair in golden record `g`.
pub fn together(out: &mut String, g: &str, path: &[&Pair]) {
    let _ = writeln!(
        out,
        "\ntogether in golden record {g}, through {} link{}:",
        path.len(),
        if path.len() == 1 { "" } else { "s" }
    );
    for p in path {
        let _ = writeln!(
            out,
            "  {} ~ {}   {} {}",
            p.left,
            p.right,
            p.decision.as_str(),
            prob(p.probability)
        );
    }
}

/// What keeps the records of a pair apart.
pub fn apart(out: &mut String, reasons: &[Reason]) {
    let _ = writeln!(out, "\nkept apart by:");
    if reasons.is_empty() {
        let _ = writeln!(out, "  (not worked out: the run's pipeline is needed)");
    }
    for r in reasons {
        let _ = writeln!(out, "  {}", reason_text(r));
    }
}

/// One reason in words.
fn reason_text(r: &Reason) -> String {
    let p = |x: f64| prob(Some(x));
    match r {
        Reason::NotPaired => "no blocking rule put them in one block, so they were never compared".into(),
        Reason::CannotLink => "a manual decision (cannot-link)".into(),
        Reason::BelowReview { probability, review } => format!(
            "weight below the thresholds: probability {} is under the review threshold {}",
            p(*probability),
            p(*review)
        ),
        Reason::ReviewBand { probability, review, matched } => format!(
            "the review band: probability {} is between the review threshold {} and the match threshold {}; a person decides",
            p(*probability),
            p(*review),
            p(*matched)
        ),
        Reason::Conflict(field) => format!(
            "the identity conflict: {field} disagrees and no override field agrees exactly (never linked automatically)"
        ),
        Reason::Household(h) => format!(
            "the household term ({}): without it the pair would reach the match threshold",
            signed(Some(*h))
        ),
        Reason::LinkSkipped => "clustering skipped the link: it would have joined the records of a cannot-link or identity-conflict pair".into(),
    }
}

/// The waterfall of one pair, under the line `title`: prior, one row per comparison with both
/// records' values (`value(record, field)`), the household term, each with the running total.
pub fn waterfall(
    out: &mut String,
    model: &ModelParams,
    title: &str,
    scores: &Scores,
    (a, b): (&RecordRef, &RecordRef),
    value: &dyn Fn(&RecordRef, &str) -> String,
) {
    let has_tf = scores.fields.iter().any(|s| s.tf_adjustment.is_some());
    let _ = writeln!(out, "{title}");
    let (a_col, b_col) = (a.to_string(), b.to_string());
    let (header, align) = waterfall_columns(has_tf, [&a_col, &b_col]);
    let prior = model.prior_weight();
    let mut total = prior;
    let blank = String::new;
    let mut rows = vec![step_row(
        lead_cells("prior", prior),
        has_tf.then(blank),
        total,
        None,
    )];
    for (cp, s) in model.comparisons.iter().zip(&scores.fields) {
        total += s.weight + s.tf_adjustment.unwrap_or(0.0);
        let tf = has_tf.then(|| s.tf_adjustment.map_or(blank(), |t| signed(Some(t))));
        let values = [value(a, &cp.field), value(b, &cp.field)];
        rows.push(step_row(field_cells(cp, s), tf, total, Some(values)));
    }
    if let Some(adj) = scores.household {
        total += adj;
        rows.push(step_row(
            lead_cells("household", adj),
            has_tf.then(blank),
            total,
            Some([blank(), blank()]),
        ));
    }
    render(out, Some(&header), &align, &rows);
}

/// The line under a waterfall: `match weight … probability … decision …`, with `lead` before it.
pub fn score_line(out: &mut String, lead: &str, scores: &Scores) {
    let _ = writeln!(
        out,
        "{lead}match weight {}   probability {}   decision {}",
        signed(scores.match_weight),
        prob(scores.probability),
        scores.decision.as_str()
    );
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
pub fn kept_value(lineage: &[LineageRow], r: &RecordRef, field: &str, redact: bool) -> String {
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
