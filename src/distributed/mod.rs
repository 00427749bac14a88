//! Beyond one machine (issue 17, cargo feature `distributed`): golden's functions on a
//! DataFusion Ballista cluster. The scheduler and executors this binary starts
//! ([`processes`]) know golden's functions ([`functions`]); [`session`] connects to such a
//! scheduler (once [`executors`] sees an executor registered with it), or starts a standalone
//! one with an executor inside this process; [`pairs`] runs a
//! run's blocking and comparison on it (`golden run --scheduler`), and [`recompare`] repeats a
//! finished run's blocking and comparison on it.
//!
//! Ingest, standardisation, training, clustering, survivorship and writing stay on the driver
//! (the process of `golden run`); the pairs, the part of a run that grows faster than the
//! records, are made and compared on the cluster.

pub mod executors;
pub mod functions;
pub mod pairs;
pub mod processes;
pub mod recompare;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::execution::{FunctionRegistry, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::{Error, Result};

/// Ballista's session configuration; a standalone cluster splits work into as many partitions
/// as this machine has cores (not DataFusion's default 16: each partition of each stage is a
/// task, and a task costs milliseconds of scheduling).
fn config(standalone: bool) -> SessionConfig {
    let config = SessionConfig::new_with_ballista();
    if !standalone {
        return config;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    config.with_target_partitions(cores)
}

/// A session whose queries run on Ballista with golden's functions registered: on the
/// scheduler at `url` (`df://host:port`), or, with `None`, on a scheduler and an executor
/// started inside this process (Ballista's standalone mode: plans still travel over gRPC).
pub async fn session(url: Option<&str>) -> Result<SessionContext> {
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config(url.is_none()))
        .build();
    // The standalone scheduler and executor take their functions from this state; the client
    // context below gets Ballista's own list instead, so golden's are added to it too.
    for f in functions::all() {
        state.register_udf(f)?;
    }
    let ctx = match url {
        Some(url) => SessionContext::remote_with_state(url, state).await,
        None => SessionContext::standalone_with_state(state).await,
    };
    let ctx = ctx.map_err(|e| match url {
        Some(url) => Error::Usage(format!(
            "cannot reach the Ballista scheduler at {url}: {e}; start one with `golden scheduler`"
        )),
        None => Error::DataFusion(e),
    })?;
    for f in functions::all() {
        ctx.register_udf(f.as_ref().clone());
    }
    if let Some(url) = url {
        executors::wait_for_executor(url).await?;
    }
    Ok(ctx)
}
