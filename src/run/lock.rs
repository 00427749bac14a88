//! The lock that keeps two runs off one output directory (`<output>/.lock`), and how its
//! holder is told alive from gone.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::files::write_file;
use super::layout;
use crate::{Error, Result};

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
        let path = output_dir.join(layout::LOCK);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
