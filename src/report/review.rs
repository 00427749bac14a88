//! The section "Review queue": the pairs of `review.parquet`, the most uncertain first (closest
//! to the match threshold), capped; each with its waterfall (prior, then each field's weight,
//! its term-frequency and the household term, summing to the pair's match weight) and, when
//! the run kept them, both records' values side by side.

use std::path::Path;

use serde::Serialize;

use super::read::{TableRead, text};
use super::records::{RecordKey, RecordValues};
use crate::Result;
use crate::explain::render::level_label;
use crate::model::ModelParams;
use crate::run::Table;
use crate::schema::{HOUSEHOLD_ADJUSTMENT, MATCH_PROBABILITY, MATCH_WEIGHT};

/// Review pairs shown at most.
pub const REVIEW_CAP: usize = 200;

/// One step of a waterfall.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    /// What adds the weight (`prior`, a field, `household`).
    pub label: String,
    /// The weight it adds.
    pub weight: f64,
}

/// One field of a review pair.
#[derive(Debug, Clone, Serialize)]
pub struct FieldRow {
    /// Field name.
    pub field: String,
    /// Its comparison level's name.
    pub level: String,
    /// Its weight, term-frequency adjustment included.
    pub weight: f64,
    /// The left record's value (`None`: not kept).
    pub left: Option<String>,
    /// The right record's value.
    pub right: Option<String>,
}

/// A pair in the review queue.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewPair {
    /// Its place in the queue, from 1.
    pub rank: usize,
    /// Left record as `source:id`.
    pub left: String,
    /// Right record as `source:id`.
    pub right: String,
    /// The blocking rule that paired them.
    pub rule: String,
    /// Posterior match probability.
    pub probability: f64,
    /// Match weight.
    pub weight: f64,
    /// Per compared field.
    pub fields: Vec<FieldRow>,
    /// The waterfall, prior first.
    pub steps: Vec<Step>,
    /// The left and right records' keys.
    #[serde(skip)]
    pub keys: (RecordKey, RecordKey),
}

/// The section "Review queue".
#[derive(Debug, Clone, Serialize)]
pub struct ReviewView {
    /// Pairs in the review band.
    pub total: usize,
    /// Pairs beyond the cap.
    pub rest: usize,
    /// The pairs shown, most uncertain first.
    pub pairs: Vec<ReviewPair>,
    /// Whether the run kept the records' values.
    pub values_kept: bool,
}

/// The review pairs of the run in `dir`, closest to match threshold `mt` first, capped.
pub fn review_view(dir: &Path, model: Option<&ModelParams>, mt: f64) -> Result<ReviewView> {
    let t = TableRead::of(dir, Table::Review, None)?;
    let col = |n: &str| t.strings(n);
    let (ls, li, rs, ri) = (
        col("left_source")?,
        col("left_id")?,
        col("right_source")?,
        col("right_id")?,
    );
    let rule = col("blocking_rule")?;
    let (prob, weight) = (t.floats(MATCH_PROBABILITY)?, t.floats(MATCH_WEIGHT)?);
    let mut order: Vec<usize> = (0..t.rows()).collect();
    let key = |i: usize| (text(&ls, i), text(&li, i), text(&rs, i), text(&ri, i));
    order.sort_by(|&a, &b| {
        let d = |i: usize| (prob[i].unwrap_or(0.0) - mt).abs();
        d(a).total_cmp(&d(b)).then_with(|| key(a).cmp(&key(b)))
    });
    let prior = model.map_or(0.0, ModelParams::prior_weight);
    let columns = field_columns(&t, model)?;
    let household = match t.has(HOUSEHOLD_ADJUSTMENT) {
        true => Some(t.floats(HOUSEHOLD_ADJUSTMENT)?),
        false => None,
    };
    let mut pairs = Vec::new();
    for (n, &i) in order.iter().take(REVIEW_CAP).enumerate() {
        let (fields, mut steps) = field_rows(&columns, i);
        steps.insert(0, step("prior", prior));
        if let Some(h) = &household {
            steps.push(step("household", h[i].unwrap_or(0.0)));
        }
        let keys = (
            (text(&ls, i).to_string(), text(&li, i).to_string()),
            (text(&rs, i).to_string(), text(&ri, i).to_string()),
        );
        pairs.push(ReviewPair {
            rank: n + 1,
            left: format!("{}:{}", keys.0.0, keys.0.1),
            right: format!("{}:{}", keys.1.0, keys.1.1),
            rule: text(&rule, i).to_string(),
            probability: prob[i].unwrap_or(0.0),
            weight: weight[i].unwrap_or(0.0),
            fields,
            steps,
            keys,
        });
    }
    Ok(ReviewView {
        total: t.rows(),
        rest: t.rows().saturating_sub(REVIEW_CAP),
        pairs,
        values_kept: false,
    })
}

/// A waterfall step.
fn step(label: &str, weight: f64) -> Step {
    Step {
        label: label.into(),
        weight,
    }
}

/// The per-field columns of the review table, read once.
struct FieldColumns<'a> {
    /// The comparison.
    cp: &'a crate::model::ComparisonParams,
    /// `<field>_level`.
    level: Vec<Option<f64>>,
    /// `<field>_weight` plus `<field>_tf_adjustment` where the table has it.
    weight: Vec<f64>,
}

/// The per-field columns of `t` for every comparison of `model`.
fn field_columns<'a>(
    t: &TableRead,
    model: Option<&'a ModelParams>,
) -> Result<Vec<FieldColumns<'a>>> {
    let comparisons = model.map_or(&[][..], |p| &p.comparisons[..]);
    comparisons
        .iter()
        .map(|cp| {
            let f = &cp.field;
            let mut weight: Vec<f64> = t
                .floats(&format!("{f}_weight"))?
                .into_iter()
                .map(|w| w.unwrap_or(0.0))
                .collect();
            let tf = format!("{f}_tf_adjustment");
            if t.has(&tf) {
                for (w, a) in weight.iter_mut().zip(t.floats(&tf)?) {
                    *w += a.unwrap_or(0.0);
                }
            }
            let level = t.floats(&format!("{f}_level"))?;
            Ok(FieldColumns { cp, level, weight })
        })
        .collect()
}

/// Row `i`'s compared fields (level, weight with its term-frequency adjustment) and their
/// waterfall steps.
fn field_rows(columns: &[FieldColumns], i: usize) -> (Vec<FieldRow>, Vec<Step>) {
    let rows: Vec<FieldRow> = columns
        .iter()
        .map(|c| FieldRow {
            field: c.cp.field.clone(),
            level: level_label(c.cp, c.level[i].map_or(-1, |l| l as i8)),
            weight: c.weight[i],
            left: None,
            right: None,
        })
        .collect();
    let steps = rows.iter().map(|r| step(&r.field, r.weight)).collect();
    (rows, steps)
}

/// Fills in both records' values from `values` (`***` for each set value when `redact`).
pub fn fill_values(view: &mut ReviewView, values: Option<&RecordValues>, redact: bool) {
    let Some(values) = values else { return };
    view.values_kept = true;
    for pair in &mut view.pairs {
        for row in &mut pair.fields {
            let get = |k: &RecordKey| values.get(k, &row.field).map(|v| shown(v, redact));
            row.left = get(&pair.keys.0).or(Some(String::new()));
            row.right = get(&pair.keys.1).or(Some(String::new()));
        }
    }
}

/// A value as shown: `***` when redacted.
pub fn shown(v: &str, redact: bool) -> String {
    if redact { "***".into() } else { v.to_string() }
}
