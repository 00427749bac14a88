//! The `golden` binary: parse arguments, start logging, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = golden::cli::Cli::parse();
    golden::telemetry::init(cli.log_format);
    golden::cli::run(cli)
}
