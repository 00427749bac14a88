//! `golden scheduler`, `golden executor` and `golden recompare` (feature `distributed`).

use std::path::Path;

use crate::distributed::{self, processes};
use crate::{Error, Result};

/// Runs a scheduler until the process is stopped.
pub async fn scheduler(host: String, port: u16) -> Result<()> {
    tracing::info!(port, "Ballista scheduler with golden's functions starting");
    processes::scheduler(processes::Listen { host, port }).await
}

/// Runs an executor until the process is stopped; `opts` are the scheduler (HOST:PORT), the
/// gRPC port, the tasks at once and the work directory.
pub async fn executor(
    host: String,
    port: u16,
    (scheduler, grpc_port, concurrent_tasks, work_dir): (String, u16, usize, Option<String>),
) -> Result<()> {
    let opts = processes::ExecutorOptions {
        scheduler: host_port(&scheduler)?,
        grpc_port,
        concurrent_tasks,
        work_dir,
    };
    tracing::info!(
        port,
        grpc_port,
        "Ballista executor with golden's functions starting"
    );
    processes::executor(processes::Listen { host, port }, opts).await
}

/// `--scheduler HOST:PORT` parsed.
fn host_port(s: &str) -> Result<processes::Listen> {
    let bad = || {
        Error::Usage(format!(
            "--scheduler `{s}` is not HOST:PORT (e.g. localhost:50050)"
        ))
    };
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok(processes::Listen {
        host: host.to_string(),
        port,
    })
}

/// Recomputes the run's levels on the cluster and says whether they equal the run's (exit 3
/// naming the fields when not).
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
        let fields: Vec<String> = (found.differing.iter())
            .filter(|(_, n)| *n > 0)
            .map(|(f, n)| format!("{f} ({n} pairs)"))
            .collect();
        return Err(Error::Input {
            path: run.to_path_buf(),
            message: format!(
                "levels recomputed on the cluster differ from the run's decisions: {}",
                fields.join(", ")
            ),
        });
    }
    super::print::stdout(&format!(
        "{} pairs, {} fields: every level recomputed on the cluster equals the run's ({seconds:.2} s)\n",
        found.pairs,
        found.differing.len()
    ))
}
