//! The orchestrator: runs the stages in order, times each one, and threads the data between
//! them; [`run`] writes a run directory, [`train`] only the model.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use tracing::Instrument;

use crate::block::{self, Blocks};
use crate::cluster::Clusters;
use crate::cluster::stable_ids::{self, ChangeKind, Changes, PreviousRun};
use crate::compare::{self, Compared};
use crate::config::Pipeline;
use crate::ingest::drift::SourceColumns;
use crate::ingest::limit::SourceCounts;
use crate::ingest::{self, Reject, rejects::rejects_batch};
use crate::model::{self, Decision, ModelParams, Scored};
use crate::output::manifest::{Counts, InputFile};
use crate::output::{self, Manifest, tables};
use crate::run::{
    self, Lock, RunDir, Table, TableWriter, layout, new_run_id, previous_run_dir, write_file,
    write_parquet,
};
use crate::{Error, Result, cluster, standardize, survive};

mod finish;
mod prepare;
mod stages;

use finish::finish_run;
use prepare::{Baseline, Candidates, OnCluster, Prepared, prepare, previous_run};
use stages::{Clock, Stages, timed};

/// Options of `golden run`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Output directory instead of the pipeline's `[output] dir`.
    pub output: Option<PathBuf>,
    /// Threads used by the parallel stages (recorded in the manifest).
    pub threads: usize,
    /// Remove the lock of a run on another host (or an unreadable one) before taking it
    /// (`--break-lock`); a lock whose run is gone from this host is taken over anyway.
    pub break_lock: bool,
    /// Recompute everything instead of reusing the previous run's comparisons.
    pub full: bool,
    /// Set to a signal number (SIGINT, SIGTERM) to stop the run at the next stage boundary,
    /// before it commits ([`Error::Interrupted`]); 0 while it may go on.
    pub stop: Arc<AtomicUsize>,
    /// Block and compare on the Ballista scheduler at this `df://host:port`, or `standalone`
    /// (a scheduler and an executor in this process), or [`LOCAL`] (in this process whatever
    /// the pipeline says); `None`: where the pipeline's `[engine] scheduler` says (feature
    /// `distributed`).
    pub scheduler: Option<String>,
}

/// `--scheduler local`: block and compare in the run's process.
pub const LOCAL: &str = "local";

impl RunOptions {
    /// The scheduler a run of `p` blocks and compares on: `--scheduler`, else the pipeline's
    /// `[engine] scheduler`; `None`: in this process.
    pub fn scheduler_for<'a>(&'a self, p: &'a Pipeline) -> Option<&'a str> {
        match self.scheduler.as_deref() {
            Some(LOCAL) => None,
            Some(url) => Some(url),
            None => p.scheduler.as_deref(),
        }
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The committed run directory.
    pub run_dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Trains the model of `p` on its sources (for `golden train`).
pub async fn train(p: &Pipeline) -> Result<ModelParams> {
    let mut stages = Stages::default();
    let prep = prepare(p, &mut stages, Baseline::default(), None, |_, _| {
        Ok(PathBuf::new())
    })
    .await?;
    stages.time("train", || model::train(&prep.records, p, &prep.tally))
}

/// Size and SHA-256 of every input file, in pipeline order; the files are hashed in parallel.
fn input_files(p: &Pipeline) -> Result<Vec<InputFile>> {
    let files: Vec<(&str, &std::path::Path)> = p
        .sources
        .iter()
        .flat_map(|s| s.files.iter().map(move |f| (s.name.as_str(), f.as_path())))
        .collect();
    files
        .into_par_iter()
        .map(|(source, file)| InputFile::describe(source, file))
        .collect()
}

/// Why `--scheduler` fails in a golden built without the feature `distributed`.
const WITHOUT_CLUSTER: &str = "--scheduler needs a golden built with the `distributed` feature: \
                               `cargo install --path . --features distributed`";

/// Runs the whole pipeline and commits a run directory.
pub async fn run(p: &Pipeline, opts: &RunOptions) -> Result<RunSummary> {
    let scheduler = opts.scheduler_for(p);
    if cfg!(not(feature = "distributed")) && scheduler.is_some() {
        return Err(Error::Usage(WITHOUT_CLUSTER.into()));
    }
    if let Some(path) = &p.model.model_file {
        // Refuse a model that does not fit before anything is written (exit 2).
        ModelParams::load_pinned(path, p)?;
    }
    let out_dir = opts.output.clone().unwrap_or_else(|| p.output.dir.clone());
    let mut stages = Stages {
        stop: opts.stop.clone(),
        ..Stages::default()
    };
    stages.check()?;
    let _lock = Lock::acquire(&out_dir, opts.break_lock)?;
    let run_id = new_run_id();
    tracing::info!(run_id = %run_id, pipeline = %p.name, "run started");
    let mut manifest = new_manifest(p, opts, &run_id);
    manifest.inputs = stages.time("checksum", || input_files(p))?;
    let dir = RunDir::create(&out_dir, &run_id)?;
    let previous = previous_run(&out_dir, p, opts.full);
    let cluster = scheduler.map(|scheduler| OnCluster {
        scheduler: scheduler.to_string(),
        staging: dir.tmp.join("staging"),
    });
    let (dir, prep) = prepare_in(p, &mut stages, (previous, cluster), dir, &manifest).await?;
    let mut ctx = RunContext {
        p,
        dir: &dir,
        stages: &mut stages,
    };
    let result = finish_run(&mut ctx, prep, &mut manifest).and_then(|()| ctx.stages.check());
    match result {
        Ok(()) => {
            let run_dir = dir.commit()?;
            tracing::info!(run_id = %run_id, "run committed");
            prune(&out_dir, p.output.keep_runs, &run_id);
            Ok(RunSummary { run_dir, manifest })
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir.tmp);
            Err(e)
        }
    }
}

/// The manifest of a run just started (status `running`, no counts yet).
fn new_manifest(p: &Pipeline, opts: &RunOptions, run_id: &str) -> Manifest {
    Manifest {
        run_id: run_id.to_string(),
        status: "running".into(),
        golden_version: env!("CARGO_PKG_VERSION").into(),
        pipeline: p.name.clone(),
        pipeline_path: p.path.display().to_string(),
        pipeline_hash: p.hash.clone(),
        started_at: chrono::Utc::now().to_rfc3339(),
        threads: opts.threads,
        scheduler: opts.scheduler_for(p).map(str::to_string),
        ..Default::default()
    }
}

/// [`prepare`] for a run writing into `dir`: a source over its reject limit leaves `dir` as a
/// failed run with its rejects and a manifest saying why; any other error removes it.
async fn prepare_in(
    p: &Pipeline,
    stages: &mut Stages,
    (previous, cluster): (Baseline, Option<OnCluster>),
    dir: RunDir,
    manifest: &Manifest,
) -> Result<(RunDir, Prepared)> {
    let dir_ref = &dir;
    let failed = |rejects: &[Reject], sources: &BTreeMap<String, SourceCounts>| {
        write_parquet(&dir_ref.table(Table::Rejects), &rejects_batch(rejects)?)?;
        let mut m = manifest.clone();
        m.status = "failed: too many rejects".into();
        m.sources = sources.clone();
        m.finished_at = chrono::Utc::now().to_rfc3339();
        m.write(&dir_ref.file(layout::MANIFEST))?;
        Ok(dir_ref
            .output_dir
            .join(layout::RUNS)
            .join(layout::failed_dir_name(&dir_ref.run_id))
            .join(Table::Rejects.file_name()))
    };
    match prepare(p, stages, previous, cluster, failed).await {
        Ok(prep) => Ok((dir, prep)),
        Err(e) => {
            if matches!(e, Error::TooManyRejects { .. }) {
                dir.fail()?;
            } else {
                let _ = std::fs::remove_dir_all(&dir.tmp);
            }
            Err(e)
        }
    }
}

/// What the steps after [`prepare`] share: the pipeline, the run directory being written and
/// the stage timings.
struct RunContext<'a> {
    p: &'a Pipeline,
    dir: &'a RunDir,
    stages: &'a mut Stages,
}

/// Deletes runs beyond `keep_runs` and leftovers of dead runs; the run is already committed,
/// so a failure here is only logged.
fn prune(out_dir: &std::path::Path, keep_runs: Option<usize>, run_id: &str) {
    match output::runs::prune(out_dir, keep_runs, run_id) {
        Ok(pr) => {
            tracing::info!(
                committed = pr.committed,
                failed = pr.failed,
                incomplete = pr.incomplete,
                "old runs deleted"
            );
            for e in pr.errors {
                tracing::warn!("cannot delete an old run: {e}");
            }
        }
        Err(e) => tracing::warn!("cannot prune old runs: {e}"),
    }
}
