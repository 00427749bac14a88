//! Rejected input rows: why each row could not be used, kept as data for the rejects table.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

/// Why a row was rejected: a closed set of codes, safe to log and to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// A CSV row with more or fewer fields than the header.
    WrongColumnCount,
    /// Bytes that are not valid UTF-8.
    InvalidUtf8,
    /// A line that is not valid JSON.
    InvalidJson,
    /// A JSON line that is valid but not an object.
    NotAnObject,
    /// The id expression gave null or an empty string.
    MissingId,
    /// Another row of the same source already has this id.
    DuplicateId,
    /// The reader could not decode the row at all.
    Unreadable,
    /// A field's expression failed on this row (a value it cannot convert).
    ExpressionFailed,
    /// A physical CSV line swallowed into another row by a quote that does not close on it.
    UnbalancedQuote,
    /// A CSV row equal to the file's header after the first line (files concatenated).
    RepeatedHeader,
    /// An NDJSON object with a key written twice.
    DuplicateKey,
}

impl RejectReason {
    /// The stable code written to `rejects.parquet`.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::WrongColumnCount => "wrong_column_count",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::InvalidJson => "invalid_json",
            RejectReason::NotAnObject => "not_an_object",
            RejectReason::MissingId => "missing_id",
            RejectReason::DuplicateId => "duplicate_id",
            RejectReason::Unreadable => "unreadable",
            RejectReason::ExpressionFailed => "expression_failed",
            RejectReason::UnbalancedQuote => "unbalanced_quote",
            RejectReason::RepeatedHeader => "repeated_header",
            RejectReason::DuplicateKey => "duplicate_key",
        }
    }
}

/// One rejected input row.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// Source name.
    pub source: String,
    /// File the row came from.
    pub file: String,
    /// 1-based data row number within the file (header excluded); for NDJSON, the line number.
    pub row_number: u64,
    /// The row as read (lossy UTF-8 for undecodable bytes; JSON for mapped rows).
    pub raw: String,
    /// Reason code.
    pub reason: RejectReason,
    /// Human-readable detail (never a customer value).
    pub detail: String,
}

/// Schema of `rejects.parquet`.
pub fn rejects_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("row_number", DataType::UInt64, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
    ]))
}

/// Builds the rejects table, in the order given.
pub fn rejects_batch(rejects: &[Reject]) -> crate::Result<RecordBatch> {
    let n = rejects.len();
    let mut source = StringBuilder::with_capacity(n, n * 8);
    let mut file = StringBuilder::with_capacity(n, n * 16);
    let mut row = UInt64Builder::with_capacity(n);
    let mut raw = StringBuilder::with_capacity(n, n * 64);
    let mut reason = StringBuilder::with_capacity(n, n * 12);
    let mut detail = StringBuilder::with_capacity(n, n * 32);
    for r in rejects {
        source.append_value(&r.source);
        file.append_value(&r.file);
        row.append_value(r.row_number);
        raw.append_value(&r.raw);
        reason.append_value(r.reason.code());
        detail.append_value(&r.detail);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(source.finish()),
        Arc::new(file.finish()),
        Arc::new(row.finish()),
        Arc::new(raw.finish()),
        Arc::new(reason.finish()),
        Arc::new(detail.finish()),
    ];
    Ok(RecordBatch::try_new(rejects_schema(), cols)?)
}
