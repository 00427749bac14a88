//! The command line (DESIGN §4): clap derive, one file per subcommand, each
//! "arguments → library call → print".

mod check;
#[cfg(feature = "distributed")]
mod cluster;
mod evaluate;
mod explain;
mod generate;
mod print;
mod query;
mod report;
mod run;
mod runs;
mod train;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser, Subcommand};

use crate::Error;
use crate::explain::{RecordRef, Target};
use crate::generate::GenerateOptions;

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
        /// Threads for the parallel stages, at least 1 (default: all cores).
        #[arg(long, value_parser = at_least_one_thread)]
        threads: Option<usize>,
        /// Recompute everything: compare every pair instead of reusing the previous run's
        /// comparisons (the model is trained every run unless model_file pins it).
        #[arg(long)]
        full: bool,
        /// Remove the lock of a run on another host (or an unreadable lock file), then run. A
        /// lock whose run is gone from this host is taken over without it; a lock whose
        /// process is still running here is never broken.
        #[arg(long)]
        break_lock: bool,
        /// Block and compare on a Ballista cluster: its scheduler's df://HOST:PORT (started
        /// with `golden scheduler`), or `standalone` for a scheduler and an executor inside
        /// this process; `local` runs here even when the pipeline's `[engine] scheduler`
        /// names one. The output directory must be on storage every executor reads at the
        /// same path (the records are staged there). Needs a golden built with the feature
        /// `distributed`.
        #[arg(long, value_name = "URL", value_parser = scheduler_arg)]
        scheduler: Option<String>,
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
    /// Explain a run: a pair's score field by field, a record's links, or a golden record.
    ///
    /// A compared pair's numbers are read back from the run (decisions.parquet, model.json);
    /// two records the run never compared are scored with the run's model, and `--pair` says
    /// which blocking rules would have paired them and what keeps them apart. Values are the
    /// standardised values in records.parquet (runs written before it show lineage's
    /// surviving values, `(not kept)` elsewhere).
    #[command(group(ArgGroup::new("target").required(true).args(["pair", "record", "golden"])))]
    Explain {
        /// A run directory, or an output directory (its `latest` run).
        run: PathBuf,
        /// Waterfall of a pair's match weight with both records' values, each blocking rule's verdict
        /// and what keeps the two apart (any two records, also never compared).
        #[arg(long, num_args = 2, value_names = ["SOURCE:ID", "SOURCE:ID"])]
        pair: Option<Vec<RecordRef>>,
        /// A record's golden id, match probability and scored pairs.
        #[arg(long, value_name = "SOURCE:ID")]
        record: Option<RecordRef>,
        /// A golden record's values with source and rule, its members and the links among them.
        #[arg(long, value_name = "ID")]
        golden: Option<String>,
        /// Print `***` instead of customer values.
        #[arg(long)]
        redact: bool,
    },
    /// Run read-only SQL over a run's tables: golden, crosswalk, lineage, decisions, review,
    /// rejects, changes, records.
    ///
    /// Only queries run: CREATE, DROP, INSERT, COPY and SET are refused (exit 2), and no file
    /// but the run's tables can be read.
    Query {
        /// A run directory, or an output directory (its `latest` run).
        run: PathBuf,
        /// One SQL statement (DataFusion dialect); table and column names are case-sensitive.
        sql: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: query::Format,
        /// Write to this file instead of stdout (required for parquet).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Rebuild a run's report.html (the same bytes as the run wrote), or write it to --out.
    Report {
        /// A run directory, or an output directory (its `latest` run).
        run: PathBuf,
        /// Write the report to this file instead of the run's report.html.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write `***` instead of customer values (with --out only).
        #[arg(long)]
        redact: bool,
    },
    /// Check that a run is intact: every file's SHA-256 and row count as recorded at commit.
    ///
    /// Exit 0 when intact; exit 3 naming each file that changed, is missing or was added.
    Verify {
        /// A run directory, or an output directory (its `latest` run).
        run: PathBuf,
    },
    /// Start a Ballista scheduler that knows golden's functions (feature `distributed`).
    #[cfg(feature = "distributed")]
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        host: String,
        /// Port to listen on (clients connect to df://HOST:PORT).
        #[arg(long, default_value_t = 50050)]
        port: u16,
    },
    /// Start a Ballista executor that knows golden's functions (feature `distributed`).
    #[cfg(feature = "distributed")]
    Executor {
        /// The scheduler to register with, HOST:PORT.
        #[arg(long, default_value = "localhost:50050")]
        scheduler: crate::distributed::processes::Listen,
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        host: String,
        /// Arrow Flight port (other executors and clients fetch results there).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port (the scheduler sends tasks there).
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks run at once (default: every core).
        #[arg(long, default_value_t = 0)]
        concurrent_tasks: usize,
        /// Directory in which the executor makes `golden-executor-PORT` for its shuffle files
        /// (default: the system's temporary directory).
        #[arg(long)]
        work_dir: Option<String>,
        /// Seconds a job's shuffle files, which hold customer values, are kept after the job
        /// last wrote one (at least 60); all are removed when the executor stops.
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(60..))]
        keep_job_data: u64,
    },
    /// Repeat a run's blocking and comparison on a Ballista cluster and check them against the
    /// run (feature `distributed`).
    ///
    /// The pipeline's blocking rules run on records.parquet (each a self-join on its keys
    /// within blocks of at most max_block_size records, a pair under its first rule): each
    /// rule's pairs are checked against the manifest, and every pair of decisions.parquet must
    /// be found under its rule; each written pair's level of each field is computed again from
    /// both records. The run's files must be readable at the same path on every executor. Exit
    /// 0 when everything equals the run, 3 naming the fields and rules that differ.
    #[cfg(feature = "distributed")]
    Recompare {
        /// A run directory, or an output directory (its `latest` run).
        run: PathBuf,
        /// The scheduler, df://HOST:PORT (default: a standalone cluster in this process).
        #[arg(long)]
        scheduler: Option<String>,
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
        /// Put about 30% of people in families whose relatives share each of e-mail, phone
        /// and address with this probability (0 to 1).
        #[arg(
            long,
            value_name = "RATE",
            allow_negative_numbers = true,
            value_parser = crate::generate::household_share
        )]
        household_share: Option<f64>,
        /// Overwrite files of the same names already in `--out`.
        #[arg(long)]
        force: bool,
    },
}

/// Most threads `--threads` may ask for, whatever the cores: more only costs memory.
const MAX_THREADS: usize = 1024;

/// Parses `--threads`: a whole number of at least 1 (0 would start no worker at all) and at
/// most [`MAX_THREADS`] or 64 per core, whichever is less (100000 spawned threads for ever).
fn at_least_one_thread(s: &str) -> Result<usize, String> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let max = MAX_THREADS.min(64 * cores);
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1; leave --threads out to use all cores".into()),
        Ok(n) if n > max => Err(format!(
            "{n} is more than {max} (64 per core, at most {MAX_THREADS}); leave --threads out \
             to use all {cores} cores"
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number of threads")),
    }
}

/// Parses `golden run --scheduler`: `local`, `standalone` or `df://HOST:PORT`.
fn scheduler_arg(s: &str) -> Result<String, String> {
    if s == crate::pipeline::LOCAL {
        return Ok(s.to_string());
    }
    crate::config::check_scheduler(s)
        .map(|()| s.to_string())
        .map_err(|why| format!("{why}, or local"))
}

/// Reports a command line that clap could not parse (exit 2): as one JSON line when
/// `--log-format json` was asked for, else as clap prints it (help and version too).
pub fn parse_error(e: &clap::Error) -> ExitCode {
    let code = u8::try_from(e.exit_code()).unwrap_or(2);
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let json = args.iter().any(|a| a == "--log-format=json")
        || args
            .windows(2)
            .any(|w| w[0] == "--log-format" && w[1] == "json");
    if json && e.use_stderr() {
        let text = e.render().to_string();
        let message = text.trim().trim_start_matches("error: ");
        crate::telemetry::report_error(LogFormat::Json, message, code);
    } else {
        let _ = e.print();
    }
    ExitCode::from(code)
}

/// Runs a parsed command line and maps the outcome onto DESIGN §4's exit codes.
pub fn run(cli: Cli) -> ExitCode {
    let format = cli.log_format;
    let threads = match &cli.command {
        Command::Run {
            threads: Some(n), ..
        } => *n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    crate::memory::tune_allocator(threads);
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
    {
        crate::telemetry::report_error(format, &format!("cannot start {threads} threads: {e}"), 1);
        return ExitCode::from(1);
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(threads).enable_all();
    // Ballista's plans are deep trees, encoded and decoded recursively on these threads.
    #[cfg(feature = "distributed")]
    builder.thread_stack_size(64 << 20);
    let runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            let message = format!("cannot start the async runtime: {e}");
            crate::telemetry::report_error(format, &message, 1);
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run {
                pipeline,
                output,
                full,
                break_lock,
                scheduler,
                ..
            } => run::run(&pipeline, output, threads, (break_lock, full), scheduler).await,
            Command::Runs { output_dir } => runs::runs(&output_dir),
            Command::Check { pipeline } => check::check(&pipeline).await,
            Command::Train { pipeline, out } => train::train(&pipeline, out).await,
            Command::Evaluate { run, truth } => evaluate::evaluate(&run, &truth),
            Command::Explain {
                run,
                pair,
                record,
                golden,
                redact,
            } => {
                let target = match (pair, record, golden) {
                    (Some(mut p), _, _) if p.len() == 2 => {
                        let b = p.pop();
                        let a = p.pop();
                        match (a, b) {
                            (Some(a), Some(b)) => Target::Pair(a, b),
                            _ => return Err(Error::Usage("--pair takes two SOURCE:ID".into())),
                        }
                    }
                    (None, Some(r), _) => Target::Record(r),
                    (None, None, Some(g)) => Target::Golden(g),
                    _ => {
                        return Err(Error::Usage(
                            "give one of --pair SOURCE:ID SOURCE:ID, --record SOURCE:ID or --golden ID"
                                .into(),
                        ));
                    }
                };
                explain::explain(&run, &target, redact)
            }
            Command::Query {
                run,
                sql,
                format,
                out,
            } => query::query(&run, &sql, format, out).await,
            Command::Generate {
                entities,
                seed,
                out,
                broken_rows,
                household_share,
                force,
            } => generate::generate(
                GenerateOptions {
                    entities,
                    seed,
                    out,
                    broken_rows,
                    household_share,
                },
                force,
            ),
            Command::Verify { run } => verify::verify(&run),
            Command::Report { run, out, redact } => report::report(&run, out.as_deref(), redact),
            #[cfg(feature = "distributed")]
            Command::Scheduler { host, port } => cluster::scheduler(host, port).await,
            #[cfg(feature = "distributed")]
            Command::Executor {
                scheduler,
                host,
                port,
                grpc_port,
                concurrent_tasks,
                work_dir,
                keep_job_data,
            } => {
                let opts = crate::distributed::processes::ExecutorOptions {
                    scheduler,
                    grpc_port,
                    concurrent_tasks,
                    work_dir,
                    keep_job_data,
                };
                let listen = crate::distributed::processes::Listen { host, port };
                cluster::executor(listen, opts).await
            }
            #[cfg(feature = "distributed")]
            Command::Recompare { run, scheduler } => {
                cluster::recompare(&run, scheduler.as_deref()).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if print::is_closed_stdout(&e) => ExitCode::SUCCESS,
        Err(e) => {
            crate::telemetry::report_error(format, &e.to_string(), e.exit_code());
            ExitCode::from(e.exit_code())
        }
    }
}
