//! Writing the pair tables: `decisions.parquet` and `review.parquet`, chunk by chunk (the rows
//! are built by the model stage, [`crate::model::decisions_table`]).

use crate::Result;
use crate::compare::Compared;
use crate::config::Pipeline;
use crate::model::decisions_table::decisions;
use crate::model::{Decision, Scored};
use crate::run::{RunDir, Table, TableWriter, build_in_waves};
use arrow::array::RecordBatch;

/// Pairs per batch of `decisions.parquet` and `review.parquet`.
const DECISION_CHUNK: usize = 1 << 16;

/// Writes `decisions.parquet` (every scored pair) and `review.parquet` (the pairs in the review
/// band) into `dir`, chunk by chunk, so neither table is ever whole in memory.
pub fn write_decisions(
    dir: &RunDir,
    batch: &RecordBatch,
    pipeline: &Pipeline,
    compared: &Compared,
    scored: &Scored,
) -> Result<()> {
    // In pair order: no text column is sorted.
    let mut all = TableWriter::new(&dir.table(Table::Decisions)).text_statistics(&[]);
    let mut review = TableWriter::new(&dir.table(Table::Review)).text_statistics(&[]);
    let n = compared.len();
    // At least one chunk, so an empty run still writes both files with their schema.
    let starts: Vec<usize> = if n == 0 {
        vec![0]
    } else {
        (0..n).step_by(DECISION_CHUNK).collect()
    };
    let build = |&start: &usize| {
        let rows: Vec<u32> = (start..n.min(start + DECISION_CHUNK))
            .map(|i| i as u32)
            .collect();
        let in_review: Vec<u32> = rows
            .iter()
            .copied()
            .filter(|&i| scored.decision[i as usize] == Decision::Review)
            .collect();
        let all = decisions(batch, pipeline, compared, scored, &rows)?;
        Ok((
            all,
            decisions(batch, pipeline, compared, scored, &in_review)?,
        ))
    };
    // Chunks are built in parallel while the previous ones are written.
    build_in_waves(&starts, build, |(chunk, in_review)| {
        all.write(chunk)?;
        review.write(in_review)
    })?;
    all.finish()?;
    review.finish()
}
