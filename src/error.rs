//! The top-level error type and its mapping onto the process exit codes of DESIGN §4.

use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way a `golden` command can fail; [`Error::exit_code`] maps each onto DESIGN §4.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline file is invalid; the message lists every problem found.
    #[error("{0}")]
    Config(#[from] crate::config::ConfigErrors),
    /// Bad command-line arguments or an unusable argument value.
    #[error("{0}")]
    Usage(String),
    /// The pipeline cannot run as written: a limit it exceeds, or a model that does not fit it.
    #[error("{0}")]
    Pipeline(String),
    /// A source rejected more rows than its `max_reject_ratio` allows.
    #[error(
        "source `{source_name}`: {rejected} of {total} rows rejected ({ratio:.2}% > max_reject_ratio {max:.2}%); \
         see {rejects} for each row and its reason, fix the export or raise `max_reject_ratio` for this source"
    )]
    TooManyRejects {
        /// Source name.
        source_name: String,
        /// Rows rejected.
        rejected: u64,
        /// Rows read.
        total: u64,
        /// Rejected share, in percent.
        ratio: f64,
        /// Limit, in percent.
        max: f64,
        /// Where the rejects were written.
        rejects: PathBuf,
    },
    /// An input file could not be read or decoded.
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: PathBuf,
        /// What went wrong and how to fix it.
        message: String,
    },
    /// Another run holds the output directory's lock.
    #[error("{0}")]
    Locked(String),
    /// SIGINT or SIGTERM (the signal number) stopped a run before it committed.
    #[error(
        "stopped by {}: the run was not committed; its temporary directory and the lock were removed and `latest` is unchanged",
        signal_name(*.0)
    )]
    Interrupted(i32),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// DataFusion failed while planning or executing a query.
    #[error("DataFusion: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow failed while building or reading arrays.
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet failed while writing or reading a file.
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A Ballista scheduler or executor could not start or serve (the `distributed` feature).
    #[error("cluster: {0}")]
    Cluster(String),
    /// A bug in golden: please report it with the command and the manifest.
    #[error("internal error (a bug in golden, please report it): {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error: 1 internal, 2 bad pipeline/args, 3 bad input, 4 locked.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) | Error::Pipeline(_) => 2,
            Error::TooManyRejects { .. } | Error::Input { .. } => 3,
            Error::Locked(_) => 4,
            // The shell's convention for a process ended by a signal: 130 SIGINT, 143 SIGTERM.
            Error::Interrupted(signal) => 128u8.saturating_add(*signal as u8),
            _ => 1,
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The name of the signals that stop a run (`Error::Interrupted`).
fn signal_name(signal: i32) -> String {
    match signal {
        2 => "SIGINT".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}
