//! `golden query RUN "SQL" [--format table|csv|parquet] [--out FILE]`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;

use crate::{Error, Result, output, query as q};

/// How `golden query` writes its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header line.
    Csv,
    /// A Parquet file (needs `--out`).
    Parquet,
}

/// Runs the query and prints the result, or writes it to `out`.
pub async fn query(run: &Path, sql: &str, format: Format, out: Option<PathBuf>) -> Result<()> {
    if format == Format::Parquet && out.is_none() {
        return Err(Error::Usage(
            "--format parquet needs --out FILE (Parquet is not printed to a terminal)".into(),
        ));
    }
    let dir = output::resolve_run(run)?;
    let batches = q::query(&dir, sql).await?;
    match (format, out) {
        (Format::Parquet, Some(path)) => {
            let schema = batches[0].schema();
            let all = arrow::compute::concat_batches(&schema, &batches)?;
            output::write_parquet(&path, &all)
        }
        (Format::Csv, Some(path)) => {
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            write_csv(file, &batches)
        }
        (Format::Csv, None) => write_csv(std::io::stdout().lock(), &batches),
        (_, out) => {
            let text = arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
            match out {
                Some(path) => output::write_file(&path, format!("{text}\n").as_bytes()),
                None => {
                    println!("{text}");
                    Ok(())
                }
            }
        }
    }
}

fn write_csv(w: impl Write, batches: &[RecordBatch]) -> Result<()> {
    let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(w);
    for b in batches {
        writer.write(b)?;
    }
    Ok(())
}
