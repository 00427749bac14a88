//! Stage "write": the tables, manifest and past-run housekeeping of a run directory. How the
//! directory is laid out, written and committed is [`crate::run`].

pub mod manifest;
pub mod runs;
pub mod tables;

pub use manifest::Manifest;
