//! A command's result on stdout, never a panic: a reader that closed the pipe (`| head`) ends
//! the command quietly (exit 0, see [`is_closed_stdout`]); any other failure (`> /dev/full`)
//! is an error naming stdout.

use std::io::{ErrorKind, Write};
use std::path::Path;

use crate::{Error, Result};

/// The name stdout goes by in errors.
pub const STDOUT: &str = "stdout";

/// Writes `text` to stdout and flushes it.
pub fn stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(STDOUT, e))
}

/// Whether `e` says that stdout's reader went away: the command's output is not wanted any
/// more, like `cat` or `grep` under `| head`, so golden stops without a message and exits 0
/// (not 141: `set -o pipefail` scripts would fail for a reader that had read enough).
pub fn is_closed_stdout(e: &Error) -> bool {
    matches!(e, Error::Io { path, source }
        if path == Path::new(STDOUT) && source.kind() == ErrorKind::BrokenPipe)
}
