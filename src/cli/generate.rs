//! `golden generate --entities N --seed S --out DIR`.

use std::path::PathBuf;

use crate::Result;
use crate::generate::{self as synth, GenerateOptions};

/// Writes synthetic exports, truth and a pipeline file.
pub fn generate(entities: usize, seed: u64, out: PathBuf, broken_rows: bool) -> Result<()> {
    let s = synth::generate(&GenerateOptions {
        entities,
        seed,
        out: out.clone(),
        broken_rows,
    })?;
    super::print::stdout(&format!(
        "{} entities, {} records ({} broken rows) written to {}\n",
        s.entities,
        s.records,
        s.broken,
        out.display()
    ))
}
