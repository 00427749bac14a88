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
        let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
            path: path.into(),
            message: format!("cannot read the run's manifest ({e}); this is not an intact run"),
        })?;
        serde_json::from_str(&text).map_err(|e| Error::Input {
            path: path.into(),
            message: format!("not a golden manifest: {e}"),
        })
    }
}
