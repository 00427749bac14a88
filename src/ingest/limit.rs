//! The reject limit: each source's rows read, rejected and kept, and the first source whose
//! rejected share is over its `max_reject_ratio` (the run then fails, its rejects written).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Ingested;
use crate::Error;
use crate::config::Pipeline;

/// Counts for one source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SourceCounts {
    /// Rows read.
    pub rows_read: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Records kept.
    pub records: u64,
}

impl Ingested {
    /// Rows read, rejected and kept of every source.
    pub fn counts(&self) -> BTreeMap<String, SourceCounts> {
        self.sources
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
}

/// A source that rejected more of its rows than its `max_reject_ratio` allows.
pub struct OverRejectLimit {
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
    pub fn into_error(self, rejects: PathBuf) -> Error {
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
pub fn over_reject_limit(
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
