//! Building a table's parts in parallel while the previous ones are written.

use rayon::prelude::*;

use crate::Result;

/// Builds each of `parts` with `build`, in parallel, a wave of two parts per thread at a time,
/// and hands the built parts to `emit` in order while the next wave is built: writing does not
/// leave the other threads idle, and at most two waves are in memory.
pub fn build_in_waves<P: Sync, T: Send>(
    parts: &[P],
    build: impl Fn(&P) -> Result<T> + Sync,
    mut emit: impl FnMut(T) -> Result<()> + Send,
) -> Result<()> {
    let wave = 2 * rayon::current_num_threads().max(1);
    let mut ready: Vec<T> = Vec::new();
    for group in parts.chunks(wave) {
        let (emitted, built) = rayon::join(
            || {
                std::mem::take(&mut ready)
                    .into_iter()
                    .try_for_each(&mut emit)
            },
            || group.par_iter().map(&build).collect::<Result<Vec<_>>>(),
        );
        emitted?;
        ready = built?;
    }
    ready.into_iter().try_for_each(emit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_is_emitted_once_in_order_and_errors_stop_it() {
        let parts: Vec<u32> = (0..37).collect();
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let mut got = Vec::new();
            pool.install(|| {
                build_in_waves(
                    &parts,
                    |&p| Ok(p * 2),
                    |t| {
                        got.push(t);
                        Ok(())
                    },
                )
            })
            .expect("waves");
            assert_eq!(got, parts.iter().map(|p| p * 2).collect::<Vec<_>>());
            let failed = pool.install(|| {
                build_in_waves(
                    &parts,
                    |&p| match p {
                        20 => Err(crate::Error::Internal("part 20".into())),
                        p => Ok(p),
                    },
                    |_| Ok(()),
                )
            });
            assert!(failed.is_err_and(|e| e.to_string().contains("part 20")));
        }
    }
}
