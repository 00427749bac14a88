//! The previous committed run: its crosswalk and golden ids, read and indexed for lookups.

use std::path::Path;

use arrow::array::{Array, RecordBatch, StringArray};
use rayon::prelude::*;

use super::index::{Index, hash_of};
use crate::run::{Previous, Table, Text, non_null_text, text};
use crate::schema;
use crate::schema::CREATED_RUN;
use crate::{Error, Result};

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

impl PreviousRun {
    /// Loads the previous committed run `prev` (the one `latest` points at, checked by
    /// [`crate::run::previous_run_dir`]); an error when its tables are unusable.
    ///
    /// Golden files of runs older than stable ids have no `created_run` column; their ids count
    /// as created in that previous run.
    pub fn load(prev: &Previous) -> Result<PreviousRun> {
        let run_id = prev.run_id();
        let unreadable = |path: &Path, e: &dyn std::fmt::Display| Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "the previous run's table cannot be read ({e}); this run gives new golden ids"
            ),
        };
        let cw_path = prev.path(Table::Crosswalk);
        let cw = prev.crosswalk().map_err(|e| unreadable(&cw_path, &e))?;
        let g_path = prev.path(Table::Golden);
        let golden = prev.golden_ids().map_err(|e| unreadable(&g_path, &e))?;
        let created = match golden.column_by_name(CREATED_RUN) {
            Some(_) => Some(utf8(&golden, CREATED_RUN, &g_path, false)?),
            None => None,
        };
        let keys = [schema::SOURCE, schema::SOURCE_ID, schema::GOLDEN_ID];
        let [sources, ids, gids] = keys.map(|name| utf8(cw, name, &cw_path, true));
        let golden_ids = utf8(&golden, schema::GOLDEN_ID, &g_path, true)?;
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
    pub(super) fn new(
        run_id: String,
        [record_sources, record_ids, record_gids]: [StringArray; 3],
        golden: StringArray,
        created: Option<StringArray>,
    ) -> PreviousRun {
        let valid = |r: usize| {
            record_sources.is_valid(r) && record_ids.is_valid(r) && record_gids.is_valid(r)
        };
        let mut table = IdTable::of_golden(&golden, created.as_ref(), &run_id);
        let mut record_golden = table.rows_of(&record_gids, valid, &run_id);
        // Dense indices: ids oldest first.
        let (order, rank) = table.oldest_first();
        record_golden.par_iter_mut().for_each(|g| {
            if *g != NONE {
                *g = rank[*g as usize];
            }
        });
        let by_record = record_index(&record_sources, &record_ids, valid);
        let ids = StringArray::from_iter_values(table.ids.iter().copied());
        let created = StringArray::from_iter_values(table.created.iter().copied());
        let by_id = table.by_id;
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

/// Previous records by (source, source id); records without a golden id (`valid` false) are
/// left out (they hash like any other and never match).
fn record_index(
    sources: &StringArray,
    ids: &StringArray,
    valid: impl Fn(usize) -> bool + Sync,
) -> Index {
    let key = |r: u32| [sources.value(r as usize), ids.value(r as usize)];
    Index::build(
        ids.len(),
        |r| {
            if valid(r as usize) {
                hash_of(&key(r))
            } else {
                0
            }
        },
        |a, b| key(a) == key(b),
    )
}

/// Previous golden ids being gathered, each once, with the run that created each.
struct IdTable<'a> {
    ids: Vec<&'a str>,
    created: Vec<&'a str>,
    /// Rows of `ids` by id.
    by_id: Index,
}

impl<'a> IdTable<'a> {
    /// The valid ids of `golden`, each once (at its first row), created in `created` (`run_id`
    /// where unknown).
    fn of_golden(
        golden: &'a StringArray,
        created: Option<&'a StringArray>,
        run_id: &'a str,
    ) -> Self {
        let made_in = |r: usize| {
            created
                .filter(|c| c.is_valid(r))
                .map_or(run_id, |c| c.value(r))
        };
        let valid_golden = (0..golden.len()).filter(|&r| golden.is_valid(r));
        let (ids, created) = valid_golden.map(|r| (golden.value(r), made_in(r))).unzip();
        let mut table = IdTable {
            ids,
            created,
            by_id: Index::default(),
        };
        table.reindex();
        let unique: Vec<u32> = (0..table.ids.len() as u32)
            .into_par_iter()
            .filter(|&r| table.find(table.ids[r as usize]) == Some(r))
            .collect();
        if unique.len() < table.ids.len() {
            // A golden id listed twice (should not happen) counts once, at its first row.
            table.ids = unique.iter().map(|&r| table.ids[r as usize]).collect();
            table.created = unique.iter().map(|&r| table.created[r as usize]).collect();
            table.reindex();
        }
        table
    }

    /// Rebuilds [`Self::by_id`] over [`Self::ids`].
    fn reindex(&mut self) {
        let ids = &self.ids;
        self.by_id = Index::build(
            ids.len(),
            |r| hash_of(&[ids[r as usize]]),
            |a, b| ids[a as usize] == ids[b as usize],
        );
    }

    /// The row of `id`.
    fn find(&self, id: &str) -> Option<u32> {
        self.by_id
            .find(hash_of(&[id]), |x| self.ids[x as usize] == id)
    }

    /// The row of each record's golden id (`gids`), [`NONE`] for records not `valid`; an id
    /// missing from the table is added, created in `run_id`.
    fn rows_of(
        &mut self,
        gids: &'a StringArray,
        valid: impl Fn(usize) -> bool + Sync,
        run_id: &'a str,
    ) -> Vec<u32> {
        let mut rows: Vec<u32> = (0..gids.len())
            .into_par_iter()
            .map(|r| match self.find(gids.value(r)) {
                Some(row) if valid(r) => row,
                _ => NONE,
            })
            .collect();
        let missing: Vec<usize> = (0..gids.len())
            .filter(|&r| valid(r) && rows[r] == NONE)
            .collect();
        for r in missing {
            let id = gids.value(r);
            rows[r] = match self.find(id) {
                Some(row) => row,
                None => {
                    let row = self.ids.len() as u32;
                    self.ids.push(id);
                    self.created.push(run_id);
                    let ids = &self.ids;
                    self.by_id
                        .insert(hash_of(&[id]), row, |x| hash_of(&[ids[x as usize]]));
                    row
                }
            };
        }
        rows
    }

    /// Rows oldest first (`created`, then the id), and the rank of each row in that order.
    fn oldest_first(&self) -> (Vec<u32>, Vec<u32>) {
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        order.par_sort_unstable_by_key(|&r| (self.created[r as usize], self.ids[r as usize]));
        let mut rank = vec![0u32; order.len()];
        for (i, &r) in order.iter().enumerate() {
            rank[r as usize] = i as u32;
        }
        (order, rank)
    }
}

/// No previous golden id.
pub const NONE: u32 = u32::MAX;

/// Column `name` of previous run table `path` (`batch`), which must be a string column
/// ([`Text::Strings`]) without nulls when `non_null`: every record and golden record of a run
/// has its key and id.
fn utf8(batch: &RecordBatch, name: &str, path: &Path, non_null: bool) -> Result<StringArray> {
    let read = if non_null { non_null_text } else { text };
    read(batch, name, Text::Strings).map_err(|what| Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "{what}; this is not a golden run table, so this run gives new golden ids"
        ),
    })
}
