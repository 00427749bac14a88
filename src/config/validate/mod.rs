//! Raw pipeline → validated [`Pipeline`](super::Pipeline), collecting every problem.
//!
//! In: the pipeline file (path or text). Out: a [`Pipeline`] with defaults filled in, paths
//! resolved against the file's directory and names parsed into enums, or [`ConfigErrors`]
//! listing every problem, sorted by position. TOML syntax and shape errors (unknown key,
//! wrong type, missing key) stop at the first one ([`shape`]); semantic problems are all
//! collected by one [`Checker`], one submodule per part of the file: [`sources`],
//! [`blocking`], [`comparisons`], [`model`], [`survivorship`].
//!
//! Key paths in messages index arrays from 0: `sources[0].path`, `blocking.rules[2][1]`.

mod blocking;
mod comparisons;
mod model;
mod shape;
mod sources;
mod survivorship;
#[cfg(test)]
mod tests;

use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::diagnostics::{ConfigError, Reporter};
use super::raw::{self, RawPipeline};
use super::{
    ConfigErrors, Decisions, OutputConfig, Pipeline, ReportConfig, SourceConfig, StandardizeConfig,
};
pub use blocking::{parse_block_key, parse_rule};
use shape::{join_key, shape_error};

/// Largest pipeline file read: a pipeline is a few kilobytes of TOML.
const PIPELINE_MAX_BYTES: u64 = 1 << 20;

/// Reads, parses and validates the pipeline file at `path` (a regular file of at most
/// [`PIPELINE_MAX_BYTES`]).
pub fn load(path: &Path) -> Result<Pipeline, ConfigErrors> {
    let bytes = read_pipeline(path).map_err(|why| {
        one_error(
            path,
            None,
            format!("cannot read the pipeline file {}: {why}", path.display()),
        )
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => load_str(&text, path),
        Err(e) => {
            let ok = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            // Valid up to here, so this cannot fail; fall back to no position if it somehow does.
            let position = std::str::from_utf8(ok)
                .ok()
                .map(|ok| super::diagnostics::LineIndex::new(ok).position(ok.len()));
            Err(one_error(
                path,
                position,
                "the pipeline file is not valid UTF-8".to_string(),
            ))
        }
    }
}

/// Drops from `sources` the files inside output directory `out` (a glob such as
/// `data/**/*.parquet` would otherwise read back the run tables of `data/out`), with a warning.
fn exclude_output(sources: &mut [SourceConfig], out: &Path) {
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let out = real(out);
    for s in sources {
        let before = s.files.len();
        s.files.retain(|f| !real(f).starts_with(&out));
        if s.files.len() < before {
            tracing::warn!(
                source = %s.name,
                output_dir = %out.display(),
                files = before - s.files.len(),
                "the source's path matches files inside the output directory; they are not read"
            );
        }
    }
}

/// The bytes of pipeline file `path`, or why it cannot be one (a device, a folder, too large).
fn read_pipeline(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file; name the pipeline's .toml file".into());
    }
    let mut bytes = Vec::new();
    file.take(PIPELINE_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > PIPELINE_MAX_BYTES {
        return Err(format!(
            "it is larger than {PIPELINE_MAX_BYTES} bytes, too large for a pipeline file"
        ));
    }
    Ok(bytes)
}

/// Parses and validates pipeline `text`; `path` names the file in messages and its parent
/// directory is the base for relative paths.
pub fn load_str(text: &str, path: &Path) -> Result<Pipeline, ConfigErrors> {
    check_text(text, path, true)
}

/// [`load_str`] for a finished run's pipeline: the files it names are not looked for.
pub fn load_recorded(text: &str, path: &Path) -> Result<Pipeline, ConfigErrors> {
    check_text(text, path, false)
}

/// Validates pipeline `text` read from `path`; `files` says whether the files it names must
/// exist (sources' globs are expanded only then).
fn check_text(text: &str, path: &Path, files: bool) -> Result<Pipeline, ConfigErrors> {
    let raw: RawPipeline = toml::from_str(text).map_err(|e| shape_error(text, path, &e))?;
    let base_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut c = Checker {
        r: Reporter::new(path, text),
        base_dir,
        files,
    };
    let pipeline = c.pipeline(raw, path, text);
    if c.r.is_empty() {
        Ok(pipeline)
    } else {
        Err(c.r.finish())
    }
}

/// `ConfigErrors` holding one problem of the whole file.
fn one_error(path: &Path, position: Option<(usize, usize)>, message: String) -> ConfigErrors {
    ConfigErrors(vec![ConfigError::new(path, position, "", message)])
}

// ---------------------------------------------------------------------------------------------
// Semantic checks (all collected).

/// Runs every semantic check, recording problems and building the typed values.
struct Checker<'a> {
    r: Reporter<'a>,
    base_dir: PathBuf,
    /// Whether the files the pipeline names are looked for (not for a finished run's copy).
    files: bool,
}

impl Checker<'_> {
    /// The whole pipeline, part by part in file order.
    fn pipeline(&mut self, raw: RawPipeline, path: &Path, text: &str) -> Pipeline {
        if raw.name.get_ref().trim().is_empty() {
            self.r.at(
                Some(raw.name.span()),
                "name",
                "must not be empty; name the pipeline",
            );
        }
        let output = self.check_output(&raw.output);
        let mut sources = self.check_sources(&raw.sources);
        exclude_output(&mut sources, &output.dir);
        let mapped = mapped_fields(&raw.sources);
        let standardize = self.check_standardize(raw.standardize.as_ref());
        let blocking = self.check_blocking(&raw.blocking, &mapped);
        let comparisons = self.check_comparisons(&raw.comparisons, &mapped);
        let mut compared: Vec<String> = Vec::new();
        for c in raw.comparisons.get_ref() {
            if !compared.contains(c.field.get_ref()) {
                compared.push(c.field.get_ref().clone());
            }
        }
        let model = self.check_model(raw.model.as_ref(), &compared);
        let source_names: Vec<String> = raw
            .sources
            .get_ref()
            .iter()
            .map(|s| s.name.get_ref().clone())
            .collect();
        let survivorship =
            self.check_survivorship(raw.survivorship.as_ref(), &source_names, &mapped);
        let manual_decisions = raw
            .manual_decisions
            .as_ref()
            .map(|p| self.existing_file(p, "manual_decisions"));
        Pipeline {
            name: raw.name.into_inner(),
            path: path.to_path_buf(),
            base_dir: self.base_dir.clone(),
            hash: hex::encode(Sha256::digest(text.as_bytes())),
            text: text.to_string(),
            output,
            sources,
            standardize,
            blocking,
            comparisons,
            model,
            survivorship,
            manual_decisions,
            report: ReportConfig {
                redact: raw.report.and_then(|r| r.redact).unwrap_or(false),
            },
            scheduler: raw
                .engine
                .and_then(|e| e.scheduler)
                .and_then(|s| self.scheduler(s)),
        }
    }

    /// `[engine] scheduler`, when it is `standalone` or `df://HOST:PORT` and this golden was
    /// built with the feature `distributed` (a finished run's copy is read by any build).
    fn scheduler(&mut self, s: Spanned<String>) -> Option<String> {
        let (span, url) = (s.span(), s.into_inner());
        if let Err(why) = crate::config::check_scheduler(&url) {
            self.err(span, "engine.scheduler", why);
            return None;
        }
        if cfg!(not(feature = "distributed")) && self.files {
            let why = "needs a golden built with the `distributed` feature \
                       (`cargo install --path . --features distributed`); remove it to run here";
            self.err(span, "engine.scheduler", why);
            return None;
        }
        Some(url)
    }

    /// Records a problem at `span` of the file, under key path `key`.
    fn err(&mut self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) {
        self.r.at(Some(span), key, message);
    }

    /// The line where `name` (at `span`) was first used among `seen`, or `None` after
    /// recording this use as the first: for "duplicate name" problems.
    fn seen_before<'r>(
        &self,
        seen: &mut Vec<(&'r str, usize)>,
        name: &'r str,
        span: &Range<usize>,
    ) -> Option<usize> {
        if let Some(&(_, line)) = seen.iter().find(|(n, _)| *n == name) {
            return Some(line);
        }
        seen.push((name, self.r.line_of(span.start)));
        None
    }

    /// `path` resolved against the pipeline file's directory.
    fn resolve(&self, path: &str) -> PathBuf {
        self.base_dir.join(path)
    }

    /// Resolves `p`, reporting it when no such file exists (when files are looked for).
    fn existing_file(&mut self, p: &Spanned<String>, key: &str) -> PathBuf {
        let resolved = self.resolve(p.get_ref());
        if self.files && !resolved.is_file() {
            let abs = std::path::absolute(&resolved).unwrap_or_else(|_| resolved.clone());
            self.err(
                p.span(),
                key,
                format!(
                    "`{}` does not exist (looked for {})",
                    p.get_ref(),
                    abs.display()
                ),
            );
        }
        resolved
    }

    /// `[output]`: a directory, and `keep_runs` of at least 1.
    fn check_output(&mut self, raw: &raw::RawOutput) -> OutputConfig {
        if raw.dir.get_ref().trim().is_empty() {
            self.err(
                raw.dir.span(),
                "output.dir",
                "must not be empty; give a directory for runs",
            );
        }
        let keep_runs = raw.keep_runs.as_ref().and_then(|k| {
            let n = *k.get_ref();
            if n < 1 {
                self.err(
                    k.span(),
                    "output.keep_runs",
                    format!("must be at least 1, got {n}; omit it to keep every run"),
                );
            }
            usize::try_from(n).ok()
        });
        let decisions = raw.decisions.as_ref().map_or(Decisions::default(), |d| {
            Decisions::parse(d.get_ref()).unwrap_or_else(|| {
                let names = Decisions::NAMES.join(", ");
                self.err(
                    d.span(),
                    "output.decisions",
                    format!("unknown value `{}`; expected one of {names}", d.get_ref()),
                );
                Decisions::default()
            })
        });
        OutputConfig {
            dir: self.resolve(raw.dir.get_ref()),
            keep_runs,
            decisions,
        }
    }

    /// `[standardize]`: a known phone region.
    fn check_standardize(&mut self, raw: Option<&raw::RawStandardize>) -> StandardizeConfig {
        let region = raw.and_then(|s| s.default_phone_region.as_ref());
        if let Some(r) = region {
            let v = r.get_ref();
            if v.parse::<phonenumber::country::Id>().is_err() || v.len() != 2 {
                let upper = v.to_ascii_uppercase();
                let hint = if upper.len() == 2 && upper.parse::<phonenumber::country::Id>().is_ok()
                {
                    format!("write it in capitals: \"{upper}\"")
                } else {
                    "use an ISO 3166 alpha-2 code such as \"GB\", \"US\" or \"DE\"".to_string()
                };
                self.err(
                    r.span(),
                    "standardize.default_phone_region",
                    format!("unknown region `{v}`; {hint}"),
                );
            }
        }
        StandardizeConfig {
            default_phone_region: region.map(|r| r.get_ref().clone()),
        }
    }
}

/// Every field mapped by a source, in first-seen order; `full_name` also maps `first_name`
/// and `last_name`. Invalid field names are left out.
fn mapped_fields(sources: &Spanned<Vec<raw::RawSource>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |f: &str| {
        if !out.iter().any(|o| o == f) {
            out.push(f.to_string());
        }
    };
    for s in sources.get_ref() {
        for (f, _) in &s.fields.get_ref().0 {
            let f = f.get_ref();
            if !is_identifier(f) {
                continue;
            }
            if f == "full_name" {
                push("first_name");
                push("last_name");
            }
            push(f);
        }
    }
    out
}

/// The message for a field that no source maps.
fn unmapped(field: &str, mapped: &[String]) -> String {
    format!(
        "field `{field}` is not mapped by any source; mapped fields: {}",
        if mapped.is_empty() {
            "none".to_string()
        } else {
            mapped.join(", ")
        }
    )
}

/// `[a-z0-9_]+`.
fn is_source_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `[a-z_][a-z0-9_]*`.
fn is_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_lowercase() || c == b'_')
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}
