//! Finding a committed run: the one `latest` points at (for the next run to build on), or the
//! run a command names.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::record_batch::RecordBatch;
use serde::de::DeserializeOwned;

use super::layout::{self, RunState, Table};
use super::parquet::read_columns;
use crate::schema;
use crate::{Error, Result};

/// The previous committed run a new run builds on: its directory, its manifest, and lazy
/// readers of the columns of its tables that the next run needs. The crosswalk is read once,
/// on first use, and shared by the comparison cache and stable ids.
#[derive(Debug)]
pub struct Previous {
    /// The run directory (canonical).
    dir: PathBuf,
    /// The crosswalk's key columns, or why they cannot be read; read on first use.
    crosswalk: OnceLock<std::result::Result<RecordBatch, String>>,
}

impl Previous {
    /// The committed run in `dir` (see [`previous_run_dir`]); nothing is read yet.
    pub fn new(dir: PathBuf) -> Self {
        Previous {
            dir,
            crosswalk: OnceLock::new(),
        }
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The run's id (its directory name).
    pub fn run_id(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The path of `table` in the run.
    pub fn path(&self, table: Table) -> PathBuf {
        self.dir.join(table.file_name())
    }

    /// The run's `manifest.json`, parsed as `M`.
    pub fn manifest<M: DeserializeOwned>(&self) -> Result<M> {
        read_manifest(&self.dir.join(layout::MANIFEST))
    }

    /// The crosswalk columns the next run needs (source, source id, golden id and
    /// `content_hash`, absent in runs that predate it), read once; `Err` says why they
    /// cannot be read.
    pub fn crosswalk(&self) -> std::result::Result<&RecordBatch, &str> {
        self.crosswalk
            .get_or_init(|| {
                let columns = [
                    schema::SOURCE,
                    schema::SOURCE_ID,
                    schema::GOLDEN_ID,
                    schema::CONTENT_HASH,
                ];
                read_columns(&self.path(Table::Crosswalk), Some(&columns))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// The golden ids and the run that created each (`created_run`, absent in runs older
    /// than stable ids).
    pub fn golden_ids(&self) -> Result<RecordBatch> {
        let columns = [schema::GOLDEN_ID, schema::CREATED_RUN];
        read_columns(&self.path(Table::Golden), Some(&columns))
    }

    /// The `columns` of the decisions table (those it lacks are left out).
    pub fn decisions(&self, columns: &[&str]) -> Result<RecordBatch> {
        read_columns(&self.path(Table::Decisions), Some(columns))
    }
}

/// Reads a run's `manifest.json` at `path` as `M`; errors say the run is not intact.
pub fn read_manifest<M: DeserializeOwned>(path: &Path) -> Result<M> {
    let text = fs::read_to_string(path).map_err(|e| Error::Input {
        path: path.into(),
        message: format!("cannot read the run's manifest ({e}); this is not an intact run"),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Input {
        path: path.into(),
        message: format!("not a golden manifest: {e}"),
    })
}

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
    fn previous_reads_the_crosswalk_key_columns_once_and_says_why_not() {
        use arrow::array::{ArrayRef, StringArray, UInt64Array};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let prev = Previous::new(dir.path().join("20200101T000000001Z"));
        assert_eq!(prev.run_id(), "20200101T000000001Z");
        let missing = prev.crosswalk().unwrap_err().to_string();
        assert!(missing.contains("crosswalk.parquet"), "{missing}");
        // Read once: the error stays although the file now exists.
        fs::create_dir_all(prev.dir()).unwrap();
        let text = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
        let batch = RecordBatch::try_from_iter([
            (schema::SOURCE, text("crm")),
            (schema::SOURCE_ID, text("1")),
            ("first_name", text("Ann")),
            (schema::GOLDEN_ID, text("g1")),
            (
                schema::CONTENT_HASH,
                Arc::new(UInt64Array::from(vec![7])) as ArrayRef,
            ),
        ])
        .unwrap();
        super::super::write_parquet(&prev.path(Table::Crosswalk), &batch).unwrap();
        assert_eq!(prev.crosswalk().unwrap_err(), missing);
        let fresh = Previous::new(prev.dir().to_path_buf());
        let read = fresh.crosswalk().unwrap();
        let names: Vec<&str> = read
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["source", "source_id", "golden_id", "content_hash"]);
        assert!(fresh.golden_ids().is_err());
    }

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
