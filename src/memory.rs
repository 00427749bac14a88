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

/// Fixes glibc's mmap threshold (see the module docs); does nothing on other allocators, and
/// leaves a threshold set in `MALLOC_MMAP_THRESHOLD_` alone.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only changes allocator parameters; it is called before any thread
        // is started.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
}
