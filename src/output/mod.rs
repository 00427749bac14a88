//! Stage "write": the run directory of DESIGN §3, committed atomically.
//!
//! Files are written into `runs/.tmp-<run_id>/`, fsynced, and the directory is renamed to
//! `runs/<run_id>` only when every file is complete; `latest` (a symlink) is then swapped to it
//! by an atomic rename. A lock file keeps two runs off one output directory.

pub mod manifest;
pub mod tables;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::{Error, Result};
pub use manifest::Manifest;

/// Writes `bytes` to `path` and fsyncs it.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

/// Writes `batch` as a ZSTD-compressed Parquet file and fsyncs it.
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    w.write(batch)?;
    let file = w.into_inner()?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

/// Reads every row of a Parquet file into one batch.
pub fn read_parquet(path: &Path) -> Result<RecordBatch> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?;
    let schema = reader.schema().clone();
    let batches = reader
        .build()?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(arrow::compute::concat_batches(&schema, &batches)?)
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// A new run id: UTC time to the millisecond, sortable.
pub fn new_run_id() -> String {
    chrono::Utc::now()
        .format("%Y%m%dT%H%M%S%.3fZ")
        .to_string()
        .replace('.', "")
}

/// Holds `<output>/.lock` while alive; removes it when dropped.
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock of `output_dir`, or fails with exit code 4 naming the holder.
    pub fn acquire(output_dir: &Path) -> Result<Lock> {
        fs::create_dir_all(output_dir).map_err(|e| Error::io(output_dir, e))?;
        let path = output_dir.join(".lock");
        let host = fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                let text = format!(
                    "pid={}\nhost={host}\nstarted={}\n",
                    std::process::id(),
                    chrono::Utc::now().to_rfc3339()
                );
                f.write_all(text.as_bytes())
                    .map_err(|e| Error::io(&path, e))?;
                Ok(Lock { path })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = fs::read_to_string(&path)
                    .unwrap_or_default()
                    .replace('\n', " ");
                Err(Error::Locked(format!(
                    "{} is held by another run ({}); wait for it to finish, or delete the lock file if that process is gone",
                    path.display(),
                    holder.trim()
                )))
            }
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// A run directory being written.
pub struct RunDir {
    /// Output directory (holds `runs/` and `latest`).
    pub output_dir: PathBuf,
    /// Run id.
    pub run_id: String,
    /// Temporary directory the files go into.
    pub tmp: PathBuf,
}

impl RunDir {
    /// Creates `runs/.tmp-<run_id>/`.
    pub fn create(output_dir: &Path, run_id: &str) -> Result<RunDir> {
        let runs = output_dir.join("runs");
        let tmp = runs.join(format!(".tmp-{run_id}"));
        fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(RunDir {
            output_dir: output_dir.to_path_buf(),
            run_id: run_id.to_string(),
            tmp,
        })
    }

    /// Path of `name` inside the temporary directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.tmp.join(name)
    }

    /// Renames the finished directory to `runs/<run_id>` and points `latest` at it.
    pub fn commit(self) -> Result<PathBuf> {
        let runs = self.output_dir.join("runs");
        sync_dir(&self.tmp)?;
        let fin = runs.join(&self.run_id);
        fs::rename(&self.tmp, &fin).map_err(|e| Error::io(&fin, e))?;
        sync_dir(&runs)?;
        let link_tmp = self.output_dir.join(format!(".latest-{}", self.run_id));
        let target = Path::new("runs").join(&self.run_id);
        std::os::unix::fs::symlink(&target, &link_tmp).map_err(|e| Error::io(&link_tmp, e))?;
        let latest = self.output_dir.join("latest");
        fs::rename(&link_tmp, &latest).map_err(|e| Error::io(&latest, e))?;
        sync_dir(&self.output_dir)?;
        Ok(fin)
    }

    /// Keeps what was written under `runs/<run_id>.failed` for inspection; `latest` is untouched.
    pub fn fail(self) -> Result<PathBuf> {
        let fin = self
            .output_dir
            .join("runs")
            .join(format!("{}.failed", self.run_id));
        fs::rename(&self.tmp, &fin).map_err(|e| Error::io(&fin, e))?;
        Ok(fin)
    }
}

/// Resolves a run argument: a run directory, or an output directory with a `latest` link.
pub fn resolve_run(path: &Path) -> Result<PathBuf> {
    if path.join("crosswalk.parquet").exists() {
        return Ok(path.to_path_buf());
    }
    let latest = path.join("latest");
    if latest.join("crosswalk.parquet").exists() {
        return fs::canonicalize(&latest).map_err(|e| Error::io(&latest, e));
    }
    Err(Error::Usage(format!(
        "{} is neither a run directory (with crosswalk.parquet) nor an output directory with a `latest` run",
        path.display()
    )))
}
