//! Stage "ingest": each source's files → one Arrow table per source in the canonical schema.
//!
//! Files are read row by row ([`source`]), so unreadable rows become [`Reject`]s; each canonical
//! field is then a SQL expression over the source's columns, evaluated by DataFusion. Rows whose
//! id is missing or repeated within the source are rejected too. Every row read ends up in
//! exactly one of the returned batches or the rejects.

pub mod delimited;
pub mod drift;
pub mod limit;
pub mod mapping;
pub mod ndjson;
pub mod rejects;
pub mod source;
pub mod updated_at;

use foldhash::{HashSet, HashSetExt};
use std::sync::Arc;

use std::path::PathBuf;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray, UInt32Array, new_null_array,
};
use arrow::compute::{cast, filter_record_batch, take};
use arrow::datatypes::{DataType, Field, Schema, UInt64Type};
use datafusion::prelude::{SessionConfig, SessionContext};

pub use rejects::{Reject, RejectReason};
use source::{FILE_COL, ROW_COL};

use crate::config::{ConfigError, ConfigErrors, Format, Pipeline, SourceConfig};
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
        .enumerate()
        .map(|(i, src)| {
            let (src, prev) = (src.clone(), previous.get(&src.name).cloned());
            let at = (pipeline.path.clone(), i);
            tokio::spawn(async move { ingest_source(&src, &at, prev.as_deref()).await })
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
            .ok_or_else(|| Error::Pipeline("more than 4 billion records: split the run".into()))?;
        sources.push(source);
        all_rejects.extend(rejects);
    }
    Ok(Ingested {
        sources,
        rejects: all_rejects,
    })
}

/// Reads one source, checks its columns against `previous` and maps it onto the canonical
/// schema (`record_idx` from 0); returns its records and its rejected rows. `at` is the
/// pipeline file and the source's index in it (for errors in its expressions).
async fn ingest_source(
    src: &SourceConfig,
    at: &(PathBuf, usize),
    previous: Option<&[drift::ColumnType]>,
) -> Result<(SourceRecords, Vec<Reject>)> {
    let raw = source::read_source(src).await?;
    if src.format == Format::Ndjson && raw.rows_seen == 0 {
        return Err(Error::Input {
            path: first_file(src).to_path_buf(),
            message: format!(
                "source `{}`: its files hold no JSON lines (empty); check the export, \
                 or remove the source from the pipeline",
                src.name
            ),
        });
    }
    let columns = drift::columns_of(&raw.batch);
    if let Some(prev) = previous {
        drift::check(src, prev, &columns)?;
    }
    let mut rejects = raw.rejects;
    let (raw_batch, mapped) = map_source(src, at, raw.batch, &mut rejects)?;
    let keep = check_ids(src, &raw_batch, &mapped, &mut rejects)?;
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

/// Evaluates the source's expressions on `raw`; a row on which one fails becomes an
/// `expression_failed` reject. Returns the raw rows kept and their mapped values (columns of
/// [`mapping_schema`]). A source without readable rows maps to no rows.
fn map_source(
    src: &SourceConfig,
    at: &(PathBuf, usize),
    raw: RecordBatch,
    rejects: &mut Vec<Reject>,
) -> Result<(RecordBatch, RecordBatch)> {
    let schema = mapping_schema(src);
    if raw.num_rows() == 0 {
        return Ok((raw, RecordBatch::new_empty(schema)));
    }
    let exprs = mapping::compile(&session(), src, &raw.schema())
        .map_err(|problems| run_error(src, at, problems))?;
    let keys = mapping::expressions(src);
    let (mut cols, failed) = match mapping::evaluate(&exprs, &raw)? {
        Ok(evaluated) => evaluated,
        Err(k) => {
            let key = keys.get(k).map_or(String::new(), |(key, _, _)| key.clone());
            let why = "the expression crashed the evaluator on this data (for example a value \
                       over 2 GiB); change the expression";
            return Err(run_error(
                src,
                at,
                vec![(key, mapping::Problem::Invalid(why.into()))],
            ));
        }
    };
    if src.updated_at.is_none() {
        cols.insert(1, new_null_array(&DataType::Utf8, raw.num_rows()));
    }
    for name in [ROW_COL, FILE_COL] {
        cols.push(
            raw.column_by_name(name).cloned().ok_or_else(|| {
                Error::Internal(format!("raw table of `{}` lacks {name}", src.name))
            })?,
        );
    }
    let mapped = RecordBatch::try_new(schema, cols)?;
    if failed.is_empty() {
        return Ok((raw, mapped));
    }
    let mut keep = vec![true; raw.num_rows()];
    for &(i, k) in &failed {
        keep[i] = false;
        let key = keys.get(k).map_or("", |(key, _, _)| key.as_str());
        rejects.push(row_reject(
            src,
            &raw,
            i,
            RejectReason::ExpressionFailed,
            format!(
                "the expression of `{key}` failed on this row; fix the value or the expression"
            ),
        ));
    }
    tracing::warn!(source = %src.name, rows = failed.len(), "rows on which an expression failed rejected");
    let keep = BooleanArray::from(keep);
    Ok((
        filter_record_batch(&raw, &keep)?,
        filter_record_batch(&mapped, &keep)?,
    ))
}

/// The error for expressions that cannot be used: columns in no row of the data (exit 3),
/// else the pipeline's keys with their positions (exit 2).
fn run_error(
    src: &SourceConfig,
    (path, index): &(PathBuf, usize),
    problems: Vec<(String, mapping::Problem)>,
) -> Error {
    let missing: Vec<String> = problems
        .iter()
        .filter_map(|(key, p)| match p {
            mapping::Problem::MissingColumn(c) => Some(format!("`{c}` (used by `{key}`)")),
            mapping::Problem::Invalid(_) => None,
        })
        .collect();
    if missing.len() == problems.len() {
        return Error::Input {
            path: first_file(src).to_path_buf(),
            message: format!(
                "source `{}`: column {} is in no row of the source's files; fix the export, \
                 or change the expression in {}",
                src.name,
                missing.join(", "),
                path.display()
            ),
        };
    }
    let errors = problems
        .into_iter()
        .map(|(key, p)| ConfigError {
            file: path.clone(),
            position: src.positions.get(&key).copied(),
            key: format!("sources[{index}].{key}"),
            message: problem_text(&p),
        })
        .collect();
    Error::Config(ConfigErrors(errors))
}

/// What a [`mapping::Problem`] says in a pipeline error.
fn problem_text(p: &mapping::Problem) -> String {
    match p {
        mapping::Problem::MissingColumn(c) => format!(
            "no column or JSON key `{c}` in any row of the source's files; fix the name \
             (names are case-sensitive)"
        ),
        mapping::Problem::Invalid(m) => m.clone(),
    }
}

/// The schema of the mapped values: `source_id`, `updated_at`, one Utf8 column per field,
/// then the row and file columns.
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

/// Rejects rows with a missing or repeated id; returns the indices of the rows kept.
fn check_ids(
    src: &SourceConfig,
    raw: &RecordBatch,
    mapped: &RecordBatch,
    rejects: &mut Vec<Reject>,
) -> Result<Vec<u32>> {
    let ids = mapped.column(0).as_string::<i32>();
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
                "an earlier row of this source has the same id (ids compare as their text)"
                    .to_string(),
            ))
        } else {
            None
        };
        match reason {
            None => keep.push(i as u32),
            Some((reason, detail)) => rejects.push(row_reject(src, raw, i, reason, detail)),
        }
    }
    rejects.sort_by(|a, b| (&a.file, a.row_number).cmp(&(&b.file, b.row_number)));
    Ok(keep)
}

/// A reject of row `i` of the raw table `raw`: its file, row number and values.
fn row_reject(
    src: &SourceConfig,
    raw: &RecordBatch,
    i: usize,
    reason: RejectReason,
    detail: String,
) -> Reject {
    let row_number = raw
        .column_by_name(ROW_COL)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .map_or(0, |c| c.value(i));
    let file = raw
        .column_by_name(FILE_COL)
        .and_then(|c| c.as_string_opt::<i32>())
        .map_or_else(String::new, |c| c.value(i).to_string());
    Reject {
        source: src.name.clone(),
        file,
        row_number,
        raw: source::row_as_json(raw, i),
        reason,
        detail,
    }
}

/// The first file of `src` (errors name it), or an empty path when it has none.
fn first_file(src: &SourceConfig) -> &std::path::Path {
    src.files
        .first()
        .map_or(std::path::Path::new(""), |p| p.as_path())
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
        Arc::new(source::repeated(&src.name, n, first_file(src))?),
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
        if src.format == Format::Parquet {
            // Every file's footer is cheap to read: a corrupt later file is found here too.
            for file in &src.files[1..] {
                if let Err(e) = source::parquet_schema(file).await {
                    errors.push(problem("path".into(), e.to_string()));
                }
            }
        }
        let schema = match source_schema(src, first).await {
            Ok(s) => s,
            Err(e) => {
                errors.push(problem("path".into(), e.to_string()));
                continue;
            }
        };
        let Err(problems) = mapping::compile(&session(), src, &schema) else {
            continue;
        };
        let exprs = mapping::expressions(src);
        let used = mapping::used_columns(src);
        for (key, p) in problems {
            let expr = exprs.iter().find(|(k, _, _)| *k == key).map_or("", |e| e.2);
            errors.push(problem(
                key,
                format!(
                    "expression `{expr}` does not fit {} ({}); the file has {}",
                    first.display(),
                    problem_text(&p),
                    column_list(&schema, &used)
                ),
            ));
        }
    }
    errors
}

/// The source columns of `schema`, quoted, at most 20 of them; only their count when they may
/// be values (a headerless file, NDJSON keys that are data): when a name does not look like a
/// column name (letters, digits, `_` and spaces, at most 40 characters) or none is a column
/// the source uses (`used`).
fn column_list(schema: &Schema, used: &std::collections::HashSet<String>) -> String {
    const SHOWN: usize = 20;
    let names: Vec<&String> = schema
        .fields()
        .iter()
        .map(|f| f.name())
        .filter(|n| *n != ROW_COL && *n != FILE_COL)
        .collect();
    let named = |n: &&String| {
        n.chars().count() <= 40
            && n.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ' ')
    };
    if !names.iter().all(named) || !names.iter().any(|n| used.contains(*n)) {
        return format!(
            "{} columns (names not shown: they may be customer values; check that the file has \
             a header or JSON keys of column names)",
            names.len()
        );
    }
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match names.len() {
        n if n > SHOWN => format!(
            "columns {} and {} more",
            names[..SHOWN].join(", "),
            n - SHOWN
        ),
        _ => format!("columns {}", names.join(", ")),
    }
}

/// The columns a source's first file offers, as the mapping query sees them.
async fn source_schema(src: &SourceConfig, file: &std::path::Path) -> Result<Arc<Schema>> {
    let text = |names: Vec<String>| -> Result<Arc<Schema>> {
        source::check_names(file, names.iter().map(String::as_str))?;
        let mut fields: Vec<Field> = names
            .into_iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect();
        fields.push(Field::new(ROW_COL, DataType::UInt64, false));
        Ok(Arc::new(Schema::new(fields)))
    };
    match src.format {
        Format::Csv => text(source::csv_header(file, src.delimiter)?),
        Format::Ndjson => text(ndjson::ndjson_columns(&src.files)?),
        Format::Parquet => source::parquet_schema(file).await,
    }
}
