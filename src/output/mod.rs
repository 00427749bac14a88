//! Stage "write": the run directory of DESIGN §3, committed atomically.
//!
//! Files are written into `runs/.tmp-<run_id>/`, fsynced, and the directory is renamed to
//! `runs/<run_id>` only when every file is complete; `latest` (a symlink) is then swapped to it
//! by an atomic rename. A lock file keeps two runs off one output directory; [`runs`] lists
//! and prunes past runs.

pub mod manifest;
pub mod runs;
pub mod tables;

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use crate::{Error, Result};
pub use manifest::Manifest;

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
    dir.join("runs").is_dir() || has("latest") || has(".lock") || has("manifest.json")
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

/// Writes `batch` as a ZSTD-compressed Parquet file and fsyncs it (see [`write_batches`]).
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    write_batches(path, std::slice::from_ref(batch))
}

/// Writes `batches` (one schema, at least one batch), one after the other, as one Parquet
/// file and fsyncs it (see [`TableWriter`]).
pub fn write_batches(path: &Path, batches: &[RecordBatch]) -> Result<()> {
    let mut w = TableWriter::new(path);
    for b in batches {
        w.write(b.clone())?;
    }
    w.finish()
}

/// A ZSTD-compressed Parquet file written batch by batch, so a table never has to be whole in
/// memory: batches wait until they fill a row group of [`ROW_GROUP_ROWS`] rows (whatever their
/// sizes), whose columns are then encoded in parallel on rayon's pool (a wide table is
/// otherwise one thread's work). The file is created with the first batch's schema and
/// fsynced by [`TableWriter::finish`].
pub struct TableWriter {
    path: PathBuf,
    open: Option<OpenTable>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    group_rows: usize,
    rows: usize,
    started: std::time::Instant,
}

/// The parts of an open Parquet file: its writer and its column-writer factory.
struct OpenTable {
    writer: parquet::file::writer::SerializedFileWriter<File>,
    factory: parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory,
    schema: arrow::datatypes::SchemaRef,
    groups: usize,
}

impl TableWriter {
    /// A writer of `path`; nothing is created before the first batch.
    pub fn new(path: &Path) -> Self {
        TableWriter {
            path: path.to_path_buf(),
            open: None,
            pending: Vec::new(),
            pending_rows: 0,
            group_rows: ROW_GROUP_ROWS,
            rows: 0,
            started: std::time::Instant::now(),
        }
    }

    /// Appends `batch` (the schema of the first batch); full row groups are written now.
    pub fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if self.open.is_none() {
            let file = File::create(&self.path).map_err(|e| Error::io(&self.path, e))?;
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .set_max_row_group_row_count(Some(self.group_rows))
                .build();
            // The high-level writer embeds the Arrow schema; its parts then take the columns
            // one by one.
            let schema = batch.schema();
            let (writer, factory) = ArrowWriter::try_new(file, schema.clone(), Some(props))?
                .into_serialized_writer()?;
            self.open = Some(OpenTable {
                writer,
                factory,
                schema,
                groups: 0,
            });
        }
        self.pending_rows += batch.num_rows();
        self.rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= self.group_rows {
            let mut groups = row_groups(&std::mem::take(&mut self.pending), self.group_rows);
            let partial = groups
                .last()
                .map(|g| g.iter().map(RecordBatch::num_rows).sum::<usize>() < self.group_rows)
                .unwrap_or(false);
            if partial {
                self.pending = groups.pop().unwrap_or_default();
            }
            self.pending_rows = self.pending.iter().map(RecordBatch::num_rows).sum();
            for group in &groups {
                self.write_group(group)?;
            }
        }
        Ok(())
    }

    /// Writes the last row group, the footer, and fsyncs the file; an error if no batch came.
    pub fn finish(mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.write_group(&last)?;
        }
        let open = self.open.take().ok_or_else(|| {
            Error::Internal(format!("no batches to write to {}", self.path.display()))
        })?;
        let file = open.writer.into_inner()?;
        file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        let name = self.path.file_name().map(|n| n.to_string_lossy());
        let seconds = self.started.elapsed().as_secs_f64();
        tracing::debug!(
            file = name.as_deref(),
            rows = self.rows,
            seconds,
            "table written"
        );
        Ok(())
    }

    /// Encodes one row group, its columns in parallel, and appends it to the file.
    fn write_group(&mut self, parts: &[RecordBatch]) -> Result<()> {
        use parquet::arrow::arrow_writer::compute_leaves;
        let Some(open) = self.open.as_mut() else {
            return Err(Error::Internal(
                "row group before the file was opened".into(),
            ));
        };
        let writers = open.factory.create_column_writers(open.groups)?;
        open.groups += 1;
        // One writer per leaf column; every column here is flat, so leaves and columns agree.
        let chunks = writers
            .into_par_iter()
            .zip(open.schema.fields().par_iter().enumerate())
            .map(|(mut w, (c, field))| {
                for part in parts {
                    for leaf in compute_leaves(field, part.column(c))? {
                        w.write(&leaf)?;
                    }
                }
                w.close()
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut group_writer = open.writer.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group_writer)?;
        }
        group_writer.close()?;
        Ok(())
    }
}

/// Rows per Parquet row group. A table's pending rows wait in memory until they fill a group,
/// and golden and lineage fill theirs at the same time: 262,144 rows kept the 1M-entity run's
/// peak at 1.32–1.38 GiB against 1.49–1.55 GiB with 1,048,576, at the same speed
/// (BENCHMARKS.md).
const ROW_GROUP_ROWS: usize = 1 << 18;

/// `batches` cut into consecutive row groups of `size` rows (the last may be shorter), each a
/// list of zero-copy slices.
fn row_groups(batches: &[RecordBatch], size: usize) -> Vec<Vec<RecordBatch>> {
    let mut groups: Vec<Vec<RecordBatch>> = Vec::new();
    let mut room = 0;
    for batch in batches {
        let mut start = 0;
        while start < batch.num_rows() {
            if room == 0 {
                groups.push(Vec::new());
                room = size;
            }
            let take = room.min(batch.num_rows() - start);
            if let Some(group) = groups.last_mut() {
                group.push(batch.slice(start, take));
            }
            room -= take;
            start += take;
        }
    }
    groups
}

/// Reads every row of a Parquet file into one batch.
pub fn read_parquet(path: &Path) -> Result<RecordBatch> {
    read_parquet_columns(path, None)
}

/// Reads every row of a Parquet file into one batch, only the top-level `columns` when given
/// (columns the file lacks are left out; the caller reports them), so a run that needs two
/// columns of a wide table does not decompress the rest.
pub fn read_parquet_columns(path: &Path, columns: Option<&[&str]>) -> Result<RecordBatch> {
    use arrow::record_batch::RecordBatchReader;
    use parquet::arrow::ProjectionMask;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?;
    if let Some(columns) = columns {
        let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
        builder = builder.with_projection(mask);
    }
    let reader = builder.build()?;
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
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

/// This machine's host name, as recorded in lock files (`/etc/hostname`, else the kernel's).
pub fn host_name() -> String {
    ["/etc/hostname", "/proc/sys/kernel/hostname"]
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty())
        .unwrap_or_default()
}

/// Start time of process `pid` in clock ticks after boot (field 22 of `/proc/<pid>/stat`), or
/// `None` when no such process exists. With the pid it names one process: a pid reused later
/// has another start time.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 is the command name in parentheses and may hold spaces: count after its `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// `text` with every control or bidirectional-formatting character escaped (`\u{1b}`), so
/// that text read from a file cannot drive the terminal it is printed on.
pub fn printable(text: &str) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    text.chars()
        .map(|c| {
            if hidden(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Who holds a lock file, as written by [`Lock::acquire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The file's text on one line, control characters escaped ([`printable`]), for messages.
    pub text: String,
    /// Process id, if readable.
    pub pid: Option<u32>,
    /// Host name, if readable.
    pub host: Option<String>,
    /// The process's start time ([`process_start`]); absent in lock files of older versions.
    pub start: Option<u64>,
}

/// Whether a lock's holder is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Its process exists on this host (same pid and, when recorded, same start time).
    Alive,
    /// Same host, and no process has its pid, or the pid now names a process started at
    /// another time: the run crashed or was killed.
    Stale,
    /// Another host, or an unreadable lock file: cannot tell.
    Unknown,
}

/// Bytes of a lock file read at most: a lock file is three short lines.
const LOCK_FILE_MAX: u64 = 4096;

impl LockHolder {
    /// Reads the lock file at `path` (its first 4 KiB, bad UTF-8 replaced); `None` when there
    /// is none. A symlink or folder in its place is never followed; only its `pid=`, `start=`,
    /// `host=` and `started=` lines are kept for messages (anything else may be any file's
    /// bytes).
    pub fn read(path: &Path) -> Option<LockHolder> {
        use std::io::Read;
        let meta = fs::symlink_metadata(path).ok()?;
        if !meta.is_file() {
            let what = match meta.file_type() {
                t if t.is_symlink() => "a symbolic link",
                t if t.is_dir() => "a folder",
                _ => "a special file",
            };
            return Some(LockHolder::unreadable(&format!("{what}, not a lock file")));
        }
        let mut bytes = Vec::new();
        let read = File::open(path).and_then(|f| f.take(LOCK_FILE_MAX).read_to_end(&mut bytes));
        if let Err(e) = read {
            return (e.kind() != std::io::ErrorKind::NotFound)
                .then(|| LockHolder::unreadable(&format!("unreadable lock file: {e}")));
        }
        let text = String::from_utf8_lossy(&bytes);
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .map(|v| v.trim().to_string())
        };
        let keys = ["pid", "start", "host", "started"];
        let shown: Vec<String> = keys
            .iter()
            .filter_map(|k| Some(format!("{k}={}", field(k)?)))
            .collect();
        if shown.is_empty() {
            return Some(LockHolder::unreadable("unreadable lock file"));
        }
        Some(LockHolder {
            pid: field("pid").and_then(|p| p.parse().ok()),
            host: field("host"),
            start: field("start").and_then(|s| s.parse().ok()),
            text: printable(&shown.join(" ")),
        })
    }

    /// A lock whose holder cannot be known, described by `why`.
    fn unreadable(why: &str) -> LockHolder {
        LockHolder {
            text: why.to_string(),
            pid: None,
            host: None,
            start: None,
        }
    }

    /// Alive if its pid exists on this host with the recorded start time (any start time for
    /// an old lock file without one), stale if it does not.
    pub fn liveness(&self) -> Liveness {
        match (self.pid, &self.host) {
            (Some(pid), Some(host)) if *host == host_name() => {
                match (process_start(pid), self.start) {
                    (None, _) => Liveness::Stale,
                    (Some(now), Some(then)) if now != then => Liveness::Stale,
                    _ => Liveness::Alive,
                }
            }
            _ => Liveness::Unknown,
        }
    }

    /// The host name for messages ([`printable`]).
    fn host_text(&self) -> String {
        printable(self.host.as_deref().unwrap_or(""))
    }
}

/// Holds `<output>/.lock` while alive; removes it when dropped.
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock of `output_dir`, or fails with exit code 4 naming the holder.
    ///
    /// The lock file (`pid=`, `start=`, `host=`, `started=` lines) appears complete or not at
    /// all: it is written under a private name and hard-linked into place. A lock whose process
    /// is gone from this host (no process with its pid and start time: the run crashed or was
    /// killed) is taken over with a warning, so a nightly job heals itself. A live lock is never
    /// broken; one from another host (or unreadable) only with `break_other` (`golden run
    /// --break-lock`).
    pub fn acquire(output_dir: &Path, break_other: bool) -> Result<Lock> {
        let unusable = |e: &dyn std::fmt::Display| {
            Error::Usage(format!(
                "output directory {}: not a folder golden can write ({e}); set `[output] dir` \
                 or `--output` to one",
                output_dir.display()
            ))
        };
        fs::create_dir_all(output_dir).map_err(|e| unusable(&e))?;
        let path = output_dir.join(".lock");
        let pid = std::process::id();
        let mine = output_dir.join(format!(".lock.{pid}"));
        let start = process_start(pid).map_or(String::new(), |s| s.to_string());
        let text = format!(
            "pid={pid}\nstart={start}\nhost={}\nstarted={}\n",
            host_name(),
            chrono::Utc::now().to_rfc3339()
        );
        write_file(&mine, text.as_bytes()).map_err(|e| match e {
            Error::Io { source, .. } => unusable(&source),
            e => e,
        })?;
        let result = Self::link(&mine, &path, break_other);
        let _ = fs::remove_file(&mine);
        result
    }

    fn link(mine: &Path, path: &Path, break_other: bool) -> Result<Lock> {
        match fs::hard_link(mine, path) {
            Ok(()) => return Ok(Lock { path: path.into() }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(path, e)),
        }
        let Some(holder) = LockHolder::read(path) else {
            // Released between our attempt and the read: try once more.
            return fs::hard_link(mine, path)
                .map(|()| Lock { path: path.into() })
                .map_err(|e| {
                    Error::Locked(format!("{}: cannot take the lock: {e}", path.display()))
                });
        };
        let p = path.display();
        match holder.liveness() {
            Liveness::Stale => Self::take_over(mine, path, &holder, "its run on this host is gone"),
            Liveness::Unknown if break_other => {
                Self::take_over(mine, path, &holder, "--break-lock")
            }
            Liveness::Alive => Err(Error::Locked(format!(
                "{p} is held by another run ({}) that is still running; wait for it to finish{}",
                holder.text,
                if break_other {
                    " (`--break-lock` never removes the lock of a run that is alive on this host)"
                } else {
                    ""
                }
            ))),
            Liveness::Unknown => Err(Error::Locked(format!(
                "{p} is held by another run ({}) on another host or in an unknown format, so golden cannot tell whether it is still running; \
                 wait for it to finish, or rerun with `--break-lock` once that process is gone",
                holder.text
            ))),
        }
    }

    /// Replaces the lock of `holder` (gone, or `--break-lock`) by ours, with a warning. The
    /// old lock is first renamed aside and compared with `holder`, so a lock that another run
    /// took meanwhile is put back, never removed.
    fn take_over(mine: &Path, path: &Path, holder: &LockHolder, why: &str) -> Result<Lock> {
        let p = path.display();
        tracing::warn!(
            lock = %p,
            pid = holder.pid,
            host = %holder.host_text(),
            reason = why,
            "taking over the lock of a run that is gone"
        );
        let aside = path.with_file_name(format!(".lock.stale-{}", std::process::id()));
        let raced = || {
            Error::Locked(format!(
                "{p}: another run took the lock while the one of pid {} was taken over; wait for it to finish",
                holder.pid.unwrap_or_default()
            ))
        };
        match fs::rename(path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(raced()),
            Err(e) => return Err(Error::io(path, e)),
        }
        let moved = LockHolder::read(&aside);
        if moved.as_ref() != Some(holder) {
            let _ = fs::hard_link(&aside, path);
            let _ = fs::remove_file(&aside);
            return Err(raced());
        }
        let _ = fs::remove_file(&aside).or_else(|_| fs::remove_dir(&aside));
        fs::hard_link(mine, path)
            .map(|()| Lock { path: path.into() })
            .map_err(|_| raced())
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
            .join("runs")
            .join(format!("{}.failed", self.run_id));
        fs::rename(&self.tmp, &fin).map_err(|e| Error::io(&fin, e))?;
        Ok(fin)
    }
}

/// The committed run `<output_dir>/latest` points at, for the next run to build on:
/// `Ok(None)` when there is no `latest`, `Err(why)` when it cannot be used (not a link, a link
/// to nothing or to a directory other than a committed run under this output directory's
/// `runs/`). `why` names paths only.
pub fn previous_run_dir(output_dir: &Path) -> std::result::Result<Option<PathBuf>, String> {
    let latest = output_dir.join("latest");
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
    let runs = fs::canonicalize(output_dir.join("runs")).ok();
    let committed = target
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(runs::parse_name)
        .is_some_and(|(_, state)| state == runs::RunState::Committed);
    if runs.as_deref() != target.parent() || !committed {
        return Err(format!(
            "{} points at {}, which is not a committed run under {}",
            latest.display(),
            target.display(),
            output_dir.join("runs").display()
        ));
    }
    Ok(Some(target))
}

/// Resolves a run argument: a run directory (a failed one too), or an output directory with a
/// `latest` link.
pub fn resolve_run(path: &Path) -> Result<PathBuf> {
    if path.join("crosswalk.parquet").exists() {
        return Ok(path.to_path_buf());
    }
    // A failed run (`runs/<id>.failed`) has no crosswalk, but its rejects say why it failed.
    let failed = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(runs::parse_name)
        .is_some_and(|(_, state)| state == runs::RunState::Failed);
    if failed && path.join("manifest.json").is_file() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, StringArray, UInt32Array};
    use arrow::datatypes::UInt32Type;
    use std::sync::Arc;

    fn batch(from: u32, to: u32) -> RecordBatch {
        let ids = UInt32Array::from_iter_values(from..to);
        let names =
            StringArray::from_iter((from..to).map(|i| (i % 3 != 0).then(|| format!("n{i}"))));
        RecordBatch::try_from_iter([("id", Arc::new(ids) as _), ("name", Arc::new(names) as _)])
            .unwrap()
    }

    #[test]
    fn printable_escapes_control_and_bidi_characters_only() {
        assert_eq!(
            printable("pid=1 h\u{1b}[2J\u{7}\u{202e}é"),
            "pid=1 h\\u{1b}[2J\\u{7}\\u{202e}é"
        );
    }

    #[test]
    fn a_process_is_named_by_its_pid_and_start_time() {
        let me = std::process::id();
        let start = process_start(me).unwrap();
        let holder = |start: Option<u64>| LockHolder {
            text: String::new(),
            pid: Some(me),
            host: Some(host_name()),
            start,
        };
        assert_eq!(holder(Some(start)).liveness(), Liveness::Alive);
        assert_eq!(holder(None).liveness(), Liveness::Alive);
        assert_eq!(holder(Some(start + 1)).liveness(), Liveness::Stale);
        let gone = LockHolder {
            pid: Some(999_999_999),
            ..holder(None)
        };
        assert_eq!(gone.liveness(), Liveness::Stale);
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

    #[test]
    fn row_groups_cut_across_batches_without_losing_rows() {
        let batches = [batch(0, 5), batch(5, 6), batch(6, 13)];
        let groups = row_groups(&batches, 4);
        let sizes: Vec<Vec<usize>> = groups
            .iter()
            .map(|g| g.iter().map(RecordBatch::num_rows).collect())
            .collect();
        assert_eq!(sizes, vec![vec![4], vec![1, 1, 2], vec![4], vec![1]]);
        let ids: Vec<u32> = groups
            .iter()
            .flatten()
            .flat_map(|b| b.column(0).as_primitive::<UInt32Type>().values().to_vec())
            .collect();
        assert_eq!(ids, (0..13).collect::<Vec<_>>());
    }

    #[test]
    fn batches_round_trip_through_one_file() {
        let dir = std::env::temp_dir().join(format!("golden-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let batches = [batch(0, 700), batch(700, 701), batch(701, 2000)];
        write_batches(&path, &batches).unwrap();
        let back = read_parquet(&path).unwrap();
        let want = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_eq!(back, want);
        assert!(write_batches(&path, &[]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_table_written_batch_by_batch_keeps_every_row_in_full_row_groups() {
        let dir = std::env::temp_dir().join(format!("golden-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let batches = [batch(0, 3), batch(3, 9), batch(9, 10), batch(10, 23)];
        let mut w = TableWriter::new(&path);
        w.group_rows = 5;
        for b in &batches {
            w.write(b.clone()).unwrap();
            assert!(w.pending_rows < 5, "a full row group was left in memory");
        }
        w.finish().unwrap();
        let file = File::open(&path).unwrap();
        let meta = parquet::file::reader::FileReader::metadata(
            &parquet::file::reader::SerializedFileReader::new(file).unwrap(),
        )
        .clone();
        let sizes: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(sizes, vec![5, 5, 5, 5, 3]);
        let back = read_parquet(&path).unwrap();
        let want = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_eq!(back, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
