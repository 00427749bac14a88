//! Files golden writes outside a run directory (`--out` of `train`, `query`, `generate`):
//! fsynced writes, the guard against writing into a run or a pipeline's inputs, and
//! replace-by-rename.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::layout;
use crate::{Error, Result};

/// Writes `bytes` to `path` and fsyncs it.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

/// Checks a file the user named for a command to write (`--out`), and returns its resolved
/// path: refused (exit 2) when its folder is missing, when it is a symlink, a folder, a device
/// or a file with more than one hard link, when it lies inside an output directory (a folder
/// with `runs/`, `latest`, `.lock` or `manifest.json` above it) or inside one of `protected`,
/// or when it is one of `protected` (a pipeline file, its inputs, its output directory).
pub fn guard_output_file(path: &Path, protected: &[PathBuf]) -> Result<PathBuf> {
    let refuse = |why: String| {
        Error::Usage(format!(
            "--out {}: {why}; write the result somewhere else",
            path.display()
        ))
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let parent = parent.canonicalize().map_err(|e| {
        refuse(format!(
            "its folder {} is not usable ({e})",
            parent.display()
        ))
    })?;
    let Some(name) = path.file_name() else {
        return Err(refuse("that names a folder, not a file".into()));
    };
    let full = parent.join(name);
    if let Ok(meta) = fs::symlink_metadata(&full) {
        let kind = meta.file_type();
        if kind.is_symlink() {
            return Err(refuse(
                "that is a symbolic link, which golden never writes through".into(),
            ));
        }
        if !kind.is_file() {
            return Err(refuse("that exists and is not a regular file".into()));
        }
        if std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
            return Err(refuse(
                "that file has other hard links, which would change too".into(),
            ));
        }
    }
    if let Some(dir) = output_dir_above(&parent) {
        return Err(refuse(format!(
            "that is inside the run or output directory {}, which only `golden run` writes",
            dir.display()
        )));
    }
    for p in protected.iter().filter_map(|p| p.canonicalize().ok()) {
        if full.starts_with(&p) {
            return Err(refuse(format!(
                "that is (inside) {}, which the pipeline uses",
                p.display()
            )));
        }
    }
    Ok(full)
}

/// The folder at or above `dir` (canonical) that is golden's output, if any.
pub fn output_dir_above(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| is_output_dir(d))
        .map(Path::to_path_buf)
}

/// Whether `dir` is (or is inside) golden's output: it holds `runs/`, `latest`, `.lock` or
/// `manifest.json`.
fn is_output_dir(dir: &Path) -> bool {
    let has = |n: &str| fs::symlink_metadata(dir.join(n)).is_ok();
    dir.join(layout::RUNS).is_dir()
        || has(layout::LATEST)
        || has(layout::LOCK)
        || has(layout::MANIFEST)
}

/// Writes the file at `path` (resolved by [`guard_output_file`]) through `write`, which gets a
/// temporary file next to it; the result is renamed into place only when complete.
pub fn replace_file(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let done = write(&tmp).and_then(|()| fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if done.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    done
}
