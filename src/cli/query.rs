//! `golden query RUN "SQL" [--format table|csv|parquet] [--out FILE]`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;

use super::print;
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
    if let Some(path) = &out {
        outside_run(path, &dir)?;
    }
    let batches = q::query(&dir, sql).await?;
    match (format, out) {
        (Format::Parquet, Some(path)) => {
            let schema = batches[0].schema();
            let all = arrow::compute::concat_batches(&schema, &batches)?;
            output::write_parquet(&path, &all)
        }
        (Format::Csv, Some(path)) => {
            let mut file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            write_csv(&mut file, &path, &batches)
        }
        (Format::Csv, None) => write_csv(
            &mut std::io::stdout().lock(),
            Path::new(print::STDOUT),
            &batches,
        ),
        (_, out) => {
            let text = arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
            match out {
                Some(path) => output::write_file(&path, format!("{text}\n").as_bytes()),
                None => print::stdout(&format!("{text}\n")),
            }
        }
    }
}

/// Refuses an `--out` inside the run being read, or inside any other run (a folder with a
/// `manifest.json`): a reader never changes a committed run.
fn outside_run(out: &Path, run_dir: &Path) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (Ok(parent), Ok(run_dir)) = (parent.canonicalize(), run_dir.canonicalize()) else {
        return Ok(()); // a missing folder fails when the file is created, naming it
    };
    let other_run = parent
        .ancestors()
        .find(|d| d.join("manifest.json").is_file());
    if let Some(run) = other_run.or(parent.starts_with(&run_dir).then_some(run_dir.as_path())) {
        return Err(Error::Usage(format!(
            "--out {}: that is inside the run {}, and a run is never changed after it is \
             committed (`golden verify` would report it); write the result somewhere else",
            out.display(),
            run.display()
        )));
    }
    Ok(())
}

/// Writes `batches` as CSV with one header line to `w` (`name` in errors), batch by batch.
fn write_csv(w: &mut dyn Write, name: &Path, batches: &[RecordBatch]) -> Result<()> {
    for (i, b) in batches.iter().enumerate() {
        let mut writer = arrow::csv::WriterBuilder::new()
            .with_header(i == 0)
            .build(Vec::new());
        writer.write(b)?;
        w.write_all(&writer.into_inner())
            .map_err(|e| Error::io(name, e))?;
    }
    w.flush().map_err(|e| Error::io(name, e))
}
