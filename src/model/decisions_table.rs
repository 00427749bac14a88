//! The scored pairs as the rows of `decisions.parquet` and `review.parquet`: the pair's
//! records and blocking rule, each comparison's level and weight (and term-frequency
//! adjustment), the household adjustment, the match weight, probability and decision.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float32Array, Float64Array, Int8Array, RecordBatch, StringArray, UInt32Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Schema};

use super::Scored;
use crate::Result;
use crate::compare::Compared;
use crate::config::Pipeline;
use crate::run::column;
use crate::schema;

/// The scored pairs `rows` (indices into `compared`) as a decisions-shaped batch.
pub fn decisions(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    compared: &Compared,
    scored: &Scored,
    rows: &[u32],
) -> Result<RecordBatch> {
    let mut out = Columns::default();
    pair_columns(&mut out, batch, pipeline, compared, rows)?;
    comparison_columns(&mut out, pipeline, compared, scored, rows);
    score_columns(&mut out, scored, rows);
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(out.fields)),
        out.arrays,
    )?)
}

/// The columns of a table being assembled, fields and arrays in step (none nullable).
#[derive(Default)]
struct Columns {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Columns {
    /// Appends column `name` of type `ty`.
    fn push(&mut self, name: impl Into<String>, ty: DataType, array: ArrayRef) {
        self.fields.push(Field::new(name, ty, false));
        self.arrays.push(array);
    }
}

/// The value `at(i)` of each pair `i` of `rows`, as an Arrow array.
fn gather<T, A: FromIterator<Option<T>>>(rows: &[u32], at: impl Fn(usize) -> T) -> A {
    rows.iter().map(|&i| Some(at(i as usize))).collect()
}

/// The source and id of each pair's two records and the blocking rule that paired them
/// (`manual` for a pair only a manual decision brought in).
fn pair_columns(
    out: &mut Columns,
    batch: &RecordBatch,
    pipeline: &Pipeline,
    compared: &Compared,
    rows: &[u32],
) -> Result<()> {
    let side =
        |of: &[u32]| UInt32Array::from(rows.iter().map(|&i| of[i as usize]).collect::<Vec<_>>());
    let (left, right) = (side(&compared.left), side(&compared.right));
    let (src, ids) = (
        column(batch, schema::SOURCE)?,
        column(batch, schema::SOURCE_ID)?,
    );
    for (name, values, records) in [
        ("left_source", src, &left),
        ("left_id", ids, &left),
        ("right_source", src, &right),
        ("right_id", ids, &right),
    ] {
        out.push(name, DataType::Utf8, take(values.as_ref(), records, None)?);
    }
    let rules = &pipeline.blocking.rules;
    let rule: StringArray = gather(rows, |i| {
        let r = compared.rule[i] as usize;
        rules.get(r).map_or("manual", |r| r.text.as_str())
    });
    out.push("blocking_rule", DataType::Utf8, Arc::new(rule));
    Ok(())
}

/// Each comparison's level and weight, and its term-frequency adjustment when it has one.
fn comparison_columns(
    out: &mut Columns,
    pipeline: &Pipeline,
    compared: &Compared,
    scored: &Scored,
    rows: &[u32],
) {
    let k = compared.n_comparisons;
    let t = scored.tf_fields.len();
    for (c, cmp) in pipeline.comparisons.iter().enumerate() {
        let levels: Int8Array = gather(rows, |i| compared.levels[i * k + c]);
        let weights: Float32Array = gather(rows, |i| scored.weights[i * k + c]);
        out.push(
            format!("{}_level", cmp.field),
            DataType::Int8,
            Arc::new(levels),
        );
        out.push(
            format!("{}_weight", cmp.field),
            DataType::Float32,
            Arc::new(weights),
        );
        if let Some(x) = scored.tf_fields.iter().position(|&f| f == c) {
            let adj: Float32Array = gather(rows, |i| scored.tf_adjustments[i * t + x]);
            let name = format!("{}_tf_adjustment", cmp.field);
            out.push(name, DataType::Float32, Arc::new(adj));
        }
    }
}

/// The household adjustment (when the model has a household class), the match weight,
/// probability and decision.
fn score_columns(out: &mut Columns, scored: &Scored, rows: &[u32]) {
    if !scored.household_adjustment.is_empty() {
        let adj: Float32Array = gather(rows, |i| scored.household_adjustment[i]);
        out.push(
            schema::HOUSEHOLD_ADJUSTMENT,
            DataType::Float32,
            Arc::new(adj),
        );
    }
    let weight: Float64Array = gather(rows, |i| scored.match_weight[i]);
    let probability: Float64Array = gather(rows, |i| scored.probability[i]);
    let decision: StringArray = gather(rows, |i| scored.decision[i].as_str());
    out.push(schema::MATCH_WEIGHT, DataType::Float64, Arc::new(weight));
    out.push(
        schema::MATCH_PROBABILITY,
        DataType::Float64,
        Arc::new(probability),
    );
    out.push("decision", DataType::Utf8, Arc::new(decision));
}
