//! Finding a committed run: the one `latest` points at (for the next run to build on), or the
//! run a command names.

use std::fs;
use std::path::{Path, PathBuf};

use super::layout::{self, RunState, Table};
use crate::{Error, Result};

/// The committed run `<output_dir>/latest` points at, for the next run to build on:
/// `Ok(None)` when there is no `latest`, `Err(why)` when it cannot be used (not a link, a link
/// to nothing or to a directory other than a committed run under this output directory's
/// `runs/`). `why` names paths only.
pub fn previous_run_dir(output_dir: &Path) -> std::result::Result<Option<PathBuf>, String> {
    let latest = output_dir.join(layout::LATEST);
    let meta = match fs::symlink_metadata(&latest) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{} cannot be read ({e})", latest.display())),
    };
    if !meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a real directory or file, not a link to a run; it is moved aside to latest.invalid-<run id> when this run commits",
            latest.display()
        ));
    }
    let target = fs::canonicalize(&latest).map_err(|e| {
        format!(
            "{} points at nothing that can be opened ({e})",
            latest.display()
        )
    })?;
    let runs = fs::canonicalize(output_dir.join(layout::RUNS)).ok();
    let committed = target
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(layout::parse_name)
        .is_some_and(|(_, state)| state == RunState::Committed);
    if runs.as_deref() != target.parent() || !committed {
        return Err(format!(
            "{} points at {}, which is not a committed run under {}",
            latest.display(),
            target.display(),
            output_dir.join(layout::RUNS).display()
        ));
    }
    Ok(Some(target))
}

/// Resolves a run argument: a run directory (a failed one too), or an output directory with a
/// `latest` link.
pub fn resolve_run(path: &Path) -> Result<PathBuf> {
    if path.join(Table::Crosswalk.file_name()).exists() {
        return Ok(path.to_path_buf());
    }
    // A failed run (`runs/<id>.failed`) has no crosswalk, but its rejects say why it failed.
    let failed = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(layout::parse_name)
        .is_some_and(|(_, state)| state == RunState::Failed);
    if failed && path.join(layout::MANIFEST).is_file() {
        return Ok(path.to_path_buf());
    }
    let latest = path.join(layout::LATEST);
    if latest.join(Table::Crosswalk.file_name()).exists() {
        return fs::canonicalize(&latest).map_err(|e| Error::io(&latest, e));
    }
    Err(Error::Usage(format!(
        "{} is neither a run directory (with crosswalk.parquet) nor an output directory with a `latest` run",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_run_dir_accepts_only_a_link_to_a_committed_run_here() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        assert_eq!(previous_run_dir(out), Ok(None));
        let (r1, r2, r3) = (
            "20200101T000000001Z",
            "20200101T000000002Z",
            "20200101T000000003Z",
        );
        for run in [r1, &format!("{r2}.failed"), &format!(".tmp-{r3}"), "R1"] {
            fs::create_dir_all(out.join("runs").join(run)).unwrap();
        }
        let point = |target: &str| {
            let _ = fs::remove_file(out.join("latest"));
            std::os::unix::fs::symlink(target, out.join("latest")).unwrap();
            previous_run_dir(out)
        };
        let canonical = fs::canonicalize(out.join("runs").join(r1)).unwrap();
        assert_eq!(point(&format!("runs/{r1}")), Ok(Some(canonical)));
        for bad in [
            format!("runs/{r2}.failed"),
            format!("runs/.tmp-{r3}"),
            "runs/20200101T000000009Z".into(),
            "runs/R1".into(),
            "runs".into(),
            "/".into(),
        ] {
            assert!(point(&bad).is_err(), "{bad}");
        }
        fs::remove_file(out.join("latest")).unwrap();
        fs::create_dir(out.join("latest")).unwrap();
        assert!(previous_run_dir(out).unwrap_err().contains("not a link"));
    }
}
