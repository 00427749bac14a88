//! `golden query`: DataFusion SQL over a run directory's tables.
//!
//! In: a run directory and one SQL statement. Out: the result as Arrow batches. Every table of
//! the run (DESIGN §3) is registered under its file name without `.parquet`.
//!
//! A reader writes nothing and reads nothing but the run: DDL (`CREATE EXTERNAL TABLE`,
//! `DROP`), DML (`INSERT`, `COPY … TO`) and statements (`SET`) are refused before anything is
//! executed, the session has no table functions, and file paths are not tables.

use std::path::Path;

use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

use crate::run::Table;
use crate::{Error, Result, ingest};

/// The run's tables that `golden query` registers, each from `<name>.parquet`.
pub const TABLES: [Table; 8] = Table::ALL;

/// A DataFusion session with every table present in `run_dir` registered; also returns
/// the names registered, in [`TABLES`] order.
pub async fn context(run_dir: &Path) -> Result<(SessionContext, Vec<&'static str>)> {
    let ctx = read_only_session();
    let mut names = Vec::new();
    for table in TABLES {
        let name = table.name();
        let path = run_dir.join(table.file_name());
        if !path.exists() {
            continue;
        }
        let Some(p) = path.to_str() else {
            return Err(Error::Usage(format!(
                "{}: the path is not valid UTF-8; move the run to a plain path",
                path.display()
            )));
        };
        let damaged = |what: String| Error::Input {
            path: path.clone(),
            message: format!("{what}; this run is damaged: restore the file or query another run"),
        };
        if !path.is_file() {
            return Err(damaged("a run table is not a regular file".into()));
        }
        ctx.register_parquet(name, p, ParquetReadOptions::default())
            .await
            .map_err(|e| damaged(format!("the table cannot be read ({e})")))?;
        names.push(name);
    }
    Ok((ctx, names))
}

/// A session like [`ingest::session`]'s (case-sensitive identifiers) without table functions,
/// so that a query reaches no data but the tables registered on it.
fn read_only_session() -> SessionContext {
    let config: SessionConfig = ingest::session().copied_config();
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_table_functions(Default::default())
        .build();
    SessionContext::new_with_state(state)
}

/// Refuses anything but reading: DDL, DML (`COPY … TO` included) and statements, anywhere in
/// the plan (subqueries and `EXPLAIN` too).
fn check_read_only(plan: &datafusion::logical_expr::LogicalPlan) -> Result<()> {
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    options.verify_plan(plan).map_err(|e| {
        let what = match e.find_root() {
            DataFusionError::Plan(m) => m.clone(),
            other => other.to_string(),
        };
        Error::Usage(format!(
            "golden query is read-only: {what}; it runs one SELECT over the run's tables and \
             writes nothing (no CREATE, DROP, INSERT, COPY or SET). To save a result, use \
             `--format csv|parquet --out FILE`"
        ))
    })
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
    let plan = ctx.state().create_logical_plan(sql).await.map_err(usage)?;
    check_read_only(&plan)?;
    let df = ctx.execute_logical_plan(plan).await.map_err(usage)?;
    let schema = df.schema().as_arrow().clone();
    let mut batches = df.collect().await.map_err(|e| {
        if is_user_error(&e) {
            // Execution errors quote the values they failed on (a cast of an e-mail, …).
            Error::Usage(redact_quoted(&usage(e).to_string()))
        } else {
            Error::DataFusion(e)
        }
    })?;
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema.into()));
    }
    Ok(batches)
}

/// `text` with every single-quoted part replaced by `'***'`: the values an execution error
/// quotes are customer data (plan errors name columns and tables, which stay).
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut parts = text.split('\'');
    out.push_str(parts.next().unwrap_or_default());
    let mut quoted = true;
    for part in parts {
        out.push('\'');
        out.push_str(if quoted { "***" } else { part });
        quoted = !quoted;
    }
    out
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
