//! Process-wide memory settings.
//!
//! A run allocates and frees large Arrow buffers stage after stage. glibc's allocator raises its
//! mmap threshold each time such a buffer is freed (up to 32 MiB), so later buffers of a few
//! MiB come from the heap, and the heap keeps what they freed: at 1M entities the resident set
//! grew to 1.86 GiB while the live data never exceeded about 1.2 GiB. A fixed 4 MiB threshold
//! hands buffers of that size and larger back to the system as soon as they are freed: 1.45 GiB
//! peak at the same speed (BENCHMARKS.md; 1 MiB gave 1.39 GiB but was ~15 % slower).

/// The mmap threshold set by [`tune_allocator`].
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 4 << 20;

/// Fixes glibc's mmap threshold (see the module docs) and caps its arenas at one per worker
/// thread; does nothing on other allocators, and leaves a setting made in the environment
/// (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_ARENA_MAX`) alone.
///
/// glibc gives a thread that meets a locked arena a new one, up to eight per core, and every
/// arena keeps the small buffers freed in it. Sources are ingested on tokio's workers and its
/// blocking threads while rayon's workers standardise, so a run touched many arenas and kept
/// about 0.5 GiB of freed memory resident at 1M entities (2.0 GiB peak); one arena per worker
/// thread gives 1.5 GiB at the same speed (BENCHMARKS.md). Call it before any thread starts.
pub fn tune_allocator(threads: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let unset = |name: &str| std::env::var_os(name).is_none();
        let arenas = libc::c_int::try_from(threads.max(1)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes allocator parameters; it is called before any thread
        // is started.
        unsafe {
            if unset("MALLOC_MMAP_THRESHOLD_") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            }
            if unset("MALLOC_ARENA_MAX") {
                libc::mallopt(libc::M_ARENA_MAX, arenas);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = threads;
}

/// CPU seconds (user + system) this process has used so far, all threads together; 0 where
/// the platform is not supported. Set against wall time it shows how well a stage uses the
/// cores.
pub fn cpu_seconds() -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a complete `rusage` into the buffer it is given.
        let usage = unsafe {
            if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
                return 0.0;
            }
            usage.assume_init()
        };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        secs(usage.ru_utime) + secs(usage.ru_stime)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        0.0
    }
}

/// Hands the memory freed inside glibc's arenas back to the system (`malloc_trim`). Buffers
/// below the mmap threshold (a comparison chunk, a survived batch) are freed into the arenas,
/// which keep them resident: at 1M entities about 0.4 GiB after comparing and scoring. Called
/// once a stage is done (a few milliseconds); does nothing on other allocators.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own arenas to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Resident and peak resident memory of this process in MiB (`VmRSS`, `VmHWM`); zeros where
/// `/proc/self/status` is not there.
pub fn resident_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
