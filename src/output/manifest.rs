//! `manifest.json`: what a run read, what it produced, how long each stage took.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cluster::stable_ids::ChangeKind;
use crate::{Error, Result};

/// One input file with its size and checksum.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputFile {
    /// Source name.
    pub source: String,
    /// Path as resolved.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

impl InputFile {
    /// Reads `path` once to size and checksum it.
    pub fn describe(source: &str, path: &Path) -> Result<Self> {
        let f = crate::ingest::source::open(path)?;
        let (bytes, sha256) = sha256_read(f).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("cannot read the file ({e}); check the disk and the file"),
        })?;
        Ok(InputFile {
            source: source.into(),
            path: path.display().to_string(),
            bytes,
            sha256,
        })
    }
}

/// The size and hex SHA-256 of the file at `path`, read once.
pub fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    sha256_read(f).map_err(|e| Error::io(path, e))
}

/// Size and hex SHA-256 of everything `r` yields, read in 1 MiB pieces.
fn sha256_read(mut r: impl Read) -> std::io::Result<(u64, String)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        h.update(&buf[..n]);
    }
    Ok((bytes, hex::encode(h.finalize())))
}

/// One file of a run directory as committed, for `golden verify`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunFile {
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows in its Parquet footer (Parquet files only, when the footer is readable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// Every file of the run directory `dir` except `manifest.json`, by name, with its checksum,
/// size and (Parquet) row count; files are read in parallel. A subdirectory is an error.
pub fn describe_run_files(dir: &Path) -> Result<BTreeMap<String, RunFile>> {
    use rayon::prelude::*;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != crate::run::layout::MANIFEST {
            names.push(name);
        }
    }
    names
        .into_par_iter()
        .map(|name| {
            let path = dir.join(&name);
            let (bytes, sha256) = sha256_file(&path)?;
            let rows = name
                .ends_with(".parquet")
                .then(|| parquet_rows(&path))
                .flatten();
            Ok((
                name,
                RunFile {
                    sha256,
                    bytes,
                    rows,
                },
            ))
        })
        .collect()
}

/// The row count in a Parquet file's footer; `None` when it is not a readable Parquet file.
pub fn parquet_rows(path: &Path) -> Option<u64> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = std::fs::File::open(path).ok()?;
    let reader = SerializedFileReader::new(file).ok()?;
    u64::try_from(reader.metadata().file_metadata().num_rows()).ok()
}

pub use crate::ingest::limit::SourceCounts;

/// The counts of a run, under the names `manifest.json` gives them (in that file's
/// alphabetical order). A count the run did not reach (a failed run) or that an older golden
/// did not record is `None` and left out of the file.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(default)]
pub struct Counts {
    /// Candidate pairs compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate_pairs: Option<u64>,
    /// Previous golden ids merged into another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_merged_into: Option<u64>,
    /// New golden ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_new: Option<u64>,
    /// Previous golden ids with no member left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_retired: Option<u64>,
    /// Golden ids split from a previous one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_split_from: Option<u64>,
    /// Golden ids whose membership changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_updated: Option<u64>,
    /// Pairs written to `decisions.parquet` (those at or above the decisions floor, and the
    /// manual pairs; every candidate with `[output] decisions = "all"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions_written: Option<u64>,
    /// Golden records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub golden_records: Option<u64>,
    /// Manual decisions that contradict each other or the must-links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_contradictions: Option<u64>,
    /// Pairs decided by a manual decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_pairs: Option<u64>,
    /// Pairs decided as matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_pairs: Option<u64>,
    /// Candidate pairs below the decisions floor: counted, not written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs_below_floor: Option<u64>,
    /// Comparisons reused from the previous run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs_reused: Option<u64>,
    /// Records kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// Pairs left for review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_pairs: Option<u64>,
    /// Rows read over all sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_read: Option<u64>,
    /// Rows rejected over all sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_rejected: Option<u64>,
}

impl Counts {
    /// The count of changes of `kind` (`changes_<kind>`).
    pub fn changes(&self, kind: &ChangeKind) -> Option<u64> {
        let mut copy = *self;
        *copy.changes_slot(kind)
    }

    /// Sets the count of changes of `kind`.
    pub fn set_changes(&mut self, kind: &ChangeKind, n: u64) {
        *self.changes_slot(kind) = Some(n);
    }

    /// The field counting changes of `kind`.
    fn changes_slot(&mut self, kind: &ChangeKind) -> &mut Option<u64> {
        match kind {
            ChangeKind::New => &mut self.changes_new,
            ChangeKind::Updated => &mut self.changes_updated,
            ChangeKind::MergedInto => &mut self.changes_merged_into,
            ChangeKind::SplitFrom => &mut self.changes_split_from,
            ChangeKind::Retired => &mut self.changes_retired,
        }
    }
}

/// Everything a run records about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Manifest {
    /// Run id (also the run directory's name).
    pub run_id: String,
    /// `succeeded` or `failed: <reason>`.
    pub status: String,
    /// golden version.
    pub golden_version: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Pipeline file path.
    pub pipeline_path: String,
    /// Hex SHA-256 of the pipeline file.
    pub pipeline_hash: String,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// When the run finished (RFC 3339).
    pub finished_at: String,
    /// Threads used for parallel stages.
    pub threads: usize,
    /// Input files.
    pub inputs: Vec<InputFile>,
    /// Per-source counts.
    pub sources: BTreeMap<String, SourceCounts>,
    /// Counts per stage (`records`, `candidate_pairs`, `golden_records`, `changes_<kind>`, …).
    pub counts: Counts,
    /// Seconds per stage.
    pub timings_s: BTreeMap<String, f64>,
    /// Per blocking rule counts.
    pub blocking: Vec<crate::block::RuleStats>,
    /// Whether the model was trained in this run or loaded from a file.
    pub model_source: String,
    /// `full`, or `incremental` when the previous run's comparisons and model were reused.
    #[serde(default)]
    pub mode: String,
    /// The Ballista scheduler the run blocked and compared on (`df://HOST:PORT` or
    /// `standalone`); absent for a run in one process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<String>,
    /// Columns of each source as read, for schema-drift checks of the next run.
    #[serde(default)]
    pub source_columns: crate::ingest::drift::SourceColumns,
    /// Per checked field, how many distinct placeholder values were treated as missing for
    /// matching and how many records carried one (never the values).
    #[serde(default)]
    pub placeholders: crate::standardize::placeholder::Placeholders,
    /// Every other file of the run as committed (checksum, size, rows), for `golden verify`;
    /// empty in runs written before golden recorded them.
    #[serde(default)]
    pub files: BTreeMap<String, RunFile>,
    /// Per source and field: records with a value, values standardised cleanly, distinct
    /// match keys (counts only; empty in runs written before golden profiled sources).
    #[serde(default)]
    pub profile: crate::standardize::profile::Profile,
    /// Which decisions `decisions.parquet` holds: every candidate pair, or those at or above
    /// the recorded posterior floor; absent in runs written before golden had a floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decisions: Option<crate::config::DecisionsKept>,
    /// The final match weight of every candidate pair, binned, with the thresholds; absent in
    /// runs written before golden kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_histogram: Option<crate::model::histogram::WeightHistogram>,
    /// Whether `report.html` shows `***` for every value (`[report] redact`), so that
    /// `golden report` rebuilds it the same way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub report_redact: bool,
}

impl Manifest {
    /// Writes the manifest as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
        crate::run::write_file(path, text.as_bytes())
    }

    /// Reads a manifest.
    pub fn read(path: &Path) -> Result<Self> {
        crate::run::read_manifest(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty<T: Serialize>(v: &T) -> String {
        serde_json::to_string_pretty(v).unwrap()
    }

    #[test]
    fn counts_are_written_as_the_map_they_replace_without_unreached_counts() {
        let mut counts = Counts {
            rows_read: Some(9),
            rows_rejected: Some(3),
            pairs_reused: Some(0),
            ..Counts::default()
        };
        counts.set_changes(&ChangeKind::MergedInto, 2);
        let map: BTreeMap<&str, u64> = [
            ("rows_read", 9),
            ("rows_rejected", 3),
            ("pairs_reused", 0),
            ("changes_merged_into", 2),
        ]
        .into();
        assert_eq!(pretty(&counts), pretty(&map));
        assert_eq!(pretty(&Counts::default()), "{}");
        assert_eq!(counts.changes(&ChangeKind::MergedInto), Some(2));
        assert_eq!(counts.changes(&ChangeKind::New), None);
    }

    #[test]
    fn every_count_is_written_in_the_order_of_its_name() {
        let all = Counts {
            candidate_pairs: Some(1),
            changes_merged_into: Some(1),
            changes_new: Some(1),
            changes_retired: Some(1),
            changes_split_from: Some(1),
            changes_updated: Some(1),
            decisions_written: Some(1),
            golden_records: Some(1),
            manual_contradictions: Some(1),
            manual_pairs: Some(1),
            match_pairs: Some(1),
            pairs_below_floor: Some(1),
            pairs_reused: Some(1),
            records: Some(1),
            review_pairs: Some(1),
            rows_read: Some(1),
            rows_rejected: Some(1),
        };
        let text = serde_json::to_string(&all).unwrap();
        let written: Vec<&str> = text.split('"').skip(1).step_by(2).collect();
        let mut sorted = written.clone();
        sorted.sort_unstable();
        assert_eq!(written.len(), 17);
        assert_eq!(written, sorted);
    }

    #[test]
    fn an_older_manifest_missing_counts_reads_them_as_unknown() {
        let counts: Counts =
            serde_json::from_str(r#"{"golden_records": 4, "records": 7}"#).unwrap();
        let want = Counts {
            golden_records: Some(4),
            records: Some(7),
            ..Counts::default()
        };
        assert_eq!(counts, want);
    }
}
