//! `golden query`: DataFusion SQL over a run directory's tables.
//!
//! In: a run directory and one SQL statement. Out: the result as Arrow batches. Every table of
//! the run (DESIGN §3) is registered under its file name without `.parquet`.

use std::path::Path;

use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::{Error, Result, ingest};

/// The run's tables that `golden query` registers, each from `<name>.parquet`.
pub const TABLES: &[&str] = &[
    "golden",
    "crosswalk",
    "lineage",
    "decisions",
    "review",
    "rejects",
    "changes",
];

/// A DataFusion session with every table present in `run_dir` registered; also returns
/// the names registered, in [`TABLES`] order.
pub async fn context(run_dir: &Path) -> Result<(SessionContext, Vec<&'static str>)> {
    let ctx = ingest::session();
    let mut names = Vec::new();
    for &name in TABLES {
        let path = run_dir.join(format!("{name}.parquet"));
        if !path.exists() {
            continue;
        }
        let Some(p) = path.to_str() else {
            return Err(Error::Usage(format!(
                "{}: the path is not valid UTF-8; move the run to a plain path",
                path.display()
            )));
        };
        ctx.register_parquet(name, p, ParquetReadOptions::default())
            .await?;
        names.push(name);
    }
    Ok((ctx, names))
}

/// Runs `sql` over the tables of `run_dir` and returns the result, as at least one batch
/// (an empty result is one empty batch with the result's schema).
///
/// A statement that does not parse, plan or evaluate is an [`Error::Usage`] naming the tables.
pub async fn query(run_dir: &Path, sql: &str) -> Result<Vec<RecordBatch>> {
    let (ctx, names) = context(run_dir).await?;
    let usage = |e: DataFusionError| {
        Error::Usage(format!(
            "query failed: {e}\nthe run's tables are {}; see a table's columns with `select * from <table> limit 5`",
            names.join(", ")
        ))
    };
    let df = ctx.sql(sql).await.map_err(usage)?;
    let schema = df.schema().as_arrow().clone();
    let mut batches = df.collect().await.map_err(|e| {
        if is_user_error(&e) {
            usage(e)
        } else {
            Error::DataFusion(e)
        }
    })?;
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema.into()));
    }
    Ok(batches)
}

/// Whether an error while executing a query comes from the statement (a bad cast, a division by
/// zero, an unsupported construct) rather than from reading the files.
fn is_user_error(e: &DataFusionError) -> bool {
    matches!(
        e.find_root(),
        DataFusionError::SQL(..)
            | DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(_)
            | DataFusionError::Execution(_)
            | DataFusionError::ArrowError(..)
            | DataFusionError::Configuration(_)
    )
}
