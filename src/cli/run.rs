//! `golden run PIPELINE`.

use std::path::{Path, PathBuf};

use crate::pipeline::{self, RunOptions};
use crate::{Result, config};

/// Loads the pipeline, runs it and prints where the run went.
pub async fn run(
    path: &Path,
    output: Option<PathBuf>,
    threads: usize,
    break_lock: bool,
    full: bool,
) -> Result<()> {
    let p = config::load(path)?;
    let opts = RunOptions {
        output,
        threads,
        break_lock,
        full,
    };
    let summary = pipeline::run(&p, &opts).await?;
    let c = &summary.manifest.counts;
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    let line = format!(
        "run {}: {} rows read, {} rejected, {} records, {} candidate pairs, {} golden records\n{}\n",
        summary.manifest.run_id,
        get("rows_read"),
        get("rows_rejected"),
        get("records"),
        get("candidate_pairs"),
        get("golden_records"),
        summary.run_dir.display()
    );
    // The run is committed: a summary that cannot be printed does not fail it.
    if let Err(e) = super::print::stdout(&line) {
        tracing::warn!(
            run_id = %summary.manifest.run_id,
            "the run is committed, but its summary could not be printed: {e}"
        );
    }
    Ok(())
}
