//! The run's tables as Arrow batches: crosswalk and decisions (golden, lineage and rejects are
//! built by their own stages).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float32Array, Float64Array, Int8Array, RecordBatch, StringArray, UInt32Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Schema};

use crate::cluster::Clusters;
use crate::compare::Compared;
use crate::config::Pipeline;
use crate::model::{Decision, Scored};
use crate::run::{RunDir, Table, TableWriter};
use crate::schema;
use crate::{Error, Result};

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::Internal(format!("missing column {name}")))
}

/// `crosswalk.parquet`: one row per input record.
pub fn crosswalk(
    batch: &RecordBatch,
    clusters: &Clusters,
    content_hashes: &[u64],
) -> Result<RecordBatch> {
    let gids: StringArray = clusters
        .cluster_of
        .iter()
        .map(|&c| Some(clusters.golden_ids[c as usize].as_str()))
        .collect();
    let probs: Float64Array = clusters.best_link.iter().copied().collect();
    let schema = Schema::new(vec![
        Field::new(schema::SOURCE, DataType::Utf8, false),
        Field::new(schema::SOURCE_ID, DataType::Utf8, false),
        Field::new(schema::GOLDEN_ID, DataType::Utf8, false),
        Field::new(schema::MATCH_PROBABILITY, DataType::Float64, true),
        Field::new(schema::SOURCE_FILE, DataType::Utf8, false),
        Field::new(schema::ROW_NUMBER, DataType::UInt64, false),
        Field::new(schema::CONTENT_HASH, DataType::UInt64, false),
    ]);
    let cols: Vec<ArrayRef> = vec![
        column(batch, schema::SOURCE)?.clone(),
        column(batch, schema::SOURCE_ID)?.clone(),
        Arc::new(gids),
        Arc::new(probs),
        column(batch, schema::SOURCE_FILE)?.clone(),
        column(batch, schema::ROW_NUMBER)?.clone(),
        Arc::new(arrow::array::UInt64Array::from(content_hashes.to_vec())),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema), cols)?)
}

/// Pairs per batch of `decisions.parquet` and `review.parquet`.
const DECISION_CHUNK: usize = 1 << 18;

/// Writes `decisions.parquet` (every scored pair) and `review.parquet` (the pairs in the review
/// band) into `dir`, chunk by chunk, so neither table is ever whole in memory.
pub fn write_decisions(
    dir: &RunDir,
    batch: &RecordBatch,
    pipeline: &Pipeline,
    compared: &Compared,
    scored: &Scored,
) -> Result<()> {
    let mut all = TableWriter::new(&dir.table(Table::Decisions));
    let mut review = TableWriter::new(&dir.table(Table::Review));
    let n = compared.len();
    // At least one chunk, so an empty run still writes both files with their schema.
    let starts: Vec<usize> = if n == 0 {
        vec![0]
    } else {
        (0..n).step_by(DECISION_CHUNK).collect()
    };
    for start in starts {
        let rows: Vec<u32> = (start..n.min(start + DECISION_CHUNK))
            .map(|i| i as u32)
            .collect();
        let in_review: Vec<u32> = rows
            .iter()
            .copied()
            .filter(|&i| scored.decision[i as usize] == Decision::Review)
            .collect();
        all.write(decisions(batch, pipeline, compared, scored, &rows)?)?;
        review.write(decisions(batch, pipeline, compared, scored, &in_review)?)?;
    }
    all.finish()?;
    review.finish()
}

/// The scored pairs `rows` (indices into `compared`) as a decisions-shaped batch.
pub fn decisions(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    compared: &Compared,
    scored: &Scored,
    rows: &[u32],
) -> Result<RecordBatch> {
    let left = UInt32Array::from(
        rows.iter()
            .map(|&i| compared.left[i as usize])
            .collect::<Vec<_>>(),
    );
    let right = UInt32Array::from(
        rows.iter()
            .map(|&i| compared.right[i as usize])
            .collect::<Vec<_>>(),
    );
    let src = column(batch, schema::SOURCE)?;
    let ids = column(batch, schema::SOURCE_ID)?;
    let rule_names: Vec<&str> = pipeline
        .blocking
        .rules
        .iter()
        .map(|r| r.text.as_str())
        .collect();
    let mut fields = vec![
        Field::new("left_source", DataType::Utf8, false),
        Field::new("left_id", DataType::Utf8, false),
        Field::new("right_source", DataType::Utf8, false),
        Field::new("right_id", DataType::Utf8, false),
        Field::new("blocking_rule", DataType::Utf8, false),
    ];
    let rule_col: StringArray = rows
        .iter()
        .map(|&i| {
            Some(
                rule_names
                    .get(compared.rule[i as usize] as usize)
                    .copied()
                    .unwrap_or("manual"),
            )
        })
        .collect();
    let mut cols: Vec<ArrayRef> = vec![
        take(src.as_ref(), &left, None)?,
        take(ids.as_ref(), &left, None)?,
        take(src.as_ref(), &right, None)?,
        take(ids.as_ref(), &right, None)?,
        Arc::new(rule_col),
    ];
    let k = compared.n_comparisons;
    for (c, cmp) in pipeline.comparisons.iter().enumerate() {
        let levels: Int8Array = rows
            .iter()
            .map(|&i| Some(compared.levels[i as usize * k + c]))
            .collect();
        let weights: Float32Array = rows
            .iter()
            .map(|&i| Some(scored.weights[i as usize * k + c]))
            .collect();
        fields.push(Field::new(
            format!("{}_level", cmp.field),
            DataType::Int8,
            false,
        ));
        fields.push(Field::new(
            format!("{}_weight", cmp.field),
            DataType::Float32,
            false,
        ));
        cols.push(Arc::new(levels));
        cols.push(Arc::new(weights));
        if let Some(x) = scored.tf_fields.iter().position(|&t| t == c) {
            let t = scored.tf_fields.len();
            let adj: Float32Array = rows
                .iter()
                .map(|&i| Some(scored.tf_adjustments[i as usize * t + x]))
                .collect();
            fields.push(Field::new(
                format!("{}_tf_adjustment", cmp.field),
                DataType::Float32,
                false,
            ));
            cols.push(Arc::new(adj));
        }
    }
    if !scored.household_adjustment.is_empty() {
        let adj: Float32Array = rows
            .iter()
            .map(|&i| Some(scored.household_adjustment[i as usize]))
            .collect();
        fields.push(Field::new(
            schema::HOUSEHOLD_ADJUSTMENT,
            DataType::Float32,
            false,
        ));
        cols.push(Arc::new(adj));
    }
    let mw: Float64Array = rows
        .iter()
        .map(|&i| Some(scored.match_weight[i as usize]))
        .collect();
    let mp: Float64Array = rows
        .iter()
        .map(|&i| Some(scored.probability[i as usize]))
        .collect();
    let dec: StringArray = rows
        .iter()
        .map(|&i| Some(scored.decision[i as usize].as_str()))
        .collect();
    fields.push(Field::new(schema::MATCH_WEIGHT, DataType::Float64, false));
    fields.push(Field::new(
        schema::MATCH_PROBABILITY,
        DataType::Float64,
        false,
    ));
    fields.push(Field::new("decision", DataType::Utf8, false));
    cols.push(Arc::new(mw));
    cols.push(Arc::new(mp));
    cols.push(Arc::new(dec));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}
