//! The one integration-test binary: end-to-end runs, invariants and error messages.

mod cli;
mod config_errors;
mod config_examples;
mod decisions_floor;
#[cfg(feature = "distributed")]
mod distributed;
mod explain;
mod explain_pair;
mod golden_files;
mod hostile;
mod household;
mod incremental;
mod invariants;
mod manual;
mod nightly;
mod report;
mod util;
