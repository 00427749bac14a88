//! Stable golden ids across runs (DESIGN §5): the previous committed run's crosswalk and golden
//! ids in, this run's ids and `changes.parquet` out.
//!
//! Rules, applied in this order:
//!
//! 1. Every (new cluster, previous golden id) pair that shares members is a candidate, weighted
//!    by how many members they share. Candidates are taken greedily: largest overlap first; on a
//!    tie the oldest previous id (smallest `created_run`, the run in which the id was first
//!    created), then the smallest id, then the cluster whose smallest member key
//!    (`source`, `source_id`) sorts first. A cluster keeps at most one id and an id is kept by at
//!    most one cluster.
//! 2. A cluster left without an id gets a new one from the hash of its smallest member key
//!    ([`super::golden_id`]); if that collides with a previous id or one already given out in
//!    this run, `-2`, `-3`, … is appended, so a previous id is never handed to other members.
//! 3. Changes: `new` (new id, no member was in the previous run), `split_from:<id>` (new id,
//!    with members of previous `<id>`, which kept its id elsewhere; the previous id sharing most
//!    members is named), `updated` (kept id, membership changed), `merged_into:<id>` (a
//!    previous id not kept whose members now sit in the cluster `<id>`, the one holding most of
//!    them), `retired` (a previous id none of whose members is left). Unchanged clusters have no
//!    row, so a rerun on unchanged inputs gives an empty table.

use foldhash::{HashSet, HashSetExt};
use hashbrown::hash_table::{Entry, HashTable};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;

use super::{Clusters, golden_id};
use crate::output::read_parquet_columns;
use crate::schema;
use crate::{Error, Result};

/// Column of `golden.parquet`: the run id in which the golden id was first created.
pub const CREATED_RUN: &str = "created_run";

impl Default for PreviousRun {
    /// No previous run: no ids, no records.
    fn default() -> Self {
        let none = || StringArray::from(Vec::<&str>::new());
        PreviousRun::new(String::new(), [none(), none(), none()], none(), None)
    }
}

/// What a run needs from the previous committed run (`<output>/latest`), kept in the Arrow
/// arrays it was read into: its golden ids in a dense order, oldest first, and the golden id of
/// each of its records. Lookups go through hash tables of row numbers, so loading a million
/// records allocates no string per record.
#[derive(Debug, Clone)]
pub struct PreviousRun {
    /// The previous run's id (directory name).
    pub run_id: String,
    /// Previous golden ids; dense index `i` is row `order[i]`.
    ids: StringArray,
    /// The run that created each id (same rows as `ids`).
    created: StringArray,
    /// Rows of `ids`, oldest first: `created`, then the id.
    order: Vec<u32>,
    /// Rows of `ids` by id.
    by_id: Index,
    /// Source and source id of each previous record.
    record_sources: StringArray,
    record_ids: StringArray,
    /// Dense golden index of each previous record.
    record_golden: Vec<u32>,
    /// Previous records by (source, source id).
    by_record: Index,
}

/// The hasher of [`PreviousRun`]'s tables.
fn hash_of(parts: &[&str]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x601d).build_hasher();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

impl PreviousRun {
    /// Loads the previous committed run `dir` (the one `latest` points at, checked by
    /// [`crate::output::previous_run_dir`]); an error when its tables are unusable.
    ///
    /// Golden files of runs older than stable ids have no `created_run` column; their ids count
    /// as created in that previous run.
    /// `crosswalk` is the previous crosswalk when the caller already read it
    /// ([`read_crosswalk`]); otherwise it is read here.
    pub fn load(dir: &Path, crosswalk: Option<&RecordBatch>) -> Result<PreviousRun> {
        let run_id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let unreadable = |path: &Path, e: Error| Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "the previous run's table cannot be read ({e}); this run gives new golden ids"
            ),
        };
        let cw_path = dir.join("crosswalk.parquet");
        let read;
        let cw = match crosswalk {
            Some(cw) => cw,
            None => {
                read = read_crosswalk(dir).map_err(|e| unreadable(&cw_path, e))?;
                &read
            }
        };
        let g_path = dir.join("golden.parquet");
        let golden = read_parquet_columns(&g_path, Some(&[schema::GOLDEN_ID, CREATED_RUN]))
            .map_err(|e| unreadable(&g_path, e))?;
        let created = match golden.column_by_name(CREATED_RUN) {
            Some(_) => Some(utf8(&golden, CREATED_RUN, &g_path)?),
            None => None,
        };
        let keys = [schema::SOURCE, schema::SOURCE_ID, schema::GOLDEN_ID];
        let [sources, ids, gids] = keys.map(|name| non_null_utf8(cw, name, &cw_path));
        let golden_ids = non_null_utf8(&golden, schema::GOLDEN_ID, &g_path)?;
        let prev = PreviousRun::new(run_id, [sources?, ids?, gids?], golden_ids, created);
        if prev.by_record.len() < prev.record_ids.len() {
            return Err(Error::Input {
                path: cw_path,
                message: format!(
                    "{} rows repeat a (source, source_id) key; a golden crosswalk lists each \
                     record once, so this run gives new golden ids",
                    prev.record_ids.len() - prev.by_record.len()
                ),
            });
        }
        Ok(prev)
    }

    /// A previous run from its crosswalk's source, source id and golden id columns, and its
    /// golden ids with the run that created each (`run_id` where unknown). Ids in the crosswalk
    /// but missing from golden (should not happen) count as previous ids created in `run_id`.
    fn new(
        run_id: String,
        [record_sources, record_ids, record_gids]: [StringArray; 3],
        golden: StringArray,
        created: Option<StringArray>,
    ) -> PreviousRun {
        let made_in = |r: usize| {
            created
                .as_ref()
                .filter(|c| c.is_valid(r))
                .map_or(run_id.as_str(), |c| c.value(r))
        };
        // Golden ids (each once), then any crosswalk id missing from them.
        let valid_golden = (0..golden.len()).filter(|&r| golden.is_valid(r));
        let (mut id_list, mut created_list): (Vec<&str>, Vec<&str>) =
            valid_golden.map(|r| (golden.value(r), made_in(r))).unzip();
        let id_hash = |list: &[&str], r: u32| hash_of(&[list[r as usize]]);
        let mut by_id = Index::build(
            id_list.len(),
            |r| id_hash(&id_list, r),
            |a, b| id_list[a as usize] == id_list[b as usize],
        );
        let find_id = |by_id: &Index, list: &[&str], id: &str| {
            by_id.find(hash_of(&[id]), |x| list[x as usize] == id)
        };
        let unique: Vec<u32> = (0..id_list.len() as u32)
            .into_par_iter()
            .filter(|&r| find_id(&by_id, &id_list, id_list[r as usize]) == Some(r))
            .collect();
        if unique.len() < id_list.len() {
            // A golden id listed twice (should not happen) counts once, at its first row.
            id_list = unique.iter().map(|&r| id_list[r as usize]).collect();
            created_list = unique.iter().map(|&r| created_list[r as usize]).collect();
            by_id = Index::build(
                id_list.len(),
                |r| id_hash(&id_list, r),
                |a, b| id_list[a as usize] == id_list[b as usize],
            );
        }
        let valid = |r: usize| {
            record_sources.is_valid(r) && record_ids.is_valid(r) && record_gids.is_valid(r)
        };
        let mut record_golden: Vec<u32> = (0..record_gids.len())
            .into_par_iter()
            .map(|r| match find_id(&by_id, &id_list, record_gids.value(r)) {
                Some(row) if valid(r) => row,
                _ => NONE,
            })
            .collect();
        let missing: Vec<usize> = (0..record_gids.len())
            .filter(|&r| valid(r) && record_golden[r] == NONE)
            .collect();
        for r in missing {
            let id = record_gids.value(r);
            let row = match find_id(&by_id, &id_list, id) {
                Some(row) => row,
                None => {
                    let row = id_list.len() as u32;
                    id_list.push(id);
                    created_list.push(&run_id);
                    by_id.insert(hash_of(&[id]), row, |x| id_hash(&id_list, x));
                    row
                }
            };
            record_golden[r] = row;
        }
        // Dense indices: ids oldest first.
        let mut order: Vec<u32> = (0..id_list.len() as u32).collect();
        order.par_sort_unstable_by_key(|&r| (created_list[r as usize], id_list[r as usize]));
        let mut rank = vec![0u32; order.len()];
        for (i, &r) in order.iter().enumerate() {
            rank[r as usize] = i as u32;
        }
        record_golden.par_iter_mut().for_each(|g| {
            if *g != NONE {
                *g = rank[*g as usize];
            }
        });
        let key = |r: u32| {
            [
                record_sources.value(r as usize),
                record_ids.value(r as usize),
            ]
        };
        // Records without a golden id are left out (they hash like any other and never match).
        let by_record = Index::build(
            record_gids.len(),
            |r| {
                if valid(r as usize) {
                    hash_of(&key(r))
                } else {
                    0
                }
            },
            |a, b| key(a) == key(b),
        );
        let ids = StringArray::from_iter_values(id_list.iter().copied());
        let created = StringArray::from_iter_values(created_list.iter().copied());
        PreviousRun {
            run_id,
            ids,
            created,
            order,
            by_id,
            record_sources,
            record_ids,
            record_golden,
            by_record,
        }
    }

    /// Number of previous golden ids.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when the previous run had no golden record.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Previous golden id with dense index `i` (oldest first).
    pub fn id(&self, i: usize) -> &str {
        self.ids.value(self.order[i] as usize)
    }

    /// The run that created the previous golden id with dense index `i`.
    pub fn created(&self, i: usize) -> &str {
        self.created.value(self.order[i] as usize)
    }

    /// True when `id` was a golden id of the previous run.
    pub fn has_id(&self, id: &str) -> bool {
        self.by_id
            .find(hash_of(&[id]), |r| self.ids.value(r as usize) == id)
            .is_some()
    }

    /// Dense index of the previous golden id of record (`source`, `source_id`), if it had one.
    pub fn golden_of(&self, source: &str, source_id: &str) -> Option<usize> {
        let k = [source, source_id];
        let r = self.by_record.find(hash_of(&k), |x| {
            self.record_sources.value(x as usize) == source
                && self.record_ids.value(x as usize) == source_id
        })?;
        Some(self.record_golden[r as usize])
            .filter(|&g| g != NONE)
            .map(|g| g as usize)
    }

    /// Number of previous records of each previous golden id (dense index).
    pub fn sizes(&self) -> Vec<usize> {
        let mut size = vec![0usize; self.len()];
        for &g in &self.record_golden {
            if g != NONE {
                size[g as usize] += 1;
            }
        }
        size
    }
}

/// No previous golden id.
const NONE: u32 = u32::MAX;

/// Bits of a hash that pick an [`Index`] shard.
const SHARD_BITS: u32 = 6;

/// Row numbers found by key: hash tables of row numbers, split by hash into shards that are
/// built in parallel (one table of millions of rows is a long sequential build).
#[derive(Debug, Clone, Default)]
struct Index {
    shards: Vec<HashTable<u32>>,
}

impl Index {
    /// Indexes rows `0..rows` by `hash`; of rows with equal keys (`eq`), the first is kept.
    fn build(
        rows: usize,
        hash: impl Fn(u32) -> u64 + Sync,
        eq: impl Fn(u32, u32) -> bool + Sync,
    ) -> Index {
        let hashed: Vec<(u64, u32)> = (0..rows as u32)
            .into_par_iter()
            .map(|r| (hash(r), r))
            .collect();
        let mut buckets: Vec<Vec<(u64, u32)>> = vec![Vec::new(); 1 << SHARD_BITS];
        for &(h, r) in &hashed {
            buckets[Self::shard(h)].push((h, r));
        }
        let shards = buckets
            .into_par_iter()
            .map(|bucket| {
                let mut table = HashTable::with_capacity(bucket.len());
                for (h, r) in bucket {
                    if let Entry::Vacant(v) = table.entry(h, |&x| eq(x, r), |&x| hash(x)) {
                        v.insert(r);
                    }
                }
                table
            })
            .collect();
        Index { shards }
    }

    /// Number of distinct keys indexed.
    fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }

    fn shard(hash: u64) -> usize {
        (hash >> (64 - SHARD_BITS)) as usize
    }

    /// The row with hash `hash` for which `eq` holds.
    fn find(&self, hash: u64, eq: impl Fn(u32) -> bool) -> Option<u32> {
        let shard = self.shards.get(Self::shard(hash))?;
        shard.find(hash, |&x| eq(x)).copied()
    }

    /// Adds `row` (a key not in the index yet) with hash `hash`.
    fn insert(&mut self, hash: u64, row: u32, rehash: impl Fn(u32) -> u64) {
        if self.shards.is_empty() {
            self.shards = vec![HashTable::new(); 1 << SHARD_BITS];
        }
        self.shards[Self::shard(hash)].insert_unique(hash, row, |&x| rehash(x));
    }
}

/// The columns of a run's `crosswalk.parquet` that the next run needs (stable ids and the
/// comparison cache), read once; `content_hash` is absent in runs that predate it.
pub fn read_crosswalk(run_dir: &Path) -> Result<RecordBatch> {
    read_parquet_columns(
        &run_dir.join("crosswalk.parquet"),
        Some(&[
            schema::SOURCE,
            schema::SOURCE_ID,
            schema::GOLDEN_ID,
            crate::compare::cache::CONTENT_HASH,
        ]),
    )
}

/// Column `name` of previous run table `path` (`batch`), which must be a string column: one of
/// another type was not written by golden, and casting it would invent ids ("0", "1", …).
fn utf8(batch: &RecordBatch, name: &str, path: &Path) -> Result<StringArray> {
    let unusable = |what: String| Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "{what}; this is not a golden run table, so this run gives new golden ids"
        ),
    };
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| unusable(format!("no column `{name}`")))?;
    match col.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {}
        other => {
            return Err(unusable(format!(
                "column `{name}` is {other}, not a string"
            )));
        }
    }
    let col = arrow::compute::cast(col, &DataType::Utf8)?;
    Ok(col.as_string::<i32>().clone())
}

/// [`utf8`], and an error when the column has a null (every record and golden record of a run
/// has its key and id).
fn non_null_utf8(batch: &RecordBatch, name: &str, path: &Path) -> Result<StringArray> {
    let col = utf8(batch, name, path)?;
    match col.null_count() {
        0 => Ok(col),
        n => Err(Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "column `{name}` has {n} null values; this is not a golden run table, so this \
                 run gives new golden ids"
            ),
        }),
    }
}

/// How a golden id changed since the previous run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A new id whose members were in no previous golden record.
    New,
    /// Same id, membership changed.
    Updated,
    /// A previous id whose members went into the cluster that kept the related id.
    MergedInto,
    /// A new id made from members of the related previous id, which kept its id elsewhere.
    SplitFrom,
    /// A previous id with no members left.
    Retired,
}

impl ChangeKind {
    /// Short name, as counted in the manifest (`changes_<name>`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ChangeKind::New => "new",
            ChangeKind::Updated => "updated",
            ChangeKind::MergedInto => "merged_into",
            ChangeKind::SplitFrom => "split_from",
            ChangeKind::Retired => "retired",
        }
    }
}

/// One row of `changes.parquet`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// The golden id concerned.
    pub golden_id: String,
    /// What happened to it.
    pub kind: ChangeKind,
    /// The other id of a merge or split.
    pub related_id: Option<String>,
}

impl Change {
    /// The `change` column: `new`, `updated`, `merged_into:<id>`, `split_from:<id>`, `retired`.
    pub fn label(&self) -> String {
        match &self.related_id {
            Some(id) => format!("{}:{id}", self.kind.as_str()),
            None => self.kind.as_str().to_string(),
        }
    }
}

/// The outcome of [`assign`]: changes since the previous run and each cluster's creation run.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Changed ids, sorted by golden id then kind.
    pub rows: Vec<Change>,
    /// Run in which each cluster's golden id was first created (indexed like the clusters).
    pub created_run: Vec<String>,
}

impl Changes {
    /// Number of changes of `kind`.
    pub fn count(&self, kind: ChangeKind) -> u64 {
        self.rows.iter().filter(|c| c.kind == kind).count() as u64
    }

    /// `changes.parquet`: `golden_id`, `change`, `related_id`.
    pub fn batch(&self) -> Result<RecordBatch> {
        let gid: StringArray = self.rows.iter().map(|c| Some(&c.golden_id)).collect();
        let change: StringArray = self.rows.iter().map(|c| Some(c.label())).collect();
        let related: StringArray = self.rows.iter().map(|c| c.related_id.as_ref()).collect();
        let schema = Schema::new(vec![
            Field::new(schema::GOLDEN_ID, DataType::Utf8, false),
            Field::new("change", DataType::Utf8, false),
            Field::new("related_id", DataType::Utf8, true),
        ]);
        let cols: Vec<ArrayRef> = vec![Arc::new(gid), Arc::new(change), Arc::new(related)];
        Ok(RecordBatch::try_new(Arc::new(schema), cols)?)
    }

    /// `chunk`, the golden rows of clusters `start..start + chunk.num_rows()` in cluster order,
    /// with a `created_run` column appended.
    pub fn with_created_run(&self, start: usize, chunk: &RecordBatch) -> Result<RecordBatch> {
        let runs = self
            .created_run
            .get(start..start + chunk.num_rows())
            .ok_or_else(|| {
                Error::Internal(format!(
                    "stable ids: golden rows {start}.. past the {} clusters",
                    self.created_run.len()
                ))
            })?;
        let mut fields: Vec<Field> = chunk
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(CREATED_RUN, DataType::Utf8, false));
        let mut cols = chunk.columns().to_vec();
        cols.push(Arc::new(StringArray::from_iter_values(runs)));
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
    }
}

/// True when a new id (a cluster with no `kept` previous id) equals a previous id or another
/// id of this run: both are 64-bit hash prefixes, so this almost never happens.
fn new_ids_clash(ids: &[String], kept: &[Option<usize>], prev: &PreviousRun) -> bool {
    let is_new = |c: usize| kept[c].is_none();
    if (0..ids.len())
        .into_par_iter()
        .any(|c| is_new(c) && prev.has_id(&ids[c]))
    {
        return true;
    }
    let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
    sorted.par_sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// Gives every cluster of `clusters` a golden id that is stable across runs (see the module
/// docs for the rules) and lists what changed since `previous`; new ids are stamped with
/// `run_id` as their `created_run`.
pub fn assign(
    clusters: &mut Clusters,
    batch: &RecordBatch,
    previous: Option<&PreviousRun>,
    run_id: &str,
) -> Result<Changes> {
    let col = |name: &str| -> Result<StringArray> {
        let c = batch
            .column_by_name(name)
            .ok_or_else(|| Error::Internal(format!("stable ids: no column {name}")))?;
        Ok(arrow::compute::cast(c, &DataType::Utf8)?
            .as_string::<i32>()
            .clone())
    };
    let (sources, ids) = (col(schema::SOURCE)?, col(schema::SOURCE_ID)?);
    let empty = PreviousRun::default();
    let prev = previous.unwrap_or(&empty);
    let k = clusters.len();
    let members = clusters.members();

    // Previous ids are dense numbers, ordered oldest first (created_run, then id).
    let prev_size = prev.sizes();

    // Each cluster's smallest key, and (cluster, previous id) for every member that had one.
    let smallest: Vec<(&str, &str)> = (0..k)
        .into_par_iter()
        .map(|c| {
            let keys = members
                .of(c)
                .iter()
                .map(|&r| (sources.value(r as usize), ids.value(r as usize)));
            keys.min().unwrap_or(("", ""))
        })
        .collect();
    let mut shared_pairs: Vec<(u32, usize)> = Vec::new();
    if !prev.is_empty() {
        let (sources, ids) = (&sources, &ids);
        shared_pairs = (0..k)
            .into_par_iter()
            .flat_map_iter(|c| {
                members.of(c).iter().filter_map(move |&r| {
                    let (s, id) = (sources.value(r as usize), ids.value(r as usize));
                    prev.golden_of(s, id).map(|i| (c as u32, i))
                })
            })
            .collect();
    }
    // Overlaps: (cluster, previous id) → shared members, sorted by cluster then previous id.
    shared_pairs.par_sort_unstable();
    let mut overlap: Vec<((u32, usize), usize)> = Vec::new();
    for pair in shared_pairs {
        match overlap.last_mut() {
            Some((last, n)) if *last == pair => *n += 1,
            _ => overlap.push((pair, 1)),
        }
    }

    // Greedy: largest overlap, then oldest id (dense index), then smallest cluster key.
    let mut cands: Vec<(usize, usize, u32)> =
        overlap.iter().map(|&((c, i), n)| (n, i, c)).collect();
    cands.par_sort_unstable_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then_with(|| smallest[a.2 as usize].cmp(&smallest[b.2 as usize]))
    });
    let mut kept: Vec<Option<usize>> = vec![None; k];
    let mut keeper: Vec<Option<u32>> = vec![None; prev.len()];
    for &(_, i, c) in &cands {
        if kept[c as usize].is_none() && keeper[i].is_none() {
            kept[c as usize] = Some(i);
            keeper[i] = Some(c);
        }
    }

    // Ids and creation runs; new ids avoid every previous id and each other. Hashing is the
    // expensive part of a new id: every id is made in parallel, and the serial walk that
    // renames clashing ids (`<id>-2`, …) only runs when there is a clash.
    let mut golden_ids: Vec<String> = (0..k)
        .into_par_iter()
        .map(|c| match kept[c] {
            Some(i) => prev.id(i).to_string(),
            None => golden_id(smallest[c].0, smallest[c].1),
        })
        .collect();
    let created_run: Vec<String> = (0..k)
        .into_par_iter()
        .map(|c| kept[c].map_or(run_id, |i| prev.created(i)).to_string())
        .collect();
    if new_ids_clash(&golden_ids, &kept, prev) {
        let mut taken: HashSet<String> = HashSet::new();
        for c in (0..k).filter(|&c| kept[c].is_none()) {
            let base = std::mem::take(&mut golden_ids[c]);
            let mut id = base.clone();
            let mut n = 1;
            while prev.has_id(&id) || taken.contains(&id) {
                n += 1;
                id = format!("{base}-{n}");
            }
            taken.insert(id.clone());
            golden_ids[c] = id;
        }
    }

    // Changes.
    let mut by_cluster: Vec<Vec<(usize, usize)>> = vec![Vec::new(); k];
    let mut by_prev: Vec<Vec<(usize, u32)>> = vec![Vec::new(); prev.len()];
    for &((c, i), n) in &overlap {
        by_cluster[c as usize].push((n, i));
        by_prev[i].push((n, c));
    }
    let mut rows: Vec<Change> = (0..k)
        .into_par_iter()
        .filter_map(|c| {
            let golden_id = golden_ids[c].clone();
            match kept[c] {
                Some(i) => {
                    let shared = by_cluster[c]
                        .iter()
                        .find(|&&(_, j)| j == i)
                        .map_or(0, |&(n, _)| n);
                    (shared != members.of(c).len() || shared != prev_size[i]).then_some(Change {
                        golden_id,
                        kind: ChangeKind::Updated,
                        related_id: None,
                    })
                }
                None => {
                    // Largest overlap first, then the oldest id.
                    let from = by_cluster[c]
                        .iter()
                        .min_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                    Some(match from {
                        Some(&(_, i)) => Change {
                            golden_id,
                            kind: ChangeKind::SplitFrom,
                            related_id: Some(prev.id(i).to_string()),
                        },
                        None => Change {
                            golden_id,
                            kind: ChangeKind::New,
                            related_id: None,
                        },
                    })
                }
            }
        })
        .collect();
    for i in 0..prev.len() {
        let g = prev.id(i);
        if keeper[i].is_some() {
            continue;
        }
        // The cluster holding most of its members, then the smallest current id.
        let into = by_prev[i].iter().min_by(|a, b| {
            b.0.cmp(&a.0)
                .then(golden_ids[a.1 as usize].cmp(&golden_ids[b.1 as usize]))
        });
        rows.push(match into {
            Some(&(_, c)) => Change {
                golden_id: g.to_string(),
                kind: ChangeKind::MergedInto,
                related_id: Some(golden_ids[c as usize].clone()),
            },
            None => Change {
                golden_id: g.to_string(),
                kind: ChangeKind::Retired,
                related_id: None,
            },
        });
    }
    rows.par_sort_unstable();
    clusters.golden_ids = golden_ids;
    Ok(Changes { rows, created_run })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch of (source, source_id) keys and clusters over it from `groups` (lists of keys).
    fn setup(groups: &[&[&str]]) -> (RecordBatch, Clusters) {
        let mut keys = Vec::new();
        let mut cluster_of = Vec::new();
        for (c, g) in groups.iter().enumerate() {
            for k in *g {
                keys.push(*k);
                cluster_of.push(c as u32);
            }
        }
        let schema = Schema::new(vec![
            Field::new(schema::SOURCE, DataType::Utf8, false),
            Field::new(schema::SOURCE_ID, DataType::Utf8, false),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from_iter_values(keys.iter().map(|_| "s"))),
                Arc::new(StringArray::from_iter_values(keys.iter().copied())),
            ],
        )
        .unwrap();
        let n = keys.len();
        let clusters = Clusters {
            cluster_of,
            golden_ids: vec![String::new(); groups.len()],
            best_link: vec![None; n],
        };
        (batch, clusters)
    }

    /// A previous run from (golden id, created_run, member keys).
    fn previous(groups: &[(&str, &str, &[&str])]) -> PreviousRun {
        let members: Vec<(&str, &str)> = groups
            .iter()
            .flat_map(|(g, _, m)| m.iter().map(move |m| (*g, *m)))
            .collect();
        PreviousRun::new(
            "R1".into(),
            [
                StringArray::from_iter_values(members.iter().map(|_| "s")),
                StringArray::from_iter_values(members.iter().map(|(_, m)| *m)),
                StringArray::from_iter_values(members.iter().map(|(g, _)| *g)),
            ],
            StringArray::from_iter_values(groups.iter().map(|(g, _, _)| *g)),
            Some(StringArray::from_iter_values(
                groups.iter().map(|(_, c, _)| *c),
            )),
        )
    }

    fn labels(ch: &Changes) -> Vec<(String, String)> {
        ch.rows
            .iter()
            .map(|c| (c.golden_id.clone(), c.label()))
            .collect()
    }

    #[test]
    fn first_run_gives_hash_ids_all_new() {
        let (batch, mut cl) = setup(&[&["b", "a"], &["c"]]);
        let ch = assign(&mut cl, &batch, None, "R1").unwrap();
        assert_eq!(
            cl.golden_ids,
            vec![golden_id("s", "a"), golden_id("s", "c")]
        );
        assert_eq!(ch.count(ChangeKind::New), 2);
        assert_eq!(ch.created_run, vec!["R1", "R1"]);
    }

    #[test]
    fn unchanged_membership_keeps_ids_and_has_no_changes() {
        let (batch, mut cl) = setup(&[&["a", "b"], &["c"]]);
        let prev = previous(&[("GX", "R0", &["a", "b"]), ("GY", "R1", &["c"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R2").unwrap();
        assert_eq!(cl.golden_ids, vec!["GX", "GY"]);
        assert!(ch.rows.is_empty(), "{:?}", ch.rows);
        assert_eq!(ch.created_run, vec!["R0", "R1"]);
    }

    #[test]
    fn merge_keeps_the_larger_overlap_and_on_a_tie_the_oldest() {
        // GA shares 2 members, GB 1: GA is kept, GB merged into it.
        let (batch, mut cl) = setup(&[&["a1", "a2", "b1"]]);
        let prev = previous(&[("GA", "R5", &["a1", "a2"]), ("GB", "R1", &["b1"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R9").unwrap();
        assert_eq!(cl.golden_ids, vec!["GA"]);
        assert_eq!(
            labels(&ch),
            vec![
                ("GA".into(), "updated".into()),
                ("GB".into(), "merged_into:GA".into())
            ]
        );
        // Tie 1–1: the id created first (R1) wins although it sorts after.
        let (batch, mut cl) = setup(&[&["a1", "b1"]]);
        let prev = previous(&[("GA", "R5", &["a1"]), ("GZ", "R1", &["b1"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R9").unwrap();
        assert_eq!(cl.golden_ids, vec!["GZ"]);
        assert_eq!(ch.created_run, vec!["R1"]);
        assert_eq!(
            labels(&ch),
            vec![
                ("GA".into(), "merged_into:GZ".into()),
                ("GZ".into(), "updated".into())
            ]
        );
    }

    #[test]
    fn split_keeps_the_id_with_the_larger_part_and_retires_the_gone() {
        let (batch, mut cl) = setup(&[&["a3"], &["a1", "a2"], &["n"]]);
        let prev = previous(&[("GA", "R1", &["a1", "a2", "a3"]), ("GD", "R1", &["d"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R2").unwrap();
        assert_eq!(cl.golden_ids[1], "GA");
        assert_eq!(cl.golden_ids[0], golden_id("s", "a3"));
        assert_eq!(cl.golden_ids[2], golden_id("s", "n"));
        let mut want = vec![
            ("GA".to_string(), "updated".to_string()),
            ("GD".to_string(), "retired".to_string()),
            (golden_id("s", "a3"), "split_from:GA".to_string()),
            (golden_id("s", "n"), "new".to_string()),
        ];
        want.sort();
        assert_eq!(labels(&ch), want);
        assert_eq!(ch.created_run, vec!["R2", "R1", "R2"]);
    }

    #[test]
    fn a_new_id_never_reuses_a_previous_id() {
        // The previous run kept hash(a) on a cluster that has since lost `a`; `a` comes back alone.
        let (batch, mut cl) = setup(&[&["a"], &["b", "c"]]);
        let ga = golden_id("s", "a");
        let prev = previous(&[(ga.as_str(), "R1", &["b", "c"])]);
        let ch = assign(&mut cl, &batch, Some(&prev), "R2").unwrap();
        assert_eq!(cl.golden_ids, vec![format!("{ga}-2"), ga.clone()]);
        assert_eq!(labels(&ch), vec![(format!("{ga}-2"), "new".to_string())]);
    }

    #[test]
    fn changes_table_has_the_contract_columns() {
        let (batch, mut cl) = setup(&[&["a"]]);
        let ch = assign(&mut cl, &batch, None, "R1").unwrap();
        let b = ch.batch().unwrap();
        let names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, vec!["golden_id", "change", "related_id"]);
        assert_eq!(b.num_rows(), 1);
    }
}
