//! `golden explain RUN (--pair A B | --record A | --golden ID) [--redact]`.

use std::path::Path;

use crate::explain::{self as ex, RunTables, Target};
use crate::{Result, run};

/// Prints the explanation of `target` in the run `run`.
pub fn explain(run: &Path, target: &Target, redact: bool) -> Result<()> {
    let dir = run::resolve_run(run)?;
    let mut tables = RunTables::load(&dir)?;
    if matches!(target, Target::Pair(..)) {
        tables.load_records()?;
    }
    super::print::stdout(&ex::explain(&tables, target, redact)?)
}
