//! `crosswalk.parquet`: each input record with its golden id, the best probability that
//! linked it, where it was read and the content hash the next run's comparison cache checks.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};

use super::Clusters;
use crate::Result;
use crate::run::column;
use crate::schema;

/// The crosswalk: one row per record of `batch` (in its order), with its cluster's golden id
/// and its content hash (`content_hashes`, same rows).
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
        Arc::new(UInt64Array::from(content_hashes.to_vec())),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema), cols)?)
}
