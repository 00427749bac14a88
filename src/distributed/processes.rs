//! `golden scheduler` and `golden executor`: Ballista's scheduler and executor processes, built
//! as Ballista's custom-scheduler and custom-executor examples build them, with golden's
//! functions in the scheduler's sessions and the executor's function registry.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::prelude::SessionConfig;

use super::functions;
use crate::{Error, Result};

/// Where a process listens: host and port.
#[derive(Debug, Clone)]
pub struct Listen {
    /// Address to bind (`0.0.0.0` for every interface).
    pub host: String,
    /// Port to bind.
    pub port: u16,
}

impl std::str::FromStr for Listen {
    type Err = String;

    /// Parses `HOST:PORT`, as `golden executor --scheduler` takes it.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}` is not HOST:PORT (e.g. localhost:50050)");
        let (host, port) = crate::config::host_port(s).ok_or_else(bad)?;
        Ok(Listen {
            host: host.to_string(),
            port,
        })
    }
}

/// Runs a scheduler on `listen` until the process is stopped.
pub async fn scheduler(listen: Listen) -> Result<()> {
    let addr: SocketAddr = format!("{}:{}", listen.host, listen.port)
        .parse()
        .map_err(|e| {
            Error::Usage(format!(
                "cannot listen on {}:{}: {e}",
                listen.host, listen.port
            ))
        })?;
    let config = SchedulerConfig {
        bind_host: listen.host,
        bind_port: listen.port,
        override_session_builder: Some(Arc::new(session_state)),
        ..Default::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(cluster_error)?;
    start_server(cluster, addr, Arc::new(config))
        .await
        .map_err(cluster_error)
}

/// What an executor needs besides where it listens.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host and port.
    pub scheduler: Listen,
    /// Port of the executor's gRPC service (the scheduler pushes tasks there).
    pub grpc_port: u16,
    /// Tasks run at once (0: every core).
    pub concurrent_tasks: usize,
    /// Directory under which the executor keeps its shuffle files, in a subdirectory of its
    /// own (default: the system's temporary directory).
    pub work_dir: Option<String>,
    /// Seconds a job's shuffle files (customer values) are kept after the job last wrote one.
    pub keep_job_data: u64,
}

/// Runs an executor on `listen` (its Arrow Flight port) that registers with the scheduler and
/// runs tasks until the process is stopped.
pub async fn executor(listen: Listen, opts: ExecutorOptions) -> Result<()> {
    let mut registry = BallistaFunctionRegistry::default();
    for f in functions::all() {
        registry.scalar_functions.insert(f.name().to_string(), f);
    }
    let work_dir = own_work_dir(opts.work_dir.as_deref(), listen.port)?;
    wait_for(&opts.scheduler, SCHEDULER_WAIT).await?;
    let config = ExecutorProcessConfig {
        bind_host: listen.host,
        port: listen.port,
        grpc_port: opts.grpc_port,
        scheduler_host: opts.scheduler.host,
        scheduler_port: opts.scheduler.port,
        vcores: opts.concurrent_tasks,
        work_dir: Some(work_dir),
        // Ballista removes every directory in its work directory older than this, and all of
        // them when the executor stops: hence a directory of the executor's own.
        job_data_ttl_seconds: opts.keep_job_data,
        job_data_clean_up_interval_seconds: opts.keep_job_data.clamp(1, 60),
        override_function_registry: Some(Arc::new(registry)),
        ..Default::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(cluster_error)
}

/// How long an executor waits for its scheduler to listen: Ballista's executor gives up at
/// once, so executors started with the scheduler (containers, a service manager) would die.
const SCHEDULER_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Waits until `scheduler` accepts connections, trying every half second for up to `wait`.
async fn wait_for(scheduler: &Listen, wait: std::time::Duration) -> Result<()> {
    let started = std::time::Instant::now();
    let address = (scheduler.host.as_str(), scheduler.port);
    let mut told = false;
    while tokio::net::TcpStream::connect(address).await.is_err() {
        if started.elapsed() >= wait {
            return Err(Error::Usage(format!(
                "no scheduler at {}:{} after {} s; start one with `golden scheduler`",
                scheduler.host,
                scheduler.port,
                wait.as_secs()
            )));
        }
        if !told {
            tracing::info!(host = %scheduler.host, port = scheduler.port, "waiting for the scheduler");
            told = true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Ok(())
}

/// `golden-executor-PORT` under `base` (default: the temporary directory), created: the
/// executor's shuffle files, which Ballista cleans up by removing whole directories in it.
fn own_work_dir(base: Option<&str>, port: u16) -> Result<String> {
    let base = base.map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let dir = base.join(format!("golden-executor-{port}"));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    dir.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::Usage(format!("{}: the path is not UTF-8", dir.display())))
}

/// Ballista's default session for a job, with golden's functions registered.
fn session_state(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let mut state = ballista_core::utils::default_session_builder(config)?;
    for f in functions::all() {
        state.register_udf(f)?;
    }
    Ok(state)
}

/// A Ballista failure as golden's error.
fn cluster_error(e: ballista_core::error::BallistaError) -> Error {
    Error::Cluster(e.to_string())
}
