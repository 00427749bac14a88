//! The run store: an output directory's layout and every read and write of it, at the
//! bottom of the house (any stage, command or test may use it; it uses no stage).
//!
//! Files are written into `runs/.tmp-<run_id>/`, fsynced, and the directory is renamed to
//! `runs/<run_id>` only when every file is complete; `latest` (a symlink) is then swapped to it
//! by an atomic rename ([`commit`]). A lock file keeps two runs off one output directory
//! ([`lock`]); [`previous`] finds the run the next one builds on. The write stage that fills a
//! run directory is [`crate::output`].

pub mod columns;
pub mod commit;
pub mod files;
pub mod layout;
pub mod lock;
pub mod parquet;
pub mod previous;
pub mod waves;

pub use columns::{Text, as_utf8, column, non_null_text, text, utf8_column};
pub use commit::RunDir;
pub use files::{guard_output_file, output_dir_above, replace_file, write_file};
pub use layout::{Table, new_run_id};
pub use lock::{Liveness, Lock, LockHolder, host_name, printable, process_start};
pub use parquet::{
    TableWriter, column_names, read_columns, read_parquet, read_rows, write_batches, write_parquet,
};
pub use previous::{Previous, previous_run_dir, read_manifest, resolve_run};
pub use waves::build_in_waves;
