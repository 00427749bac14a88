//! Canonical field names and every column name of the run directory's tables, in one place.

/// Canonical fields with built-in standardizers (DESIGN §2).
pub const CANONICAL_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "street",
    "city",
    "postcode",
    "country",
    "birth_date",
];

/// Dense record index, assigned in ingest order (u32).
pub const RECORD_IDX: &str = "record_idx";
/// Source name column.
pub const SOURCE: &str = "source";
/// Record id within its source.
pub const SOURCE_ID: &str = "source_id";
/// 1-based data row number within its source file (header excluded).
pub const ROW_NUMBER: &str = "row_number";
/// Source file a record came from.
pub const SOURCE_FILE: &str = "source_file";
/// When the record last changed, as an ISO-8601 string (may be null).
pub const UPDATED_AT: &str = "updated_at";
/// Suffix of the derived match-key column of a field (`email__match`).
pub const MATCH_SUFFIX: &str = "__match";
/// Golden record id column.
pub const GOLDEN_ID: &str = "golden_id";
/// Posterior match probability column.
pub const MATCH_PROBABILITY: &str = "match_probability";
/// Match weight (log2 Bayes factor) column.
pub const MATCH_WEIGHT: &str = "match_weight";

/// Name of the derived match-key column for `field`.
pub fn match_column(field: &str) -> String {
    format!("{field}{MATCH_SUFFIX}")
}

/// Columns of `lineage.parquet`, in order.
pub const LINEAGE_COLUMNS: [&str; 6] = [GOLDEN_ID, "field", "value", SOURCE, SOURCE_ID, "rule"];
