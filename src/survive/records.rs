//! What survivorship reads of the standardized records: their source, id, recency and order,
//! ranked once per run so rules compare numbers.

use std::borrow::Cow;

use arrow::array::{Array, AsArray, PrimitiveArray, RecordBatch, StringArray};
use arrow::datatypes::UInt64Type;

use super::rules::Candidate;
use crate::config::Pipeline;
use crate::schema;
use crate::{Error, Result};

/// The string column `name` of `batch`.
pub fn text_column<'b>(batch: &'b RecordBatch, name: &str) -> Result<&'b StringArray> {
    batch
        .column_by_name(name)
        .map(|c| c.as_string::<i32>())
        .ok_or_else(|| Error::Internal(format!("survive: no column {name}")))
}

/// The records' columns that every field's rule reads, and each record's source ranks.
pub struct Records<'b> {
    /// Source of each record.
    pub sources: &'b StringArray,
    /// Id of each record in its source.
    pub source_ids: &'b StringArray,
    updated: &'b StringArray,
    rows: &'b PrimitiveArray<UInt64Type>,
    /// Position of each record's source in the pipeline file.
    source_order: Vec<usize>,
    /// Position of each record's source in `source_priority` (unlisted sources after all).
    priority: Vec<usize>,
    /// Each record's source as a bit (its rank among the sorted source names), so the
    /// `sources` text of a set of sources is built once per chunk; `None` with more than 64
    /// sources, when it is built for every cluster.
    source_bit: Option<Vec<u64>>,
}

impl<'b> Records<'b> {
    /// Reads the columns of `batch` and ranks each record's source under `pipeline`.
    pub fn new(batch: &'b RecordBatch, pipeline: &Pipeline) -> Result<Self> {
        let sources = text_column(batch, schema::SOURCE)?;
        let rows = batch
            .column_by_name(schema::ROW_NUMBER)
            .map(|c| c.as_primitive::<UInt64Type>())
            .ok_or_else(|| Error::Internal("survive: no row_number".into()))?;
        let source_names: Vec<&str> = pipeline.sources.iter().map(|s| s.name.as_str()).collect();
        let order_of = |s: &str| {
            source_names
                .iter()
                .position(|n| *n == s)
                .unwrap_or(usize::MAX)
        };
        let priority_of = |s: &str| {
            let p = &pipeline.survivorship.source_priority;
            p.iter()
                .position(|n| n == s)
                .unwrap_or(p.len() + order_of(s))
        };
        let n = batch.num_rows();
        let mut sorted_names = source_names.clone();
        sorted_names.sort_unstable();
        let source_bit: Option<Vec<u64>> = (sorted_names.len() <= 64)
            .then(|| {
                (0..n)
                    .map(|r| {
                        let s = sources.value(r);
                        sorted_names.iter().position(|x| *x == s).map(|i| 1u64 << i)
                    })
                    .collect()
            })
            .flatten();
        Ok(Records {
            sources,
            source_ids: text_column(batch, schema::SOURCE_ID)?,
            updated: text_column(batch, schema::UPDATED_AT)?,
            rows,
            source_order: (0..n).map(|r| order_of(sources.value(r))).collect(),
            priority: (0..n).map(|r| priority_of(sources.value(r))).collect(),
            source_bit,
        })
    }

    /// What a rule sees of record `r`, with `value` as the field's value.
    pub fn candidate<'v>(&self, r: u32, value: &'v str) -> Candidate<'v>
    where
        'b: 'v,
    {
        let r_us = r as usize;
        Candidate {
            record: r,
            value,
            updated_at: self
                .updated
                .is_valid(r_us)
                .then(|| self.updated.value(r_us)),
            priority: self.priority[r_us],
            source_order: self.source_order[r_us],
            row_number: self.rows.value(r_us),
        }
    }

    /// The sorted, comma-separated sources of `members`; `cache` holds the text of each set of
    /// sources already seen (bit i: source i).
    pub fn sources_of<'c>(
        &self,
        members: &[u32],
        cache: &'c mut foldhash::HashMap<u64, String>,
    ) -> Cow<'c, str> {
        let list_of = || {
            let mut srcs: Vec<&str> = members
                .iter()
                .map(|&r| self.sources.value(r as usize))
                .collect();
            srcs.sort_unstable();
            srcs.dedup();
            srcs.join(",")
        };
        match &self.source_bit {
            Some(bit) => {
                let set = members.iter().fold(0, |set, &r| set | bit[r as usize]);
                Cow::Borrowed(cache.entry(set).or_insert_with(list_of))
            }
            None => Cow::Owned(list_of()),
        }
    }

    /// The earliest and latest `updated_at` of `members`.
    pub fn seen(&self, members: &[u32]) -> (Option<&'b str>, Option<&'b str>) {
        let updated = self.updated;
        let times = members
            .iter()
            .filter(|&&r| updated.is_valid(r as usize))
            .map(|&r| updated.value(r as usize));
        times.fold((None, None), |(lo, hi): (Option<&str>, Option<&str>), t| {
            (
                Some(lo.map_or(t, |l| l.min(t))),
                Some(hi.map_or(t, |h| h.max(t))),
            )
        })
    }
}
