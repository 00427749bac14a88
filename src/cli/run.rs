//! `golden run PIPELINE`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};

use crate::pipeline::{self, RunOptions};
use crate::{Error, Result, config};

/// Loads the pipeline, runs it and prints where the run went.
pub async fn run(
    path: &Path,
    output: Option<PathBuf>,
    threads: usize,
    (break_lock, full): (bool, bool),
    scheduler: Option<String>,
) -> Result<()> {
    let p = config::load(path)?;
    let opts = RunOptions {
        output,
        threads,
        break_lock,
        full,
        stop: stop_on_signals()?,
        scheduler,
    };
    let summary = pipeline::run(&p, &opts).await?;
    let c = &summary.manifest.counts;
    let get = |n: Option<u64>| n.unwrap_or(0);
    let line = format!(
        "run {}: {} rows read, {} rejected, {} records, {} candidate pairs, {} golden records\n{}\n",
        summary.manifest.run_id,
        get(c.rows_read),
        get(c.rows_rejected),
        get(c.records),
        get(c.candidate_pairs),
        get(c.golden_records),
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

/// A flag that SIGINT and SIGTERM set to their number, so the run stops cleanly at the next
/// stage boundary; a second signal ends the process at once (exit 130 or 143), as a kill -9
/// would, leaving a lock that the next run takes over.
fn stop_on_signals() -> Result<Arc<AtomicUsize>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    let stop = Arc::new(AtomicUsize::new(0));
    let armed = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        let register = || -> std::io::Result<()> {
            // The shutdown is registered first, so that only a second signal finds it armed.
            flag::register_conditional_shutdown(signal, 128 + signal, armed.clone())?;
            flag::register(signal, armed.clone())?;
            flag::register_usize(signal, stop.clone(), signal as usize)?;
            Ok(())
        };
        register().map_err(|e| Error::Internal(format!("cannot handle signal {signal}: {e}")))?;
    }
    Ok(stop)
}
