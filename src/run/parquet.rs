//! Parquet files of a run: [`TableWriter`] (row groups encoded in parallel, fsynced) and
//! [`read_columns`].

use std::fs::File;
use std::path::{Path, PathBuf};

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression, ZstdLevel};
use ::parquet::file::properties::WriterProperties;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::{Error, Result};

/// Writes `batch` as a ZSTD-compressed Parquet file and fsyncs it (see [`write_batches`]).
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    write_batches(path, std::slice::from_ref(batch))
}

/// Writes `batches` (one schema, at least one batch), one after the other, as one Parquet
/// file and fsyncs it (see [`TableWriter`]).
pub fn write_batches(path: &Path, batches: &[RecordBatch]) -> Result<()> {
    let mut w = TableWriter::new(path);
    for b in batches {
        w.write(b.clone())?;
    }
    w.finish()
}

/// A ZSTD-compressed Parquet file written batch by batch, so a table never has to be whole in
/// memory: batches wait until they fill a row group of [`ROW_GROUP_ROWS`] rows (whatever their
/// sizes), whose columns are then encoded in parallel on rayon's pool (a wide table is
/// otherwise one thread's work). The file is created with the first batch's schema and
/// fsynced by [`TableWriter::finish`].
pub struct TableWriter {
    path: PathBuf,
    open: Option<OpenTable>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    group_rows: usize,
    rows: usize,
    started: std::time::Instant,
    /// The text columns that keep min/max statistics; `None`: all of them.
    text_statistics: Option<Vec<String>>,
}

/// The parts of an open Parquet file: its writer and its column-writer factory.
struct OpenTable {
    writer: ::parquet::file::writer::SerializedFileWriter<File>,
    factory: ::parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory,
    schema: arrow::datatypes::SchemaRef,
    groups: usize,
}

impl TableWriter {
    /// A writer of `path`; nothing is created before the first batch.
    pub fn new(path: &Path) -> Self {
        TableWriter {
            path: path.to_path_buf(),
            open: None,
            pending: Vec::new(),
            pending_rows: 0,
            group_rows: ROW_GROUP_ROWS,
            rows: 0,
            started: std::time::Instant::now(),
            text_statistics: None,
        }
    }

    /// Keeps min/max statistics of the text columns `sorted` only (numbers keep theirs). In a
    /// column of ids or text in no order, every row group's minimum and maximum span nearly
    /// the whole range, so they prune nothing, and computing them costs two string
    /// comparisons a value; a column the table is sorted by lets DuckDB or Spark skip row
    /// groups.
    pub fn text_statistics(mut self, sorted: &[&str]) -> Self {
        self.text_statistics = Some(sorted.iter().map(|c| c.to_string()).collect());
        self
    }

    /// The writer properties of a file of `schema`.
    fn properties(&self, schema: &arrow::datatypes::Schema) -> WriterProperties {
        use ::parquet::file::properties::EnabledStatistics;
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(self.group_rows))
            .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES);
        if let Some(sorted) = &self.text_statistics {
            let unsorted = schema.fields().iter().filter(|f| {
                matches!(
                    f.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) && !sorted.contains(f.name())
            });
            for f in unsorted {
                let column = ::parquet::schema::types::ColumnPath::from(f.name().as_str());
                props = props.set_column_statistics_enabled(column, EnabledStatistics::None);
            }
        }
        props.build()
    }

    /// Appends `batch` (the schema of the first batch); full row groups are written now.
    pub fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if self.open.is_none() {
            let file = File::create(&self.path).map_err(|e| Error::io(&self.path, e))?;
            // The high-level writer embeds the Arrow schema; its parts then take the columns
            // one by one.
            let schema = batch.schema();
            let props = self.properties(&schema);
            let (writer, factory) = ArrowWriter::try_new(file, schema.clone(), Some(props))?
                .into_serialized_writer()?;
            self.open = Some(OpenTable {
                writer,
                factory,
                schema,
                groups: 0,
            });
        }
        self.pending_rows += batch.num_rows();
        self.rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= self.group_rows {
            let mut groups = row_groups(&std::mem::take(&mut self.pending), self.group_rows);
            let partial = groups
                .last()
                .map(|g| g.iter().map(RecordBatch::num_rows).sum::<usize>() < self.group_rows)
                .unwrap_or(false);
            if partial {
                self.pending = groups.pop().unwrap_or_default();
            }
            self.pending_rows = self.pending.iter().map(RecordBatch::num_rows).sum();
            for group in &groups {
                self.write_group(group)?;
            }
        }
        Ok(())
    }

    /// Writes the last row group, the footer, and fsyncs the file; an error if no batch came.
    pub fn finish(mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.write_group(&last)?;
        }
        let open = self.open.take().ok_or_else(|| {
            Error::Internal(format!("no batches to write to {}", self.path.display()))
        })?;
        let file = open.writer.into_inner()?;
        file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        let name = self.path.file_name().map(|n| n.to_string_lossy());
        let seconds = self.started.elapsed().as_secs_f64();
        tracing::debug!(
            file = name.as_deref(),
            rows = self.rows,
            seconds,
            "table written"
        );
        Ok(())
    }

    /// Encodes one row group, its columns in parallel, and appends it to the file.
    fn write_group(&mut self, parts: &[RecordBatch]) -> Result<()> {
        use ::parquet::arrow::arrow_writer::compute_leaves;
        let Some(open) = self.open.as_mut() else {
            return Err(Error::Internal(
                "row group before the file was opened".into(),
            ));
        };
        let writers = open.factory.create_column_writers(open.groups)?;
        open.groups += 1;
        // One writer per leaf column; every column here is flat, so leaves and columns agree.
        let chunks = writers
            .into_par_iter()
            .zip(open.schema.fields().par_iter().enumerate())
            .map(|(mut w, (c, field))| {
                for part in parts {
                    for leaf in compute_leaves(field, part.column(c))? {
                        w.write(&leaf)?;
                    }
                }
                w.close()
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut group_writer = open.writer.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group_writer)?;
        }
        group_writer.close()?;
        Ok(())
    }
}

/// Rows per Parquet row group. A table's pending rows wait in memory until they fill a group,
/// and golden and lineage fill theirs at the same time: 262,144 rows held the 1M-entity run's
/// peak 0.17 GiB below 1,048,576, at the same speed (BENCHMARKS.md); 65,536 came with the
/// ninth session's memory changes (not measured apart from them).
const ROW_GROUP_ROWS: usize = 1 << 16;

/// Largest dictionary page of a column chunk (the parquet crate's default is 1 MiB). Columns of
/// few values (sources, fields, rules, cities) stay dictionary-encoded; ids, emails and other
/// near-unique text fall back to plain encoding after this much, instead of hashing most of a
/// row group's values into a dictionary first.
const DICTIONARY_PAGE_BYTES: usize = 64 * 1024;

/// `batches` cut into consecutive row groups of `size` rows (the last may be shorter), each a
/// list of zero-copy slices.
fn row_groups(batches: &[RecordBatch], size: usize) -> Vec<Vec<RecordBatch>> {
    let mut groups: Vec<Vec<RecordBatch>> = Vec::new();
    let mut room = 0;
    for batch in batches {
        let mut start = 0;
        while start < batch.num_rows() {
            if room == 0 {
                groups.push(Vec::new());
                room = size;
            }
            let take = room.min(batch.num_rows() - start);
            if let Some(group) = groups.last_mut() {
                group.push(batch.slice(start, take));
            }
            room -= take;
            start += take;
        }
    }
    groups
}

/// Reads every row of a Parquet file into one batch.
pub fn read_parquet(path: &Path) -> Result<RecordBatch> {
    read_columns(path, None)
}

/// The top-level column names of a Parquet file, read from its footer only.
pub fn column_names(path: &Path) -> Result<Vec<String>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?;
    Ok(builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

/// Reads every row of a Parquet file into one batch, only the top-level `columns` when given
/// (columns the file lacks are left out; the caller reports them), so a run that needs two
/// columns of a wide table does not decompress the rest.
pub fn read_columns(path: &Path, columns: Option<&[&str]>) -> Result<RecordBatch> {
    read_selected(path, columns, None)
}

/// Reads `columns` of rows `rows` (ascending, each below the file's row count) of a Parquet
/// file into one batch, row for row: the other rows are skipped, not decoded into arrays.
pub fn read_rows(path: &Path, columns: &[&str], rows: &[usize]) -> Result<RecordBatch> {
    read_selected(path, Some(columns), Some(rows))
}

/// [`read_columns`], of only `rows` when given (see [`read_rows`]).
fn read_selected(
    path: &Path,
    columns: Option<&[&str]>,
    rows: Option<&[usize]>,
) -> Result<RecordBatch> {
    use ::parquet::arrow::ProjectionMask;
    use ::parquet::arrow::arrow_reader::RowSelection;
    use arrow::record_batch::RecordBatchReader;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut builder =
        ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?;
    if let Some(columns) = columns {
        let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
        builder = builder.with_projection(mask);
    }
    if let Some(rows) = rows {
        let total = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        if rows.last().is_some_and(|&r| r >= total) {
            return Err(Error::Internal(format!(
                "{}: row {} of {total}",
                path.display(),
                rows.last().copied().unwrap_or(0)
            )));
        }
        let ranges = rows.iter().map(|&r| r..r + 1);
        builder = builder.with_row_selection(RowSelection::from_consecutive_ranges(ranges, total));
    }
    let reader = builder.build()?;
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(arrow::compute::concat_batches(&schema, &batches)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, StringArray, UInt32Array};
    use arrow::datatypes::UInt32Type;
    use std::sync::Arc;

    /// Text columns not listed carry no min/max statistics; listed ones and numbers do, and
    /// the values read back the same.
    #[test]
    fn only_listed_text_columns_keep_statistics() {
        let dir = tempfile::tempdir().expect("tempdir");
        let names = StringArray::from_iter_values((0..10).map(|i| format!("k{i}")));
        let b = RecordBatch::try_from_iter([
            ("id", Arc::new(UInt32Array::from_iter_values(0..10)) as _),
            ("key", Arc::new(names.clone()) as _),
            ("text", Arc::new(names) as _),
        ])
        .expect("batch");
        for (listed, want) in [
            (None, [true, true, true]),
            (Some(&["key"]), [true, true, false]),
        ] {
            let path = dir.path().join("t.parquet");
            let mut w = TableWriter::new(&path);
            if let Some(listed) = listed {
                w = w.text_statistics(listed);
            }
            w.write(b.clone()).expect("write");
            w.finish().expect("finish");
            let file = File::open(&path).expect("open");
            let reader = ::parquet::file::reader::SerializedFileReader::new(file).expect("read");
            use ::parquet::file::reader::FileReader;
            let group = reader.metadata().row_group(0).clone();
            let has = |c: usize| {
                group
                    .column(c)
                    .statistics()
                    .is_some_and(|s| s.min_bytes_opt().is_some())
            };
            assert_eq!([has(0), has(1), has(2)], want, "{listed:?}");
            assert_eq!(read_parquet(&path).expect("read back"), b);
        }
    }

    fn batch(from: u32, to: u32) -> RecordBatch {
        let ids = UInt32Array::from_iter_values(from..to);
        let names =
            StringArray::from_iter((from..to).map(|i| (i % 3 != 0).then(|| format!("n{i}"))));
        RecordBatch::try_from_iter([("id", Arc::new(ids) as _), ("name", Arc::new(names) as _)])
            .unwrap()
    }

    #[test]
    fn row_groups_cut_across_batches_without_losing_rows() {
        let batches = [batch(0, 5), batch(5, 6), batch(6, 13)];
        let groups = row_groups(&batches, 4);
        let sizes: Vec<Vec<usize>> = groups
            .iter()
            .map(|g| g.iter().map(RecordBatch::num_rows).collect())
            .collect();
        assert_eq!(sizes, vec![vec![4], vec![1, 1, 2], vec![4], vec![1]]);
        let ids: Vec<u32> = groups
            .iter()
            .flatten()
            .flat_map(|b| b.column(0).as_primitive::<UInt32Type>().values().to_vec())
            .collect();
        assert_eq!(ids, (0..13).collect::<Vec<_>>());
    }

    #[test]
    fn batches_round_trip_through_one_file() {
        let dir = std::env::temp_dir().join(format!("golden-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let batches = [batch(0, 700), batch(700, 701), batch(701, 2000)];
        write_batches(&path, &batches).unwrap();
        let back = read_parquet(&path).unwrap();
        let want = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_eq!(back, want);
        assert!(write_batches(&path, &[]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn chosen_rows_are_read_across_row_groups_in_order() {
        let dir = std::env::temp_dir().join(format!("golden-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let mut w = TableWriter::new(&path);
        w.group_rows = 4;
        w.write(batch(0, 13)).unwrap();
        w.finish().unwrap();
        let back = read_rows(&path, &["name", "id"], &[0, 3, 4, 5, 11, 12]).unwrap();
        let ids = back
            .column_by_name("id")
            .unwrap()
            .as_primitive::<UInt32Type>();
        assert_eq!(ids.values().to_vec(), vec![0, 3, 4, 5, 11, 12]);
        let names = back.column_by_name("name").unwrap().as_string::<i32>();
        let names: Vec<Option<&str>> = names.iter().collect();
        assert_eq!(
            names,
            [None, None, Some("n4"), Some("n5"), Some("n11"), None]
        );
        assert_eq!(read_rows(&path, &["id"], &[]).unwrap().num_rows(), 0);
        let past = read_rows(&path, &["id"], &[2, 13]).unwrap_err().to_string();
        assert!(past.contains("row 13 of 13"), "{past}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_table_written_batch_by_batch_keeps_every_row_in_full_row_groups() {
        let dir = std::env::temp_dir().join(format!("golden-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let batches = [batch(0, 3), batch(3, 9), batch(9, 10), batch(10, 23)];
        let mut w = TableWriter::new(&path);
        w.group_rows = 5;
        for b in &batches {
            w.write(b.clone()).unwrap();
            assert!(w.pending_rows < 5, "a full row group was left in memory");
        }
        w.finish().unwrap();
        let file = File::open(&path).unwrap();
        let meta = parquet::file::reader::FileReader::metadata(
            &parquet::file::reader::SerializedFileReader::new(file).unwrap(),
        )
        .clone();
        let sizes: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(sizes, vec![5, 5, 5, 5, 3]);
        let back = read_parquet(&path).unwrap();
        let want = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_eq!(back, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
