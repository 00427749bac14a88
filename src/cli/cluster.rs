//! `golden scheduler`, `golden executor` and `golden recompare` (feature `distributed`).

use std::path::Path;

use crate::distributed::{self, processes};
use crate::{Error, Result};

/// Runs a scheduler until the process is stopped.
pub async fn scheduler(host: String, port: u16) -> Result<()> {
    tracing::info!(port, "Ballista scheduler with golden's functions starting");
    processes::scheduler(processes::Listen { host, port }).await
}

/// Runs an executor listening on `listen` until the process is stopped.
pub async fn executor(listen: processes::Listen, opts: processes::ExecutorOptions) -> Result<()> {
    tracing::info!(
        port = listen.port,
        grpc_port = opts.grpc_port,
        "Ballista executor with golden's functions starting"
    );
    processes::executor(listen, opts).await
}

/// Repeats the run's blocking and comparison on the cluster and says whether they equal the
/// run's (exit 3 naming the fields and rules that differ).
pub async fn recompare(run: &Path, scheduler: Option<&str>) -> Result<()> {
    let started = std::time::Instant::now();
    let ctx = distributed::session(scheduler).await?;
    let found = match (
        distributed::recompare::recompare(&ctx, run).await,
        scheduler,
    ) {
        (Err(Error::DataFusion(e)), Some(url)) => {
            return Err(Error::Usage(format!(
                "the Ballista cluster at {url} could not run the query ({e}); is its scheduler \
                 running? start one with `golden scheduler` and executors with `golden executor`"
            )));
        }
        (found, _) => found?,
    };
    let seconds = started.elapsed().as_secs_f64();
    if !found.equal() {
        return Err(Error::Input {
            path: run.to_path_buf(),
            message: format!(
                "the cluster's blocking or levels differ from the run's: {}",
                differences(&found).join("; ")
            ),
        });
    }
    super::print::stdout(&format!(
        "{} written pairs, {} fields, {} blocking rules ({} candidate pairs): the cluster's \
         blocking and every level recomputed on it equal the run's ({seconds:.2} s)\n",
        found.pairs,
        found.differing.len(),
        found.rules.len(),
        found.rules.iter().map(|r| r.candidate_pairs.0).sum::<u64>(),
    ))
}

/// What differs, for the error: levels by field, counts by rule, missed pairs.
fn differences(found: &distributed::recompare::Recompared) -> Vec<String> {
    let levels = (found.differing.iter())
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| format!("{f} levels ({n} pairs)"));
    let rules = found.rules.iter().filter_map(|r| {
        let (b, c) = (r.pairs_in_blocks, r.candidate_pairs);
        (b.0 != b.1 || c.0 != c.1).then(|| {
            format!(
                "rule `{}`: {} pairs in blocks and {} candidate pairs on the cluster, {} and {} in the run",
                r.rule, b.0, c.0, b.1, c.1
            )
        })
    });
    let missed = (found.pairs_missed > 0).then(|| {
        format!(
            "{} written pairs not found under their rule",
            found.pairs_missed
        )
    });
    levels.chain(rules).chain(missed).collect()
}
