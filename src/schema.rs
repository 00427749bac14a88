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
/// Column of `golden.parquet`: how many records the golden record consolidates.
pub const RECORD_COUNT: &str = "record_count";
/// Column of `golden.parquet`: the sorted, comma-separated sources of its records.
pub const SOURCES: &str = "sources";
/// Column of `golden.parquet`: the earliest `updated_at` of its records.
pub const FIRST_SEEN: &str = "first_seen";
/// Column of `golden.parquet`: the latest `updated_at` of its records.
pub const LAST_UPDATED: &str = "last_updated";
/// Column of `golden.parquet`: the run id in which the golden id was first created.
pub const CREATED_RUN: &str = "created_run";
/// Column of `crosswalk.parquet`: the hash of each record's match values (comparison reuse).
pub const CONTENT_HASH: &str = "content_hash";
/// Posterior match probability column.
pub const MATCH_PROBABILITY: &str = "match_probability";
/// Match weight (log2 Bayes factor) column.
pub const MATCH_WEIGHT: &str = "match_weight";

/// Name of the derived match-key column for `field`.
pub fn match_column(field: &str) -> String {
    format!("{field}{MATCH_SUFFIX}")
}

/// Separator of the parts of a blocking key of a rule with several keys
/// (`smith & 1985-02-03`), as the rule itself is written.
pub const KEY_SEPARATOR: &str = " & ";

/// Columns of `lineage.parquet`, in order.
pub const LINEAGE_COLUMNS: [&str; 6] = [GOLDEN_ID, "field", "value", SOURCE, SOURCE_ID, "rule"];

/// Fixed columns of `decisions.parquet` and `review.parquet` (the per-field `<field>_level`,
/// `<field>_weight` and `<field>_tf_adjustment` columns come between `blocking_rule` and
/// `match_weight`).
pub const DECISION_COLUMNS: [&str; 8] = [
    "left_source",
    "left_id",
    "right_source",
    "right_id",
    "blocking_rule",
    MATCH_WEIGHT,
    MATCH_PROBABILITY,
    "decision",
];

/// Column of `decisions.parquet` and `review.parquet` (before `match_weight`) with the
/// household class's term of the match weight, when the model has one.
pub const HOUSEHOLD_ADJUSTMENT: &str = "household_adjustment";

/// Suffixes of the per-field columns of `decisions.parquet`.
pub const DECISION_FIELD_SUFFIXES: [&str; 3] = ["_level", "_weight", "_tf_adjustment"];

/// Names that the crosswalk, golden records, lineage and the records table between stages use
/// for columns of their own, so no field may have them; [`DECISION_COLUMNS`] and names starting
/// with `__` or ending with [`MATCH_SUFFIX`] are reserved too ([`is_reserved`]).
pub const RESERVED_NAMES: &[&str] = &[
    GOLDEN_ID,
    SOURCE,
    SOURCE_ID,
    RECORD_IDX,
    ROW_NUMBER,
    SOURCE_FILE,
    UPDATED_AT,
    "content_hash",
    RECORD_COUNT,
    SOURCES,
    FIRST_SEEN,
    LAST_UPDATED,
    CREATED_RUN,
    HOUSEHOLD_ADJUSTMENT,
    // lineage.parquet's own columns: a field so named would be ambiguous in a query joining
    // lineage to golden.
    "field",
    "value",
    "rule",
];

/// True when a field may not be named `name` ([`RESERVED_NAMES`], [`DECISION_COLUMNS`], `__*`,
/// `*__match`).
pub fn is_reserved(name: &str) -> bool {
    RESERVED_NAMES.contains(&name)
        || DECISION_COLUMNS.contains(&name)
        || name.starts_with("__")
        || name.ends_with(MATCH_SUFFIX)
}

/// Every reserved name, for messages: `golden_id, source, …, and names starting with `__` or
/// ending with `__match``.
pub fn reserved_list() -> String {
    let names: Vec<&str> = RESERVED_NAMES
        .iter()
        .chain(&DECISION_COLUMNS)
        .copied()
        .collect();
    format!(
        "{}, and names starting with `__` or ending with `{MATCH_SUFFIX}`",
        names.join(", ")
    )
}
