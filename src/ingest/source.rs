//! Readers that turn one source's files into a raw Arrow table, row by row, so that a bad row
//! becomes a [`Reject`] with its row number instead of failing the whole file.
//!
//! CSV and NDJSON values are read as text (leading zeros in ids, postcodes and phones survive);
//! Parquet keeps its types and is read with DataFusion. Every raw table gets two extra columns:
//! [`ROW_COL`] (1-based data row number within its file) and [`FILE_COL`].

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringBuilder, UInt64Array};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

pub use super::delimited::csv_header;
use super::delimited::{check_columns, read_csv};
use super::rejects::Reject;
use crate::config::{Format, SourceConfig};
use crate::{Error, Result};

/// Name of the raw table's row-number column.
pub const ROW_COL: &str = "__row";
/// Name of the raw table's file column.
pub const FILE_COL: &str = "__file";

/// Exit 3 for an input column that golden cannot tell apart from another: a name golden
/// reserves for its own columns ([`ROW_COL`], [`FILE_COL`]) or a name used twice in one file.
pub(super) fn check_names<'a>(path: &Path, names: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let mut seen = HashSet::new();
    for name in names {
        let message = if name == ROW_COL || name == FILE_COL {
            format!(
                "column `{name}` has a name golden reserves for its own row and file columns; \
                 rename the column in the export"
            )
        } else if !seen.insert(name) {
            format!("column `{name}` is named twice; rename one of the two columns")
        } else {
            continue;
        };
        return Err(Error::Input {
            path: path.to_path_buf(),
            message,
        });
    }
    Ok(())
}

/// Checks a Parquet file before DataFusion sees it (its reader may panic on a corrupt
/// footer, and it renames a column named twice): the framing, then the metadata and the
/// top-level column names.
fn check_parquet_file(path: &Path) -> Result<()> {
    let file = check_parquet_footer(path)?;
    let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&file)
        .map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("cannot read as Parquet ({e}); export the file again"),
        })?;
    let root = metadata.file_metadata().schema_descr().root_schema();
    check_names(path, root.get_fields().iter().map(|f| f.name()))
}

/// Opens a Parquet file and checks its framing: at least 12 bytes, `PAR1` at both ends, a
/// metadata length that fits the file.
fn check_parquet_footer(path: &Path) -> Result<File> {
    use std::io::{Read, Seek, SeekFrom};
    let bad = |why: String| Error::Input {
        path: path.to_path_buf(),
        message: format!("cannot read as Parquet ({why}); export the file again"),
    };
    let mut file = open(path)?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if size < 12 {
        return Err(bad(format!("{size} bytes; a Parquet file has at least 12")));
    }
    let (mut head, mut tail) = ([0u8; 4], [0u8; 8]);
    file.read_exact(&mut head)
        .and_then(|_| file.seek(SeekFrom::End(-8)))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| Error::io(path, e))?;
    if &head != b"PAR1" || &tail[4..] != b"PAR1" {
        return Err(bad("no `PAR1` mark at both ends: not a Parquet file".into()));
    }
    let len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if len > size - 12 {
        return Err(bad(format!(
            "corrupt footer: metadata of {len} bytes in a file of {size}"
        )));
    }
    Ok(file)
}

/// One source's rows as read, before mapping onto the canonical schema.
#[derive(Debug)]
pub struct RawTable {
    /// Every readable row: the source's own columns plus [`ROW_COL`] and [`FILE_COL`].
    pub batch: RecordBatch,
    /// Rows that could not be read.
    pub rejects: Vec<Reject>,
    /// Rows seen in total (readable + rejected).
    pub rows_seen: u64,
}

/// Column-wise text builder with columns that may appear mid-stream (NDJSON keys).
pub(super) struct TextColumns {
    /// Column names, in order.
    pub(super) names: Vec<String>,
    index: HashMap<String, usize>,
    builders: Vec<StringBuilder>,
    rows: Vec<u64>,
}

impl TextColumns {
    /// A builder with columns `names` and no rows.
    pub(super) fn new(names: Vec<String>) -> Self {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let builders = names.iter().map(|_| StringBuilder::new()).collect();
        TextColumns {
            names,
            index,
            builders,
            rows: Vec::new(),
        }
    }

    /// Index of column `name`, adding it (null for earlier rows) when new.
    pub(super) fn column(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let mut b = StringBuilder::new();
        b.append_nulls(self.rows.len());
        self.names.push(name.to_string());
        self.builders.push(b);
        self.index.insert(name.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }

    /// Appends one row given as (column index, value) cells; missing cells are null.
    pub(super) fn push_row<S: AsRef<str>>(&mut self, row_number: u64, cells: &mut [Option<S>]) {
        for (b, cell) in self.builders.iter_mut().zip(cells.iter_mut()) {
            match cell.take() {
                Some(v) if !v.as_ref().is_empty() => b.append_value(v),
                _ => b.append_null(),
            }
        }
        self.rows.push(row_number);
    }

    /// Appends one row given as one value per column, in column order (empty: null).
    pub(super) fn push_text_row<'a>(
        &mut self,
        row_number: u64,
        values: impl Iterator<Item = &'a str>,
    ) {
        for (b, v) in self.builders.iter_mut().zip(values) {
            if v.is_empty() {
                b.append_null();
            } else {
                b.append_value(v);
            }
        }
        self.rows.push(row_number);
    }

    /// The rows as a batch, with the row-number and file columns.
    pub(super) fn finish(mut self, file: &str) -> Result<RecordBatch> {
        check_names(Path::new(file), self.names.iter().map(String::as_str))?;
        let n = self.rows.len();
        let mut fields: Vec<Field> = self
            .names
            .iter()
            .map(|c| Field::new(c, DataType::Utf8, true))
            .collect();
        let mut cols: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        append_row_and_file(
            &mut fields,
            &mut cols,
            UInt64Array::from(self.rows),
            file,
            n,
        )?;
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
    }
}

fn append_row_and_file(
    fields: &mut Vec<Field>,
    cols: &mut Vec<ArrayRef>,
    rows: UInt64Array,
    file: &str,
    n: usize,
) -> Result<()> {
    fields.push(Field::new(ROW_COL, DataType::UInt64, false));
    fields.push(Field::new(FILE_COL, DataType::Utf8, false));
    cols.push(Arc::new(rows));
    cols.push(Arc::new(repeated(file, n, Path::new(file))?));
    Ok(())
}

/// A text column of `n` copies of `value` (a source's name, a file's path), or an error naming
/// `file` when they exceed the 2 GiB of text one column can hold.
pub(super) fn repeated(value: &str, n: usize, file: &Path) -> Result<arrow::array::StringArray> {
    let fits = (value.len().checked_mul(n)).is_some_and(|bytes| bytes <= i32::MAX as usize);
    if !fits {
        return Err(Error::Input {
            path: file.to_path_buf(),
            message: format!(
                "{n} rows of `{value}` exceed the 2 GiB one column can hold; split the export \
                 into several files or give it a shorter path"
            ),
        });
    }
    Ok(arrow::array::StringArray::new_repeated(value, n))
}

/// Reads every file of `source` into one raw table.
pub async fn read_source(source: &SourceConfig) -> Result<RawTable> {
    let mut batches = Vec::new();
    let mut rejects = Vec::new();
    let mut rows_seen = 0;
    for path in &source.files {
        if source.format == Format::Csv {
            check_columns(source, path)?;
        }
        let t = match source.format {
            Format::Csv | Format::Ndjson => {
                // Row readers are CPU-bound: on the blocking pool, so sources read in parallel.
                let (name, file, format) = (source.name.clone(), path.clone(), source.format);
                let delimiter = source.delimiter;
                let wanted = super::mapping::used_columns(source);
                let id = source.id.clone();
                tokio::task::spawn_blocking(move || match format {
                    Format::Csv => read_csv(&name, &file, delimiter),
                    _ => super::ndjson::read_ndjson(&name, &file, &wanted, &id),
                })
                .await
                .map_err(|e| Error::Internal(format!("reader task of {}: {e}", path.display())))??
            }
            Format::Parquet => read_parquet(path).await?,
        };
        rows_seen += t.rows_seen;
        rejects.extend(t.rejects);
        batches.push(t.batch);
    }
    let batch = union_by_name(&batches).map_err(|message| Error::Input {
        path: source.files.first().cloned().unwrap_or_default(),
        message: format!("source `{}`: {message}", source.name),
    })?;
    Ok(RawTable {
        batch,
        rejects,
        rows_seen,
    })
}

/// Concatenates batches whose columns may differ, matching columns by name.
pub(super) fn union_by_name(batches: &[RecordBatch]) -> std::result::Result<RecordBatch, String> {
    let mut fields: Vec<Field> = Vec::new();
    for b in batches {
        for f in b.schema().fields() {
            match fields.iter().find(|g| g.name() == f.name()) {
                Some(g) if g.data_type() != f.data_type() => {
                    return Err(format!(
                        "column `{}` is {} in one file and {} in another; give every file the same schema",
                        f.name(),
                        g.data_type(),
                        f.data_type()
                    ));
                }
                Some(_) => {}
                None => fields.push(f.as_ref().clone().with_nullable(true)),
            }
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let aligned = batches
        .iter()
        .map(|b| {
            let cols = schema
                .fields()
                .iter()
                .map(|f| match b.column_by_name(f.name()) {
                    Some(c) => c.clone(),
                    None => arrow::array::new_null_array(f.data_type(), b.num_rows()),
                })
                .collect();
            RecordBatch::try_new(schema.clone(), cols)
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    concat_batches(&schema, &aligned).map_err(|e| e.to_string())
}

/// Opens an input file; a file that cannot be opened, a directory, or anything else that is not
/// a regular file (a FIFO, socket or device, which could block or never end), is bad input
/// (exit 3) naming it.
pub fn open(path: &Path) -> Result<File> {
    let input = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    if path.is_dir() {
        let ext = path
            .extension()
            .map_or("csv".into(), |e| e.to_string_lossy());
        return Err(input(format!(
            "is a directory, not a file; name the files in it with a glob such as `{}/*.{ext}`",
            path.display()
        )));
    }
    if let Some(kind) = special_kind(path) {
        return Err(input(format!(
            "is {kind}, not a regular file; golden reads only regular files (or symlinks to \
             them): move it out of the folder or narrow the source's `path`"
        )));
    }
    File::open(path).map_err(|e| {
        input(format!(
            "cannot open the file ({e}); check that it exists and that the user running golden \
             may read it"
        ))
    })
}

/// What `path` (followed through symlinks) is when it exists and is neither a regular file nor
/// a directory.
fn special_kind(path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::metadata(path).ok()?.file_type();
    if t.is_file() || t.is_dir() {
        None
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() || t.is_block_device() {
        Some("a device")
    } else {
        Some("a special file")
    }
}

/// Arrow schema of a Parquet file, read from its footer.
pub async fn parquet_schema(path: &Path) -> Result<Arc<Schema>> {
    // Also says that a directory is not a file (DataFusion would read it as a table of files).
    check_parquet_file(path)?;
    let ctx = SessionContext::new();
    let df = ctx
        .read_parquet(path_str(path)?, parquet_options(path))
        .await
        .map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("cannot read as Parquet: {e}"),
        })?;
    let schema = df.schema().as_arrow().clone();
    check_names(path, schema.fields().iter().map(|f| f.name().as_str()))?;
    Ok(Arc::new(schema))
}

fn parquet_options(path: &Path) -> ParquetReadOptions<'_> {
    ParquetReadOptions::default().file_extension(extension_with_dot(path))
}

fn extension_with_dot(path: &Path) -> &str {
    let s = path.to_str().unwrap_or("");
    s.rfind('.').map(|i| &s[i..]).unwrap_or("")
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| Error::Input {
        path: path.to_path_buf(),
        message: "the path is not valid UTF-8; rename the file".into(),
    })
}

async fn read_parquet(path: &Path) -> Result<RawTable> {
    let schema = parquet_schema(path).await?;
    // One partition keeps the file's row order, so row numbers match the file.
    let ctx = SessionContext::new_with_config(
        datafusion::prelude::SessionConfig::new().with_target_partitions(1),
    );
    let df = ctx
        .read_parquet(path_str(path)?, parquet_options(path))
        .await
        .map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("cannot read as Parquet: {e}"),
        })?;
    let batches = df.collect().await.map_err(|e| Error::Input {
        path: path.to_path_buf(),
        message: format!("cannot read as Parquet: {e}"),
    })?;
    let batch = concat_batches(&schema, &batches)?;
    let n = batch.num_rows();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
    let rows = UInt64Array::from_iter_values(1..=n as u64);
    append_row_and_file(&mut fields, &mut cols, rows, &path.display().to_string(), n)?;
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?;
    Ok(RawTable {
        batch,
        rejects: Vec::new(),
        rows_seen: n as u64,
    })
}

/// Renders row `i` of `batch` as a JSON object of its non-null source columns (for rejects).
pub fn row_as_json(batch: &RecordBatch, i: usize) -> String {
    let mut map = serde_json::Map::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if f.name() == ROW_COL || f.name() == FILE_COL || c.is_null(i) {
            continue;
        }
        let v = arrow::util::display::array_value_to_string(c, i).unwrap_or_default();
        map.insert(f.name().clone(), serde_json::Value::String(v));
    }
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::rejects::RejectReason;
    use super::*;
    use arrow::array::AsArray;

    #[test]
    fn a_repeated_value_fills_its_column_until_the_column_would_pass_2_gib() {
        let file = Path::new("exports/crm.csv");
        let column = repeated("crm", 3, file).unwrap();
        assert_eq!(column.iter().collect::<Vec<_>>(), vec![Some("crm"); 3]);
        assert_eq!(repeated("", 5, file).unwrap().len(), 5);
        let rows = (i32::MAX as usize) / 3 + 1;
        let err = repeated("crm", rows, file).unwrap_err().to_string();
        assert!(err.contains("exports/crm.csv"), "{err}");
        assert!(err.contains("exceed the 2 GiB"), "{err}");
    }

    #[test]
    fn a_csv_row_with_bad_utf8_is_rejected_naming_its_column_and_the_rest_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("crm.csv");
        let mut bytes = b"id,name,city\n1,Ann,Leeds\n2,B".to_vec();
        bytes.extend([0xff, 0xfe]);
        bytes.extend(b"b,York\n3,,Hull\n4,Cy\n");
        std::fs::write(&path, bytes).expect("write");
        let t = read_csv("crm", &path, b',').expect("read");
        assert_eq!(t.rows_seen, 4);
        let reasons: Vec<(u64, RejectReason, &str)> = t
            .rejects
            .iter()
            .map(|r| (r.row_number, r.reason, r.detail.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (
                    2,
                    RejectReason::InvalidUtf8,
                    "column `name` is not valid UTF-8"
                ),
                (
                    4,
                    RejectReason::WrongColumnCount,
                    "2 fields, the header has 3"
                ),
            ]
        );
        assert_eq!(t.rejects[0].raw, "2,B\u{fffd}\u{fffd}b,York");
        let ids = t.batch.column_by_name("id").expect("id").as_string::<i32>();
        let names = t
            .batch
            .column_by_name("name")
            .expect("name")
            .as_string::<i32>();
        assert_eq!(ids.iter().collect::<Vec<_>>(), [Some("1"), Some("3")]);
        assert_eq!(names.iter().collect::<Vec<_>>(), [Some("Ann"), None]);
        let rows = t.batch.column_by_name(ROW_COL).expect("rows");
        let rows = rows.as_primitive::<arrow::datatypes::UInt64Type>();
        assert_eq!(rows.values().to_vec(), [1, 3]);
    }
}
