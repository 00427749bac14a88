//! `golden check PIPELINE`: the file, then every source's columns.

use std::path::Path;

use crate::config::{self, ConfigErrors};
use crate::model::ModelParams;
use crate::{Result, ingest};

/// Validates the pipeline file, that every field expression fits its source and that the
/// `model_file`, if any, fits the comparisons.
pub async fn check(path: &Path) -> Result<()> {
    let p = config::load(path)?;
    let errors = ingest::check_sources(&p).await;
    if !errors.is_empty() {
        return Err(ConfigErrors(errors).into());
    }
    if let Some(model) = &p.model.model_file {
        ModelParams::load_pinned(model, &p)?;
    }
    let files: usize = p.sources.iter().map(|s| s.files.len()).sum();
    super::print::stdout(&format!(
        "{}: ok ({} sources, {files} files, {} comparisons, {} blocking rules)\n",
        path.display(),
        p.sources.len(),
        p.comparisons.len(),
        p.blocking.rules.len()
    ))
}
