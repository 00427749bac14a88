//! How a stage is timed and logged: [`Stages`] records every stage's wall seconds, [`Clock`]
//! is the one stopwatch, [`timed`] logs `stage completed`.

use super::*;

/// Times stages and logs each one as it completes (counts and timings only, never values).
#[derive(Default)]
pub(super) struct Stages {
    pub(super) timings: BTreeMap<String, f64>,
    /// [`RunOptions::stop`], checked before each stage.
    pub(super) stop: Arc<AtomicUsize>,
}

impl Stages {
    /// Fails with [`Error::Interrupted`] once a signal asked the run to stop.
    pub(super) fn check(&self) -> Result<()> {
        match self.stop.load(Ordering::SeqCst) {
            0 => Ok(()),
            signal => Err(Error::Interrupted(signal as i32)),
        }
    }

    /// Runs stage `stage` (unless the run was asked to stop), logs and records its wall seconds.
    pub(super) fn time<T>(&mut self, stage: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.check()?;
        let clock = Clock::start();
        let (out, secs) = timed(stage, f)?;
        crate::memory::release_free_memory();
        clock.log_resources(stage);
        self.record(stage, secs);
        Ok(out)
    }

    /// Records the wall seconds of a stage timed with [`timed`] or a [`Clock`].
    pub(super) fn record(&mut self, stage: &str, seconds: f64) {
        self.timings.insert(stage.to_string(), seconds);
    }
}

/// The wall and CPU time since a stage started: the one stopwatch of every stage.
pub(super) struct Clock {
    wall: Instant,
    cpu: f64,
}

impl Clock {
    /// Starts the stopwatch now.
    pub(super) fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: crate::memory::cpu_seconds(),
        }
    }

    /// Wall seconds since [`Clock::start`].
    pub(super) fn seconds(&self) -> f64 {
        self.wall.elapsed().as_secs_f64()
    }

    /// Logs (at debug level) the CPU seconds used since [`Clock::start`] and the resident
    /// memory, once stage `stage` is done: CPU over wall time shows how well a stage uses the
    /// cores.
    pub(super) fn log_resources(&self, stage: &str) {
        let cpu_seconds = crate::memory::cpu_seconds() - self.cpu;
        let (rss_mib, peak_rss_mib) = crate::memory::resident_mib();
        tracing::debug!(stage, cpu_seconds, rss_mib, peak_rss_mib, "stage resources");
    }
}

/// Runs stage `stage` and logs its wall seconds; returns its output and those seconds (for
/// stages that run alongside others, which [`Stages::record`] then records).
pub(super) fn timed<T>(stage: &str, f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let _bar = crate::telemetry::stage_span(stage).entered();
    let clock = Clock::start();
    let out = f()?;
    let seconds = clock.seconds();
    tracing::info!(stage, seconds, "stage completed");
    Ok((out, seconds))
}
