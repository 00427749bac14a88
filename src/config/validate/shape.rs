//! Syntax and shape errors: the first one only (the TOML parser and serde stop there), with
//! the key path at its position.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::super::diagnostics::Reporter;
use super::ConfigErrors;

/// Turns a TOML syntax error or serde error into a positioned [`ConfigError`].
pub(super) fn shape_error(text: &str, path: &Path, e: &toml::de::Error) -> ConfigErrors {
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

/// Key path of the deepest part of value `v` (at key path `p`) whose span holds byte `offset`.
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

/// Whether `span` holds byte `offset` (an empty span holds its start).
fn holds(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || (span.is_empty() && span.start == offset)
}

/// `prefix.name`, quoting `name` when it is not a bare TOML key.
pub(super) fn join_key(prefix: &str, name: &str) -> String {
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
