//! Past runs of an output directory: listing them (`golden runs`) and pruning old ones
//! (`output.keep_runs`).
//!
//! Under `<output>/runs/`, `<run_id>` is a committed run, `<run_id>.failed` a run stopped by
//! bad input (kept for inspection) and `.tmp-<run_id>` a run still writing, or one that crashed
//! or was killed. Run ids sort by time.

use std::fs;
use std::path::{Path, PathBuf};

use super::Manifest;
use crate::run::layout::{self, RunState, parse_name};
use crate::{Error, Result};

/// One run directory and what its manifest says.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Run id.
    pub run_id: String,
    /// Directory state.
    pub state: RunState,
    /// The directory.
    pub path: PathBuf,
    /// Whether `latest` points at it.
    pub latest: bool,
    /// The manifest, if it exists and reads.
    pub manifest: Option<Manifest>,
    /// Whether a `manifest.json` exists but does not read.
    pub damaged_manifest: bool,
}

impl RunInfo {
    /// The manifest's status, or what the directory shows without one.
    pub fn status(&self) -> String {
        match (&self.manifest, self.state) {
            (Some(m), RunState::Incomplete) => format!("incomplete ({})", m.status),
            (Some(m), _) => m.status.clone(),
            (None, RunState::Incomplete) => "incomplete".into(),
            (None, _) if self.damaged_manifest => "unknown (damaged manifest.json)".into(),
            (None, _) => "unknown (no manifest.json)".into(),
        }
    }

    /// The manifest's count of golden records.
    pub fn golden_records(&self) -> Option<u64> {
        self.manifest.as_ref()?.counts.golden_records
    }

    /// Rows read over all sources.
    pub fn rows_read(&self) -> Option<u64> {
        let m = self.manifest.as_ref()?;
        (!m.sources.is_empty()).then(|| m.sources.values().map(|s| s.rows_read).sum())
    }

    /// Rows rejected over all sources.
    pub fn rows_rejected(&self) -> Option<u64> {
        let m = self.manifest.as_ref()?;
        (!m.sources.is_empty()).then(|| m.sources.values().map(|s| s.rows_rejected).sum())
    }

    /// Seconds from start to finish, from the manifest.
    pub fn duration_s(&self) -> Option<f64> {
        let m = self.manifest.as_ref()?;
        let t0 = chrono::DateTime::parse_from_rfc3339(&m.started_at).ok()?;
        let t1 = chrono::DateTime::parse_from_rfc3339(&m.finished_at).ok()?;
        Some((t1 - t0).num_milliseconds() as f64 / 1000.0)
    }
}

/// The run id `<output>/latest` points at, if any.
pub fn latest_run_id(output_dir: &Path) -> Option<String> {
    let target = fs::read_link(output_dir.join(layout::LATEST)).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// Every run directory under `<output_dir>/runs`, newest first.
pub fn list_runs(output_dir: &Path) -> Result<Vec<RunInfo>> {
    if !output_dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: no such output directory; give the directory a pipeline's runs go into (its [output] dir or --output)",
            output_dir.display()
        )));
    }
    let runs = output_dir.join(layout::RUNS);
    let latest = latest_run_id(output_dir);
    let mut out = Vec::new();
    let entries = match fs::read_dir(&runs) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(&runs, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&runs, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let Some((run_id, state)) = parse_name(&name) else {
            continue;
        };
        if !path.is_dir() {
            continue;
        }
        let manifest_path = path.join(layout::MANIFEST);
        let manifest = Manifest::read(&manifest_path).ok();
        out.push(RunInfo {
            damaged_manifest: manifest.is_none() && manifest_path.exists(),
            latest: state == RunState::Committed && latest.as_deref() == Some(name.as_str()),
            run_id,
            state,
            path,
            manifest,
        });
    }
    out.sort_by(|a, b| b.run_id.cmp(&a.run_id).then(a.state.cmp(&b.state)));
    Ok(out)
}

/// What [`prune`] deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Committed runs beyond `keep_runs`.
    pub committed: usize,
    /// Failed runs older than the oldest committed run kept.
    pub failed: usize,
    /// Leftover directories of dead runs older than the newest committed run.
    pub incomplete: usize,
    /// Paths that could not be deleted, with the reason.
    pub errors: Vec<String>,
}

/// Cleans `output_dir` after run `current` committed (the caller holds the lock, so no other
/// run is writing): deletes the oldest committed runs beyond `keep_runs` (never the one
/// `latest` points at, nor `current`), failed runs older than the oldest committed run kept
/// (only when `keep_runs` is set), and always the `.tmp-*` directories, `.latest-*` links and
/// `.lock.<pid>` files that dead runs older than `current` left behind.
pub fn prune(output_dir: &Path, keep_runs: Option<usize>, current: &str) -> Result<Pruned> {
    let mut pruned = Pruned::default();
    let runs = list_runs(output_dir)?;
    let latest = latest_run_id(output_dir);
    // Only directories a run wrote (a readable manifest) are deleted as runs.
    let committed: Vec<&RunInfo> = runs
        .iter()
        .filter(|r| r.state == RunState::Committed && r.manifest.is_some())
        .collect();
    let mut remove = |path: &Path| -> bool {
        let res = if path.is_dir() && !path.is_symlink() {
            fs::remove_dir_all(path)
        } else {
            fs::remove_file(path)
        };
        match res {
            Ok(()) => true,
            Err(e) => {
                pruned.errors.push(format!(
                    "{}: {e}; delete it by hand or fix its permissions",
                    path.display()
                ));
                false
            }
        }
    };
    let mut counts = (0, 0, 0);
    if let Some(keep) = keep_runs {
        let keep = keep.max(1);
        let mut kept = 0;
        let mut oldest_kept: Option<&str> = None;
        for r in &committed {
            let pinned = r.run_id == current || latest.as_deref() == Some(r.run_id.as_str());
            if kept < keep || pinned {
                kept += 1;
                oldest_kept = Some(r.run_id.as_str());
            } else if remove(&r.path) {
                counts.0 += 1;
            }
        }
        if let Some(oldest) = oldest_kept {
            let failed = |r: &&RunInfo| r.state == RunState::Failed && r.manifest.is_some();
            for r in runs.iter().filter(failed) {
                if r.run_id.as_str() < oldest && remove(&r.path) {
                    counts.1 += 1;
                }
            }
        }
    }
    for r in runs.iter().filter(|r| r.state == RunState::Incomplete) {
        if r.run_id.as_str() < current && remove(&r.path) {
            counts.2 += 1;
        }
    }
    if let Ok(entries) = fs::read_dir(output_dir) {
        let me = std::process::id().to_string();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dead_link = name
                .strip_prefix(layout::LATEST_TMP_PREFIX)
                .is_some_and(|id| id < current);
            let dead_lock = name.strip_prefix(".lock.").is_some_and(|pid| {
                pid != me
                    && pid.bytes().all(|b| b.is_ascii_digit())
                    && !Path::new("/proc").join(pid).exists()
            });
            if dead_link || dead_lock {
                remove(&entry.path());
            }
        }
    }
    pruned.committed = counts.0;
    pruned.failed = counts.1;
    pruned.incomplete = counts.2;
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run directory named `name` with `R<n>` standing for the run id [`id`]`(n)`, and a
    /// manifest unless it is a `.tmp-` directory.
    fn mkrun(out: &Path, name: &str) {
        let dir = out.join("runs").join(real(name));
        fs::create_dir_all(&dir).unwrap();
        if !name.starts_with('.') {
            Manifest::default()
                .write(&dir.join("manifest.json"))
                .unwrap();
        }
    }

    /// The run id standing for `R<n>`.
    fn id(n: u32) -> String {
        format!("20200101T00000000{n}Z")
    }

    /// `name` with `R<n>` replaced by [`id`]`(n)`.
    fn real(name: &str) -> String {
        let (head, tail) = name.split_once('R').unwrap();
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        format!(
            "{head}{}{}",
            id(digits.parse().unwrap()),
            &tail[digits.len()..]
        )
    }

    #[test]
    fn prune_keeps_the_newest_and_latest_and_clears_dead_tmp_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        for n in [
            "R1",
            "R2",
            "R3",
            "R4",
            "R0.failed",
            "R3.failed",
            ".tmp-R2",
            ".tmp-R9",
        ] {
            mkrun(out, n);
        }
        // latest points at an old run (say, set back by hand): it stays.
        std::os::unix::fs::symlink(format!("runs/{}", id(1)), out.join("latest")).unwrap();
        let p = prune(out, Some(2), &id(4)).unwrap();
        let mut left: Vec<String> = fs::read_dir(out.join("runs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let want: Vec<String> = [".tmp-R9", "R1", "R3", "R3.failed", "R4"]
            .into_iter()
            .map(real)
            .collect();
        assert_eq!(left, want);
        assert_eq!(
            p,
            Pruned {
                committed: 1,
                failed: 1,
                incomplete: 1,
                errors: vec![]
            }
        );
    }

    #[test]
    fn list_runs_is_newest_first_and_marks_latest() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        for n in ["R1", "R2.failed", ".tmp-R3", "R0"] {
            mkrun(out, n);
        }
        std::os::unix::fs::symlink(format!("runs/{}", id(1)), out.join("latest")).unwrap();
        let runs = list_runs(out).unwrap();
        let got: Vec<(&str, RunState, bool)> = runs
            .iter()
            .map(|r| (r.run_id.as_str(), r.state, r.latest))
            .collect();
        assert_eq!(
            got,
            vec![
                (id(3).as_str(), RunState::Incomplete, false),
                (id(2).as_str(), RunState::Failed, false),
                (id(1).as_str(), RunState::Committed, true),
                (id(0).as_str(), RunState::Committed, false),
            ]
        );
        assert_eq!(runs[0].status(), "incomplete");
    }
}
