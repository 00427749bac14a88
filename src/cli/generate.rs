//! `golden generate --entities N --seed S --out DIR [--household-share RATE]`.

use std::path::Path;

use crate::generate::{self as synth, GenerateOptions};
use crate::{Error, Result, run};

/// Writes synthetic exports, truth and a pipeline file.
pub fn generate(opts: GenerateOptions, force: bool) -> Result<()> {
    check_folder(&opts.out, force)?;
    let s = synth::generate(&opts)?;
    super::print::stdout(&format!(
        "{} entities, {} records ({} broken rows) written to {}\n",
        s.entities,
        s.records,
        s.broken,
        opts.out.display()
    ))
}

/// Refuses (exit 2) a `--out` folder inside golden's output directory, a file in it that
/// [`run::guard_output_file`] refuses, and an existing file of the same name unless
/// `force`; creates the folder.
fn check_folder(out: &Path, force: bool) -> Result<()> {
    let existing = out
        .ancestors()
        .find(|d| d.exists())
        .unwrap_or(Path::new("."));
    let existing = match existing.canonicalize() {
        Ok(d) => d,
        Err(_) => std::env::current_dir().map_err(|e| Error::io(existing, e))?,
    };
    if let Some(dir) = run::output_dir_above(&existing) {
        return Err(Error::Usage(format!(
            "--out {}: that is inside golden's output directory {}, whose runs are never \
             changed by hand; choose another folder",
            out.display(),
            dir.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    for name in synth::file_names() {
        let file = run::guard_output_file(&out.join(name), &[])?;
        if !force && std::fs::symlink_metadata(&file).is_ok() {
            return Err(Error::Usage(format!(
                "--out {}: {name} already exists there; choose an empty folder, or pass --force to overwrite it",
                out.display()
            )));
        }
    }
    Ok(())
}
