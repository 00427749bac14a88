//! The command line (DESIGN §4): clap derive, one file per subcommand, each
//! "arguments → library call → print".

mod check;
mod evaluate;
mod generate;
mod run;
mod runs;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::telemetry::LogFormat;

/// Consolidates scattered customer records into audited golden records.
#[derive(Debug, Parser)]
#[command(name = "golden", version, about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline: ingest, match, merge and write a run directory.
    Run {
        /// The pipeline file.
        pipeline: PathBuf,
        /// Output directory instead of the pipeline's [output] dir.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Threads for the parallel stages (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Recompute everything (runs are full until incremental runs exist).
        #[arg(long)]
        full: bool,
        /// Remove a stale lock left by a crashed or killed run on this host, then run
        /// (a lock whose process is still running is never broken).
        #[arg(long)]
        break_lock: bool,
    },
    /// List past runs of an output directory, newest first; `*` marks the one `latest` points at.
    Runs {
        /// The output directory (a pipeline's [output] dir or --output).
        output_dir: PathBuf,
    },
    /// Validate a pipeline file and its sources' columns without running.
    Check {
        /// The pipeline file.
        pipeline: PathBuf,
    },
    /// Estimate the model's m/u parameters and write model.json.
    Train {
        /// The pipeline file.
        pipeline: PathBuf,
        /// Where to write the model (default: model.json next to the pipeline).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Score a run against known truth: pairwise and cluster precision / recall / F1.
    Evaluate {
        /// A run directory, or an output directory (its `latest` run).
        run: PathBuf,
        /// CSV with columns source, source_id, entity_id.
        #[arg(long)]
        truth: PathBuf,
    },
    /// Write synthetic multi-source customer exports with known truth.
    Generate {
        /// Number of real people.
        #[arg(long, default_value_t = 1000)]
        entities: usize,
        /// Random seed; the same seed gives the same files.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Directory to write into.
        #[arg(long)]
        out: PathBuf,
        /// Add deliberately broken rows that a run must reject.
        #[arg(long)]
        broken_rows: bool,
    },
}

/// Runs a parsed command line and maps the outcome onto DESIGN §4's exit codes.
pub fn run(cli: Cli) -> ExitCode {
    let threads = match &cli.command {
        Command::Run {
            threads: Some(n), ..
        } => *n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
    {
        eprintln!("error: cannot start {threads} threads: {e}");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run {
                pipeline,
                output,
                full: _,
                break_lock,
                ..
            } => run::run(&pipeline, output, threads, break_lock).await,
            Command::Runs { output_dir } => runs::runs(&output_dir),
            Command::Check { pipeline } => check::check(&pipeline).await,
            Command::Train { pipeline, out } => train::train(&pipeline, out).await,
            Command::Evaluate { run, truth } => evaluate::evaluate(&run, &truth),
            Command::Generate {
                entities,
                seed,
                out,
                broken_rows,
            } => generate::generate(entities, seed, out, broken_rows),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
