//! A run directory being written (`runs/.tmp-<run_id>/`) and its atomic commit: renamed to
//! `runs/<run_id>` when complete, `latest` then swapped to it; or kept as
//! `runs/<run_id>.failed`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::layout::{self, Table};
use crate::{Error, Result};

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(path, e))
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
        let runs = output_dir.join(layout::RUNS);
        let tmp = runs.join(layout::tmp_dir_name(run_id));
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

    /// Path of `table`'s file inside the temporary directory.
    pub fn table(&self, table: Table) -> PathBuf {
        self.file(table.file_name())
    }

    /// Renames the finished directory to `runs/<run_id>` and points `latest` at it.
    pub fn commit(self) -> Result<PathBuf> {
        let runs = self.output_dir.join(layout::RUNS);
        sync_dir(&self.tmp)?;
        let fin = runs.join(&self.run_id);
        fs::rename(&self.tmp, &fin).map_err(|e| Error::io(&fin, e))?;
        sync_dir(&runs)?;
        let link_tmp = self.output_dir.join(layout::latest_tmp_name(&self.run_id));
        let target = Path::new(layout::RUNS).join(&self.run_id);
        std::os::unix::fs::symlink(&target, &link_tmp).map_err(|e| Error::io(&link_tmp, e))?;
        let latest = self.output_dir.join(layout::LATEST);
        self.move_aside(&latest)?;
        fs::rename(&link_tmp, &latest).map_err(|e| Error::io(&latest, e))?;
        sync_dir(&self.output_dir)?;
        Ok(fin)
    }

    /// Renames `latest` to `latest.invalid-<run_id>` when it is not a link (a directory or file
    /// someone made): it is user data, never deleted, and a link cannot replace a directory.
    fn move_aside(&self, latest: &Path) -> Result<()> {
        let Ok(meta) = fs::symlink_metadata(latest) else {
            return Ok(());
        };
        if meta.file_type().is_symlink() {
            return Ok(());
        }
        let aside = self
            .output_dir
            .join(format!("latest.invalid-{}", self.run_id));
        fs::rename(latest, &aside).map_err(|e| Error::io(&aside, e))?;
        tracing::warn!(
            moved_to = %aside.display(),
            "`latest` was not a link to a run; moved aside (nothing deleted), `latest` now points at this run"
        );
        Ok(())
    }

    /// Keeps what was written under `runs/<run_id>.failed` for inspection; `latest` is untouched.
    pub fn fail(self) -> Result<PathBuf> {
        let fin = self
            .output_dir
            .join(layout::RUNS)
            .join(layout::failed_dir_name(&self.run_id));
        fs::rename(&self.tmp, &fin).map_err(|e| Error::io(&fin, e))?;
        Ok(fin)
    }
}
