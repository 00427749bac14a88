//! CSV files: the header, checked before any row is read, and the rows, each either a record or
//! a [`Reject`] with its row number.
//!
//! The header must name the columns: a file with no header row, a first line that looks like
//! data, an undeclared delimiter or a column named twice is an error that shows the header's
//! shape, never its text (it may be a customer).
//!
//! A quoted field may span lines (an address with a line break), and a stray quote looks the
//! same to a CSV parser: it swallows the rows after it into one field until the next quote. A
//! record that spans several physical lines is accepted only when it has the header's number of
//! fields and no physical line after its first, parsed on its own, has the header's number of
//! fields. Otherwise every non-blank physical line of the record is rejected as
//! `unbalanced_quote`, one row each (the line number in the detail), and reading goes on after
//! it. Row numbers stay 1..=n per file, so crosswalk and rejects cover each row once.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;

use csv::{ByteRecord, Position};
use datafusion::sql::sqlparser::ast::{Expr, visit_expressions};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::rejects::{Reject, RejectReason};
use super::source::{RawTable, TextColumns, open};
use crate::config::SourceConfig;
use crate::{Error, Result};

/// Delimiters tried when the header is a single column: a file exported with one of them.
const OTHER_DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Bad input in file `path` (exit 3).
fn input(path: &Path, message: String) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message,
    }
}

/// A CSV reader that splits on `delimiter` and lets rows have any number of fields.
fn builder(delimiter: u8) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.delimiter(delimiter).flexible(true);
    b
}

/// Reads and checks the header of a CSV file: trimmed column names, UTF-8 BOM removed, an
/// unnamed column `N` named `__column_N`.
pub fn csv_header(path: &Path, delimiter: u8) -> Result<Vec<String>> {
    let mut rdr = builder(delimiter).from_reader(BufReader::new(open(path)?));
    let header = rdr
        .byte_headers()
        .map_err(|e| input(path, format!("cannot read the CSV header: {e}")))?;
    let names = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = std::str::from_utf8(h).map_err(|_| {
                let m = format!(
                    "header column {} is not valid UTF-8; re-export it as UTF-8",
                    i + 1
                );
                input(path, m)
            })?;
            Ok(h.trim_start_matches('\u{feff}').trim().to_string())
        })
        .collect::<Result<Vec<_>>>()?;
    check_header(&names, delimiter).map_err(|m| input(path, m))?;
    // A column without a name (a trailing delimiter) gets one, so that two of them differ.
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            if n.is_empty() {
                format!("__column_{}", i + 1)
            } else {
                n
            }
        })
        .collect())
}

/// Why `names` cannot be a header, in words that show its shape and never its text.
fn check_header(names: &[String], delimiter: u8) -> std::result::Result<(), String> {
    if names.iter().all(|n| n.is_empty()) {
        return Err(
            "the file is empty (no header row); export it with its header line even \
                    when it has no rows, or remove it from the source"
                .into(),
        );
    }
    if let Some(sep) = names[0].to_ascii_lowercase().strip_prefix("sep=") {
        let sep = if sep.is_empty() {
            delimiter as char
        } else {
            sep.chars().next().unwrap_or(',')
        };
        return Err(format!(
            "the first line is Excel's `sep=` line, not the header: delete that line (its \
             delimiter is `{sep}`: set delimiter = \"{sep}\" in the source when it is not a comma)"
        ));
    }
    let data = names.iter().filter(|n| looks_like_data(n)).count();
    if data > 0 {
        return Err(format!(
            "the header has {} columns; {data} look like e-mails, phones, numbers or dates: is \
             the first line a header? golden reads the first line as column names: add a \
             header row to the export",
            names.len()
        ));
    }
    if let [name] = names
        && let Some(&d) = OTHER_DELIMITERS
            .iter()
            .find(|&&d| d != delimiter && name.contains(d as char))
    {
        let shown = if d == b'\t' {
            "\\t".into()
        } else {
            (d as char).to_string()
        };
        return Err(format!(
            "the header is one column containing `{shown}`: set delimiter = \"{shown}\" in the \
             source"
        ));
    }
    // Columns without a name (a trailing delimiter) are named by their position below.
    for (i, name) in names.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
        if let Some(j) = names[i + 1..].iter().position(|n| n == name) {
            return Err(format!(
                "column `{name}` appears twice in the header (columns {} and {}); rename one",
                i + 1,
                i + j + 2
            ));
        }
    }
    Ok(())
}

/// Whether a header name looks like a customer value: an e-mail, or a phone, number or date.
fn looks_like_data(name: &str) -> bool {
    let email = name
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    let digits = name.chars().filter(char::is_ascii_digit).count();
    let numeric = name
        .chars()
        .all(|c| c.is_ascii_digit() || " +-()./:".contains(c));
    let dated = name.contains(['/', '-', '.', ':']);
    email || (numeric && (digits >= 5 || (digits >= 3 && dated)))
}

/// A column that an expression of a source names and the header spells differently.
#[derive(Debug, Clone, PartialEq)]
pub struct Misspelt {
    /// The pipeline key of the expression (`id`, `fields.email`, …).
    pub key: String,
    /// The column the expression names.
    pub used: String,
    /// The header's column that differs only in case or in the spaces, `_` or `-` between
    /// words.
    pub header: String,
}

impl std::fmt::Display for Misspelt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` (in `{}`) not found; the file has `{}`: write the column as the header spells \
             it (names are case-sensitive; quote names with spaces: \"{}\")",
            self.used, self.key, self.header, self.header
        )
    }
}

/// The columns that `src`'s expressions name and `header` spells differently (`Email` for
/// `email`, `First Name` for `first_name`).
pub fn misspelt_columns(src: &SourceConfig, header: &[String]) -> Vec<Misspelt> {
    // Case, and runs of spaces, `_` or `-` between words, do not tell two names apart.
    let fold = |s: &str| -> String {
        let words = s.split(|c: char| c.is_whitespace() || matches!(c, '_' | '-'));
        let words: Vec<String> = words
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        words.join("_")
    };
    let mut keyed = vec![("id".to_string(), src.id.as_str())];
    keyed.extend(
        src.updated_at
            .as_deref()
            .map(|u| ("updated_at".to_string(), u)),
    );
    keyed.extend(
        src.fields
            .iter()
            .map(|(f, e)| (format!("fields.{f}"), e.as_str())),
    );
    let mut out = Vec::new();
    for (key, expr) in keyed {
        for used in identifiers(expr) {
            if header.contains(&used) {
                continue;
            }
            if let Some(h) = header.iter().find(|h| fold(h) == fold(&used)) {
                out.push(Misspelt {
                    key: key.clone(),
                    used,
                    header: h.clone(),
                });
            }
        }
    }
    out
}

/// The bare column names in SQL expression `expr` (none when it does not parse).
fn identifiers(expr: &str) -> Vec<String> {
    let parsed = Parser::new(&GenericDialect {})
        .try_with_sql(expr)
        .and_then(|mut p| p.parse_expr());
    let mut out = Vec::new();
    if let Ok(parsed) = parsed {
        let _ = visit_expressions(&parsed, |e| {
            if let Expr::Identifier(id) = e {
                out.push(id.value.clone());
            }
            ControlFlow::<()>::Continue(())
        });
    }
    out
}

/// Reads the header of `path` and checks that `src`'s expressions name its columns as spelt.
pub fn check_columns(src: &SourceConfig, path: &Path) -> Result<Vec<String>> {
    let header = csv_header(path, src.delimiter)?;
    match misspelt_columns(src, &header).first() {
        Some(m) => Err(input(path, format!("source `{}`: {m}", src.name))),
        None => Ok(header),
    }
}

/// What `golden check` says of `src`'s CSV files: whether every header can be used, and
/// (pipeline key, message) pairs: each file's header problems, then the columns the first
/// file spells differently from the expressions.
pub fn check_problems(src: &SourceConfig) -> (bool, Vec<(String, String)>) {
    let mut problems = Vec::new();
    let mut first = None;
    for path in &src.files {
        match csv_header(path, src.delimiter) {
            Err(e) => problems.push(("path".to_string(), e.to_string())),
            Ok(header) => {
                first.get_or_insert((path, header));
            }
        }
    }
    let header_ok = problems.is_empty();
    if let Some((path, header)) = first {
        problems.extend(
            misspelt_columns(src, &header)
                .into_iter()
                .map(|m| (m.key.clone(), format!("{}: {m}", path.display()))),
        );
    }
    (header_ok, problems)
}

/// Reads one CSV file of source `source`: its header checked, then every row.
pub fn read_csv(source: &str, path: &Path, delimiter: u8) -> Result<RawTable> {
    let header = csv_header(path, delimiter)?;
    let mut rdr = builder(delimiter).from_reader(BufReader::with_capacity(1 << 20, open(path)?));
    let mut rows = Rows {
        source: source.to_string(),
        file: path.display().to_string(),
        width: header.len(),
        cols: TextColumns::new(header),
        rejects: Vec::new(),
        row: 0,
        spans: Spans {
            delimiter,
            line_reader: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            file: None,
        },
    };
    let mut record = ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let m = format!(
                    "cannot read the file after row {} ({e}); check the disk",
                    rows.row
                );
                return Err(input(path, m));
            }
        }
        if record.as_slice().contains(&b'\n') {
            let start = record.position().cloned().unwrap_or_else(Position::new);
            let lines = rows.spans.lines(path, &start, rdr.position().byte())?;
            if let Some(why) = rows.spans.swallowed(&record, rows.width, &lines) {
                rows.reject_lines(&lines, &why);
                continue;
            }
        }
        if same_fields(&record, rdr.byte_headers().ok()) {
            let detail = "the header again (files joined together?); remove the line".to_string();
            rows.reject(RejectReason::RepeatedHeader, rows.raw(&record), detail);
            continue;
        }
        record = rows.push(record);
    }
    Ok(RawTable {
        batch: rows.cols.finish(&rows.file)?,
        rows_seen: rows.row,
        rejects: rows.rejects,
    })
}

/// Whether `record` holds the same fields as `header` (each trimmed, a UTF-8 BOM removed).
fn same_fields(record: &ByteRecord, header: Option<&ByteRecord>) -> bool {
    let clean = |f: &[u8]| -> Vec<u8> {
        let f = f.strip_prefix(b"\xef\xbb\xbf").unwrap_or(f);
        f.trim_ascii().to_vec()
    };
    header.is_some_and(|h| {
        h.len() == record.len() && h.iter().zip(record).all(|(a, b)| clean(a) == clean(b))
    })
}

/// Reads back the records that span several physical lines, to tell a quoted line break from
/// a stray quote.
struct Spans {
    delimiter: u8,
    /// Parses one physical line on its own; reset before each line.
    line_reader: csv_core::Reader,
    /// The file, opened at the first record that spans lines.
    file: Option<File>,
}

impl Spans {
    /// The non-blank physical lines of `path` between byte `start` and byte `end`, with their
    /// 1-based line numbers in the file.
    fn lines(&mut self, path: &Path, start: &Position, end: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(open(path)?),
        };
        let mut bytes = Vec::new();
        let read = file.seek(SeekFrom::Start(start.byte())).and_then(|_| {
            let len = end.saturating_sub(start.byte());
            Read::by_ref(file).take(len).read_to_end(&mut bytes)
        });
        read.map_err(|e| input(path, format!("cannot read: {e}")))?;
        Ok(bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .map(|(i, l)| (start.line() + i as u64, l.strip_suffix(b"\r").unwrap_or(l)))
            .filter(|(_, l)| !l.trim_ascii().is_empty())
            .map(|(n, l)| (n, l.to_vec()))
            .collect())
    }

    /// The number of fields of `line` parsed on its own.
    fn fields(&mut self, line: &[u8]) -> usize {
        self.line_reader.reset();
        let (mut input, mut fields, mut scratch) = (line, 0, [0u8; 256]);
        loop {
            let (result, nin, _) = self.line_reader.read_field(input, &mut scratch);
            input = &input[nin..];
            match result {
                csv_core::ReadFieldResult::Field { record_end } => {
                    fields += 1;
                    if record_end {
                        return fields;
                    }
                }
                csv_core::ReadFieldResult::End => return fields,
                // More of a long field, or the end of the line (empty input means the end).
                _ => {}
            }
        }
    }

    /// Why a record of `width` fields spanning `lines` is rows swallowed by a stray quote, if
    /// it is.
    fn swallowed(
        &mut self,
        record: &ByteRecord,
        width: usize,
        lines: &[(u64, Vec<u8>)],
    ) -> Option<String> {
        let (first, last) = (lines.first()?.0, lines.last()?.0);
        let opened = format!("a quoted field opened on line {first} runs to line {last}");
        if record.len() != width {
            let n = record.len();
            Some(format!(
                "{opened} and gives {n} fields, the header has {width}"
            ))
        } else if width > 1 && lines[1..].iter().any(|(_, l)| self.fields(l) == width) {
            Some(format!("{opened} over rows of the header's shape"))
        } else {
            None
        }
        .map(|why| format!("{why}; check the quotes of line {first}"))
    }
}

/// The rows of one CSV file as they are read.
struct Rows {
    source: String,
    file: String,
    width: usize,
    cols: TextColumns,
    rejects: Vec<Reject>,
    row: u64,
    spans: Spans,
}

impl Rows {
    /// Counts one more row and rejects it.
    fn reject(&mut self, reason: RejectReason, raw: String, detail: String) {
        self.row += 1;
        self.rejects.push(Reject {
            source: self.source.clone(),
            file: self.file.clone(),
            row_number: self.row,
            raw,
            reason,
            detail,
        });
    }

    /// Rejects each physical line of a record that a stray quote made of several rows.
    fn reject_lines(&mut self, lines: &[(u64, Vec<u8>)], why: &str) {
        for (n, line) in lines {
            let raw = String::from_utf8_lossy(line).into_owned();
            self.reject(
                RejectReason::UnbalancedQuote,
                raw,
                format!("line {n}: {why}"),
            );
        }
    }

    /// `record` as text for the rejects table: its fields (lossy UTF-8) joined by the
    /// delimiter.
    fn raw(&self, record: &ByteRecord) -> String {
        let delimiter = (self.spans.delimiter as char).to_string();
        let parts: Vec<String> = record
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        parts.join(&delimiter)
    }

    /// Adds one record as a row or a reject; returns the record's buffer for the next row.
    fn push(&mut self, record: ByteRecord) -> ByteRecord {
        let raw = |record: &ByteRecord| self.raw(record);
        if record.len() != self.width {
            let mut detail = format!("{} fields, the header has {}", record.len(), self.width);
            if record.len() == self.width + 1 && record.get(self.width) == Some(b"") {
                detail.push_str("; the row ends with a delimiter: remove the trailing delimiter");
            }
            self.reject(RejectReason::WrongColumnCount, raw(&record), detail);
            return record;
        }
        // One UTF-8 check of the whole row; the record's buffer is reused for the next row.
        match csv::StringRecord::from_byte_record(record) {
            Ok(text) => {
                self.row += 1;
                self.cols.push_text_row(self.row, text.iter());
                text.into_byte_record()
            }
            Err(e) => {
                let column = e.utf8_error().field();
                let record = e.into_byte_record();
                let name = self.cols.names.get(column).cloned().unwrap_or_default();
                let detail = format!("column `{name}` is not valid UTF-8");
                self.reject(RejectReason::InvalidUtf8, raw(&record), detail);
                record
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Format;
    use crate::ingest::source::ROW_COL;
    use arrow::array::AsArray;

    /// A CSV source `crm` of `path` mapping `id` and `name`.
    fn source(path: &Path) -> SourceConfig {
        SourceConfig {
            name: "crm".into(),
            pattern: path.display().to_string(),
            files: vec![path.to_path_buf()],
            format: Format::Csv,
            id: "id".into(),
            updated_at: None,
            fields: vec![("first_name".into(), "name".into())],
            max_reject_ratio: 0.5,
            delimiter: b',',
            positions: Default::default(),
        }
    }

    /// `check_header` of `names` with delimiter `,`.
    fn header(names: &[&str]) -> std::result::Result<(), String> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        check_header(&names, b',')
    }

    #[test]
    fn a_header_is_judged_by_its_shape_and_never_quoted_when_it_looks_like_data() {
        assert!(header(&[""]).is_err_and(|m| m.starts_with("the file is empty (no header row)")));
        let data = header(&["C1", "Ann", "ann@example.com", "07700 900123", "03/02/1985"]);
        assert_eq!(
            data,
            Err(
                "the header has 5 columns; 3 look like e-mails, phones, numbers or dates: is the \
                 first line a header? golden reads the first line as column names: add a header \
                 row to the export"
                    .into()
            )
        );
        assert_eq!(
            header(&["id\tname\temail"]),
            Err(
                "the header is one column containing `\\t`: set delimiter = \"\\t\" in the source"
                    .into()
            )
        );
        assert_eq!(
            header(&["id", "email", "name", "email"]),
            Err("column `email` appears twice in the header (columns 2 and 4); rename one".into())
        );
        assert_eq!(
            header(&["id", "2023", "phone_2", "postcode", "", ""]),
            Ok(())
        );
        assert_eq!(header(&["email"]), Ok(()));
    }

    #[test]
    fn values_look_like_data_and_column_names_do_not() {
        for v in [
            "zq@example.com",
            "07700 900123",
            "+44 20 7946 0958",
            "03/02/1985",
            "1985-02-03",
            "123456",
        ] {
            assert!(looks_like_data(v), "{v}");
        }
        for n in [
            "email",
            "2023",
            "phone_2",
            "SW1A 1AA",
            "e-mail",
            "@handle",
            "dob (d/m/y)",
        ] {
            assert!(!looks_like_data(n), "{n}");
        }
    }

    #[test]
    fn unnamed_columns_are_named_by_position() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("crm.csv");
        std::fs::write(&path, "id,name,,\n1,Ann,,\n").expect("write");
        let names = csv_header(&path, b',').expect("header");
        assert_eq!(names, ["id", "name", "__column_3", "__column_4"]);
    }

    #[test]
    fn a_column_spelt_in_another_case_or_spacing_is_found_and_an_exact_one_is_not() {
        let mut src = source(Path::new("crm.csv"));
        src.id = "Contact_ID".into();
        src.fields = vec![
            ("first_name".into(), "upper(\"First Name\")".into()),
            ("email".into(), "coalesce(email, 'none')".into()),
            ("phone".into(), "phone_number".into()),
        ];
        let header: Vec<String> = ["contact id", "first-name", "email", "phonenumber"]
            .iter()
            .map(|h| h.to_string())
            .collect();
        let found: Vec<(String, String, String)> = misspelt_columns(&src, &header)
            .into_iter()
            .map(|m| (m.key, m.used, m.header))
            .collect();
        let m = |k: &str, u: &str, h: &str| (k.to_string(), u.to_string(), h.to_string());
        assert_eq!(
            found,
            vec![
                m("id", "Contact_ID", "contact id"),
                m("fields.first_name", "First Name", "first-name"),
            ]
        );
    }

    /// (row number, id) of each record and (row number, reason) of each reject.
    type Read = (Vec<(u64, String)>, Vec<(u64, RejectReason)>);

    /// The rows of CSV `text` read by [`read_csv`].
    fn read_text(text: &str) -> Read {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("crm.csv");
        std::fs::write(&path, text).expect("write");
        let t = read_csv("crm", &path, b',').expect("read");
        let ids = t.batch.column_by_name("id").expect("id").as_string::<i32>();
        let rows = t.batch.column_by_name(ROW_COL).expect("rows");
        let rows = rows.as_primitive::<arrow::datatypes::UInt64Type>();
        let kept = rows
            .values()
            .iter()
            .zip(ids.iter())
            .map(|(r, i)| (*r, i.unwrap_or("").to_string()));
        let rejected = t.rejects.iter().map(|r| (r.row_number, r.reason)).collect();
        (kept.collect(), rejected)
    }

    #[test]
    fn quoted_line_breaks_in_any_column_are_one_record() {
        let text = "id,name,address\r\n1,Ann,\"12 High St\r\nLeeds\"\r\n\
                    2,\"Bob\nSmith\",\"Flat 2, 3 Low Rd\nYork, North\"\n3,Cy,Hull\n";
        let (kept, rejected) = read_text(text);
        let ids: Vec<(u64, &str)> = kept.iter().map(|(r, i)| (*r, i.as_str())).collect();
        assert_eq!(ids, [(1, "1"), (2, "2"), (3, "3")]);
        assert_eq!(rejected, []);
    }

    #[test]
    fn a_stray_quote_in_the_last_column_rejects_the_rows_it_swallowed_and_goes_on() {
        let text = "id,name,city\n1,Ann,\"Leeds\n2,Bob,York\n3,Cy,Hull\"\n4,Di,Bath\n";
        let (kept, rejected) = read_text(text);
        let quote = RejectReason::UnbalancedQuote;
        assert_eq!(rejected, [(1, quote), (2, quote), (3, quote)]);
        assert_eq!(kept, [(4, "4".to_string())]);
        // The merged record has the header's 3 fields; its second line has 3 on its own.
        let (kept, rejected) = read_text("id,name,city\n1,\"Ann,x\n2,Bob\",y\n3,Cy,Hull\n");
        assert_eq!(rejected, [(1, quote), (2, quote)]);
        assert_eq!(kept, [(3, "3".to_string())]);
    }
}
