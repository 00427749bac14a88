//! `golden evaluate RUN --truth TRUTH.csv`.

use std::path::Path;

use crate::{Result, evaluate as eval, run};

/// Prints pairwise and cluster scores of a run against truth.
pub fn evaluate(run: &Path, truth: &Path) -> Result<()> {
    let dir = run::resolve_run(run)?;
    let e = eval::evaluate(&dir, truth)?;
    let coverage = e.truth_coverage();
    if coverage < eval::MIN_TRUTH_COVERAGE {
        tracing::warn!(
            truth = %truth.display(),
            labelled = e.truth_records - e.missing_from_run,
            records = e.records,
            "the truth file labels only {:.1} % of the run's records; these scores say little \
             about the run",
            coverage * 100.0
        );
    }
    super::print::stdout(&format!("{e}\n"))
}
