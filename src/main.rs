//! The `golden` binary: parse arguments, start logging, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match golden::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return golden::cli::parse_error(&e),
    };
    golden::telemetry::init(cli.log_format);
    golden::cli::run(cli)
}
