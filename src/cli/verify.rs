//! `golden verify RUN`.

use std::path::{Path, PathBuf};

use crate::{Result, run, verify as v};

/// Says whether the run is intact; a run that is not is an error (exit 3) naming each file.
pub fn verify(run: &Path) -> Result<()> {
    let dir = run_dir(run)?;
    let checked = v::verify(&dir)?;
    if !checked.intact() {
        return Err(checked.into_error());
    }
    super::print::stdout(&format!(
        "run {}: intact ({} files: SHA-256, sizes and Parquet row counts as recorded at commit)\n",
        checked.run_id, checked.files
    ))
}

/// The run directory `run` names: itself or its `latest` when it holds a manifest (a run with
/// a file missing is still verified), else as the other readers resolve it.
fn run_dir(run: &Path) -> Result<PathBuf> {
    for dir in [run.to_path_buf(), run.join(run::layout::LATEST)] {
        if dir.join(run::layout::MANIFEST).is_file() {
            return Ok(dir);
        }
    }
    run::resolve_run(run)
}
