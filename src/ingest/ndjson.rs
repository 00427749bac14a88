//! The NDJSON reader: one JSON object per line, values kept as their text, a bad line a
//! [`Reject`] with its line number. Blocks of lines are parsed in parallel.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use rayon::prelude::*;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::rejects::{Reject, RejectReason};
use super::source::{FILE_COL, ROW_COL, RawTable, TextColumns, check_names, open, union_by_name};
use crate::{Error, Result};

/// Column names of NDJSON files: every key of every object line, in first-seen order; an
/// error when the files hold no line at all, or when a file's first row opens a JSON array.
pub fn ndjson_columns(paths: &[std::path::PathBuf]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut rows = 0;
    for path in paths {
        let mut file_rows = 0;
        for_each_wave(path, BLOCK_BYTES, |blocks| {
            for (number, line) in blocks.iter().flat_map(Block::rows) {
                file_rows += 1;
                if file_rows == 1 && line.starts_with(b"[") {
                    return Err(json_array(path, number));
                }
                if let Ok(map) = serde_json::from_slice::<BTreeMap<String, IgnoredAny>>(line) {
                    for k in map.into_keys() {
                        if seen.insert(k.clone()) {
                            names.push(k);
                        }
                    }
                }
            }
            Ok(())
        })?;
        rows += file_rows;
    }
    match (rows, paths.first()) {
        (0, Some(path)) => Err(Error::Input {
            path: path.clone(),
            message: "the source's files hold no JSON lines (empty); check the export".into(),
        }),
        _ => Ok(names),
    }
}

/// Bytes of an NDJSON file parsed as one block (whole lines, a longer line makes its block
/// longer).
const BLOCK_BYTES: usize = 4 << 20;

/// Whole lines of a file, with the number of the first.
struct Block {
    /// Line number (1-based) of the first line.
    first_line: u64,
    /// The lines, each ended by `\n` but perhaps the file's last.
    bytes: Vec<u8>,
}

impl Block {
    /// Each row of the block with its line number: lines trimmed, blank lines skipped (they
    /// count as lines but are not rows), a UTF-8 byte-order mark on line 1 removed.
    fn rows(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let body = self.bytes.strip_suffix(b"\n").unwrap_or(&self.bytes);
        body.split(|&b| b == b'\n')
            .zip(self.first_line..)
            .map(|(line, number)| match number {
                1 => (number, line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)),
                _ => (number, line),
            })
            .map(|(number, line)| (number, line.trim_ascii()))
            .filter(|(_, line)| !line.is_empty())
    }
}

/// Reads an NDJSON file, keeping only the keys in `wanted` (the columns the source's
/// expressions use). Values stay as written: strings unescaped, numbers and other values as
/// their JSON text (`123456789012345678901234567890` and `1.50` unchanged). Row numbers are
/// line numbers. The file is read in blocks of lines, parsed in parallel a wave at a time;
/// columns, rows and rejects come out in line order, as one pass would give them.
pub(super) fn read_ndjson(
    source: &str,
    path: &Path,
    wanted: &HashSet<String>,
    id_key: &str,
) -> Result<RawTable> {
    read_in_blocks(source, path, (wanted, id_key), BLOCK_BYTES)
}

/// [`read_ndjson`] with blocks of about `block_bytes`.
fn read_in_blocks(
    source: &str,
    path: &Path,
    (wanted, id_key): (&HashSet<String>, &str),
    block_bytes: usize,
) -> Result<RawTable> {
    let file = path.display().to_string();
    let reader = LineReader {
        source,
        path,
        file: &file,
        wanted,
        id_key,
    };
    let (mut parts, mut rows, mut any_row) = (Vec::new(), 0, false);
    for_each_wave(path, block_bytes, |blocks| {
        let parsed: Vec<Part> = blocks.par_iter().map(|b| reader.block(b)).collect();
        for part in parsed {
            if let (false, Some((line, true))) = (any_row, part.first_row) {
                return Err(json_array(path, line));
            }
            any_row |= part.first_row.is_some();
            if let Some(e) = part.error {
                return Err(e);
            }
            rows += part.rows;
            parts.push(part);
        }
        Ok(())
    })?;
    if rows == 0 {
        tracing::warn!(file = %file, "NDJSON file without lines (empty)");
    }
    let mut rejects = Vec::new();
    let mut batches = Vec::with_capacity(parts.len().max(1));
    for part in parts {
        rejects.extend(part.rejects);
        batches.push(part.batch);
    }
    if batches.is_empty() {
        batches.push(TextColumns::new(Vec::new()).finish(&file)?);
    }
    let batch = union_by_name(&batches).map_err(|message| Error::Input {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(RawTable {
        batch: row_and_file_last(batch)?,
        rejects,
        rows_seen: rows,
    })
}

/// The error for a file whose first row (line `line`) opens a JSON array.
fn json_array(path: &Path, line: u64) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "line {line} starts a JSON array: the file looks like one JSON array, not \
             NDJSON (one JSON object per line); export one object per line (for \
             example `jq -c '.[]' FILE`)"
        ),
    }
}

/// `batch` with its columns [`ROW_COL`] and [`FILE_COL`] moved last (blocks that met a key
/// later than others put it after them).
fn row_and_file_last(batch: RecordBatch) -> Result<RecordBatch> {
    let schema = batch.schema();
    let last = |i: &usize| [ROW_COL, FILE_COL].contains(&schema.field(*i).name().as_str());
    let order: Vec<usize> = (0..schema.fields().len())
        .filter(|i| !last(i))
        .chain((0..schema.fields().len()).filter(last))
        .collect();
    Ok(batch.project(&order)?)
}

/// Reads `path` in blocks of whole lines and hands them to `wave` a few at a time (two per
/// thread), in file order.
fn for_each_wave(
    path: &Path,
    block_bytes: usize,
    mut wave: impl FnMut(Vec<Block>) -> Result<()>,
) -> Result<()> {
    let mut file = open(path)?;
    let per_wave = 2 * rayon::current_num_threads().max(1);
    let (mut carry, mut next_line, mut blocks) = (Vec::new(), 1u64, Vec::new());
    loop {
        let mut bytes: Vec<u8> = std::mem::take(&mut carry);
        let start = bytes.len();
        bytes.resize(start + block_bytes, 0);
        let n = read_full(&mut file, &mut bytes[start..]).map_err(|e| Error::io(path, e))?;
        bytes.truncate(start + n);
        let eof = n < block_bytes;
        if !eof {
            // Whole lines only: the rest starts the next block.
            match bytes.iter().rposition(|&b| b == b'\n') {
                Some(i) => carry = bytes.split_off(i + 1),
                None => {
                    carry = bytes;
                    continue;
                }
            }
        }
        if !bytes.is_empty() {
            let ends = bytes.last() == Some(&b'\n');
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + u64::from(!ends);
            blocks.push(Block {
                first_line: next_line,
                bytes,
            });
            next_line += lines;
        }
        if blocks.len() >= per_wave || (eof && !blocks.is_empty()) {
            wave(std::mem::take(&mut blocks))?;
        }
        if eof {
            return Ok(());
        }
    }
}

/// Reads until `buf` is full or the file ends; the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// One block's rows, rejects and rows seen; its first row's line and whether it opens a JSON
/// array; the error that stopped it, if any.
struct Part {
    batch: RecordBatch,
    rejects: Vec<Reject>,
    rows: u64,
    first_row: Option<(u64, bool)>,
    error: Option<Error>,
}

/// What every block of one file is read with.
struct LineReader<'a> {
    source: &'a str,
    path: &'a Path,
    file: &'a str,
    wanted: &'a HashSet<String>,
    id_key: &'a str,
}

impl LineReader<'_> {
    /// The rows of `block` (lines trimmed, blank lines skipped, a byte-order mark on line 1
    /// removed).
    fn block(&self, block: &Block) -> Part {
        let mut cols = TextColumns::new(Vec::new());
        let (mut rejects, mut cells) = (Vec::new(), Vec::new());
        let (mut rows, mut first_row, mut error) = (0, None, None);
        for (number, line) in block.rows() {
            rows += 1;
            first_row.get_or_insert((number, line.starts_with(b"[")));
            match ndjson_row(self.path, line, self.wanted, self.id_key) {
                Ok(Ok(values)) => push_values(&mut cols, &mut cells, number, values),
                Ok(Err((reason, detail))) => rejects.push(Reject {
                    source: self.source.to_string(),
                    file: self.file.to_string(),
                    row_number: number,
                    raw: String::from_utf8_lossy(line).into_owned(),
                    reason,
                    detail,
                }),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        // `finish` fails only on a reserved column name, which `ndjson_row` reports first.
        let (batch, error) = match (error, cols.finish(self.file)) {
            (None, Ok(batch)) => (batch, None),
            (error, finished) => (
                RecordBatch::new_empty(Arc::new(Schema::empty())),
                error.or(finished.err()),
            ),
        };
        Part {
            batch,
            rejects,
            rows,
            first_row,
            error,
        }
    }
}

/// Appends one row of `(key, value)` cells to `cols` (`cells`: a buffer).
fn push_values<'a>(
    cols: &mut TextColumns,
    cells: &mut Vec<Option<Cow<'a, str>>>,
    number: u64,
    values: Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>,
) {
    for (k, v) in values {
        let i = cols.column(&k);
        if cells.len() <= i {
            cells.resize(i + 1, None);
        }
        cells[i] = v;
    }
    cells.resize(cols.names.len(), None);
    cols.push_row(number, cells);
}

/// The cell text of each key of `wanted` in one NDJSON line (keys sorted, so columns come in
/// the same order on every run), or why the line cannot be a row: a key written twice, an id
/// (`id_key`) that is an object, array or boolean, a string that is not valid Unicode; an error
/// for a key golden reserves (`__row`, `__file`). Keys and values without escapes stay
/// borrowed from the line.
fn ndjson_row<'a>(
    path: &Path,
    line: &'a [u8],
    wanted: &HashSet<String>,
    id_key: &str,
) -> Result<NdjsonRow<'a>> {
    let mut entries = match ndjson_object(line) {
        Ok(entries) => entries.0,
        Err(reject) => return Ok(Err(reject)),
    };
    // What one pass in written order meets first: a reserved key (an error) or the second
    // writing of a key (a reject). Sorted by key, then place, a key's second writing follows
    // its first.
    let reserved = (entries.iter()).find_map(|(at, k, _)| {
        [ROW_COL, FILE_COL]
            .into_iter()
            .find(|r| k == r)
            .map(|r| (*at, r))
    });
    entries.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let twice = (entries.windows(2))
        .filter(|w| w[0].1 == w[1].1)
        .map(|w| w[1].0)
        .min();
    match (reserved, twice) {
        (Some((r, key)), t) if t.is_none_or(|t| r < t) => check_names(path, [key])?,
        (_, Some(_)) => {
            let why = "a key appears twice in the object; keep one".to_string();
            return Ok(Err((RejectReason::DuplicateKey, why)));
        }
        _ => {}
    }
    Ok(entries
        .into_iter()
        .filter(|(_, k, _)| wanted.contains(k.as_ref()))
        .map(|(_, k, v)| {
            let kind = match v.get().as_bytes().first() {
                Some(b'{') => "an object",
                Some(b'[') => "an array",
                Some(b't' | b'f') => "a boolean",
                _ => "",
            };
            if k == id_key && !kind.is_empty() {
                let why = format!("the id key `{k}` holds {kind}; an id is a string or a number");
                return Err((RejectReason::MissingId, why));
            }
            let text = json_text(v).map_err(|()| {
                let why = format!("the string of key `{k}` holds a lone UTF-16 surrogate escape");
                (RejectReason::InvalidJson, why)
            })?;
            Ok((k, text))
        })
        .collect())
}

/// One NDJSON line's used values by key, or why the line is rejected.
type NdjsonRow<'a> =
    std::result::Result<Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>, (RejectReason, String)>;

/// One JSON object's entries in the order written, each with its place, a key written twice
/// kept twice.
struct Entries<'a>(Vec<(usize, Cow<'a, str>, &'a RawValue)>);

/// An object key: borrowed from the line unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(Visit)
    }
}

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((Key(k), v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push((entries.len(), k, v));
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// One NDJSON line as an object of raw values, or why it cannot be a row.
fn ndjson_object(line: &[u8]) -> std::result::Result<Entries<'_>, (RejectReason, String)> {
    serde_json::from_slice(line).map_err(|e| {
        if std::str::from_utf8(line).is_err() {
            (RejectReason::InvalidUtf8, e.to_string())
        } else if e.classify() == serde_json::error::Category::Data {
            (
                RejectReason::NotAnObject,
                "expected one JSON object per line".into(),
            )
        } else {
            (RejectReason::InvalidJson, e.to_string())
        }
    })
}

/// A JSON value as cell text: null is none, a string its unescaped text, anything else
/// (numbers, booleans, objects, arrays) its JSON text exactly as written.
/// An error when a string's escapes are not valid Unicode (a lone surrogate).
fn json_text(v: &RawValue) -> std::result::Result<Option<Cow<'_, str>>, ()> {
    let text = v.get();
    Ok(match text.as_bytes().first() {
        Some(b'n') if text == "null" => None,
        // A string without escapes is its text between the quotes.
        Some(b'"') if !text.contains('\\') => Some(Cow::Borrowed(&text[1..text.len() - 1])),
        Some(b'"') => Some(Cow::Owned(
            serde_json::from_str::<String>(text).map_err(|_| ())?,
        )),
        _ => Some(Cow::Borrowed(text)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;

    #[test]
    fn ndjson_values_keep_their_text_and_only_used_keys_become_columns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.ndjson");
        let text = "\u{feff}{\"id\": 1e400, \"n\": \"a\\\"b\", \"x1\": 1}\n\n\
                    {\"id\": 12345678901234567890123, \"n\": \"\u{e9}\", \"x2\": true}\n";
        std::fs::write(&path, text).expect("write");
        let wanted: HashSet<String> = ["id", "n", "absent"].map(String::from).into();
        let t = read_ndjson("s", &path, &wanted, "id").expect("read");
        assert!(t.rejects.is_empty(), "{:?}", t.rejects);
        assert_eq!(t.rows_seen, 2);
        let schema = t.batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "n", ROW_COL, FILE_COL]);
        let text_of = |c: &str| {
            let col = t.batch.column_by_name(c).expect("column");
            col.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            text_of("id"),
            [Some("1e400".into()), Some("12345678901234567890123".into())]
        );
        assert_eq!(text_of("n"), [Some("a\"b".into()), Some("\u{e9}".into())]);
        let rows = t.batch.column_by_name(ROW_COL).expect("rows");
        assert_eq!(
            rows.as_primitive::<arrow::datatypes::UInt64Type>()
                .values()
                .to_vec(),
            [1, 3]
        );
    }

    #[test]
    fn blocks_of_any_size_read_the_same_columns_rows_rejects_and_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.ndjson");
        let wanted: HashSet<String> = ["id", "n", "late"].map(String::from).into();
        let read = |text: &str, block: usize| {
            std::fs::write(&path, text).expect("write");
            read_in_blocks("s", &path, (&wanted, "id"), block)
        };
        let long = "x".repeat(40);
        let text = format!(
            "\u{feff}{{\"id\": 1, \"n\": \"a\"}}\r\n\n  \n{{\"id\": 2, \"n\": \"{long}\"}}\n\
             not json\n{{\"id\": 3, \"late\": \"z\", \"n\": null}}\n{{\"id\": [1]}}\n{{\"id\": 4}}"
        );
        let whole = read(&text, 1 << 20).expect("read");
        let names: Vec<String> = (whole.batch.schema().fields().iter())
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["id", "n", "late", ROW_COL, FILE_COL]);
        let rows = whole.batch.column_by_name(ROW_COL).expect("rows");
        let rows = rows
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .values()
            .to_vec();
        assert_eq!(rows, [1, 4, 6, 8]);
        let rejected: Vec<u64> = whole.rejects.iter().map(|r| r.row_number).collect();
        assert_eq!((rejected, whole.rows_seen), (vec![5, 7], 6));
        for block in [1, 2, 7, 16, 50, 64] {
            let t = read(&text, block).expect("read");
            assert_eq!(t.batch, whole.batch, "block of {block} bytes");
            assert_eq!(t.rejects, whole.rejects, "block of {block} bytes");
            assert_eq!(t.rows_seen, whole.rows_seen);
        }
        // The first row, after blank lines in blocks of their own, opens an array; a reserved
        // key is an error however the file is cut.
        for block in [1, 3, 1 << 20] {
            let e = read("\n\n\n[{\"id\": 1}]\n", block).expect_err("an array");
            assert!(e.to_string().contains("line 4 starts a JSON array"), "{e}");
            let e = read("{\"id\": 1}\n{\"__row\": 2}\n", block).expect_err("reserved");
            assert!(e.to_string().contains("__row"), "{e}");
        }
        // Whichever comes first in the line: a key written twice (a reject) or a reserved key
        // (an error); an escaped key is the key it spells.
        let t = read("{\"n\": 1, \"n\": 2, \"__row\": 3}\n{\"i\\u0064\": 7}\n", 8).expect("read");
        let reasons: Vec<RejectReason> = t.rejects.iter().map(|r| r.reason).collect();
        assert_eq!(reasons, [RejectReason::DuplicateKey]);
        let ids = t.batch.column_by_name("id").expect("id").as_string::<i32>();
        assert_eq!(ids.value(0), "7");
        let e = read("{\"__file\": 1, \"n\": 1, \"n\": 2}\n", 8).expect_err("reserved");
        assert!(e.to_string().contains("__file"), "{e}");
    }
}
