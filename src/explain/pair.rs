//! `explain --pair` over a run that kept `records.parquet`: both records' values beside the
//! score (the run's, or recomputed for a pair it never compared), each blocking rule's verdict,
//! and what keeps the records apart or which links join them.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::reader::{Member, Pair, RunRecords, RunTables, Scores};
use super::{RecordRef, render, why};
use crate::Result;
use crate::config::Pipeline;
use crate::model::Decision;

/// The two records of a pair, with their golden ids.
pub struct Sides<'a> {
    /// The records, as asked.
    pub records: (&'a RecordRef, &'a RecordRef),
    /// Their golden ids.
    pub golden: (&'a str, &'a str),
    /// Every crosswalk row of the run.
    pub members: &'a [Member],
}

/// Writes the whole report of pair `sides` (`stored`: the run's decisions row, if it compared
/// them).
pub fn report(
    out: &mut String,
    tables: &RunTables,
    rec: &RunRecords,
    sides: &Sides,
    stored: Option<&Pair>,
    redact: bool,
) -> Result<()> {
    let (a, b) = sides.records;
    let idx = (
        why::index_of(rec, a, &tables.dir)?,
        why::index_of(rec, b, &tables.dir)?,
    );
    let pipeline = why::run_pipeline(rec);
    let scored = score(tables, rec, pipeline.as_ref().ok(), stored, idx)?;
    let rules = why::blocking(rec, idx)?;
    let paired = rules.iter().find(|r| r.verdict == why::Verdict::Paired);
    // A pair a rule paired but the run did not write was compared: a clear non-match below
    // the decisions floor, its score recomputed here.
    let below_floor = match (stored, paired, rec.decisions_floor) {
        (None, Some(rule), Some(floor)) => Some((rule.rule.as_str(), floor)),
        _ => None,
    };
    let value = |r: &RecordRef, field: &str| {
        let row = if r == a { idx.0 } else { idx.1 };
        render::record_value(rec.value(field, row), redact)
    };
    let title = match (stored, below_floor) {
        (Some(p), _) => format!("pair {a} ~ {b}   (blocking rule: {})", p.blocking_rule),
        (None, Some((rule, floor))) => render::below_floor_line(a, b, rule, floor),
        (None, None) => render::not_compared_line(a, b),
    };
    match &scored {
        Some((_, scores)) => {
            render::waterfall(out, &tables.model, &title, scores, (a, b), &value);
            let compared = stored.is_some() || below_floor.is_some();
            let lead = if compared { "" } else { "would-be " };
            render::score_line(out, lead, scores);
        }
        None => {
            let _ = writeln!(out, "{title}");
        }
    }
    match (&pipeline, stored) {
        (Ok(p), _) => render::thresholds(out, tables.model.thresholds_for(&p.model)),
        (Err(why), None) => {
            let _ = writeln!(out, "not scored: {why}");
        }
        (Err(why), Some(_)) => {
            let _ = writeln!(out, "thresholds not shown: {why}");
        }
    }
    if !redact {
        let _ = writeln!(out, "values: as standardised, from records.parquet");
    }
    render::blocking_table(out, &rules, (a, b), redact);
    let evidence = Evidence {
        stored,
        below_floor: below_floor.is_some(),
        pipeline: pipeline.as_ref().ok(),
        scored: scored.as_ref(),
    };
    bond(out, tables, sides, &evidence)?;
    render::golden_lines(out, (a, sides.golden.0), (b, sides.golden.1));
    Ok(())
}

/// The pair's levels and score: the run's decisions row when it compared them, else
/// recomputed with the run's model (when its pipeline can be loaded).
fn score(
    tables: &RunTables,
    rec: &RunRecords,
    pipeline: Option<&Pipeline>,
    stored: Option<&Pair>,
    idx: (u32, u32),
) -> Result<Option<(Vec<i8>, Scores)>> {
    if let Some(pair) = stored {
        let scores = tables.scores(pair)?;
        let levels = scores.fields.iter().map(|f| f.level).collect();
        return Ok(Some((levels, scores)));
    }
    match pipeline {
        Some(p) => Ok(Some(why::rescore(&tables.model, p, &rec.batch, idx)?)),
        None => Ok(None),
    }
}

/// What is known of a pair: the run's decisions row, the run's pipeline, the levels and score.
struct Evidence<'a> {
    stored: Option<&'a Pair>,
    /// Compared, but below the decisions floor (not written).
    below_floor: bool,
    pipeline: Option<&'a Pipeline>,
    scored: Option<&'a (Vec<i8>, Scores)>,
}

/// Which links join the pair's records, or what keeps them apart.
fn bond(out: &mut String, tables: &RunTables, sides: &Sides, evidence: &Evidence) -> Result<()> {
    let Evidence {
        stored,
        below_floor,
        pipeline,
        scored,
    } = *evidence;
    let (a, b) = sides.records;
    if sides.golden.0 == sides.golden.1 {
        let mine: HashSet<&RecordRef> = sides
            .members
            .iter()
            .filter(|m| m.golden_id == sides.golden.0)
            .map(|m| &m.record)
            .collect();
        let links = tables.pairs(|l, r| mine.contains(&l) && mine.contains(&r))?;
        render::together(out, sides.golden.0, &why::path(&links, a, b));
        return Ok(());
    }
    let reasons = match (pipeline, scored) {
        (Some(p), Some((levels, scores))) => why::reasons(
            &tables.model,
            p,
            (levels, scores),
            stored
                .map(|s| s.decision)
                .or(below_floor.then_some(Decision::NonMatch)),
        ),
        _ if stored.is_none() && !below_floor => vec![why::Reason::NotPaired],
        _ => Vec::new(),
    };
    render::apart(out, &reasons);
    Ok(())
}
