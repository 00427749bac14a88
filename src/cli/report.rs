//! `golden report RUN [--out FILE] [--redact]`.

use std::path::Path;

use crate::Result;

/// Rebuilds the run's report.html, or writes the report to `out`; prints the file written.
pub fn report(run: &Path, out: Option<&Path>, redact: bool) -> Result<()> {
    let written = crate::report::rebuild(run, out, redact)?;
    super::print::stdout(&format!("report written to {}\n", written.display()))
}
