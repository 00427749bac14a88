//! `[[sources]]`: names, files (globs), formats, delimiters, ids and field mappings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::super::raw::{self, RawSource};
use super::super::{Format, SourceConfig};
use super::{Checker, is_identifier, is_source_name, join_key};

impl Checker<'_> {
    /// Every `[[sources]]` table, reporting invalid and duplicate names.
    pub(super) fn check_sources(&mut self, raw: &Spanned<Vec<RawSource>>) -> Vec<SourceConfig> {
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
            } else if let Some(line) = self.seen_before(&mut seen, name, &s.name.span()) {
                self.err(
                    s.name.span(),
                    format!("{key}.name"),
                    format!(
                        "duplicate source name `{name}` (first used on line {line}); give each \
                         source its own name"
                    ),
                );
            }
            out.push(self.check_source(s, &key));
        }
        out
    }

    /// One source: its files, format, delimiter, id, fields and reject ratio, in that order.
    fn check_source(&mut self, s: &RawSource, key: &str) -> SourceConfig {
        let pattern = s.path.get_ref();
        let files = self.source_files(s, key);
        let ext = Path::new(pattern)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let format = self.source_format(s, key, &ext);
        let delimiter = self.source_delimiter(s, key, &ext, format);
        self.source_id(s, key);
        let fields = self.source_fields(s, key);
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
        SourceConfig {
            positions: self.source_positions(s),
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

    /// The files `path` matches, reporting a pattern that matches none or cannot be expanded.
    fn source_files(&mut self, s: &RawSource, key: &str) -> Vec<PathBuf> {
        let pattern = s.path.get_ref();
        if !self.files {
            return Vec::new();
        }
        match self.expand(pattern) {
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
        }
    }

    /// `format` as written, or inferred from the path's extension `ext`.
    fn source_format(&mut self, s: &RawSource, key: &str, ext: &str) -> Format {
        let names = Format::NAMES.join(", ");
        if let Some(f) = &s.format {
            return Format::parse(f.get_ref()).unwrap_or_else(|| {
                self.err(
                    f.span(),
                    format!("{key}.format"),
                    format!("unknown format `{}`; expected one of {names}", f.get_ref()),
                );
                Format::Csv
            });
        }
        match ext {
            "csv" | "tsv" => Format::Csv,
            "ndjson" | "jsonl" | "json" => Format::Ndjson,
            "parquet" | "pq" => Format::Parquet,
            _ => {
                self.err(
                    s.path.span(),
                    format!("{key}.path"),
                    format!(
                        "cannot infer the format of `{}` from its extension; set `format` to \
                         one of {names}",
                        s.path.get_ref()
                    ),
                );
                Format::Csv
            }
        }
    }

    /// The CSV delimiter: `delimiter` as written, else a tab for `.tsv` files, else a comma.
    fn source_delimiter(&mut self, s: &RawSource, key: &str, ext: &str, format: Format) -> u8 {
        let mut delimiter = if ext == "tsv" { b'\t' } else { b',' };
        let Some(d) = &s.delimiter else {
            return delimiter;
        };
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
        delimiter
    }

    /// Reports an empty `id` or `updated_at`.
    fn source_id(&mut self, s: &RawSource, key: &str) {
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
    }

    /// The field mappings, in file order, reporting invalid or reserved names and empty
    /// expressions.
    fn source_fields(&mut self, s: &RawSource, key: &str) -> Vec<(String, String)> {
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
            if let Some(why) = field_name_problem(name.get_ref()) {
                self.err(name.span(), fkey.clone(), why);
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
        fields
    }

    /// The position of each key of the source, for errors found after loading.
    fn source_positions(&self, s: &RawSource) -> BTreeMap<String, (usize, usize)> {
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
        positions
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

/// Why `name` cannot name a mapped field (not an identifier, or reserved by the run's tables).
fn field_name_problem(name: &str) -> Option<String> {
    if !is_identifier(name) {
        Some(format!(
            "invalid field name `{name}`; use lowercase letters, digits and `_`, not starting \
             with a digit, such as `first_name`"
        ))
    } else if crate::schema::is_reserved(name) {
        Some(format!(
            "`{name}` is reserved: the run's tables use it for a column of their own; rename the \
             field (reserved names: {})",
            crate::schema::reserved_list()
        ))
    } else {
        None
    }
}
