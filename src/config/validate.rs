//! Raw pipeline → validated [`Pipeline`](super::Pipeline), collecting every problem.
//!
//! In: the pipeline file (path or text). Out: a [`Pipeline`] with defaults filled in, paths
//! resolved against the file's directory and names parsed into enums, or [`ConfigErrors`]
//! listing every problem, sorted by position. TOML syntax and shape errors (unknown key,
//! wrong type, missing key) stop at the first one; semantic problems are all collected.
//!
//! Key paths in messages index arrays from 0: `sources[0].path`, `blocking.rules[2][1]`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostics::{ConfigError, Reporter};
use super::raw::{self, OrderedTable, RawPipeline};
use super::{
    BlockKey, BlockingConfig, BlockingRule, ComparisonConfig, ConfigErrors, Format, KeyTransform,
    Method, ModelConfig, OutputConfig, Pipeline, Rule, SourceConfig, StandardizeConfig,
    SurvivorshipConfig,
};

/// Functions accepted in blocking keys, as written in pipeline files.
pub const KEY_FUNCTIONS: &[&str] = &["metaphone", "soundex", "nysiis", "year", "left"];

/// Source formats, as written in pipeline files.
const FORMAT_NAMES: &str = "csv, ndjson, parquet";

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
    let raw: RawPipeline = toml::from_str(text).map_err(|e| shape_error(text, path, &e))?;
    let base_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut c = Checker {
        r: Reporter::new(path, text),
        base_dir,
    };
    let pipeline = c.pipeline(raw, path, hex::encode(Sha256::digest(text.as_bytes())));
    if c.r.is_empty() {
        Ok(pipeline)
    } else {
        Err(c.r.finish())
    }
}

fn one_error(path: &Path, position: Option<(usize, usize)>, message: String) -> ConfigErrors {
    ConfigErrors(vec![ConfigError::new(path, position, "", message)])
}

// ---------------------------------------------------------------------------------------------
// Syntax and shape errors (first one only: the TOML parser and serde stop there).

/// Turns a TOML syntax error or serde error into a positioned [`ConfigError`].
fn shape_error(text: &str, path: &Path, e: &toml::de::Error) -> ConfigErrors {
    let mut r = Reporter::new(path, text);
    let doc = DeTable::parse(text).ok();
    let span = e.span();
    let key_at = |offset: usize| {
        doc.as_ref()
            .and_then(|d| path_at(d.get_ref(), offset, ""))
            .unwrap_or_default()
    };
    let msg = e.message().trim_end();
    if doc.is_none() {
        r.at(span, "", format!("invalid TOML: {msg}"));
    } else if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once("`, expected ").unwrap_or((rest, ""));
        let name = name.trim_end_matches('`');
        let expected = expected
            .strip_prefix("one of ")
            .unwrap_or(expected)
            .replace(" or ", ", ");
        let key = span.as_ref().map(|s| key_at(s.start)).unwrap_or_default();
        r.at(
            span,
            key,
            format!("unknown key `{name}`; expected one of {expected}"),
        );
    } else if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        // The span is the table's header (or the whole document for top-level keys).
        let table = match &span {
            Some(s) if !s.is_empty() => key_at(s.start),
            _ => String::new(),
        };
        r.at(
            span,
            join_key(&table, name),
            format!("missing required key `{name}`"),
        );
    } else {
        let key = span.as_ref().map(|s| key_at(s.start)).unwrap_or_default();
        r.at(span, key, msg.to_string());
    }
    r.finish()
}

/// Key path of the deepest key or value of `table` whose span holds byte `offset`.
fn path_at(table: &DeTable<'_>, offset: usize, prefix: &str) -> Option<String> {
    for (k, v) in table.iter() {
        let p = join_key(prefix, k.get_ref());
        if let Some(found) = value_path_at(v, offset, &p) {
            return Some(found);
        }
        if holds(&k.span(), offset) {
            return Some(p);
        }
    }
    None
}

fn value_path_at(v: &Spanned<DeValue<'_>>, offset: usize, p: &str) -> Option<String> {
    let deeper = match v.get_ref() {
        DeValue::Table(t) => path_at(t, offset, p),
        DeValue::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, e)| value_path_at(e, offset, &format!("{p}[{i}]"))),
        _ => None,
    };
    deeper.or_else(|| holds(&v.span(), offset).then(|| p.to_string()))
}

fn holds(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || (span.is_empty() && span.start == offset)
}

/// `prefix.name`, quoting `name` when it is not a bare TOML key.
fn join_key(prefix: &str, name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let seg = if bare {
        name.to_string()
    } else {
        format!("{name:?}")
    };
    if prefix.is_empty() {
        seg
    } else {
        format!("{prefix}.{seg}")
    }
}

// ---------------------------------------------------------------------------------------------
// Semantic checks (all collected).

/// Runs every semantic check, recording problems and building the typed values.
struct Checker<'a> {
    r: Reporter<'a>,
    base_dir: PathBuf,
}

impl Checker<'_> {
    fn pipeline(&mut self, raw: RawPipeline, path: &Path, hash: String) -> Pipeline {
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
            hash,
            output,
            sources,
            standardize,
            blocking,
            comparisons,
            model,
            survivorship,
            manual_decisions,
        }
    }

    fn err(&mut self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) {
        self.r.at(Some(span), key, message);
    }

    /// `path` resolved against the pipeline file's directory.
    fn resolve(&self, path: &str) -> PathBuf {
        self.base_dir.join(path)
    }

    /// Resolves `p`, reporting it when no such file exists.
    fn existing_file(&mut self, p: &Spanned<String>, key: &str) -> PathBuf {
        let resolved = self.resolve(p.get_ref());
        if !resolved.is_file() {
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
        OutputConfig {
            dir: self.resolve(raw.dir.get_ref()),
            keep_runs,
        }
    }

    fn check_sources(&mut self, raw: &Spanned<Vec<raw::RawSource>>) -> Vec<SourceConfig> {
        if raw.get_ref().is_empty() {
            self.err(
                raw.span(),
                "sources",
                "no sources; add at least one [[sources]] table",
            );
        }
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut out = Vec::new();
        for (i, s) in raw.get_ref().iter().enumerate() {
            let key = format!("sources[{i}]");
            let name = s.name.get_ref().as_str();
            if !is_source_name(name) {
                self.err(
                    s.name.span(),
                    format!("{key}.name"),
                    format!(
                        "invalid source name `{name}`; use lowercase letters, digits and `_` only"
                    ),
                );
            } else if let Some((_, line)) = seen.iter().find(|(n, _)| *n == name) {
                self.err(
                    s.name.span(),
                    format!("{key}.name"),
                    format!(
                        "duplicate source name `{name}` (first used on line {line}); give each \
                         source its own name"
                    ),
                );
            } else {
                seen.push((name, self.r.line_of(s.name.span().start)));
            }
            out.push(self.check_source(s, &key));
        }
        out
    }

    fn check_source(&mut self, s: &raw::RawSource, key: &str) -> SourceConfig {
        let pattern = s.path.get_ref();
        let files = match self.expand(pattern) {
            Ok(files) if files.is_empty() => {
                let full = self.resolve(pattern);
                let dir = full
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| full.clone());
                let dir = std::path::absolute(&dir).unwrap_or(dir);
                self.err(
                    s.path.span(),
                    format!("{key}.path"),
                    format!("`{pattern}` matches no file (looked in {})", dir.display()),
                );
                files
            }
            Ok(files) => files,
            Err(msg) => {
                self.err(s.path.span(), format!("{key}.path"), msg);
                Vec::new()
            }
        };

        let ext = Path::new(pattern)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let format = match &s.format {
            Some(f) => match f.get_ref().as_str() {
                "csv" => Format::Csv,
                "ndjson" => Format::Ndjson,
                "parquet" => Format::Parquet,
                other => {
                    self.err(
                        f.span(),
                        format!("{key}.format"),
                        format!("unknown format `{other}`; expected one of {FORMAT_NAMES}"),
                    );
                    Format::Csv
                }
            },
            None => match ext.as_str() {
                "csv" | "tsv" => Format::Csv,
                "ndjson" | "jsonl" | "json" => Format::Ndjson,
                "parquet" | "pq" => Format::Parquet,
                _ => {
                    self.err(
                        s.path.span(),
                        format!("{key}.path"),
                        format!(
                            "cannot infer the format of `{pattern}` from its extension; set \
                             `format` to one of {FORMAT_NAMES}"
                        ),
                    );
                    Format::Csv
                }
            },
        };

        let mut delimiter = if ext == "tsv" { b'\t' } else { b',' };
        if let Some(d) = &s.delimiter {
            let v = d.get_ref();
            let mut chars = v.chars();
            match (chars.next(), chars.next()) {
                (Some('\n' | '\r' | '"'), None) => self.err(
                    d.span(),
                    format!("{key}.delimiter"),
                    "must not be a line break or a quote; give the character between columns, \
                     such as \",\" or \";\"",
                ),
                (Some(c), None) if c.is_ascii() => delimiter = c as u8,
                _ => self.err(
                    d.span(),
                    format!("{key}.delimiter"),
                    format!("must be a single ASCII character such as \",\" or \";\", got {v:?}"),
                ),
            }
            if format != Format::Csv {
                self.err(
                    d.span(),
                    format!("{key}.delimiter"),
                    "applies to csv sources only; remove it or set format = \"csv\"",
                );
            }
        }

        if s.id.get_ref().trim().is_empty() {
            self.err(
                s.id.span(),
                format!("{key}.id"),
                "must not be empty; give the column or SQL expression that identifies a record",
            );
        }
        if let Some(u) = &s.updated_at
            && u.get_ref().trim().is_empty()
        {
            self.err(
                u.span(),
                format!("{key}.updated_at"),
                "must not be empty; give a column or SQL expression, or remove the key",
            );
        }

        if s.fields.get_ref().0.is_empty() {
            self.err(
                s.fields.span(),
                format!("{key}.fields"),
                "no fields mapped; map at least one field, such as email = \"email_address\"",
            );
        }
        let mut fields = Vec::new();
        for (name, expr) in &s.fields.get_ref().0 {
            let fkey = join_key(&format!("{key}.fields"), name.get_ref());
            if !is_identifier(name.get_ref()) {
                self.err(
                    name.span(),
                    fkey.clone(),
                    format!(
                        "invalid field name `{}`; use lowercase letters, digits and `_`, not \
                         starting with a digit, such as `first_name`",
                        name.get_ref()
                    ),
                );
            } else if crate::schema::is_reserved(name.get_ref()) {
                self.err(
                    name.span(),
                    fkey.clone(),
                    format!(
                        "`{}` is reserved: the run's tables use it for a column of their own; \
                         rename the field (reserved names: {})",
                        name.get_ref(),
                        crate::schema::reserved_list()
                    ),
                );
            }
            if expr.get_ref().trim().is_empty() {
                self.err(
                    expr.span(),
                    fkey,
                    "must not be empty; give the column or SQL expression holding the field",
                );
            }
            fields.push((name.get_ref().clone(), expr.get_ref().clone()));
        }

        let mut max_reject_ratio = raw::DEFAULT_MAX_REJECT_RATIO;
        if let Some(m) = &s.max_reject_ratio {
            max_reject_ratio = *m.get_ref();
            if !(0.0..=1.0).contains(&max_reject_ratio) {
                self.err(
                    m.span(),
                    format!("{key}.max_reject_ratio"),
                    format!(
                        "{max_reject_ratio} is outside [0, 1]; give a share of rows such as 0.01"
                    ),
                );
            }
        }

        let mut positions = BTreeMap::new();
        positions.insert("path".to_string(), self.r.position_of(s.path.span().start));
        positions.insert("id".to_string(), self.r.position_of(s.id.span().start));
        if let Some(u) = &s.updated_at {
            positions.insert("updated_at".to_string(), self.r.position_of(u.span().start));
        }
        for (name, expr) in &s.fields.get_ref().0 {
            let at = self.r.position_of(expr.span().start);
            positions.insert(format!("fields.{}", name.get_ref()), at);
        }
        SourceConfig {
            positions,
            name: s.name.get_ref().clone(),
            pattern: pattern.clone(),
            files,
            format,
            id: s.id.get_ref().clone(),
            updated_at: s.updated_at.as_ref().map(|u| u.get_ref().clone()),
            fields,
            max_reject_ratio,
            delimiter,
        }
    }

    /// The paths `pattern` (relative to the pipeline file) matches, sorted, each once (a file
    /// reached through several paths, such as a symlink loop, by its shortest path); a match
    /// whose name is not UTF-8 is an error naming it. Every match is kept, whatever its kind, for
    /// the reader to say when it is not a regular file.
    fn expand(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let prefix = if Path::new(pattern).is_absolute() {
            String::new()
        } else {
            format!(
                "{}/",
                glob::Pattern::escape(&self.base_dir.to_string_lossy())
            )
        };
        let full = format!("{prefix}{pattern}");
        let compiled = glob::Pattern::new(&full).map_err(|e| {
            let at = e.pos.saturating_sub(prefix.len()) + 1;
            format!("invalid glob `{pattern}`: {} (character {at})", e.msg)
        })?;
        let mut files = glob_matches(&full, &compiled);
        if let Some(bad) = files.iter().find(|p| p.to_str().is_none()) {
            return Err(format!(
                "`{}` matches `{pattern}` but its name is not valid UTF-8; rename it",
                bad.to_string_lossy()
            ));
        }
        files.sort_by_key(|p| (p.components().count(), p.clone()));
        let mut seen = std::collections::HashSet::new();
        files.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
        files.sort();
        Ok(files)
    }

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

    fn check_blocking(&mut self, raw: &raw::RawBlocking, mapped: &[String]) -> BlockingConfig {
        if raw.rules.get_ref().is_empty() {
            self.err(
                raw.rules.span(),
                "blocking.rules",
                "no rules; add at least one rule, such as rules = [[\"email\"]]",
            );
        }
        let mut rules = Vec::new();
        for (i, rule) in raw.rules.get_ref().iter().enumerate() {
            let rkey = format!("blocking.rules[{i}]");
            if rule.get_ref().is_empty() {
                self.err(
                    rule.span(),
                    rkey.clone(),
                    "empty rule; list at least one key, such as [\"email\"]",
                );
            }
            let mut keys = Vec::new();
            let mut text = Vec::new();
            for (j, k) in rule.get_ref().iter().enumerate() {
                let kkey = format!("{rkey}[{j}]");
                text.push(k.get_ref().trim().to_string());
                match parse_block_key(k.get_ref()) {
                    Ok(key) => {
                        if !mapped.contains(&key.field) {
                            self.err(k.span(), kkey, unmapped(&key.field, mapped));
                        }
                        keys.push(key);
                    }
                    Err(msg) => self.err(k.span(), kkey, msg),
                }
            }
            rules.push(BlockingRule {
                keys,
                text: text.join(" & "),
            });
        }
        let mut max_block_size = raw::DEFAULT_MAX_BLOCK_SIZE;
        if let Some(m) = &raw.max_block_size {
            match usize::try_from(*m.get_ref()) {
                Ok(n) if n >= 1 => max_block_size = n,
                _ => self.err(
                    m.span(),
                    "blocking.max_block_size",
                    format!("must be at least 1, got {}", m.get_ref()),
                ),
            }
        }
        BlockingConfig {
            rules,
            max_block_size,
        }
    }

    fn check_comparisons(
        &mut self,
        raw: &Spanned<Vec<raw::RawComparison>>,
        mapped: &[String],
    ) -> Vec<ComparisonConfig> {
        if raw.get_ref().is_empty() {
            self.err(
                raw.span(),
                "comparisons",
                "no comparisons; add at least one [[comparisons]] table",
            );
        }
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut out = Vec::new();
        for (i, c) in raw.get_ref().iter().enumerate() {
            let key = format!("comparisons[{i}]");
            let field = c.field.get_ref().as_str();
            if !mapped.iter().any(|m| m == field) {
                self.err(
                    c.field.span(),
                    format!("{key}.field"),
                    unmapped(field, mapped),
                );
            }
            if let Some((_, line)) = seen.iter().find(|(f, _)| *f == field) {
                self.err(
                    c.field.span(),
                    format!("{key}.field"),
                    format!("`{field}` is already compared (line {line}); compare each field once"),
                );
            } else {
                seen.push((field, self.r.line_of(c.field.span().start)));
            }
            if let Some(column) = crate::schema::DECISION_FIELD_SUFFIXES
                .iter()
                .map(|suffix| format!("{field}{suffix}"))
                .find(|col| crate::schema::DECISION_COLUMNS.contains(&col.as_str()))
            {
                self.err(
                    c.field.span(),
                    format!("{key}.field"),
                    format!(
                        "a compared field named `{field}` makes decisions.parquet's column \
                         `{column}` twice; rename the field"
                    ),
                );
            }
            let method = Method::parse(c.method.get_ref());
            if method.is_none() {
                self.err(
                    c.method.span(),
                    format!("{key}.method"),
                    format!(
                        "unknown method `{}`; expected one of {}",
                        c.method.get_ref(),
                        Method::NAMES.join(", ")
                    ),
                );
            }
            let levels = self.check_levels(c, method, &key);
            out.push(ComparisonConfig {
                field: field.to_string(),
                method: method.unwrap_or(Method::Exact),
                levels,
            });
        }
        out
    }

    fn check_levels(
        &mut self,
        c: &raw::RawComparison,
        method: Option<Method>,
        key: &str,
    ) -> Vec<f64> {
        let lkey = format!("{key}.levels");
        let Some(method) = method else {
            return Vec::new();
        };
        let Some(levels) = &c.levels else {
            return match method {
                Method::Exact | Method::Date => Vec::new(),
                _ => raw::DEFAULT_STRING_LEVELS.to_vec(),
            };
        };
        if matches!(method, Method::Exact | Method::Date) {
            if !levels.get_ref().is_empty() {
                self.err(
                    levels.span(),
                    lkey,
                    format!("`{}` takes no levels; remove `levels`", method.as_str()),
                );
            }
            return Vec::new();
        }
        let mut prev: Option<f64> = None;
        for (j, l) in levels.get_ref().iter().enumerate() {
            let v = *l.get_ref();
            if !(v > 0.0 && v < 1.0) {
                self.err(
                    l.span(),
                    format!("{lkey}[{j}]"),
                    format!("{v} is outside (0, 1); levels are similarity thresholds such as 0.92"),
                );
            } else if let Some(p) = prev
                && v >= p
            {
                self.err(
                    l.span(),
                    format!("{lkey}[{j}]"),
                    format!("{v} is not below {p}; list levels strictly decreasing, best first"),
                );
            }
            prev = Some(v);
        }
        levels.get_ref().iter().map(|l| *l.get_ref()).collect()
    }

    fn check_model(&mut self, raw: Option<&raw::RawModel>, compared: &[String]) -> ModelConfig {
        let mut m = ModelConfig {
            match_threshold: None,
            review_threshold: None,
            term_frequency: Vec::new(),
            u_sample_pairs: raw::DEFAULT_U_SAMPLE_PAIRS,
            em_max_iterations: raw::DEFAULT_EM_MAX_ITERATIONS,
            em_tolerance: raw::DEFAULT_EM_TOLERANCE,
            seed: raw::DEFAULT_SEED,
            model_file: None,
            conflict_field: None,
            conflict_unless_exact: vec!["email".to_string()],
        };
        let Some(raw) = raw else { return m };

        if let Some(f) = &raw.conflict_field {
            let name = f.get_ref().trim();
            m.conflict_field = (!name.is_empty()).then(|| name.to_string());
            if !name.is_empty() && !compared.iter().any(|c| c == name) {
                self.err(
                    f.span(),
                    "model.conflict_field",
                    format!("`{name}` is not compared; name a compared field ({}) or \"\" to turn the rule off", compared.join(", ")),
                );
            }
        }
        if let Some(list) = &raw.conflict_unless_exact {
            m.conflict_unless_exact.clear();
            for (j, f) in list.iter().enumerate() {
                if !compared.contains(f.get_ref()) {
                    self.err(
                        f.span(),
                        format!("model.conflict_unless_exact[{j}]"),
                        format!(
                            "`{}` is not compared; name compared fields: {}",
                            f.get_ref(),
                            compared.join(", ")
                        ),
                    );
                }
                m.conflict_unless_exact.push(f.get_ref().clone());
            }
        }

        let mut thresholds_ok = true;
        for (t, name, default, slot) in [
            (
                &raw.match_threshold,
                "match_threshold",
                raw::DEFAULT_MATCH_THRESHOLD,
                &mut m.match_threshold,
            ),
            (
                &raw.review_threshold,
                "review_threshold",
                raw::DEFAULT_REVIEW_THRESHOLD,
                &mut m.review_threshold,
            ),
        ] {
            if let Some(t) = t {
                let v = *t.get_ref();
                *slot = Some(v);
                if !(v > 0.0 && v < 1.0) {
                    thresholds_ok = false;
                    self.err(
                        t.span(),
                        format!("model.{name}"),
                        format!("{v} is outside (0, 1); use a probability such as {default}"),
                    );
                }
            }
        }
        if let (true, Some(review), Some(matched), Some(t)) = (
            thresholds_ok,
            m.review_threshold,
            m.match_threshold,
            &raw.review_threshold,
        ) && review > matched
        {
            self.err(
                t.span(),
                "model.review_threshold",
                format!(
                    "review_threshold {review} is above match_threshold {matched}; set \
                     review_threshold at or below match_threshold"
                ),
            );
        }

        for (j, f) in raw.term_frequency.iter().flatten().enumerate() {
            if !compared.contains(f.get_ref()) {
                self.err(
                    f.span(),
                    format!("model.term_frequency[{j}]"),
                    format!(
                        "`{}` is not compared; term-frequency adjustment applies to compared \
                         fields: {}",
                        f.get_ref(),
                        compared.join(", ")
                    ),
                );
            }
            m.term_frequency.push(f.get_ref().clone());
        }

        if let Some(u) = &raw.u_sample_pairs {
            match usize::try_from(*u.get_ref()) {
                Ok(n) if n >= raw::MIN_U_SAMPLE_PAIRS => m.u_sample_pairs = n,
                _ => self.err(
                    u.span(),
                    "model.u_sample_pairs",
                    format!(
                        "{} is too few; sample at least {} pairs (default {})",
                        u.get_ref(),
                        raw::MIN_U_SAMPLE_PAIRS,
                        raw::DEFAULT_U_SAMPLE_PAIRS
                    ),
                ),
            }
        }
        if let Some(it) = &raw.em_max_iterations {
            match usize::try_from(*it.get_ref()) {
                Ok(n) if (1..=raw::MAX_EM_ITERATIONS).contains(&n) => m.em_max_iterations = n,
                Ok(n) if n > raw::MAX_EM_ITERATIONS => self.err(
                    it.span(),
                    "model.em_max_iterations",
                    format!(
                        "must be at most {}, got {n} (default {}); EM converges in far fewer \
                         iterations, raise em_tolerance instead",
                        raw::MAX_EM_ITERATIONS,
                        raw::DEFAULT_EM_MAX_ITERATIONS
                    ),
                ),
                _ => self.err(
                    it.span(),
                    "model.em_max_iterations",
                    format!(
                        "must be at least 1, got {} (default {})",
                        it.get_ref(),
                        raw::DEFAULT_EM_MAX_ITERATIONS
                    ),
                ),
            }
        }
        if let Some(t) = &raw.em_tolerance {
            m.em_tolerance = *t.get_ref();
            if !(m.em_tolerance > 0.0 && m.em_tolerance.is_finite()) {
                self.err(
                    t.span(),
                    "model.em_tolerance",
                    format!(
                        "must be a finite number greater than 0, got {} (default {})",
                        m.em_tolerance,
                        raw::DEFAULT_EM_TOLERANCE
                    ),
                );
            }
        }
        if let Some(s) = &raw.seed {
            match u64::try_from(*s.get_ref()) {
                Ok(n) => m.seed = n,
                Err(_) => self.err(
                    s.span(),
                    "model.seed",
                    format!("must be a non-negative integer, got {}", s.get_ref()),
                ),
            }
        }
        m.model_file = raw
            .model_file
            .as_ref()
            .map(|p| self.existing_file(p, "model.model_file"));
        m
    }

    fn check_survivorship(
        &mut self,
        raw: Option<&raw::RawSurvivorship>,
        sources: &[String],
        mapped: &[String],
    ) -> SurvivorshipConfig {
        let mut s = SurvivorshipConfig {
            default: Rule::parse(raw::DEFAULT_SURVIVORSHIP_RULE).unwrap_or(Rule::MostRecent),
            source_priority: Vec::new(),
            fields: BTreeMap::new(),
        };
        let Some(raw) = raw else { return s };
        // Where `source_priority` is used as a rule, for the "list the sources" check.
        let mut priority_used: Option<(Range<usize>, String)> = None;
        let mut rule = |c: &mut Self, v: &Spanned<String>, key: String| -> Option<Rule> {
            let parsed = Rule::parse(v.get_ref());
            match parsed {
                None => c.err(
                    v.span(),
                    key,
                    format!(
                        "unknown rule `{}`; expected one of {}",
                        v.get_ref(),
                        Rule::NAMES.join(", ")
                    ),
                ),
                Some(Rule::SourcePriority) if priority_used.is_none() => {
                    priority_used = Some((v.span(), key));
                }
                Some(_) => {}
            }
            parsed
        };
        if let Some(d) = &raw.default
            && let Some(r) = rule(self, d, "survivorship.default".to_string())
        {
            s.default = r;
        }
        for (field, v) in raw.fields.iter().flat_map(|t: &OrderedTable<_>| t.0.iter()) {
            let key = join_key("survivorship.fields", field.get_ref());
            if !mapped.contains(field.get_ref()) {
                self.err(field.span(), key.clone(), unmapped(field.get_ref(), mapped));
            }
            if let Some(r) = rule(self, v, key) {
                s.fields.insert(field.get_ref().clone(), r);
            }
        }
        for (j, p) in raw
            .source_priority
            .iter()
            .flat_map(|p| p.get_ref().iter())
            .enumerate()
        {
            if !sources.contains(p.get_ref()) {
                self.err(
                    p.span(),
                    format!("survivorship.source_priority[{j}]"),
                    format!(
                        "unknown source `{}`; sources: {}",
                        p.get_ref(),
                        sources.join(", ")
                    ),
                );
            }
            s.source_priority.push(p.get_ref().clone());
        }
        if s.source_priority.is_empty()
            && let Some((span, key)) = priority_used
        {
            let listed: Vec<String> = sources.iter().map(|n| format!("{n:?}")).collect();
            self.err(
                span,
                key,
                format!(
                    "rule `source_priority` needs an order of sources; add source_priority = [{}] \
                     to [survivorship], most trusted first",
                    listed.join(", ")
                ),
            );
        }
        s
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

/// Parses a blocking key: `field`, `metaphone(field)`, `soundex(field)`, `nysiis(field)`,
/// `year(field)` or `left(field, N)`.
pub fn parse_block_key(text: &str) -> Result<BlockKey, String> {
    let s = text.trim();
    let hint = "write `field` or `function(field)`, such as `metaphone(first_name)` or \
                `left(postcode, 3)`";
    let Some(open) = s.find('(') else {
        return if is_identifier(s) {
            Ok(BlockKey {
                field: s.to_string(),
                transform: KeyTransform::Identity,
            })
        } else {
            Err(format!("invalid key `{s}`; {hint}"))
        };
    };
    let Some(inner) = s[open + 1..].strip_suffix(')') else {
        return Err(format!("invalid key `{s}`; {hint}"));
    };
    let func = s[..open].trim();
    let args: Vec<&str> = inner.split(',').map(str::trim).collect();
    let one = |t: KeyTransform| match args.as_slice() {
        [f] => Ok((f.to_string(), t)),
        _ => Err(format!(
            "`{func}` takes one field, as in `{func}(first_name)`"
        )),
    };
    let (field, transform) = match func {
        "metaphone" => one(KeyTransform::Metaphone)?,
        "soundex" => one(KeyTransform::Soundex)?,
        "nysiis" => one(KeyTransform::Nysiis)?,
        "year" => one(KeyTransform::Year)?,
        "left" => match args.as_slice() {
            [f, n] => match n.parse::<usize>() {
                Ok(n) if n >= 1 => (f.to_string(), KeyTransform::Prefix(n)),
                _ => {
                    return Err(format!(
                        "`left` needs a length of at least 1, got `{n}`, as in `left(postcode, 3)`"
                    ));
                }
            },
            _ => return Err("`left` takes a field and a length, as in `left(postcode, 3)`".into()),
        },
        _ => {
            return Err(format!(
                "unknown function `{func}`; expected one of {}",
                KEY_FUNCTIONS.join(", ")
            ));
        }
    };
    if !is_identifier(&field) {
        return Err(format!("invalid field name `{field}` in key `{s}`; {hint}"));
    }
    Ok(BlockKey { field, transform })
}

/// Every path glob `full` (an absolute or base-relative pattern, compiled as `pattern`)
/// matches, of any kind (a dangling symlink included), names that are not UTF-8 included (read
/// lossily). The walk follows symlinks and skips the loops they make, so it always ends.
fn glob_matches(full: &str, pattern: &glob::Pattern) -> Vec<PathBuf> {
    let is_glob = |c: &std::path::Component| {
        c.as_os_str()
            .to_str()
            .is_some_and(|s| s.contains(['*', '?', '[']))
    };
    let comps: Vec<_> = Path::new(full).components().collect();
    let literal = comps.iter().take_while(|c| !is_glob(c)).count();
    if literal == comps.len() {
        let path = PathBuf::from(full);
        return std::fs::symlink_metadata(&path).map_or(Vec::new(), |_| vec![path]);
    }
    let base: PathBuf = comps[..literal].iter().collect();
    let mut walk = walkdir::WalkDir::new(&base).follow_links(true).min_depth(1);
    if !full.contains("**") {
        walk = walk.max_depth(comps.len() - literal);
    }
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..Default::default()
    };
    walk.into_iter()
        .filter_map(|entry| match entry {
            Ok(e) => Some(e.into_path()),
            // A dangling symlink is a match the reader reports; a loop is skipped.
            Err(e) if e.loop_ancestor().is_none() => e.path().map(Path::to_path_buf),
            Err(_) => None,
        })
        .filter(|p| pattern.matches_with(&p.to_string_lossy(), options))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory holding `files` (empty), for sources to match.
    fn dir_with(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "id\n1\n").unwrap();
        }
        dir
    }

    /// Loads `text` as if it were `dir/p.toml`; returns the rendered errors.
    fn errors(dir: &Path, text: &str) -> Vec<String> {
        match load_str(text, &dir.join("p.toml")) {
            Ok(_) => panic!("expected errors"),
            Err(e) => e.lines(),
        }
    }

    const VALID: &str = r#"name = "nightly-customers"

[output]
dir = "out/nightly"
keep_runs = 3

[[sources]]
name = "crm"
path = "exports/crm.csv"
id = "contact_id"
updated_at = "updated_at"
[sources.fields]
last_name = "surname"
first_name = "given_name"
email = "email"
postcode = "zip"
birth_date = "date_of_birth"
loyalty_tier = "upper(tier)"

[[sources]]
name = "billing"
path = "exports/billing_*.parquet"
id = "account_no"
max_reject_ratio = 0.05
[sources.fields]
full_name = "full_name"
email = "billing_email"

[[sources]]
name = "support"
path = "exports/support.tsv"
id = "ticket_id"
[sources.fields]
phone = "phone"

[standardize]
default_phone_region = "GB"

[blocking]
rules = [
  ["email"],
  ["last_name", "year(birth_date)"],
  ["metaphone(first_name)", "left(postcode, 3)"],
]

[[comparisons]]
field = "first_name"
method = "jaro_winkler"

[[comparisons]]
field = "last_name"
method = "levenshtein"
levels = [0.9, 0.7, 0.5]

[[comparisons]]
field = "email"
method = "exact"

[model]
match_threshold = 0.9
term_frequency = ["last_name"]
seed = 7

[survivorship]
source_priority = ["billing", "crm"]
[survivorship.fields]
email = "most_frequent"
phone = "source_priority"
"#;

    #[test]
    fn valid_pipeline_loads_with_defaults_filled_and_files_resolved() {
        let dir = dir_with(&[
            "exports/crm.csv",
            "exports/billing_2.parquet",
            "exports/billing_1.parquet",
            "exports/support.tsv",
        ]);
        let d = dir.path();
        let path = d.join("p.toml");
        std::fs::write(&path, VALID).unwrap();
        let p = load(&path).unwrap();

        assert_eq!(p.name, "nightly-customers");
        assert_eq!(p.path, path);
        assert_eq!(p.base_dir, d);
        assert_eq!(p.hash, hex::encode(Sha256::digest(VALID.as_bytes())));
        assert_eq!(p.hash.len(), 64);
        assert_eq!(p.output.dir, d.join("out/nightly"));
        assert_eq!(p.output.keep_runs, Some(3));

        let names: Vec<&str> = p.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["crm", "billing", "support"]);
        let crm = &p.sources[0];
        assert_eq!(crm.pattern, "exports/crm.csv");
        assert_eq!(crm.files, [d.join("exports/crm.csv")]);
        assert_eq!(crm.format, Format::Csv);
        assert_eq!(crm.id, "contact_id");
        assert_eq!(crm.updated_at.as_deref(), Some("updated_at"));
        let fields: Vec<(&str, &str)> = crm
            .fields
            .iter()
            .map(|(f, e)| (f.as_str(), e.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("last_name", "surname"),
                ("first_name", "given_name"),
                ("email", "email"),
                ("postcode", "zip"),
                ("birth_date", "date_of_birth"),
                ("loyalty_tier", "upper(tier)"),
            ]
        );
        assert_eq!(crm.max_reject_ratio, 0.01);
        assert_eq!(crm.delimiter, b',');

        let billing = &p.sources[1];
        assert_eq!(
            billing.files,
            [
                d.join("exports/billing_1.parquet"),
                d.join("exports/billing_2.parquet")
            ]
        );
        assert_eq!(billing.format, Format::Parquet);
        assert_eq!(billing.updated_at, None);
        assert_eq!(billing.max_reject_ratio, 0.05);

        let support = &p.sources[2];
        assert_eq!(support.format, Format::Csv);
        assert_eq!(support.delimiter, b'\t');

        assert_eq!(p.standardize.default_phone_region.as_deref(), Some("GB"));

        let texts: Vec<&str> = p.blocking.rules.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "email",
                "last_name & year(birth_date)",
                "metaphone(first_name) & left(postcode, 3)"
            ]
        );
        let key = |field: &str, transform| BlockKey {
            field: field.to_string(),
            transform,
        };
        assert_eq!(
            p.blocking.rules[0].keys,
            [key("email", KeyTransform::Identity)]
        );
        assert_eq!(
            p.blocking.rules[1].keys,
            [
                key("last_name", KeyTransform::Identity),
                key("birth_date", KeyTransform::Year)
            ]
        );
        assert_eq!(
            p.blocking.rules[2].keys,
            [
                key("first_name", KeyTransform::Metaphone),
                key("postcode", KeyTransform::Prefix(3))
            ]
        );
        assert_eq!(p.blocking.max_block_size, 5000);

        let comps: Vec<(&str, Method, Vec<f64>)> = p
            .comparisons
            .iter()
            .map(|c| (c.field.as_str(), c.method, c.levels.clone()))
            .collect();
        assert_eq!(
            comps,
            [
                ("first_name", Method::JaroWinkler, vec![0.92, 0.80]),
                ("last_name", Method::Levenshtein, vec![0.9, 0.7, 0.5]),
                ("email", Method::Exact, vec![]),
            ]
        );

        let m = &p.model;
        assert_eq!(m.match_threshold, Some(0.9));
        assert_eq!(m.review_threshold, None);
        assert_eq!(m.term_frequency, ["last_name"]);
        assert_eq!(m.u_sample_pairs, 1_000_000);
        assert_eq!(m.em_max_iterations, 50);
        assert_eq!(m.em_tolerance, 1e-4);
        assert_eq!(m.seed, 7);
        assert_eq!(m.model_file, None);

        let s = &p.survivorship;
        assert_eq!(s.default, Rule::MostRecent);
        assert_eq!(s.source_priority, ["billing", "crm"]);
        assert_eq!(
            s.fields,
            BTreeMap::from([
                ("email".to_string(), Rule::MostFrequent),
                ("phone".to_string(), Rule::SourcePriority),
            ])
        );
        assert_eq!(p.manual_decisions, None);
        assert_eq!(
            p.fields(),
            [
                "last_name",
                "first_name",
                "email",
                "postcode",
                "birth_date",
                "loyalty_tier",
                "full_name",
                "phone"
            ]
        );
    }

    #[test]
    fn unknown_key_names_the_valid_keys_at_its_level() {
        let dir = dir_with(&[]);
        let text = "name = \"x\"\n\n[output]\ndirr = \"out\"\n";
        assert_eq!(
            errors(dir.path(), text),
            [format!(
                "{}:4:1: output.dirr: unknown key `dirr`; expected one of `dir`, `keep_runs`",
                dir.path().join("p.toml").display()
            )]
        );
    }

    #[test]
    fn unknown_key_inside_an_array_of_tables_gets_its_index() {
        let text = "name = \"x\"\n[output]\ndir = \"o\"\n[[sources]]\nname = \"a\"\n\
                    path = \"a.csv\"\nid = \"i\"\nfields = { email = \"e\" }\n\
                    [[sources]]\nname = \"b\"\n  formt = \"csv\"\n";
        assert_eq!(
            errors(Path::new("/pipes"), text),
            [
                "/pipes/p.toml:11:3: sources[1].formt: unknown key `formt`; expected one of \
                 `name`, `path`, `format`, `id`, `updated_at`, `fields`, `max_reject_ratio`, \
                 `delimiter`"
            ]
        );
    }

    #[test]
    fn shape_errors_point_at_the_spot() {
        let cases = [
            (
                "name = \"x\"\n[output]\nkeep_runs = 2\n",
                "p.toml:2:1: output.dir: missing required key `dir`",
            ),
            (
                "name = \"x\"\n[output]\ndir = \"o\"\n",
                "p.toml:1:1: sources: missing required key `sources`",
            ),
            (
                "name = \"x\"\n[output]\ndir = 5\n",
                "p.toml:3:7: output.dir: invalid type: integer `5`, expected a string",
            ),
            (
                "name = \"x\n",
                "p.toml:1:10: invalid TOML: invalid basic string, expected `\"`",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(errors(Path::new(""), text), [want], "{text}");
        }
    }

    #[test]
    fn semantic_problems_are_all_reported_in_file_order() {
        let dir = dir_with(&["crm.csv"]);
        let d = dir.path();
        let text = r#"name = "x"
[output]
dir = "out"

[[sources]]
name = "crm"
path = "crm.csv"
id = "id"
[sources.fields]
email = "email"
last_name = "surname"

[[sources]]
name = "billing"
path = "exports/billing.csv"
id = "id"
[sources.fields]
phone = "phone"

[blocking]
rules = [["email"], ["soundex(last_name)", "postcode"]]

[[comparisons]]
field = "last_name"
method = "jarowinkler"

[model]
match_threshold = 1.5

[survivorship]
default = "newest"
"#;
        let f = d.join("p.toml");
        let f = f.display();
        assert_eq!(
            errors(d, text),
            [
                format!(
                    "{f}:15:8: sources[1].path: `exports/billing.csv` matches no file (looked in {})",
                    d.join("exports").display()
                ),
                format!(
                    "{f}:21:44: blocking.rules[1][1]: field `postcode` is not mapped by any \
                     source; mapped fields: email, last_name, phone"
                ),
                format!(
                    "{f}:25:10: comparisons[0].method: unknown method `jarowinkler`; expected one \
                     of exact, jaro_winkler, jaro, levenshtein, damerau_levenshtein, date"
                ),
                format!(
                    "{f}:28:19: model.match_threshold: 1.5 is outside (0, 1); use a probability \
                     such as 0.95"
                ),
                format!(
                    "{f}:31:11: survivorship.default: unknown rule `newest`; expected one of \
                     most_recent, most_frequent, source_priority, longest, first_non_null"
                ),
            ]
        );
    }

    /// A pipeline with one source `crm` mapping `email` and `full_name`, then `rest`.
    fn one_source(rest: &str) -> String {
        format!(
            "name = \"x\"\n[output]\ndir = \"o\"\n[[sources]]\nname = \"crm\"\npath = \"crm.csv\"\n\
             id = \"id\"\n[sources.fields]\nemail = \"e\"\nfull_name = \"n\"\n{rest}"
        )
    }

    #[test]
    fn source_level_problems() {
        let dir = dir_with(&["crm.csv", "a.txt"]);
        let text = one_source(
            "[[sources]]\nname = \"crm\"\npath = \"a.txt\"\nid = \"\"\ndelimiter = \";;\"\n\
             max_reject_ratio = 2\n[sources.fields]\n\"First Name\" = \"fn\"\n\
             [[sources]]\nname = \"Bad-Name\"\npath = \"crm.csv\"\nformat = \"xlsx\"\nid = \"id\"\n\
             fields = {}\n\
             [blocking]\nrules = [[\"email\"]]\n[[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\n",
        );
        let f = dir.path().join("p.toml");
        let f = f.display();
        assert_eq!(
            errors(dir.path(), &text),
            [
                format!(
                    "{f}:12:8: sources[1].name: duplicate source name `crm` (first used on line \
                     5); give each source its own name"
                ),
                format!(
                    "{f}:13:8: sources[1].path: cannot infer the format of `a.txt` from its \
                     extension; set `format` to one of csv, ndjson, parquet"
                ),
                format!(
                    "{f}:14:6: sources[1].id: must not be empty; give the column or SQL \
                     expression that identifies a record"
                ),
                format!(
                    "{f}:15:13: sources[1].delimiter: must be a single ASCII character such as \
                     \",\" or \";\", got \";;\""
                ),
                format!(
                    "{f}:16:20: sources[1].max_reject_ratio: 2 is outside [0, 1]; give a share of \
                     rows such as 0.01"
                ),
                format!(
                    "{f}:18:1: sources[1].fields.\"First Name\": invalid field name `First Name`; \
                     use lowercase letters, digits and `_`, not starting with a digit, such as \
                     `first_name`"
                ),
                format!(
                    "{f}:20:8: sources[2].name: invalid source name `Bad-Name`; use lowercase \
                     letters, digits and `_` only"
                ),
                format!(
                    "{f}:22:10: sources[2].format: unknown format `xlsx`; expected one of csv, \
                     ndjson, parquet"
                ),
                format!(
                    "{f}:24:10: sources[2].fields: no fields mapped; map at least one field, such \
                     as email = \"email_address\""
                ),
            ]
        );
    }

    #[test]
    fn blocking_comparison_model_and_survivorship_problems() {
        let dir = dir_with(&["crm.csv"]);
        let text = one_source(
            "[standardize]\ndefault_phone_region = \"gb\"\n\
             [blocking]\nrules = [[\"caverphone(email)\", \"left(email)\"], []]\nmax_block_size = 0\n\
             [[comparisons]]\nfield = \"first_name\"\nmethod = \"jaro\"\nlevels = [0.8, 0.9, 1.0]\n\
             [[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\nlevels = [0.5]\n\
             [[comparisons]]\nfield = \"email\"\nmethod = \"jaro\"\n\
             [model]\nmatch_threshold = 0.95\nreview_threshold = 0.97\nterm_frequency = [\"city\"]\nu_sample_pairs = 10\n\
             em_max_iterations = 0\nmodel_file = \"model.json\"\n\
             [survivorship]\nsource_priority = [\"crmm\"]\n[survivorship.fields]\nphone = \"longest\"\n",
        );
        let f = dir.path().join("p.toml");
        let f = f.display();
        let model = dir.path().join("model.json");
        assert_eq!(
            errors(dir.path(), &text),
            [
                format!(
                    "{f}:12:24: standardize.default_phone_region: unknown region `gb`; write it \
                     in capitals: \"GB\""
                ),
                format!(
                    "{f}:14:11: blocking.rules[0][0]: unknown function `caverphone`; expected one \
                     of metaphone, soundex, nysiis, year, left"
                ),
                format!(
                    "{f}:14:32: blocking.rules[0][1]: `left` takes a field and a length, as in \
                     `left(postcode, 3)`"
                ),
                format!(
                    "{f}:14:48: blocking.rules[1]: empty rule; list at least one key, such as \
                     [\"email\"]"
                ),
                format!("{f}:15:18: blocking.max_block_size: must be at least 1, got 0"),
                format!(
                    "{f}:19:16: comparisons[0].levels[1]: 0.9 is not below 0.8; list levels \
                     strictly decreasing, best first"
                ),
                format!(
                    "{f}:19:21: comparisons[0].levels[2]: 1 is outside (0, 1); levels are \
                     similarity thresholds such as 0.92"
                ),
                format!(
                    "{f}:23:10: comparisons[1].levels: `exact` takes no levels; remove `levels`"
                ),
                format!(
                    "{f}:25:9: comparisons[2].field: `email` is already compared (line 21); \
                     compare each field once"
                ),
                format!(
                    "{f}:29:20: model.review_threshold: review_threshold 0.97 is above \
                     match_threshold 0.95; set review_threshold at or below match_threshold"
                ),
                format!(
                    "{f}:30:19: model.term_frequency[0]: `city` is not compared; term-frequency \
                     adjustment applies to compared fields: first_name, email"
                ),
                format!(
                    "{f}:31:18: model.u_sample_pairs: 10 is too few; sample at least 1000 pairs \
                     (default 1000000)"
                ),
                format!(
                    "{f}:32:21: model.em_max_iterations: must be at least 1, got 0 (default 50)"
                ),
                format!(
                    "{f}:33:14: model.model_file: `model.json` does not exist (looked for {})",
                    model.display()
                ),
                format!(
                    "{f}:35:20: survivorship.source_priority[0]: unknown source `crmm`; sources: \
                     crm"
                ),
                format!(
                    "{f}:37:1: survivorship.fields.phone: field `phone` is not mapped by any \
                     source; mapped fields: email, first_name, last_name, full_name"
                ),
            ]
        );
    }

    #[test]
    fn reserved_field_names_and_a_compared_match_are_refused() {
        let dir = dir_with(&["crm.csv"]);
        let text = one_source(
            "source_id = \"id\"\n__row = \"id\"\nrecord_count = \"id\"\nphone__match = \"id\"\n\
             match = \"id\"\n\
             [blocking]\nrules = [[\"email\"]]\n\
             [[comparisons]]\nfield = \"match\"\nmethod = \"exact\"\n",
        );
        let f = dir.path().join("p.toml");
        let f = f.display();
        let list = crate::schema::reserved_list();
        let reserved = |line: usize, name: &str| {
            format!(
                "{f}:{line}:1: sources[0].fields.{name}: `{name}` is reserved: the run's tables \
                 use it for a column of their own; rename the field (reserved names: {list})"
            )
        };
        assert_eq!(
            errors(dir.path(), &text),
            [
                reserved(11, "source_id"),
                reserved(12, "__row"),
                reserved(13, "record_count"),
                reserved(14, "phone__match"),
                format!(
                    "{f}:19:9: comparisons[0].field: a compared field named `match` makes \
                     decisions.parquet's column `match_weight` twice; rename the field"
                ),
            ]
        );
        assert!(list.starts_with("golden_id, source, source_id, record_idx, row_number"));
    }

    #[test]
    fn em_iterations_are_capped_and_the_tolerance_must_be_finite() {
        let dir = dir_with(&["crm.csv"]);
        let text = one_source(
            "[blocking]\nrules = [[\"email\"]]\n\
             [[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\n\
             [model]\nem_max_iterations = 1001\nem_tolerance = nan\n",
        );
        let f = dir.path().join("p.toml");
        let f = f.display();
        assert_eq!(
            errors(dir.path(), &text),
            [
                format!(
                    "{f}:17:21: model.em_max_iterations: must be at most 1000, got 1001 (default \
                     50); EM converges in far fewer iterations, raise em_tolerance instead"
                ),
                format!(
                    "{f}:18:16: model.em_tolerance: must be a finite number greater than 0, got \
                     NaN (default 0.0001)"
                ),
            ]
        );
        let ok = one_source(
            "[blocking]\nrules = [[\"email\"]]\n\
             [[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\n\
             [model]\nem_max_iterations = 1000\n",
        );
        let p = load_str(&ok, &dir.path().join("p.toml")).unwrap();
        assert_eq!(p.model.em_max_iterations, 1000);
    }

    #[test]
    fn source_priority_rule_needs_a_source_order() {
        let dir = dir_with(&["crm.csv"]);
        let text = one_source(
            "[blocking]\nrules = [[\"email\"]]\n[[comparisons]]\nfield = \"email\"\n\
             method = \"exact\"\n[survivorship]\n[survivorship.fields]\nemail = \"source_priority\"\n",
        );
        assert_eq!(
            errors(dir.path(), &text),
            [format!(
                "{}:18:9: survivorship.fields.email: rule `source_priority` needs an order of \
                 sources; add source_priority = [\"crm\"] to [survivorship], most trusted first",
                dir.path().join("p.toml").display()
            )]
        );
    }

    /// The example of DESIGN §2, verbatim.
    const DESIGN_EXAMPLE: &str = r#"name = "nightly-customers"

[output]
dir = "out/nightly-customers"        # run directories are created under here

[[sources]]
name = "crm"
path = "exports/crm.csv"             # a file or a glob
format = "csv"                       # csv | ndjson | parquet; inferred from the extension if absent
id = "contact_id"                    # unique id of a record within its source (column or SQL expression)
updated_at = "updated_at"            # optional: when the record last changed (recency for survivorship)
[sources.fields]                     # canonical field = SQL expression over this source's columns
first_name = "first_name"
last_name  = "last_name"
email      = "email"
phone      = "phone"
street     = "street"
city       = "city"
postcode   = "postcode"
birth_date = "date_of_birth"

[[sources]]
name = "billing"
path = "exports/billing.parquet"
id = "account_no"
[sources.fields]
full_name = "full_name"              # "Last, First" or "First Last": split by the standardizer
email     = "billing_email"
phone     = "phone_number"
street    = "address_line1"
city      = "town"
postcode  = "zip"

[standardize]
default_phone_region = "GB"

[blocking]                           # each rule is a list of keys; a pair that agrees on all keys of any rule is a candidate
rules = [
  ["email"],
  ["phone"],
  ["last_name", "birth_date"],
  ["metaphone(first_name)", "postcode"],
]

[[comparisons]]
field = "first_name"
method = "jaro_winkler"              # exact | jaro_winkler | jaro | levenshtein | damerau_levenshtein | date | ...
levels = [0.92, 0.80]                # similarity thresholds, best first; exact match and null are always levels

[[comparisons]]
field = "email"
method = "exact"

[model]
match_threshold = 0.95               # posterior match probability at or above which a pair links
review_threshold = 0.60              # pairs between review and match go to the review queue
term_frequency = ["last_name", "city"]

[survivorship]
default = "most_recent"              # most_recent | most_frequent | source_priority | longest | first_non_null
source_priority = ["billing", "crm", "support"]
[survivorship.fields]
email = "most_frequent"
phone = "source_priority"
"#;

    #[test]
    fn design_example_is_reported_for_its_dangling_names() {
        // The example names a `support` source it does not define and adjusts `last_name` and
        // `city` by term frequency without comparing them; everything else in it is valid.
        let dir = dir_with(&["exports/crm.csv", "exports/billing.parquet"]);
        let f = dir.path().join("p.toml");
        let f = f.display();
        assert_eq!(
            errors(dir.path(), DESIGN_EXAMPLE),
            [
                format!(
                    "{f}:57:19: model.term_frequency[0]: `last_name` is not compared; \
                     term-frequency adjustment applies to compared fields: first_name, email"
                ),
                format!(
                    "{f}:57:32: model.term_frequency[1]: `city` is not compared; term-frequency \
                     adjustment applies to compared fields: first_name, email"
                ),
                format!(
                    "{f}:61:38: survivorship.source_priority[2]: unknown source `support`; \
                     sources: crm, billing"
                ),
            ]
        );
        let fixed = DESIGN_EXAMPLE
            .replace(r#"term_frequency = ["last_name", "city"]"#, "")
            .replace(r#", "support"]"#, "]");
        let p = load_str(&fixed, &dir.path().join("p.toml")).unwrap();
        assert_eq!(p.sources[1].format, Format::Parquet);
        assert_eq!(p.blocking.rules[3].text, "metaphone(first_name) & postcode");
        assert_eq!(p.survivorship.rule_for("phone"), Rule::SourcePriority);
        assert_eq!(p.survivorship.rule_for("city"), Rule::MostRecent);
    }

    #[test]
    fn delimiter_applies_to_csv_only() {
        let dir = dir_with(&["crm.csv", "b.parquet"]);
        let text = one_source(
            "delimiter = \";\"\n[[sources]]\nname = \"b\"\npath = \"b.parquet\"\nid = \"id\"\n\
             delimiter = \"|\"\nfields = { email = \"e\" }\n\
             [blocking]\nrules = [[\"email\"]]\n[[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\n",
        );
        assert_eq!(
            errors(dir.path(), &text),
            [format!(
                "{}:16:13: sources[1].delimiter: applies to csv sources only; remove it or set \
                 format = \"csv\"",
                dir.path().join("p.toml").display()
            )]
        );
    }

    #[test]
    fn block_keys_parse() {
        let ok = |s: &str, field: &str, transform| {
            assert_eq!(
                parse_block_key(s),
                Ok(BlockKey {
                    field: field.to_string(),
                    transform
                }),
                "{s}"
            )
        };
        ok("email", "email", KeyTransform::Identity);
        ok(" nysiis( last_name ) ", "last_name", KeyTransform::Nysiis);
        ok("soundex(last_name)", "last_name", KeyTransform::Soundex);
        ok("left(postcode,2)", "postcode", KeyTransform::Prefix(2));
        assert_eq!(
            parse_block_key("left(postcode, 0)"),
            Err("`left` needs a length of at least 1, got `0`, as in `left(postcode, 3)`".into())
        );
        assert_eq!(
            parse_block_key("metaphone(first_name"),
            Err(
                "invalid key `metaphone(first_name`; write `field` or `function(field)`, such as \
                 `metaphone(first_name)` or `left(postcode, 3)`"
                    .into()
            )
        );
        assert_eq!(
            parse_block_key("year(a, b)"),
            Err("`year` takes one field, as in `year(first_name)`".into())
        );
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let dir = dir_with(&[]);
        let path = dir.path().join("missing.toml");
        let err = load(&path).unwrap_err();
        assert_eq!(
            err.lines(),
            [format!(
                "{p}: cannot read the pipeline file {p}: No such file or directory (os error 2)",
                p = path.display()
            )]
        );
    }
}
