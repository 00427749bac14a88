//! `manifest.json`: what a run read, what it produced, how long each stage took.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
        let mut f = crate::ingest::source::open(path)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::Input {
                path: path.to_path_buf(),
                message: format!("cannot read the file ({e}); check the disk and the file"),
            })?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            h.update(&buf[..n]);
        }
        Ok(InputFile {
            source: source.into(),
            path: path.display().to_string(),
            bytes,
            sha256: hex::encode(h.finalize()),
        })
    }
}

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
    pub counts: BTreeMap<String, u64>,
    /// Seconds per stage.
    pub timings_s: BTreeMap<String, f64>,
    /// Per blocking rule counts.
    pub blocking: Vec<crate::block::RuleStats>,
    /// Whether the model was trained in this run or loaded from a file.
    pub model_source: String,
    /// `full`, or `incremental` when the previous run's comparisons and model were reused.
    #[serde(default)]
    pub mode: String,
    /// Columns of each source as read, for schema-drift checks of the next run.
    #[serde(default)]
    pub source_columns: crate::ingest::drift::SourceColumns,
}

impl Manifest {
    /// Writes the manifest as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
        super::write_file(path, text.as_bytes())
    }

    /// Reads a manifest.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Input {
            path: path.into(),
            message: format!("not a golden manifest: {e}"),
        })
    }
}
