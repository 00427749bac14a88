//! `golden evaluate RUN --truth TRUTH.csv`.

use std::path::Path;

use crate::{Result, evaluate as eval, output};

/// Prints pairwise and cluster scores of a run against truth.
pub fn evaluate(run: &Path, truth: &Path) -> Result<()> {
    let dir = output::resolve_run(run)?;
    let e = eval::evaluate(&dir, truth)?;
    super::print::stdout(&format!("{e}\n"))
}
