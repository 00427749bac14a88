//! `golden query RUN "SQL" [--format table|csv|parquet] [--out FILE]`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;

use super::print;
use crate::{Error, Result, query as q, run};

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
    let dir = run::resolve_run(run)?;
    let out = match out {
        Some(path) => {
            let (paths, contents) = run_inputs(&dir);
            let full = run::guard_output_file(&path, &paths)?;
            refuse_recorded_content(&path, &contents)?;
            Some(full)
        }
        None => None,
    };
    let batches = q::query(&dir, sql).await?;
    match (format, out) {
        (Format::Parquet, Some(path)) => {
            let schema = batches[0].schema();
            let all = arrow::compute::concat_batches(&schema, &batches)?;
            run::replace_file(&path, |tmp| run::write_parquet(tmp, &all))
        }
        (Format::Csv, Some(path)) => run::replace_file(&path, |tmp| {
            let mut file = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
            write_csv(&mut file, tmp, &batches)?;
            file.sync_all().map_err(|e| Error::io(tmp, e))
        }),
        (Format::Csv, None) => write_csv(
            &mut std::io::stdout().lock(),
            Path::new(print::STDOUT),
            &batches,
        ),
        (_, out) => {
            let text = arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
            match out {
                Some(path) => run::replace_file(&path, |tmp| {
                    run::write_file(tmp, format!("{text}\n").as_bytes())
                }),
                None => print::stdout(&format!("{text}\n")),
            }
        }
    }
}

/// The pipeline file and input files recorded in the manifest of run `dir` (none if it cannot
/// be read), which `--out` must not overwrite: their paths (as given to the run, so relative
/// ones only hold from the folder it was started in), and their sizes and SHA-256 (which
/// hold from anywhere).
fn run_inputs(dir: &Path) -> (Vec<PathBuf>, Vec<(u64, String)>) {
    let Ok(m) = crate::output::Manifest::read(&dir.join(run::layout::MANIFEST)) else {
        return (Vec::new(), Vec::new());
    };
    let mut paths: Vec<PathBuf> = m.inputs.iter().map(|i| PathBuf::from(&i.path)).collect();
    paths.push(PathBuf::from(&m.pipeline_path));
    let mut contents: Vec<(u64, String)> = m
        .inputs
        .iter()
        .map(|i| (i.bytes, i.sha256.clone()))
        .collect();
    if let Some(copy) = m.files.get(run::layout::PIPELINE) {
        contents.push((copy.bytes, copy.sha256.clone()));
    }
    (paths, contents)
}

/// Refuses `path` when it is a file with the bytes of the run's pipeline file or of one of its
/// inputs (`recorded`: size and SHA-256), wherever they were read from.
fn refuse_recorded_content(path: &Path, recorded: &[(u64, String)]) -> Result<()> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if !recorded.iter().any(|(bytes, _)| *bytes == meta.len()) {
        return Ok(());
    }
    if recorded.contains(&crate::output::manifest::sha256_file(path)?) {
        return Err(Error::Usage(format!(
            "--out {}: that file has the bytes of the run's pipeline file or of one of its \
             inputs (its SHA-256 is in the run's manifest); write the result somewhere else",
            path.display()
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
