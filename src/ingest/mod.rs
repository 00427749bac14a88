//! Stage "ingest": each source's files → one Arrow table per source in the canonical schema.
//!
//! Files are read row by row ([`source`]), so unreadable rows become [`Reject`]s; each canonical
//! field is then a SQL expression over the source's columns, evaluated by DataFusion. Rows whose
//! id is missing or repeated within the source are rejected too. Every row read ends up in
//! exactly one of the returned batches or the rejects.

pub mod delimited;
pub mod drift;
pub mod rejects;
pub mod source;
pub mod updated_at;

use foldhash::{HashSet, HashSetExt};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, UInt32Array};
use arrow::compute::{cast, concat_batches, take};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{SessionConfig, SessionContext};

pub use rejects::{Reject, RejectReason};
use source::{FILE_COL, ROW_COL};

use crate::config::{ConfigError, Format, Pipeline, SourceConfig};
use crate::schema;
use crate::{Error, Result};

/// One source's usable records in the canonical schema.
pub struct SourceRecords {
    /// Source name.
    pub name: String,
    /// Columns: `record_idx`, `source`, `source_id`, `row_number`, `source_file`, `updated_at`,
    /// then one Utf8 column per field the source maps, in pipeline order.
    pub batch: RecordBatch,
    /// Rows read from the source's files (usable + rejected).
    pub rows_read: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// The source's columns as read (for schema-drift checks of later runs).
    pub columns: Vec<drift::ColumnType>,
}

/// What ingest produced.
pub struct Ingested {
    /// One entry per source, in pipeline order; `record_idx` is dense across all of them.
    pub sources: Vec<SourceRecords>,
    /// Every rejected row, in source and row order.
    pub rejects: Vec<Reject>,
}

/// A DataFusion session that keeps identifiers as written (`Contact_ID` stays `Contact_ID`).
pub fn session() -> SessionContext {
    let mut config = SessionConfig::new();
    config.options_mut().sql_parser.enable_ident_normalization = false;
    SessionContext::new_with_config(config)
}

/// Reads and maps every source of `pipeline`, each on a task of its own; a source whose used
/// columns drifted from `previous` (the last run's columns) fails before any mapping. Errors
/// are reported in pipeline order.
pub async fn ingest(pipeline: &Pipeline, previous: &drift::SourceColumns) -> Result<Ingested> {
    let tasks: Vec<_> = pipeline
        .sources
        .iter()
        .map(|src| {
            let (src, prev) = (src.clone(), previous.get(&src.name).cloned());
            tokio::spawn(async move { ingest_source(&src, prev.as_deref()).await })
        })
        .collect();
    let mut sources = Vec::new();
    let mut all_rejects = Vec::new();
    let mut next_idx: u32 = 0;
    for (src, task) in pipeline.sources.iter().zip(tasks) {
        let (mut source, rejects) = task
            .await
            .map_err(|e| Error::Internal(format!("ingest task of source `{}`: {e}", src.name)))??;
        // `record_idx` is dense across sources, in pipeline order.
        let n = source.batch.num_rows() as u32;
        let mut cols = source.batch.columns().to_vec();
        cols[0] = Arc::new(UInt32Array::from_iter_values(next_idx..next_idx + n));
        source.batch = RecordBatch::try_new(source.batch.schema(), cols)?;
        next_idx = next_idx
            .checked_add(n)
            .ok_or_else(|| Error::Usage("more than 4 billion records: split the run".into()))?;
        sources.push(source);
        all_rejects.extend(rejects);
    }
    Ok(Ingested {
        sources,
        rejects: all_rejects,
    })
}

/// Reads one source, checks its columns against `previous` and maps it onto the canonical
/// schema (`record_idx` from 0); returns its records and its rejected rows.
async fn ingest_source(
    src: &SourceConfig,
    previous: Option<&[drift::ColumnType]>,
) -> Result<(SourceRecords, Vec<Reject>)> {
    let raw = source::read_source(src).await?;
    let columns = drift::columns_of(&raw.batch);
    if let Some(prev) = previous {
        drift::check(src, prev, &columns)?;
    }
    // One partition: DataFusion would otherwise spread a source's 8,192-row batches over
    // partitions and collect them in whatever order they finish, so record order (and with it
    // sampling, output row order and the model) would change from run to run.
    let mut config = session().copied_config().with_target_partitions(1);
    // `CAST(… AS VARCHAR)` gives Utf8, the type the stages use, rather than Utf8View, which
    // would be copied once more to convert it.
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    let ctx = SessionContext::new_with_config(config);
    let mut rejects = raw.rejects;
    let table = "__source";
    ctx.register_batch(table, raw.batch.clone())?;
    let mapped = ctx.sql(&mapping_sql(src, table)).await?.collect().await?;
    let mapped = to_schema(&mapping_schema(src), &mapped)?;
    let keep = check_ids(src, &raw.batch, &mapped, &mut rejects)?;
    let batch = canonical_batch(src, &mapped, &keep, 0)?;
    tracing::info!(
        source = %src.name,
        rows_read = raw.rows_seen,
        rows_rejected = rejects.len(),
        "source ingested"
    );
    let records = SourceRecords {
        name: src.name.clone(),
        batch,
        rows_read: raw.rows_seen,
        rows_rejected: rejects.len() as u64,
        columns,
    };
    Ok((records, rejects))
}

/// Quotes a SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `SELECT id, updated_at, fields…, __row, __file FROM table`, every value cast to text.
fn mapping_sql(src: &SourceConfig, table: &str) -> String {
    let mut cols = vec![format!(
        "CAST(({}) AS VARCHAR) AS {}",
        src.id,
        ident(schema::SOURCE_ID)
    )];
    cols.push(match &src.updated_at {
        Some(e) => format!("CAST(({e}) AS VARCHAR) AS {}", ident(schema::UPDATED_AT)),
        None => format!("CAST(NULL AS VARCHAR) AS {}", ident(schema::UPDATED_AT)),
    });
    for (field, expr) in &src.fields {
        cols.push(format!("CAST(({expr}) AS VARCHAR) AS {}", ident(field)));
    }
    cols.push(ident(ROW_COL));
    cols.push(ident(FILE_COL));
    format!("SELECT {} FROM {}", cols.join(", "), ident(table))
}

/// The schema the mapping query produces.
fn mapping_schema(src: &SourceConfig) -> Arc<Schema> {
    let mut fields = vec![
        Field::new(schema::SOURCE_ID, DataType::Utf8, true),
        Field::new(schema::UPDATED_AT, DataType::Utf8, true),
    ];
    fields.extend(
        src.fields
            .iter()
            .map(|(f, _)| Field::new(f, DataType::Utf8, true)),
    );
    fields.push(Field::new(ROW_COL, DataType::UInt64, false));
    fields.push(Field::new(FILE_COL, DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// Concatenates query results, casting each column to `schema`'s type (DataFusion may give
/// `Utf8View` where the stages expect `Utf8`).
fn to_schema(schema: &Arc<Schema>, batches: &[RecordBatch]) -> Result<RecordBatch> {
    let cast_batch = |b: &RecordBatch| -> Result<RecordBatch> {
        let cols = b
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| Ok(cast(c, f.data_type())?))
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    };
    let cast_batches = batches.iter().map(cast_batch).collect::<Result<Vec<_>>>()?;
    Ok(concat_batches(schema, &cast_batches)?)
}

/// Rejects rows with a missing or repeated id; returns the indices of the rows kept.
fn check_ids(
    src: &SourceConfig,
    raw: &RecordBatch,
    mapped: &RecordBatch,
    rejects: &mut Vec<Reject>,
) -> Result<Vec<u32>> {
    let ids = mapped.column(0).as_string::<i32>();
    let rows = mapped
        .column_by_name(ROW_COL)
        .map(|c| c.as_primitive::<arrow::datatypes::UInt64Type>());
    let files = mapped
        .column_by_name(FILE_COL)
        .map(|c| c.as_string::<i32>());
    let (Some(rows), Some(files)) = (rows, files) else {
        return Err(Error::Internal("mapping lost its row columns".into()));
    };
    let mut seen: HashSet<&str> = HashSet::with_capacity(ids.len());
    let mut keep = Vec::with_capacity(ids.len());
    for i in 0..ids.len() {
        let id = if ids.is_null(i) {
            ""
        } else {
            ids.value(i).trim()
        };
        let reason = if id.is_empty() {
            Some((
                RejectReason::MissingId,
                "the id expression gave no value".to_string(),
            ))
        } else if !seen.insert(id) {
            Some((
                RejectReason::DuplicateId,
                "an earlier row of this source has the same id".to_string(),
            ))
        } else {
            None
        };
        match reason {
            None => keep.push(i as u32),
            Some((reason, detail)) => rejects.push(Reject {
                source: src.name.clone(),
                file: files.value(i).to_string(),
                row_number: rows.value(i),
                raw: source::row_as_json(raw, i),
                reason,
                detail,
            }),
        }
    }
    rejects.sort_by(|a, b| (&a.file, a.row_number).cmp(&(&b.file, b.row_number)));
    Ok(keep)
}

/// Builds the canonical batch of the kept rows.
fn canonical_batch(
    src: &SourceConfig,
    mapped: &RecordBatch,
    keep: &[u32],
    first_idx: u32,
) -> Result<RecordBatch> {
    let n = keep.len();
    // Usually every row is kept: the columns are then used as they are.
    let keep = (n != mapped.num_rows()).then(|| UInt32Array::from(keep.to_vec()));
    let pick = |name: &str| -> Result<ArrayRef> {
        let col = mapped
            .column_by_name(name)
            .ok_or_else(|| Error::Internal(format!("mapping lost column {name}")))?;
        Ok(match &keep {
            Some(keep) => take(col.as_ref(), keep, None)?,
            None => col.clone(),
        })
    };
    let ids = pick(schema::SOURCE_ID)?;
    let padded = |v: Option<&str>| v.is_some_and(|s| s.trim().len() != s.len());
    let trimmed: ArrayRef = if ids.as_string::<i32>().iter().any(padded) {
        let trimmed: StringArray = ids
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::trim))
            .collect();
        Arc::new(trimmed)
    } else {
        ids
    };
    let updated = pick(schema::UPDATED_AT)?;
    let updated: StringArray = updated
        .as_string::<i32>()
        .iter()
        .map(|v| v.and_then(updated_at::normalize))
        .collect();
    let mut fields = vec![
        Field::new(schema::RECORD_IDX, DataType::UInt32, false),
        Field::new(schema::SOURCE, DataType::Utf8, false),
        Field::new(schema::SOURCE_ID, DataType::Utf8, false),
        Field::new(schema::ROW_NUMBER, DataType::UInt64, false),
        Field::new(schema::SOURCE_FILE, DataType::Utf8, false),
        Field::new(schema::UPDATED_AT, DataType::Utf8, true),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(
            first_idx..first_idx + n as u32,
        )),
        Arc::new(StringArray::from(vec![src.name.as_str(); n])),
        trimmed,
        cast(&pick(ROW_COL)?, &DataType::UInt64)?,
        pick(FILE_COL)?,
        Arc::new(updated),
    ];
    for (f, _) in &src.fields {
        fields.push(Field::new(f, DataType::Utf8, true));
        cols.push(pick(f)?);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

/// Checks that every source can be read and that every SQL expression it maps names only
/// columns the source has; returns one error per bad expression.
pub async fn check_sources(pipeline: &Pipeline) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for (i, src) in pipeline.sources.iter().enumerate() {
        let problem = |key: String, message: String| ConfigError {
            file: pipeline.path.clone(),
            position: src.positions.get(&key).copied(),
            key: format!("sources[{i}].{key}"),
            message,
        };
        let Some(first) = src.files.first() else {
            continue;
        };
        if src.format == Format::Csv {
            let (header_ok, problems) = delimited::check_problems(src);
            errors.extend(problems.into_iter().map(|(key, m)| problem(key, m)));
            if !header_ok {
                continue;
            }
        }
        let schema = match source_schema(src, first).await {
            Ok(s) => s,
            Err(e) => {
                errors.push(problem("path".into(), e.to_string()));
                continue;
            }
        };
        let ctx = session();
        let table = format!("__check_{i}");
        if ctx
            .register_batch(&table, RecordBatch::new_empty(schema.clone()))
            .is_err()
        {
            continue;
        }
        let available: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| format!("`{}`", f.name()))
            .collect();
        let mut exprs: Vec<(String, &str)> = vec![("id".into(), src.id.as_str())];
        if let Some(u) = &src.updated_at {
            exprs.push(("updated_at".into(), u.as_str()));
        }
        exprs.extend(
            src.fields
                .iter()
                .map(|(f, e)| (format!("fields.{f}"), e.as_str())),
        );
        for (key, expr) in exprs {
            let sql = format!("SELECT CAST(({expr}) AS VARCHAR) FROM {}", ident(&table));
            if let Err(e) = ctx.sql(&sql).await {
                let msg = first_line(&e.to_string());
                errors.push(problem(
                    key,
                    format!(
                        "expression `{expr}` does not fit {} ({msg}); the file has columns {}",
                        first.display(),
                        available.join(", ")
                    ),
                ));
            }
        }
    }
    errors
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// The columns a source's first file offers, as the mapping query sees them.
async fn source_schema(src: &SourceConfig, file: &std::path::Path) -> Result<Arc<Schema>> {
    let text = |names: Vec<String>| {
        let mut fields: Vec<Field> = names
            .into_iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect();
        fields.push(Field::new(ROW_COL, DataType::UInt64, false));
        Arc::new(Schema::new(fields))
    };
    Ok(match src.format {
        Format::Csv => text(source::csv_header(file, src.delimiter)?),
        Format::Ndjson => text(source::ndjson_columns(file, 1000)?),
        Format::Parquet => source::parquet_schema(file).await?,
    })
}
