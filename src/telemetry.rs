//! Logging: a tracing subscriber writing text or one JSON object per line to stderr.
//! Events carry counts, ids and timings, never customer values.
//!
//! On a terminal (stderr is a TTY, text logs) each stage of a run shows a progress spinner with
//! its name and elapsed time; log lines then go through the bars' writer so neither clobbers
//! the other. Under cron, systemd or a pipe (not a TTY), and always with JSON logs, there is no
//! bar and no colour: stderr holds only plain log lines.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_indicatif::IndicatifLayer;
use tracing_indicatif::filter::{IndicatifFilter, hide_indicatif_span_fields};
use tracing_indicatif::style::ProgressStyle;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::DefaultFields;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for schedulers and log shippers.
    Json,
}

/// Whether stage spans show progress bars (set once by [`init`]).
static PROGRESS: AtomicBool = AtomicBool::new(false);

/// Whether a run shows progress bars: text logs on a terminal only.
pub fn progress_enabled(format: LogFormat, stderr_is_terminal: bool) -> bool {
    format == LogFormat::Text && stderr_is_terminal
}

/// The default filter: golden at `info`; Ballista's crates (feature `distributed`), which log
/// every task and the physical plan of every job at `info`, at `warn`.
const DEFAULT_FILTER: &str = "info,ballista=warn,ballista_core=warn,ballista_scheduler=warn,\
                              ballista_executor=warn,ballista_history=warn";

/// Installs the global subscriber; `RUST_LOG` overrides [`DEFAULT_FILTER`].
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let terminal = std::io::stderr().is_terminal();
    let progress = progress_enabled(format, terminal);
    PROGRESS.store(progress, Ordering::Relaxed);
    let fmt = tracing_subscriber::fmt::layer().with_ansi(terminal);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt.json().flatten_event(true).with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Text if progress => {
            let bars = IndicatifLayer::new()
                .with_span_field_formatter(hide_indicatif_span_fields(DefaultFields::new()))
                .with_progress_style(stage_style());
            let writer = bars.get_stderr_writer();
            registry
                .with(fmt.with_target(false).with_writer(writer))
                .with(bars.with_filter(IndicatifFilter::new(false)))
                .try_init()
        }
        LogFormat::Text => registry
            .with(fmt.with_target(false).with_writer(std::io::stderr))
            .try_init(),
    };
}

/// A stage's bar: a spinner, the stage's name and its elapsed time (stages have no known
/// total, so no percentage).
fn stage_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {span_fields} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// A span for stage `stage` that shows a progress bar while entered, when [`init`] enabled
/// bars; a disabled span otherwise (logs are then unchanged).
pub fn stage_span(stage: &str) -> tracing::Span {
    if PROGRESS.load(Ordering::Relaxed) {
        tracing::info_span!("stage", stage, indicatif.pb_show = tracing::field::Empty)
    } else {
        tracing::Span::none()
    }
}

/// Prints a command's error on stderr: `error: …` in text, one JSON object
/// (`{"level":"ERROR","error":…,"exit_code":…}`) with JSON logs. A closed stderr is ignored.
pub fn report_error(format: LogFormat, message: &str, exit_code: u8) {
    use std::io::Write;
    let line = match format {
        LogFormat::Text => format!("error: {message}"),
        LogFormat::Json => serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "level": "ERROR",
            "error": message,
            "exit_code": exit_code,
        })
        .to_string(),
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_for_text_logs_on_a_terminal() {
        assert!(progress_enabled(LogFormat::Text, true));
        assert!(!progress_enabled(LogFormat::Text, false));
        assert!(!progress_enabled(LogFormat::Json, true));
        assert!(!progress_enabled(LogFormat::Json, false));
    }
}
