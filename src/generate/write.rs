//! Streaming writers for the generated files: CSV and NDJSON line by line through a
//! `BufWriter`, Parquet through `ArrowWriter` in batches.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::sources::Source;
use crate::{Error, Result};

/// Rows per Parquet record batch.
const BATCH_ROWS: usize = 64 * 1024;

/// A text file written line by line.
pub(super) struct TextSink {
    path: PathBuf,
    out: BufWriter<File>,
    line: Vec<u8>,
}

impl TextSink {
    /// Creates (truncates) `path`.
    pub fn create(path: PathBuf) -> Result<Self> {
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        Ok(TextSink {
            out: BufWriter::with_capacity(1 << 20, file),
            path,
            line: Vec::new(),
        })
    }

    /// Writes one CSV line of `fields` (empty for `None`).
    pub fn csv<'a>(&mut self, fields: impl IntoIterator<Item = Option<&'a str>>) -> Result<()> {
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            push_csv_field(&mut self.line, field.unwrap_or(""));
        }
        self.end_line()
    }

    /// Writes `bytes` followed by a newline, as they are.
    pub fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.line.extend_from_slice(bytes);
        self.end_line()
    }

    fn end_line(&mut self) -> Result<()> {
        self.line.push(b'\n');
        let result = self.out.write_all(&self.line);
        self.line.clear();
        result.map_err(|e| Error::io(&self.path, e))
    }

    /// Flushes and closes the file.
    pub fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// Appends `s` as one CSV field, quoted when it holds a comma, quote or line break.
fn push_csv_field(buf: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        buf.push(b'"');
        buf.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    for c in s.chars() {
        match c {
            '"' => buf.extend_from_slice(b"\\\""),
            '\\' => buf.extend_from_slice(b"\\\\"),
            '\n' => buf.extend_from_slice(b"\\n"),
            c if u32::from(c) < 0x20 => {
                buf.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes())
            }
            c => buf.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    buf.push(b'"');
}

/// A Parquet file of nullable Utf8 columns, written in batches of [`BATCH_ROWS`].
pub(super) struct ParquetSink {
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    columns: Vec<StringBuilder>,
    rows: usize,
}

impl ParquetSink {
    /// Creates `path` with Utf8 `columns`; the first is the non-null id.
    fn create(path: &Path, columns: &[&str]) -> Result<Self> {
        let fields: Vec<Field> = columns
            .iter()
            .enumerate()
            .map(|(i, name)| Field::new(*name, DataType::Utf8, i > 0))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        let columns = columns.iter().map(|_| StringBuilder::new()).collect();
        Ok(ParquetSink {
            schema,
            writer,
            columns,
            rows: 0,
        })
    }

    fn row(&mut self, id: &str, values: &[Option<String>]) -> Result<()> {
        let (id_column, value_columns) = self.columns.split_at_mut(1);
        id_column[0].append_value(id);
        for (builder, value) in value_columns.iter_mut().zip(values) {
            builder.append_option(value.as_deref());
        }
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.flush()
        } else {
            Ok(())
        }
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows > 0 {
            let arrays: Vec<ArrayRef> = self
                .columns
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef)
                .collect();
            self.writer
                .write(&RecordBatch::try_new(self.schema.clone(), arrays)?)?;
            self.rows = 0;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer.close()?;
        Ok(())
    }
}

/// The writer of one source's export.
#[allow(clippy::large_enum_variant)] // one per source, never in a hot collection
pub(super) enum Sink {
    /// CSV with a header row.
    Csv(TextSink),
    /// One JSON object per line; the id is written as a number.
    Ndjson {
        /// The file.
        text: TextSink,
        /// Name of the id key.
        id: &'static str,
        /// Names of the other keys.
        columns: &'static [&'static str],
    },
    /// Parquet, all columns Utf8.
    Parquet(ParquetSink),
}

impl Sink {
    /// Creates `source`'s file in `dir` (writing the CSV header).
    pub fn create(source: Source, dir: &Path) -> Result<Sink> {
        let path = dir.join(source.file());
        let columns: Vec<&str> = std::iter::once(source.id_column())
            .chain(source.columns().iter().copied())
            .collect();
        Ok(match source {
            Source::Crm => {
                let mut text = TextSink::create(path)?;
                text.csv(columns.iter().map(|c| Some(*c)))?;
                Sink::Csv(text)
            }
            Source::Billing => Sink::Parquet(ParquetSink::create(&path, &columns)?),
            Source::Support => Sink::Ndjson {
                text: TextSink::create(path)?,
                id: source.id_column(),
                columns: source.columns(),
            },
        })
    }

    /// Writes one record.
    pub fn row(&mut self, id: &str, values: &[Option<String>]) -> Result<()> {
        match self {
            Sink::Csv(text) => {
                text.csv(std::iter::once(Some(id)).chain(values.iter().map(|v| v.as_deref())))
            }
            Sink::Ndjson {
                text,
                id: id_key,
                columns,
            } => {
                let buf = &mut text.line;
                buf.push(b'{');
                push_json_str(buf, id_key);
                buf.push(b':');
                buf.extend_from_slice(id.as_bytes());
                for (name, value) in columns.iter().zip(values) {
                    buf.push(b',');
                    push_json_str(buf, name);
                    buf.push(b':');
                    match value {
                        Some(v) => push_json_str(buf, v),
                        None => buf.extend_from_slice(b"null"),
                    }
                }
                buf.push(b'}');
                text.end_line()
            }
            Sink::Parquet(parquet) => parquet.row(id, values),
        }
    }

    /// Writes a raw (deliberately broken) line; only text formats have lines.
    pub fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            Sink::Csv(text) | Sink::Ndjson { text, .. } => text.raw(bytes),
            Sink::Parquet(_) => Err(Error::Internal(
                "generate: raw rows cannot be written to Parquet".into(),
            )),
        }
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<()> {
        match self {
            Sink::Csv(text) | Sink::Ndjson { text, .. } => text.finish(),
            Sink::Parquet(parquet) => parquet.finish(),
        }
    }
}
