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
use crate::ingest::{self, Reject, rejects::rejects_batch};
use crate::model::{self, Decision, ModelParams, Scored};
use crate::output::manifest::{InputFile, SourceCounts};
use crate::output::{self, Manifest, tables};
use crate::run::{
    Lock, RunDir, Table, TableWriter, layout, new_run_id, previous_run_dir, write_file,
    write_parquet,
};
use crate::{Error, Result, cluster, standardize, survive};

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
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The committed run directory.
    pub run_dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Times stages and logs each one as it completes (counts and timings only, never values).
#[derive(Default)]
struct Stages {
    timings: BTreeMap<String, f64>,
    /// [`RunOptions::stop`], checked before each stage.
    stop: Arc<AtomicUsize>,
}

impl Stages {
    /// Fails with [`Error::Interrupted`] once a signal asked the run to stop.
    fn check(&self) -> Result<()> {
        match self.stop.load(Ordering::SeqCst) {
            0 => Ok(()),
            signal => Err(Error::Interrupted(signal as i32)),
        }
    }

    /// Runs stage `stage` (unless the run was asked to stop), logs and records its wall seconds.
    fn time<T>(&mut self, stage: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.check()?;
        let clock = Clock::start();
        let (out, secs) = timed(stage, f)?;
        clock.log_resources(stage);
        self.record(stage, secs);
        Ok(out)
    }

    /// Records the wall seconds of a stage timed with [`timed`] or a [`Clock`].
    fn record(&mut self, stage: &str, seconds: f64) {
        self.timings.insert(stage.to_string(), seconds);
    }
}

/// The wall and CPU time since a stage started: the one stopwatch of every stage.
struct Clock {
    wall: Instant,
    cpu: f64,
}

impl Clock {
    /// Starts the stopwatch now.
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: crate::memory::cpu_seconds(),
        }
    }

    /// Wall seconds since [`Clock::start`].
    fn seconds(&self) -> f64 {
        self.wall.elapsed().as_secs_f64()
    }

    /// Logs (at debug level) the CPU seconds used since [`Clock::start`] and the resident
    /// memory, once stage `stage` is done: CPU over wall time shows how well a stage uses the
    /// cores.
    fn log_resources(&self, stage: &str) {
        let cpu_seconds = crate::memory::cpu_seconds() - self.cpu;
        let (rss_mib, peak_rss_mib) = crate::memory::resident_mib();
        tracing::debug!(stage, cpu_seconds, rss_mib, peak_rss_mib, "stage resources");
    }
}

/// Runs stage `stage` and logs its wall seconds; returns its output and those seconds (for
/// stages that run alongside others, which [`Stages::record`] then records).
fn timed<T>(stage: &str, f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let _bar = crate::telemetry::stage_span(stage).entered();
    let clock = Clock::start();
    let out = f()?;
    let seconds = clock.seconds();
    tracing::info!(stage, seconds, "stage completed");
    Ok((out, seconds))
}

/// Records standardized, blocked and compared: everything before scoring.
pub struct Prepared {
    /// Standardized records of every source, `record_idx` = row.
    pub records: RecordBatch,
    /// Rejected input rows.
    pub rejects: Vec<Reject>,
    /// Per-source counts.
    pub sources: BTreeMap<String, SourceCounts>,
    /// Blocks of every rule.
    pub blocks: Blocks,
    /// Comparison vectors of every candidate pair.
    pub compared: Compared,
    /// Columns of each source as read.
    pub source_columns: SourceColumns,
    /// Content hash of each record's match values (unchanged hash: comparisons reusable).
    pub content_hashes: Vec<u64>,
    /// The previous run this one is incremental on, if any (its comparisons are reused).
    pub incremental_from: Option<PathBuf>,
    /// The previous run's crosswalk (`stable_ids::read_crosswalk`), read once for the cache
    /// and stable ids; `None` when there is no usable previous run.
    pub previous_crosswalk: Option<RecordBatch>,
    /// Placeholder values found per field (treated as missing for matching).
    pub placeholders: standardize::placeholder::Placeholders,
    /// The previous run whose golden ids this run keeps, if usable.
    pub previous_dir: Option<PathBuf>,
}

/// What this run takes from the run `latest` points at.
#[derive(Debug, Default)]
struct Previous {
    /// Its source columns, for the schema-drift check (empty: not checked).
    columns: SourceColumns,
    /// Its directory, when it is a committed run of this output directory (golden ids kept).
    dir: Option<PathBuf>,
    /// Its directory, when this run is incremental: same pipeline file, not `--full`.
    incremental_from: Option<PathBuf>,
}

/// Finds and checks the previous run (`crate::run::previous_run_dir`) and reads its manifest. An
/// unusable one gives a full run with new golden ids, with a warning saying why.
fn previous_run(out_dir: &std::path::Path, p: &Pipeline, full: bool) -> Previous {
    let dir = match previous_run_dir(out_dir) {
        Ok(Some(dir)) => dir,
        Ok(None) => return Previous::default(),
        Err(why) => {
            tracing::warn!("previous run unusable: {why}; full run, golden ids start afresh");
            return Previous::default();
        }
    };
    match Manifest::read(&dir.join(layout::MANIFEST)) {
        Ok(m) => {
            let same = m.pipeline_hash == p.hash && m.status == "succeeded";
            Previous {
                columns: m.source_columns,
                incremental_from: (same && !full).then(|| dir.clone()),
                dir: Some(dir),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "previous manifest unreadable; schema drift not checked, full run");
            Previous {
                dir: Some(dir),
                ..Previous::default()
            }
        }
    }
}

/// Ingests, standardizes, blocks and compares; fails on a source over its reject limit
/// after writing its rejects into `on_rejects`.
async fn prepare(
    p: &Pipeline,
    stages: &mut Stages,
    previous: &Previous,
    on_rejects: impl FnOnce(&[Reject], &BTreeMap<String, SourceCounts>) -> Result<PathBuf>,
) -> Result<Prepared> {
    let mut ing = ingest_stage(p, stages, previous).await?;
    let source_columns: SourceColumns = ing
        .sources
        .iter()
        .map(|s| (s.name.clone(), s.columns.clone()))
        .collect();
    let sources = source_counts(&ing);
    if let Some(over) = over_reject_limit(p, &sources) {
        let rejects_path = on_rejects(&ing.rejects, &sources)?;
        return Err(over.into_error(rejects_path));
    }
    let fields = p.fields();
    // The raw batches are dropped once standardised: their field columns are not needed again.
    let raw = std::mem::take(&mut ing.sources);
    let records = stages.time("standardize", || standardize_all(p, raw, &fields))?;
    let (records, placeholders) = stages.time("placeholders", || {
        standardize::placeholder::mask(records, &fields, p.sources.len())
    })?;
    let blocks = stages.time("block", || block::block(&records, &p.blocking))?;
    let content_hashes = compare::cache::record_hashes(&records, &p.comparisons)?;
    let reuse = reuse_previous(p, stages, previous, &records, &content_hashes)?;
    let compared = stages.time("compare", || {
        compare::compare(&records, &p.comparisons, &blocks, reuse.cache.as_ref())
    })?;
    tracing::info!(
        records = records.num_rows(),
        candidate_pairs = compared.len(),
        "pairs compared"
    );
    Ok(Prepared {
        records,
        rejects: ing.rejects,
        sources,
        source_columns,
        content_hashes,
        placeholders,
        incremental_from: reuse.incremental_from,
        previous_crosswalk: reuse.crosswalk,
        previous_dir: reuse.dir,
        blocks,
        compared,
    })
}

/// The ingest stage, timed like the others but asynchronous, its log line with the rejects.
async fn ingest_stage(
    p: &Pipeline,
    stages: &mut Stages,
    previous: &Previous,
) -> Result<ingest::Ingested> {
    stages.check()?;
    let clock = Clock::start();
    let ing = ingest::ingest(p, &previous.columns)
        .instrument(crate::telemetry::stage_span("ingest"))
        .await?;
    stages.record("ingest", clock.seconds());
    clock.log_resources("ingest");
    tracing::info!(
        stage = "ingest",
        seconds = clock.seconds(),
        rejects = ing.rejects.len(),
        "stage completed"
    );
    Ok(ing)
}

/// Rows read, rejected and kept of every source.
fn source_counts(ing: &ingest::Ingested) -> BTreeMap<String, SourceCounts> {
    ing.sources
        .iter()
        .map(|s| {
            let c = SourceCounts {
                rows_read: s.rows_read,
                rows_rejected: s.rows_rejected,
                records: s.batch.num_rows() as u64,
            };
            (s.name.clone(), c)
        })
        .collect()
}

/// A source that rejected more of its rows than its `max_reject_ratio` allows.
struct OverRejectLimit {
    /// The source's name.
    source_name: String,
    /// Its counts.
    counts: SourceCounts,
    /// Rejected over read rows.
    ratio: f64,
    /// Its `max_reject_ratio`.
    max: f64,
}

impl OverRejectLimit {
    /// The run's error, naming the rejects file written at `rejects`.
    fn into_error(self, rejects: PathBuf) -> Error {
        Error::TooManyRejects {
            source_name: self.source_name,
            rejected: self.counts.rows_rejected,
            total: self.counts.rows_read,
            ratio: self.ratio * 100.0,
            max: self.max * 100.0,
            rejects,
        }
    }
}

/// The first source, in pipeline order, over its reject limit.
fn over_reject_limit(
    p: &Pipeline,
    sources: &BTreeMap<String, SourceCounts>,
) -> Option<OverRejectLimit> {
    p.sources.iter().find_map(|cfg| {
        let c = sources.get(&cfg.name)?;
        let ratio = if c.rows_read == 0 {
            0.0
        } else {
            c.rows_rejected as f64 / c.rows_read as f64
        };
        (ratio > cfg.max_reject_ratio).then(|| OverRejectLimit {
            source_name: cfg.name.clone(),
            counts: c.clone(),
            ratio,
            max: cfg.max_reject_ratio,
        })
    })
}

/// Standardizes every source in parallel and concatenates them into one batch.
fn standardize_all(
    p: &Pipeline,
    raw: Vec<ingest::SourceRecords>,
    fields: &[String],
) -> Result<RecordBatch> {
    let parts = raw
        .into_par_iter()
        .map(|s| standardize::standardize(&s.batch, fields, &p.standardize))
        .collect::<Result<Vec<_>>>()?;
    let schema = parts
        .first()
        .map(|b| b.schema())
        .ok_or_else(|| Error::Pipeline("the pipeline has no sources".into()))?;
    // One copy of every column, the columns in parallel (a serial concatenation of the
    // whole table took ~0.4 s at 1M entities).
    let columns = (0..schema.fields().len())
        .into_par_iter()
        .map(|c| {
            let parts: Vec<&dyn arrow::array::Array> =
                parts.iter().map(|b| b.column(c).as_ref()).collect();
            Ok(arrow::compute::concat(&parts)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// What this run reuses of the previous run, once its tables are read and checked.
struct Reuse {
    /// The previous crosswalk (for the cache and stable ids).
    crosswalk: Option<RecordBatch>,
    /// The previous run whose golden ids are kept.
    dir: Option<PathBuf>,
    /// The previous run whose comparisons are reused (an incremental run).
    incremental_from: Option<PathBuf>,
    /// The comparisons reused.
    cache: Option<compare::cache::PairCache>,
}

/// Reads the previous crosswalk once and, for an incremental run, the comparisons to reuse.
/// An unusable crosswalk means no previous ids; unusable comparisons a full run; each with a
/// warning.
fn reuse_previous(
    p: &Pipeline,
    stages: &mut Stages,
    previous: &Previous,
    records: &RecordBatch,
    content_hashes: &[u64],
) -> Result<Reuse> {
    let previous_crosswalk = previous.dir.as_ref().and_then(|dir| {
        stable_ids::read_crosswalk(dir)
            .map_err(|e| {
                tracing::warn!(error = %e, "previous crosswalk unusable; full run, golden ids start afresh")
            })
            .ok()
    });
    let cache = match (&previous.incremental_from, &previous_crosswalk) {
        (Some(dir), Some(xw)) => stages.time("pair_cache", || {
            let cache = compare::cache::PairCache::load(
                dir,
                xw,
                records,
                content_hashes,
                &p.comparisons,
            );
            Ok(cache
                .map_err(|e| {
                    tracing::warn!(error = %e, "previous comparisons unusable; comparing every pair (full run)")
                })
                .ok())
        })?,
        _ => None,
    };
    Ok(Reuse {
        dir: previous
            .dir
            .clone()
            .filter(|_| previous_crosswalk.is_some()),
        incremental_from: previous
            .incremental_from
            .clone()
            .filter(|_| cache.is_some()),
        crosswalk: previous_crosswalk,
        cache,
    })
}

/// Trains the model of `p` on its sources (for `golden train`).
pub async fn train(p: &Pipeline) -> Result<ModelParams> {
    let mut stages = Stages::default();
    let prep = prepare(p, &mut stages, &Previous::default(), |_, _| {
        Ok(PathBuf::new())
    })
    .await?;
    stages.time("train", || {
        model::train(&prep.records, p, &prep.blocks, &prep.compared)
    })
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

/// Runs the whole pipeline and commits a run directory.
pub async fn run(p: &Pipeline, opts: &RunOptions) -> Result<RunSummary> {
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
    let (dir, prep) = prepare_in(p, &mut stages, &previous, dir, &manifest).await?;
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
        ..Default::default()
    }
}

/// [`prepare`] for a run writing into `dir`: a source over its reject limit leaves `dir` as a
/// failed run with its rejects and a manifest saying why; any other error removes it.
async fn prepare_in(
    p: &Pipeline,
    stages: &mut Stages,
    previous: &Previous,
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
    match prepare(p, stages, previous, failed).await {
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

/// Scores, clusters, survives and writes every file of the run into its directory, in the
/// order of DESIGN.md's stage table.
fn finish_run(ctx: &mut RunContext, prep: Prepared, manifest: &mut Manifest) -> Result<()> {
    let Prepared {
        records,
        rejects,
        sources,
        blocks,
        compared,
        source_columns,
        content_hashes,
        incremental_from,
        previous_crosswalk,
        placeholders,
        previous_dir,
    } = prep;
    let mode = if incremental_from.is_some() {
        "incremental"
    } else {
        "full"
    };
    manifest.mode = mode.into();
    let reused = compared.reused;
    manifest.counts.insert("pairs_reused".into(), reused);
    let mut params = train_stage(ctx, manifest, &records, &blocks, &compared)?;
    let manual = load_manual(ctx.p, &records)?;
    let mut compared = compared;
    manual.append_missing(&records, ctx.p, &mut compared)?;
    let scored = score_stage(ctx, &mut params, &records, &compared, &manual)?;
    let previous = PreviousIds {
        dir: previous_dir.as_deref(),
        crosswalk: previous_crosswalk.as_ref(),
    };
    let scored_pairs = ScoredPairs {
        records: &records,
        compared: &compared,
        scored: &scored,
        manual: &manual,
    };
    let (clusters, changes) = cluster_and_write_decisions(ctx, &scored_pairs, previous)?;
    let pair_counts = PairCounts::of(&scored_pairs);
    let blocking_stats = blocks.stats.clone();
    drop((compared, scored, blocks));
    survive_stage(ctx, &records, &clusters, &changes)?;
    write_stage(
        ctx,
        &records,
        &clusters,
        &changes,
        &content_hashes,
        &rejects,
        &params,
    )?;
    let counts = RunCounts {
        rows_read: sources.values().map(|s| s.rows_read).sum::<u64>(),
        rows_rejected: rejects.len() as u64,
        records: records.num_rows() as u64,
        golden_records: clusters.len() as u64,
        pairs: pair_counts,
    };
    counts.write_into(&mut manifest.counts, &changes);
    counts.log(changes.rows.len());
    manifest.sources = sources;
    manifest.source_columns = source_columns;
    manifest.blocking = blocking_stats;
    manifest.placeholders = placeholders;
    write_manifest(ctx, manifest)
}

/// The manual decisions of the pipeline, if it has a file of them.
fn load_manual(p: &Pipeline, records: &RecordBatch) -> Result<cluster::ManualDecisions> {
    match cluster::manual::path_of(p) {
        Some(path) => cluster::manual::load(&path, records),
        None => Ok(cluster::ManualDecisions::default()),
    }
}

/// Checksums the run's files (stage `checksum_outputs`) and writes the manifest as succeeded,
/// with every stage's timing.
fn write_manifest(ctx: &mut RunContext, manifest: &mut Manifest) -> Result<()> {
    let dir = ctx.dir;
    manifest.files = ctx.stages.time("checksum_outputs", || {
        output::manifest::describe_run_files(&dir.tmp)
    })?;
    manifest.timings_s = ctx.stages.timings.clone();
    manifest.status = "succeeded".into();
    manifest.finished_at = chrono::Utc::now().to_rfc3339();
    manifest.write(&dir.file(layout::MANIFEST))
}

/// The model: the pinned one, or trained in this run. Trained every run unless pinned: a
/// model reused from the previous run would make the result depend on the run history, and
/// incremental runs must equal `--full` (DESIGN §5).
fn train_stage(
    ctx: &mut RunContext,
    manifest: &mut Manifest,
    records: &RecordBatch,
    blocks: &Blocks,
    compared: &Compared,
) -> Result<ModelParams> {
    let p = ctx.p;
    match &p.model.model_file {
        Some(path) => {
            manifest.model_source = format!("loaded from {}", path.display());
            ModelParams::load_pinned(path, p)
        }
        None => {
            manifest.model_source = "trained in this run".into();
            ctx.stages
                .time("train", || model::train(records, p, blocks, compared))
        }
    }
}

/// Scores every pair; with manual labels and a trained model, moves the match threshold to
/// agree with the labels (and scores again if it moved); then marks the manual pairs.
fn score_stage(
    ctx: &mut RunContext,
    params: &mut ModelParams,
    records: &RecordBatch,
    compared: &Compared,
    manual: &cluster::ManualDecisions,
) -> Result<Scored> {
    let p = ctx.p;
    let mut scored = ctx
        .stages
        .time("score", || model::score(records, p, params, compared))?;
    if p.model.model_file.is_none() && !manual.pairs.is_empty() {
        let report = refine_with_labels(p, params, compared, &scored, manual);
        if report.threshold_after != report.threshold_before {
            scored = ctx
                .stages
                .time("score", || model::score(records, p, params, compared))?;
        }
        params.labels = Some(report);
    }
    manual.mark(compared, &mut scored);
    Ok(scored)
}

/// Checks the model on the manually labelled pairs and, unless the pipeline fixes the match
/// threshold, moves it to agree with them ([`model::labels::refine`]).
fn refine_with_labels(
    p: &Pipeline,
    params: &mut ModelParams,
    compared: &Compared,
    scored: &Scored,
    manual: &cluster::ManualDecisions,
) -> model::labels::LabelReport {
    let labelled: Vec<(f64, bool)> = (0..compared.len())
        .filter_map(|i| {
            let must = manual.pairs.get(&(compared.left[i], compared.right[i]))?;
            Some((scored.probability[i], *must))
        })
        .collect();
    let (matched, review) = params.thresholds_for(&p.model);
    let movable = p.model.match_threshold.is_none();
    model::labels::refine(params, &labelled, (review, matched), movable)
}

/// The records and their scored pairs, as clustering and the decisions table read them.
struct ScoredPairs<'a> {
    records: &'a RecordBatch,
    compared: &'a Compared,
    scored: &'a Scored,
    manual: &'a cluster::ManualDecisions,
}

/// The previous run whose golden ids this run keeps, and its crosswalk.
#[derive(Clone, Copy)]
struct PreviousIds<'a> {
    dir: Option<&'a std::path::Path>,
    crosswalk: Option<&'a RecordBatch>,
}

/// Clusters and golden ids with their changes, the stages `cluster` and `stable_ids`, and the
/// decisions table (`write_decisions`). Clustering and golden ids (mostly serial work) run on a
/// thread of their own while the decisions are written on rayon's pool: neither needs the
/// other.
fn cluster_and_write_decisions(
    ctx: &mut RunContext,
    pairs: &ScoredPairs,
    previous: PreviousIds,
) -> Result<(Clusters, Changes)> {
    let (p, dir) = (ctx.p, ctx.dir);
    let clock = Clock::start();
    let (decided, clustered) = std::thread::scope(|scope| {
        let clustered = scope.spawn(|| cluster_and_ids(p, &dir.run_id, pairs, previous));
        let decided = timed("write_decisions", || {
            tables::write_decisions(dir, pairs.records, p, pairs.compared, pairs.scored)
        });
        let clustered = clustered
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the clustering thread panicked".into())));
        (decided, clustered)
    });
    ctx.stages.record("write_decisions", decided?.1);
    clock.log_resources("cluster+stable_ids+write_decisions");
    let (clustered, seconds) = clustered?;
    for (stage, secs) in seconds {
        ctx.stages.record(stage, secs);
    }
    Ok(clustered)
}

/// Timed stages `cluster` and `stable_ids`: the clusters with their golden ids and changes, and
/// each stage's wall seconds.
type ClusteredWithTimes = ((Clusters, Changes), [(&'static str, f64); 2]);

/// The stages `cluster` and `stable_ids`, each timed.
fn cluster_and_ids(
    p: &Pipeline,
    run_id: &str,
    pairs: &ScoredPairs,
    previous: PreviousIds,
) -> Result<ClusteredWithTimes> {
    let clusters = timed("cluster", || {
        let conflicts = cluster::conflict_pairs(p, pairs.compared, pairs.scored);
        cluster::cluster(
            pairs.records,
            pairs.compared,
            pairs.scored,
            pairs.manual,
            &conflicts,
        )
    })?;
    let ids = timed("stable_ids", || {
        let mut clusters = clusters.0;
        let previous = previous.dir.and_then(|prev| {
            PreviousRun::load(prev, previous.crosswalk)
                .map_err(|e| {
                    tracing::warn!(error = %e, "previous run unusable for golden ids; they start afresh")
                })
                .ok()
        });
        let changes = stable_ids::assign(&mut clusters, pairs.records, previous.as_ref(), run_id)?;
        // Millions of small strings: freed on a thread of their own while the run goes on.
        std::thread::spawn(move || drop(previous));
        Ok((clusters, changes))
    })?;
    Ok((ids.0, [("cluster", clusters.1), ("stable_ids", ids.1)]))
}

/// Golden records and lineage, written to their files chunk by chunk as they are survived.
fn survive_stage(
    ctx: &mut RunContext,
    records: &RecordBatch,
    clusters: &Clusters,
    changes: &Changes,
) -> Result<()> {
    let (p, dir) = (ctx.p, ctx.dir);
    ctx.stages.time("survive", || {
        let mut golden = TableWriter::new(&dir.table(Table::Golden));
        let mut lineage = TableWriter::new(&dir.table(Table::Lineage));
        let mut start = 0;
        survive::survive(records, p, clusters, &changes.created_run, |g, l| {
            start += g.num_rows();
            golden.write(g)?;
            lineage.write(l)
        })?;
        if start != clusters.len() {
            return Err(Error::Internal(format!(
                "survive: {start} golden records for {} clusters",
                clusters.len()
            )));
        }
        golden.finish()?;
        lineage.finish()
    })
}

/// The stage `write`: changes, crosswalk, rejects and the model.
fn write_stage(
    ctx: &mut RunContext,
    records: &RecordBatch,
    clusters: &Clusters,
    changes: &Changes,
    content_hashes: &[u64],
    rejects: &[Reject],
    params: &ModelParams,
) -> Result<()> {
    let dir = ctx.dir;
    ctx.stages.time("write", || {
        let (changed, crossed) = rayon::join(
            || write_parquet(&dir.table(Table::Changes), &changes.batch()?),
            || {
                let crosswalk = tables::crosswalk(records, clusters, content_hashes)?;
                write_parquet(&dir.table(Table::Crosswalk), &crosswalk)
            },
        );
        changed?;
        crossed?;
        write_parquet(&dir.table(Table::Rejects), &rejects_batch(rejects)?)?;
        write_file(&dir.file(layout::MODEL), params.to_json()?.as_bytes())
    })
}

/// Counts of the scored pairs, for the manifest.
struct PairCounts {
    candidate_pairs: u64,
    match_pairs: u64,
    review_pairs: u64,
    manual_pairs: u64,
    manual_contradictions: u64,
}

impl PairCounts {
    /// Counts the pairs of each decision.
    fn of(pairs: &ScoredPairs) -> PairCounts {
        let count = |d: Decision| pairs.scored.decision.iter().filter(|&&x| x == d).count() as u64;
        PairCounts {
            candidate_pairs: pairs.compared.len() as u64,
            match_pairs: count(Decision::Match),
            review_pairs: count(Decision::Review),
            manual_pairs: count(Decision::Manual),
            manual_contradictions: pairs.manual.contradictions as u64,
        }
    }
}

/// The counts of a finished run (besides `pairs_reused` and the changes).
struct RunCounts {
    rows_read: u64,
    rows_rejected: u64,
    records: u64,
    golden_records: u64,
    pairs: PairCounts,
}

impl RunCounts {
    /// The counts under their manifest names.
    fn entries(&self) -> [(&'static str, u64); 9] {
        let pairs = &self.pairs;
        [
            ("rows_read", self.rows_read),
            ("rows_rejected", self.rows_rejected),
            ("records", self.records),
            ("golden_records", self.golden_records),
            ("candidate_pairs", pairs.candidate_pairs),
            ("match_pairs", pairs.match_pairs),
            ("review_pairs", pairs.review_pairs),
            ("manual_pairs", pairs.manual_pairs),
            ("manual_contradictions", pairs.manual_contradictions),
        ]
    }

    /// Writes these counts and those of each kind of change (`changes_<kind>`) into the
    /// manifest's counts.
    fn write_into(&self, counts: &mut BTreeMap<String, u64>, changes: &Changes) {
        for (k, v) in self.entries() {
            counts.insert(k.into(), v);
        }
        for kind in [
            ChangeKind::New,
            ChangeKind::Updated,
            ChangeKind::MergedInto,
            ChangeKind::SplitFrom,
            ChangeKind::Retired,
        ] {
            let key = format!("changes_{}", kind.as_str());
            counts.insert(key, changes.count(kind));
        }
    }

    /// Logs the run summary (counts only).
    fn log(&self, changes: usize) {
        tracing::info!(
            records = self.records as usize,
            candidate_pairs = self.pairs.candidate_pairs,
            match_pairs = self.pairs.match_pairs,
            golden_records = self.golden_records as usize,
            changes,
            "run summary"
        );
    }
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
