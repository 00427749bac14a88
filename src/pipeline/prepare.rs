//! Everything before scoring: the previous run, ingest (with the reject limit), standardize,
//! block and compare.

use super::*;
use crate::compare::chunks::{Packed, compare_packed};
use crate::config::KeyTransform;
use crate::model::tally::{Tally, TallyPlan};
use crate::standardize::value_ids::MatchIds;

/// Records standardized, blocked and compared: everything before scoring.
pub struct Prepared {
    /// Standardized records of every source, `record_idx` = row.
    pub records: RecordBatch,
    /// Rejected input rows.
    pub rejects: Vec<Reject>,
    /// Per-source counts.
    pub sources: BTreeMap<String, SourceCounts>,
    /// The candidate pairs, compared here or on a cluster.
    pub candidates: Candidates,
    /// The counts of comparison vectors that training needs.
    pub tally: Tally,
    /// Columns of each source as read.
    pub source_columns: SourceColumns,
    /// Content hash of each record's match values (unchanged hash: comparisons reusable).
    pub content_hashes: Vec<u64>,
    /// The previous run this one is incremental on, if any (its comparisons are reused).
    pub incremental_from: Option<PathBuf>,
    /// Placeholder values found per field (treated as missing for matching).
    pub placeholders: standardize::placeholder::Placeholders,
    /// The previous run whose golden ids this run keeps, if its crosswalk is usable.
    pub previous: Option<run::Previous>,
    /// Per source and field: values present, standardised cleanly, distinct keys.
    pub profile: standardize::profile::Profile,
}

/// The candidate pairs of a run with their comparison vectors.
pub enum Candidates {
    /// Blocked and compared in this process: every rule's blocks, and every candidate pair's
    /// comparison vector, packed.
    Local {
        /// Blocks of every rule.
        blocks: Blocks,
        /// Comparison vectors of every candidate pair, packed.
        packed: Packed,
    },
    /// Blocked and compared on a Ballista cluster; the pairs a run keeps are fetched once the
    /// model is trained.
    #[cfg(feature = "distributed")]
    Cluster(Box<crate::distributed::pairs::ClusterPairs>),
}

impl Candidates {
    /// Each rule's blocks and pairs.
    pub fn stats(&self) -> Vec<block::RuleStats> {
        match self {
            Candidates::Local { blocks, .. } => blocks.stats.clone(),
            #[cfg(feature = "distributed")]
            Candidates::Cluster(c) => c.stats.clone(),
        }
    }

    /// Pairs whose comparisons were reused from the previous run.
    pub fn reused(&self) -> u64 {
        match self {
            Candidates::Local { packed, .. } => packed.reused,
            #[cfg(feature = "distributed")]
            Candidates::Cluster(_) => 0,
        }
    }
}

/// Where a run blocks and compares: `scheduler` is a Ballista scheduler's `df://host:port`, or
/// `standalone` for a scheduler and an executor inside this process; the records are staged
/// under `staging`, which every executor must read at the same path.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "distributed"), allow(dead_code))] // refused before it is read
pub(super) struct OnCluster {
    pub(super) scheduler: String,
    pub(super) staging: PathBuf,
}

/// What this run takes from the run `latest` points at.
#[derive(Debug, Default)]
pub(super) struct Baseline {
    /// Its source columns, for the schema-drift check (empty: not checked).
    columns: SourceColumns,
    /// The run, when it is a committed run of this output directory (golden ids kept).
    run: Option<run::Previous>,
    /// True when this run is incremental on it: same pipeline file, not `--full`.
    incremental: bool,
}

/// Finds and checks the previous run (`crate::run::previous_run_dir`) and reads its manifest. An
/// unusable one gives a full run with new golden ids, with a warning saying why.
pub(super) fn previous_run(out_dir: &std::path::Path, p: &Pipeline, full: bool) -> Baseline {
    let dir = match previous_run_dir(out_dir) {
        Ok(Some(dir)) => dir,
        Ok(None) => return Baseline::default(),
        Err(why) => {
            tracing::warn!("previous run unusable: {why}; full run, golden ids start afresh");
            return Baseline::default();
        }
    };
    let run = run::Previous::new(dir);
    match run.manifest::<Manifest>() {
        Ok(m) => {
            let same = m.pipeline_hash == p.hash && m.status == "succeeded";
            Baseline {
                columns: m.source_columns,
                incremental: same && !full,
                run: Some(run),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "previous manifest unreadable; schema drift not checked, full run");
            Baseline {
                run: Some(run),
                ..Baseline::default()
            }
        }
    }
}

/// Ingests, standardizes, blocks and compares; fails on a source over its reject limit
/// after writing its rejects into `on_rejects`.
pub(super) async fn prepare(
    p: &Pipeline,
    stages: &mut Stages,
    mut previous: Baseline,
    cluster: Option<OnCluster>,
    on_rejects: impl FnOnce(&[Reject], &BTreeMap<String, SourceCounts>) -> Result<PathBuf>,
) -> Result<Prepared> {
    let mut ing = ingest_stage(p, stages, &previous).await?;
    let source_columns: SourceColumns = ing
        .sources
        .iter()
        .map(|s| (s.name.clone(), s.columns.clone()))
        .collect();
    let sources = ing.counts();
    if let Some(over) = ingest::limit::over_reject_limit(p, &sources) {
        let rejects_path = on_rejects(&ing.rejects, &sources)?;
        return Err(over.into_error(rejects_path));
    }
    let fields = p.fields();
    // The raw batches are dropped once standardised: their field columns are not needed again.
    let raw = std::mem::take(&mut ing.sources);
    let (records, profile) = stages.time("standardize", || standardize_all(p, raw, &fields))?;
    let (records, placeholders) = stages.time("placeholders", || {
        standardize::placeholder::mask(records, &fields, p.sources.len())
    })?;
    // A cluster compares every pair afresh: nothing of the previous run's comparisons is reused.
    previous.incremental &= cluster.is_none();
    let content_hashes = compare::cache::record_hashes(&records, &p.comparisons)?;
    let (candidates, tally, reuse) = match cluster {
        None => {
            let (blocks, ids) = stages.time("block", || block_here(p, &records))?;
            let reuse = reuse_previous(p, stages, previous, &records, &content_hashes)?;
            let (candidates, tally) = compare_here(p, stages, (&records, ids), blocks, &reuse)?;
            (candidates, tally, reuse)
        }
        Some(cluster) => {
            let reuse = reuse_previous(p, stages, previous, &records, &content_hashes)?;
            let (candidates, tally) = compare_on_cluster(p, stages, &records, cluster).await?;
            (candidates, tally, reuse)
        }
    };
    tracing::info!(
        records = records.num_rows(),
        candidate_pairs = tally.pairs,
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
        previous: reuse.previous,
        profile,
        candidates,
        tally,
    })
}

/// The stage `block` in this process: the match values of the fields that are both a blocking
/// key as they are and a comparison interned (blocking groups by those ids, and compare takes
/// them over instead of interning the field again), and the blocks.
fn block_here<'a>(p: &Pipeline, records: &'a RecordBatch) -> Result<(Blocks, MatchIds<'a>)> {
    let keys: Vec<&str> = (p.blocking.rules.iter().flat_map(|r| &r.keys))
        .filter(|k| k.transform == KeyTransform::Identity)
        .map(|k| k.field.as_str())
        .collect();
    let fields: Vec<&str> = (p.comparisons.iter().map(|c| c.field.as_str()))
        .filter(|f| keys.contains(f))
        .collect();
    let ids = MatchIds::of(records, &fields)?;
    Ok((block::block_with(records, &p.blocking, &ids)?, ids))
}

/// The stage `compare` in this process: every candidate pair of `blocks` compared, and the
/// counts training needs.
fn compare_here<'a>(
    p: &Pipeline,
    stages: &mut Stages,
    (records, ids): (&'a RecordBatch, MatchIds<'a>),
    blocks: Blocks,
    reuse: &Reuse,
) -> Result<(Candidates, Tally)> {
    let (packed, tally) = stages.time("compare", || {
        let comparator = compare::Comparator::with_ids(records, &p.comparisons, ids)?;
        let plan = TallyPlan::new(p, &blocks);
        let (packed, parts) = compare_packed(&comparator, &blocks, reuse.cache.as_ref(), |c, t| {
            plan.of(c, t)
        });
        Ok((packed, Tally::merge(parts)))
    })?;
    Ok((Candidates::Local { blocks, packed }, tally))
}

/// The stages `block` and `compare` on a cluster (timed together as `compare`), or a usage
/// error when this golden was built without the feature `distributed`.
#[cfg(feature = "distributed")]
async fn compare_on_cluster(
    p: &Pipeline,
    stages: &mut Stages,
    records: &RecordBatch,
    cluster: OnCluster,
) -> Result<(Candidates, Tally)> {
    stages.check()?;
    let clock = Clock::start();
    let url = Some(cluster.scheduler.as_str()).filter(|s| *s != "standalone");
    let ctx = crate::distributed::session(url).await?;
    let (pairs, tally) =
        crate::distributed::pairs::compare(ctx, p, records, &cluster.staging).await?;
    stages.record("compare", clock.seconds());
    Ok((Candidates::Cluster(Box::new(pairs)), tally))
}

/// Without the feature `distributed` there is no cluster ([`super::run`] refuses first).
#[cfg(not(feature = "distributed"))]
async fn compare_on_cluster(
    _: &Pipeline,
    _: &mut Stages,
    _: &RecordBatch,
    _: OnCluster,
) -> Result<(Candidates, Tally)> {
    Err(Error::Usage(super::WITHOUT_CLUSTER.into()))
}

/// The ingest stage, timed like the others but asynchronous, its log line with the rejects.
pub(super) async fn ingest_stage(
    p: &Pipeline,
    stages: &mut Stages,
    previous: &Baseline,
) -> Result<ingest::Ingested> {
    stages.check()?;
    let clock = Clock::start();
    let ing = ingest::ingest(p, &previous.columns)
        .instrument(crate::telemetry::stage_span("ingest"))
        .await?;
    stages.record("ingest", clock.seconds());
    crate::memory::release_free_memory();
    clock.log_resources("ingest");
    tracing::info!(
        stage = "ingest",
        seconds = clock.seconds(),
        rejects = ing.rejects.len(),
        "stage completed"
    );
    Ok(ing)
}

/// Standardizes every source in parallel and concatenates them into one batch; with each
/// source's profile.
pub(super) fn standardize_all(
    p: &Pipeline,
    raw: Vec<ingest::SourceRecords>,
    fields: &[String],
) -> Result<(RecordBatch, standardize::profile::Profile)> {
    let (parts, profile): (Vec<RecordBatch>, standardize::profile::Profile) = raw
        .into_par_iter()
        .map(|s| {
            let clean = standardize::standardize(&s.batch, fields, &p.standardize)?;
            let started = Instant::now();
            let counts = standardize::profile::profile(&s.batch, &clean, fields);
            let seconds = started.elapsed().as_secs_f64();
            tracing::debug!(source = %s.name, seconds, "source profiled");
            Ok((clean, (s.name, counts)))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let schema = parts
        .first()
        .map(|b| b.schema())
        .ok_or_else(|| Error::Pipeline("the pipeline has no sources".into()))?;
    let columns = concat_sources(&schema, parts)?;
    Ok((RecordBatch::try_new(schema, columns)?, profile))
}

/// The columns of the sources' standardised batches `parts` (one `schema`), each source's
/// rows after the previous one's. Columns are concatenated in parallel (a serial
/// concatenation of the whole table took ~0.4 s at 1M entities), each task owning its
/// column's parts and freeing them once done, so the table is never held twice. A key that
/// is its display column in every source (phones, dates: [`standardize::Cleaned::new`]) is
/// not concatenated again but becomes the display column's concatenation, one copy in memory.
fn concat_sources(
    schema: &arrow::datatypes::SchemaRef,
    parts: Vec<RecordBatch>,
) -> Result<Vec<arrow::array::ArrayRef>> {
    use arrow::array::ArrayRef;
    let mut by_column: Vec<Vec<ArrayRef>> = vec![Vec::new(); schema.fields().len()];
    for part in parts {
        for (c, column) in part.columns().iter().enumerate() {
            by_column[c].push(column.clone());
        }
    }
    let same = |(a, b): (&ArrayRef, &ArrayRef)| standardize::same_column(a.as_ref(), b.as_ref());
    let shared: Vec<(usize, usize)> = (display_and_key_columns(schema).into_iter())
        .filter(|&(d, m)| by_column[d].iter().zip(&by_column[m]).all(same))
        .collect();
    let is_shared = |c: usize| shared.iter().any(|&(_, m)| m == c);
    let mut columns = (by_column.into_par_iter().enumerate())
        .map(|(c, parts)| {
            let parts: Vec<&dyn arrow::array::Array> = parts.iter().map(|a| a.as_ref()).collect();
            Ok((!is_shared(c))
                .then(|| arrow::compute::concat(&parts))
                .transpose()?)
        })
        .collect::<Result<Vec<Option<ArrayRef>>>>()?;
    for &(d, m) in &shared {
        columns[m] = columns[d].clone();
    }
    (columns.into_iter().enumerate())
        .map(|(c, column)| {
            column.ok_or_else(|| Error::Internal(format!("standardize: column {c} not built")))
        })
        .collect()
}

/// The (display, `__match`) column indices of each field of `schema`.
fn display_and_key_columns(schema: &arrow::datatypes::SchemaRef) -> Vec<(usize, usize)> {
    let index = |name: &str| schema.fields().iter().position(|f| f.name() == name);
    (schema.fields().iter())
        .filter_map(|f| {
            let field = f.name().strip_suffix(crate::schema::MATCH_SUFFIX)?;
            Some((index(field)?, index(f.name())?))
        })
        .collect()
}

/// What this run reuses of the previous run, once its tables are read and checked.
pub(super) struct Reuse {
    /// The previous run whose golden ids are kept (its crosswalk is readable).
    previous: Option<run::Previous>,
    /// The previous run whose comparisons are reused (an incremental run).
    incremental_from: Option<PathBuf>,
    /// The comparisons reused.
    cache: Option<compare::cache::PairCache>,
}

/// Reads the previous crosswalk once and, for an incremental run, the comparisons to reuse.
/// An unusable crosswalk means no previous ids; unusable comparisons a full run; each with a
/// warning.
pub(super) fn reuse_previous(
    p: &Pipeline,
    stages: &mut Stages,
    previous: Baseline,
    records: &RecordBatch,
    content_hashes: &[u64],
) -> Result<Reuse> {
    let usable = previous.run.filter(|run| match run.crosswalk() {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "previous crosswalk unusable; full run, golden ids start afresh");
            false
        }
    });
    let cache = match &usable {
        Some(run) if previous.incremental => stages.time("pair_cache", || {
            let cache =
                compare::cache::PairCache::load(run, records, content_hashes, &p.comparisons);
            Ok(cache
                .map_err(|e| {
                    tracing::warn!(error = %e, "previous comparisons unusable; comparing every pair (full run)")
                })
                .ok())
        })?,
        _ => None,
    };
    let incremental_from = usable
        .as_ref()
        .filter(|_| cache.is_some())
        .map(|run| run.dir().to_path_buf());
    Ok(Reuse {
        previous: usable,
        incremental_from,
        cache,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, AsArray, StringArray};

    /// A source's batch of `phone`, `phone__match`, `city` and `city__match`, each key the
    /// display column itself when `shared`.
    fn part(phone: &str, city: &str, shared: [bool; 2]) -> RecordBatch {
        let text = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
        let (p, c) = (text(phone), text(city));
        let key = |display: &ArrayRef, shared: bool, v: &str| match shared {
            true => display.clone(),
            false => text(&v.to_lowercase()),
        };
        let (pk, ck) = (key(&p, shared[0], phone), key(&c, shared[1], city));
        RecordBatch::try_from_iter([
            ("phone", p),
            ("phone__match", pk),
            ("city", c),
            ("city__match", ck),
        ])
        .unwrap()
    }

    #[test]
    fn a_key_shared_in_every_source_is_the_display_column_after_concatenation() {
        let parts = vec![
            part("+441", "Leeds", [true, true]),
            part("+442", "York", [true, false]),
        ];
        let schema = parts[0].schema();
        let columns = concat_sources(&schema, parts).unwrap();
        let values = |c: usize| {
            let column = columns[c].as_string::<i32>();
            column
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert!(standardize::same_column(
            columns[0].as_ref(),
            columns[1].as_ref()
        ));
        assert_eq!(values(1), ["+441", "+442"]);
        assert!(!standardize::same_column(
            columns[2].as_ref(),
            columns[3].as_ref()
        ));
        assert_eq!(values(2), ["Leeds", "York"]);
        assert_eq!(values(3), ["Leeds", "york"]);
    }
}
