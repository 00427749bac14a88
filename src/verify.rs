//! `golden verify`: whether a committed run is still exactly what golden wrote.
//!
//! In: a run directory. Out: each file that changed, is missing or was added since the run was
//! committed, from the SHA-256, size and Parquet row count recorded for every file (except
//! `manifest.json` itself) in `manifest.json` at commit. Reads only; writes nothing.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::output::Manifest;
use crate::output::manifest::{RunFile, describe_run_files};
use crate::{Error, Result};

/// How one file differs from what the manifest recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Its bytes differ (`detail` says how: size, rows).
    Changed {
        /// The file's name in the run directory.
        file: String,
        /// Size and row count, then and now.
        detail: String,
    },
    /// Recorded, but no longer there.
    Missing(String),
    /// There, but not recorded.
    Added(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Changed { file, detail } => write!(f, "{file}: changed ({detail})"),
            Problem::Missing(file) => write!(f, "{file}: missing"),
            Problem::Added(file) => write!(f, "{file}: added (not written by the run)"),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The run directory.
    pub run_dir: PathBuf,
    /// The run's id.
    pub run_id: String,
    /// Files recorded in the manifest.
    pub files: usize,
    /// Every difference, by file name.
    pub problems: Vec<Problem>,
}

/// Recomputes every file's checksum and row count in `run_dir` and compares them with its
/// manifest; a run whose manifest records no files (written by an older golden) is an
/// [`Error::Input`] saying so.
pub fn verify(run_dir: &Path) -> Result<Verification> {
    let manifest_path = run_dir.join(crate::run::layout::MANIFEST);
    let manifest = Manifest::read(&manifest_path)?;
    if manifest.status != "succeeded" {
        return Err(Error::Input {
            path: manifest_path,
            message: format!(
                "run {} was not committed (status: {}); only committed runs record their files \
                 and can be verified",
                manifest.run_id, manifest.status
            ),
        });
    }
    if manifest.files.is_empty() {
        return Err(Error::Input {
            path: manifest_path,
            message: format!(
                "run {} records no file checksums (it was written by a golden older than \
                 `golden verify`), so it cannot be verified; runs written from now on can",
                manifest.run_id
            ),
        });
    }
    // A file of the run that cannot be read (a directory in place of a table, …) is damage.
    let now = describe_run_files(run_dir).map_err(|e| match e {
        Error::Io { path, source } => Error::Input {
            path,
            message: format!("cannot read this file of the run ({source}); the run is damaged"),
        },
        e => e,
    })?;
    let mut problems = Vec::new();
    for (name, then) in &manifest.files {
        match now.get(name) {
            None => problems.push(Problem::Missing(name.clone())),
            Some(now) if now != then => problems.push(Problem::Changed {
                file: name.clone(),
                detail: difference(then, now),
            }),
            Some(_) => {}
        }
    }
    for name in now.keys().filter(|n| !manifest.files.contains_key(*n)) {
        problems.push(Problem::Added(name.clone()));
    }
    Ok(Verification {
        run_dir: run_dir.to_path_buf(),
        run_id: manifest.run_id,
        files: manifest.files.len(),
        problems,
    })
}

/// How a file differs: always the checksum, and its size and rows where they differ too.
fn difference(then: &RunFile, now: &RunFile) -> String {
    let mut parts = vec!["SHA-256 differs".to_string()];
    if then.bytes != now.bytes {
        parts.push(format!("{} bytes, recorded {}", now.bytes, then.bytes));
    }
    if then.rows != now.rows {
        let rows = |r: Option<u64>| r.map_or("unreadable".into(), |n| n.to_string());
        parts.push(format!(
            "rows {}, recorded {}",
            rows(now.rows),
            rows(then.rows)
        ));
    }
    parts.join("; ")
}

impl Verification {
    /// The run is intact: every recorded file is there, unchanged, and nothing was added.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// A failed verification as an [`Error::Input`] (exit 3) naming every file.
    pub fn into_error(self) -> Error {
        let lines: Vec<String> = self.problems.iter().map(|p| format!("  {p}")).collect();
        Error::Input {
            path: self.run_dir,
            message: format!(
                "run {} is NOT intact: {} of its files differ from what its manifest recorded at \
                 commit:\n{}\nrestore the run from a backup, or rerun the pipeline for a new run",
                self.run_id,
                self.problems.len(),
                lines.join("\n")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(sha: &str, bytes: u64, rows: Option<u64>) -> RunFile {
        RunFile {
            sha256: sha.into(),
            bytes,
            rows,
        }
    }

    #[test]
    fn a_difference_names_checksum_then_size_and_rows() {
        let then = file("aa", 10, Some(3));
        assert_eq!(
            difference(&then, &file("bb", 10, Some(3))),
            "SHA-256 differs"
        );
        assert_eq!(
            difference(&then, &file("bb", 12, None)),
            "SHA-256 differs; 12 bytes, recorded 10; rows unreadable, recorded 3"
        );
    }
}
