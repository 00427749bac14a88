//! `golden train PIPELINE`: estimate the model and write model.json.

use std::path::{Path, PathBuf};

use crate::{Result, config, pipeline, run};

/// Trains on the pipeline's sources and writes the parameters with their history.
pub async fn train(path: &Path, out: Option<PathBuf>) -> Result<()> {
    let p = config::load(path)?;
    let out = out.unwrap_or_else(|| p.base_dir.join("model.json"));
    let out = run::guard_output_file(&out, &p.own_paths())?;
    let params = pipeline::train(&p).await?;
    let text = params.to_json()?;
    run::replace_file(&out, |tmp| run::write_file(tmp, text.as_bytes()))?;
    super::print::stdout(&format!(
        "model written to {} (prior {:.3e}, {} EM runs)\n",
        out.display(),
        params.prior,
        params.history.em_runs.len()
    ))
}
