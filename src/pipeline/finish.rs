//! Everything after comparing, in DESIGN.md's stage order: train, score (with the labels),
//! cluster and stable ids, survive, write, and the manifest's counts.

use super::*;
use crate::model::select::{DECISIONS_FLOOR, Selected};
use crate::model::tally::Tally;

/// Scores, clusters, survives and writes every file of the run into its directory, in the
/// order of DESIGN.md's stage table.
pub(super) fn finish_run(
    ctx: &mut RunContext,
    prep: Prepared,
    manifest: &mut Manifest,
) -> Result<()> {
    let Prepared {
        records,
        rejects,
        sources,
        candidates,
        tally,
        source_columns,
        content_hashes,
        incremental_from,
        placeholders,
        previous,
        profile,
    } = prep;
    record_mode(manifest, incremental_from.is_some(), candidates.reused());
    let mut params = train_stage(ctx, manifest, &records, &tally)?;
    drop(tally);
    let manual = load_manual(ctx.p, &records)?;
    let (compared, scored, mut selected) =
        score_stage(ctx, &mut params, &records, &candidates, &manual)?;
    // Blocks and packed comparisons are not needed past scoring: freed before clustering,
    // the run's peak.
    let mut blocking_stats = candidates.stats();
    drop(candidates);
    // records.parquet is the last reader of the match keys' values: written now, before
    // clustering (the run's peak), the keys shrink to their nulls.
    let dir = ctx.dir;
    ctx.stages
        .time("write_records", || write_records(dir, &records))?;
    let records = standardize::records::without_key_values(records)?;
    crate::memory::release_free_memory();
    let thresholds = params.thresholds_for(&ctx.p.model);
    manifest.weight_histogram =
        Some(std::mem::take(&mut selected.histogram).with_thresholds(thresholds));
    let scored_pairs = ScoredPairs {
        records: &records,
        compared: &compared,
        scored: &scored,
        manual: &manual,
        conflicts: &selected.conflicts,
    };
    let (mut clusters, changes) =
        cluster_and_write_decisions(ctx, &scored_pairs, previous.as_ref())?;
    let pair_counts = PairCounts::of(&scored_pairs, &selected);
    for (r, stats) in blocking_stats.iter_mut().enumerate() {
        stats.candidate_pairs = selected.per_rule.get(r).copied();
        stats.below_floor = selected.below_floor.get(r).copied();
    }
    manifest.decisions = Some(ctx.p.output.decisions.describe(DECISIONS_FLOOR));
    let mut known = report_known(&records, &clusters, &compared, &scored)?;
    drop((compared, scored, selected));
    crate::memory::release_free_memory();
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
    // The report reads the golden records and review queue back (the crosswalk and links it
    // takes from `known`): free the run's own copies first, so its reading reuses that memory
    // instead of adding to the run's peak.
    known.cluster = std::mem::take(&mut clusters.cluster_of);
    drop((records, clusters, changes, content_hashes, rejects, manual));
    manifest.sources = sources;
    manifest.source_columns = source_columns;
    manifest.blocking = blocking_stats;
    manifest.placeholders = placeholders;
    manifest.profile = profile;
    manifest.report_redact = ctx.p.report.redact;
    report_stage(ctx, manifest, Some(known))?;
    write_manifest(ctx, manifest)
}

/// What the report reads of this run's crosswalk and decisions, from what the run holds: each
/// record's key, and the linked, manual and review pairs within one cluster in
/// `decisions.parquet` order (its row `i` is pair `i`). Each record's cluster (golden rows are
/// written in cluster order) is moved in once survive and write are done with it.
fn report_known(
    records: &RecordBatch,
    clusters: &Clusters,
    compared: &Compared,
    scored: &Scored,
) -> Result<crate::report::index::Known> {
    use crate::report::clusters::{LINKS, Link};
    let text =
        |name| crate::run::text(records, name, crate::run::Text::Cast).map_err(Error::Internal);
    let of = &clusters.cluster_of;
    let links = (0..compared.len())
        .into_par_iter()
        .filter_map(|i| {
            let d = scored.decision[i].as_str();
            let (a, b) = (compared.left[i], compared.right[i]);
            let c = of[a as usize];
            (LINKS.contains(&d) && c == of[b as usize]).then(|| {
                let p = scored.probability[i];
                (c, Link { a, b, p, d })
            })
        })
        .collect();
    Ok(crate::report::index::Known {
        sources: text(crate::schema::SOURCE)?,
        ids: text(crate::schema::SOURCE_ID)?,
        cluster: Vec::new(),
        links,
    })
}

/// Records in the manifest whether the run is incremental and how many comparisons it reused.
fn record_mode(manifest: &mut Manifest, incremental: bool, pairs_reused: u64) {
    manifest.mode = if incremental { "incremental" } else { "full" }.into();
    manifest.counts.pairs_reused = Some(pairs_reused);
}

/// The manual decisions of the pipeline, if it has a file of them.
pub(super) fn load_manual(p: &Pipeline, records: &RecordBatch) -> Result<cluster::ManualDecisions> {
    match cluster::manual::path_of(p) {
        Some(path) => cluster::manual::load(&path, records),
        None => Ok(cluster::ManualDecisions::default()),
    }
}

/// The stage `report`: `report.html`, built from the files just written (the manifest as it
/// stands, written first) and what the run holds (`known`), through the same function as
/// `golden report`.
pub(super) fn report_stage(
    ctx: &mut RunContext,
    manifest: &mut Manifest,
    known: Option<crate::report::index::Known>,
) -> Result<()> {
    let dir = ctx.dir;
    manifest.timings_s = ctx.stages.timings.clone();
    manifest.write(&dir.file(layout::MANIFEST))?;
    let opts = crate::report::ReportOptions {
        redact: manifest.report_redact,
    };
    ctx.stages
        .time("report", || crate::report::write(&dir.tmp, opts, known))
}

/// Checksums the run's files (stage `checksum_outputs`) and writes the manifest as succeeded,
/// with every stage's timing.
pub(super) fn write_manifest(ctx: &mut RunContext, manifest: &mut Manifest) -> Result<()> {
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
pub(super) fn train_stage(
    ctx: &mut RunContext,
    manifest: &mut Manifest,
    records: &RecordBatch,
    tally: &Tally,
) -> Result<ModelParams> {
    let p = ctx.p;
    match &p.model.model_file {
        Some(path) => {
            manifest.model_source = format!("loaded from {}", path.display());
            ModelParams::load_pinned(path, p)
        }
        None => {
            manifest.model_source = "trained in this run".into();
            ctx.stages.time("train", || model::train(records, p, tally))
        }
    }
}

/// Scores every candidate pair and keeps those above the decisions floor (with the manual
/// pairs, compared here when no rule found them); with manual labels and a trained model,
/// moves the match threshold to agree with the labels (and scores again if it moved); then
/// marks the manual pairs.
pub(super) fn score_stage(
    ctx: &mut RunContext,
    params: &mut ModelParams,
    records: &RecordBatch,
    candidates: &Candidates,
    manual: &cluster::ManualDecisions,
) -> Result<(Compared, Scored, Selected)> {
    let p = ctx.p;
    let floor = p.output.decisions.floor(DECISIONS_FLOOR);
    let model: &ModelParams = params;
    let (selected, compared, mut scored) = ctx.stages.time("score", || {
        let scorer = model::score::Scorer::new(records, p, model)?;
        let is_manual = |a, b| manual.pairs.contains_key(&(a, b));
        let mut selected = match candidates {
            Candidates::Local { blocks, packed } => {
                model::select::select(&scorer, packed, blocks, floor, is_manual)
            }
            #[cfg(feature = "distributed")]
            Candidates::Cluster(pairs) => pairs.select(&scorer, p, floor, manual)?,
        };
        let mut compared = std::mem::take(&mut selected.kept);
        manual.append_missing(records, p, &mut compared)?;
        let scored = scorer.score(&compared);
        Ok((selected, compared, scored))
    })?;
    if p.model.model_file.is_none() && !manual.pairs.is_empty() {
        let report =
            model::labels::refine_with_labels(p, params, &compared, &scored, &manual.pairs);
        if report.threshold_after != report.threshold_before {
            scored = model::score(records, p, params, &compared)?;
        }
        params.labels = Some(report);
    }
    manual.mark(&compared, &mut scored);
    Ok((compared, scored, selected))
}

/// The records and their scored pairs, as clustering and the decisions table read them.
pub(super) struct ScoredPairs<'a> {
    records: &'a RecordBatch,
    compared: &'a Compared,
    scored: &'a Scored,
    manual: &'a cluster::ManualDecisions,
    /// Identity-conflict pairs among every candidate (also those not kept).
    conflicts: &'a [(u32, u32)],
}

/// Clusters and golden ids with their changes, the stages `cluster` and `stable_ids`, and the
/// decisions table (`write_decisions`). Clustering and golden ids (mostly serial work) run on a
/// thread of their own while the decisions are written on rayon's pool: neither needs the
/// other.
pub(super) fn cluster_and_write_decisions(
    ctx: &mut RunContext,
    pairs: &ScoredPairs,
    previous: Option<&run::Previous>,
) -> Result<(Clusters, Changes)> {
    let (p, dir) = (ctx.p, ctx.dir);
    let clock = Clock::start();
    let (decided, clustered) = std::thread::scope(|scope| {
        let clustered = scope.spawn(|| cluster_and_ids(&dir.run_id, pairs, previous));
        let decided = timed("write_decisions", || {
            tables::write_decisions(dir, pairs.records, p, pairs.compared, pairs.scored)
        });
        let clustered = clustered
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the clustering thread panicked".into())));
        (decided, clustered)
    });
    ctx.stages.record("write_decisions", decided?.1);
    crate::memory::release_free_memory();
    clock.log_resources("cluster+stable_ids+write_decisions");
    let (clustered, seconds) = clustered?;
    for (stage, secs) in seconds {
        ctx.stages.record(stage, secs);
    }
    Ok(clustered)
}

/// Timed stages `cluster` and `stable_ids`: the clusters with their golden ids and changes, and
/// each stage's wall seconds.
pub(super) type ClusteredWithTimes = ((Clusters, Changes), [(&'static str, f64); 2]);

/// The stages `cluster` and `stable_ids`, each timed.
pub(super) fn cluster_and_ids(
    run_id: &str,
    pairs: &ScoredPairs,
    previous: Option<&run::Previous>,
) -> Result<ClusteredWithTimes> {
    let clusters = timed("cluster", || {
        let conflicts = cluster::conflict_pairs(pairs.conflicts, pairs.manual);
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
        let previous = previous.and_then(|prev| {
            PreviousRun::load(prev)
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
pub(super) fn survive_stage(
    ctx: &mut RunContext,
    records: &RecordBatch,
    clusters: &Clusters,
    changes: &Changes,
) -> Result<()> {
    let (p, dir) = (ctx.p, ctx.dir);
    ctx.stages.time("survive", || {
        // Both in cluster order: no text column is sorted.
        let mut golden = TableWriter::new(&dir.table(Table::Golden)).text_statistics(&[]);
        let mut lineage = TableWriter::new(&dir.table(Table::Lineage)).text_statistics(&[]);
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

/// The stage `write`: changes, crosswalk, rejects, a copy of the pipeline file and the model
/// (`records.parquet` was written before clustering).
pub(super) fn write_stage(
    ctx: &mut RunContext,
    records: &RecordBatch,
    clusters: &Clusters,
    changes: &Changes,
    content_hashes: &[u64],
    rejects: &[Reject],
    params: &ModelParams,
) -> Result<()> {
    let (p, dir) = (ctx.p, ctx.dir);
    ctx.stages.time("write", || {
        let (changed, crossed) = rayon::join(
            || write_parquet(&dir.table(Table::Changes), &changes.batch()?),
            || {
                let crosswalk = cluster::crosswalk::crosswalk(records, clusters, content_hashes)?;
                write_parquet(&dir.table(Table::Crosswalk), &crosswalk)
            },
        );
        changed?;
        crossed?;
        write_parquet(&dir.table(Table::Rejects), &rejects_batch(rejects)?)?;
        write_file(&dir.file(layout::PIPELINE), p.text.as_bytes())?;
        write_file(&dir.file(layout::MODEL), params.to_json()?.as_bytes())
    })
}

/// `records.parquet` ([`standardize::records::records_table`]).
fn write_records(dir: &RunDir, records: &RecordBatch) -> Result<()> {
    let table = standardize::records::records_table(records)?;
    // Grouped by source, each in its file order: only the keys keep text statistics.
    let keys = [crate::schema::SOURCE, crate::schema::SOURCE_ID];
    let mut w = TableWriter::new(&dir.table(Table::Records)).text_statistics(&keys);
    w.write(table)?;
    w.finish()
}

/// Counts of the scored pairs, for the manifest.
pub(super) struct PairCounts {
    candidate_pairs: u64,
    decisions_written: u64,
    below_floor: u64,
    match_pairs: u64,
    review_pairs: u64,
    manual_pairs: u64,
    manual_contradictions: u64,
}

impl PairCounts {
    /// Counts the pairs of each decision.
    fn of(pairs: &ScoredPairs, selected: &Selected) -> PairCounts {
        let count = |d: Decision| pairs.scored.decision.iter().filter(|&&x| x == d).count() as u64;
        PairCounts {
            candidate_pairs: selected.per_rule.iter().sum(),
            decisions_written: pairs.compared.len() as u64,
            below_floor: selected.below_floor.iter().sum(),
            match_pairs: count(Decision::Match),
            review_pairs: count(Decision::Review),
            manual_pairs: count(Decision::Manual),
            manual_contradictions: pairs.manual.contradictions as u64,
        }
    }
}

/// The counts of a finished run (besides `pairs_reused` and the changes).
pub(super) struct RunCounts {
    rows_read: u64,
    rows_rejected: u64,
    records: u64,
    golden_records: u64,
    pairs: PairCounts,
}

impl RunCounts {
    /// Writes these counts and those of each kind of change (`changes_<kind>`) into the
    /// manifest's counts.
    fn write_into(&self, counts: &mut Counts, changes: &Changes) {
        let pairs = &self.pairs;
        counts.rows_read = Some(self.rows_read);
        counts.rows_rejected = Some(self.rows_rejected);
        counts.records = Some(self.records);
        counts.golden_records = Some(self.golden_records);
        counts.candidate_pairs = Some(pairs.candidate_pairs);
        counts.decisions_written = Some(pairs.decisions_written);
        counts.pairs_below_floor = Some(pairs.below_floor);
        counts.match_pairs = Some(pairs.match_pairs);
        counts.review_pairs = Some(pairs.review_pairs);
        counts.manual_pairs = Some(pairs.manual_pairs);
        counts.manual_contradictions = Some(pairs.manual_contradictions);
        for kind in [
            ChangeKind::New,
            ChangeKind::Updated,
            ChangeKind::MergedInto,
            ChangeKind::SplitFrom,
            ChangeKind::Retired,
        ] {
            let n = changes.count(kind.clone());
            counts.set_changes(&kind, n);
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
