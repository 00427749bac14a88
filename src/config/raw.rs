//! Serde structs mirroring the pipeline file (DESIGN §2) 1:1.
//!
//! In: TOML text. Out: [`RawPipeline`], values exactly as written. Every table rejects unknown
//! keys; every value that a later semantic check may reject is a [`Spanned`] so the error can
//! point at its line and column. Defaults are applied by `validate`, from the `DEFAULT_*`
//! constants here, so that a missing value and a written one stay distinguishable.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use toml::Spanned;

/// Default `blocking.max_block_size`.
pub const DEFAULT_MAX_BLOCK_SIZE: usize = 5000;
/// Default `sources.max_reject_ratio`.
pub const DEFAULT_MAX_REJECT_RATIO: f64 = 0.01;
/// Default thresholds of the string-similarity methods when `levels` is absent.
pub const DEFAULT_STRING_LEVELS: &[f64] = &[0.92, 0.80];
/// Default `model.match_threshold`.
pub const DEFAULT_MATCH_THRESHOLD: f64 = 0.95;
/// Default `model.review_threshold`.
pub const DEFAULT_REVIEW_THRESHOLD: f64 = 0.60;
/// Default `model.u_sample_pairs`.
pub const DEFAULT_U_SAMPLE_PAIRS: usize = 1_000_000;
/// Smallest accepted `model.u_sample_pairs`.
pub const MIN_U_SAMPLE_PAIRS: usize = 1000;
/// Default `model.em_max_iterations`.
pub const DEFAULT_EM_MAX_ITERATIONS: usize = 50;
/// Largest accepted `model.em_max_iterations` (EM runs once per blocking rule and once for the
/// prior, so an unbounded cap with a tiny tolerance would never finish).
pub const MAX_EM_ITERATIONS: usize = 1000;
/// Default `model.em_tolerance`.
pub const DEFAULT_EM_TOLERANCE: f64 = 1e-4;
/// Default `model.seed`.
pub const DEFAULT_SEED: u64 = 42;
/// Default `survivorship.default`.
pub const DEFAULT_SURVIVORSHIP_RULE: &str = "most_recent";

/// The whole pipeline file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    /// Pipeline name, used in logs and the run manifest.
    pub name: Spanned<String>,
    /// `[output]`: where run directories go.
    pub output: RawOutput,
    /// `[[sources]]`: the exports to consolidate, in file order (at least one).
    pub sources: Spanned<Vec<RawSource>>,
    /// `[standardize]`: standardisation settings.
    #[serde(default)]
    pub standardize: Option<RawStandardize>,
    /// `[blocking]`: which pairs are compared at all.
    pub blocking: RawBlocking,
    /// `[[comparisons]]`: how each field is compared, in file order (at least one).
    pub comparisons: Spanned<Vec<RawComparison>>,
    /// `[model]`: Fellegi–Sunter settings.
    #[serde(default)]
    pub model: Option<RawModel>,
    /// `[survivorship]`: which value wins in a golden record.
    #[serde(default)]
    pub survivorship: Option<RawSurvivorship>,
    /// Path of a CSV of manual must-link / cannot-link decisions, relative to the pipeline file.
    #[serde(default)]
    pub manual_decisions: Option<Spanned<String>>,
    /// `[report]`: how `report.html` is written.
    #[serde(default)]
    pub report: Option<RawReport>,
    /// `[engine]`: where the run blocks and compares.
    #[serde(default)]
    pub engine: Option<RawEngine>,
}

/// `[engine]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    /// A Ballista scheduler's `df://HOST:PORT`, or `standalone`; absent: in the run's process.
    #[serde(default)]
    pub scheduler: Option<Spanned<String>>,
}

/// `[report]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    /// Write `***` for every customer value in `report.html`; default false.
    #[serde(default)]
    pub redact: Option<bool>,
}

/// `[output]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// Directory under which run directories are created, relative to the pipeline file.
    pub dir: Spanned<String>,
    /// How many completed runs to keep (at least 1); absent keeps all.
    #[serde(default)]
    pub keep_runs: Option<Spanned<i64>>,
    /// Which scored pairs to write: `above_floor` (default) or `all`.
    #[serde(default)]
    pub decisions: Option<Spanned<String>>,
}

/// One `[[sources]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// Unique source name: lowercase letters, digits and `_`.
    pub name: Spanned<String>,
    /// File or glob, relative to the pipeline file.
    pub path: Spanned<String>,
    /// `csv`, `ndjson` or `parquet`; inferred from the extension of `path` when absent.
    #[serde(default)]
    pub format: Option<Spanned<String>>,
    /// SQL expression giving the unique id of a record within this source.
    pub id: Spanned<String>,
    /// SQL expression giving when the record last changed.
    #[serde(default)]
    pub updated_at: Option<Spanned<String>>,
    /// `[sources.fields]`: canonical or custom field → SQL expression, in file order.
    pub fields: Spanned<OrderedTable<Spanned<String>>>,
    /// Share of rows (0 to 1) that may be rejected before the run fails; default 0.01.
    #[serde(default)]
    pub max_reject_ratio: Option<Spanned<f64>>,
    /// CSV delimiter, one ASCII character; default `,` (tab for `.tsv`).
    #[serde(default)]
    pub delimiter: Option<Spanned<String>>,
}

/// `[standardize]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStandardize {
    /// ISO 3166 alpha-2 region (`GB`) for phone numbers written without a country code.
    #[serde(default)]
    pub default_phone_region: Option<Spanned<String>>,
}

/// `[blocking]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlocking {
    /// Rules, each a list of keys such as `email` or `metaphone(first_name)`.
    pub rules: Spanned<Vec<Spanned<Vec<Spanned<String>>>>>,
    /// Blocks with more records than this are skipped with a warning; default 5000.
    #[serde(default)]
    pub max_block_size: Option<Spanned<i64>>,
}

/// One `[[comparisons]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawComparison {
    /// Field compared.
    pub field: Spanned<String>,
    /// Comparison method, one of `Method::NAMES`.
    pub method: Spanned<String>,
    /// Similarity thresholds in (0, 1), best first; default `[0.92, 0.80]` for string methods.
    #[serde(default)]
    pub levels: Option<Spanned<Vec<Spanned<f64>>>>,
}

/// `[model]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Posterior match probability at or above which a pair links; default 0.95.
    #[serde(default)]
    pub match_threshold: Option<Spanned<f64>>,
    /// Posterior probability at or above which a non-linking pair goes to review; default 0.60.
    #[serde(default)]
    pub review_threshold: Option<Spanned<f64>>,
    /// Compared fields whose exact-match weight is adjusted by term frequency.
    #[serde(default)]
    pub term_frequency: Option<Vec<Spanned<String>>>,
    /// Random record pairs sampled to estimate u (at least 1000); default 1 000 000.
    #[serde(default)]
    pub u_sample_pairs: Option<Spanned<i64>>,
    /// EM iteration cap (1 to `MAX_EM_ITERATIONS`); default 50.
    #[serde(default)]
    pub em_max_iterations: Option<Spanned<i64>>,
    /// EM stops when no parameter moves more than this (finite, > 0); default 1e-4.
    #[serde(default)]
    pub em_tolerance: Option<Spanned<f64>>,
    /// Seed for every random choice of a run (≥ 0); default 42.
    #[serde(default)]
    pub seed: Option<Spanned<i64>>,
    /// A trained `model.json` to use instead of training, relative to the pipeline file.
    #[serde(default)]
    pub model_file: Option<Spanned<String>>,
    /// Compared field whose complete disagreement (level "else") blocks an automatic link;
    /// default `first_name` when compared; `""` turns the identity-conflict rule off.
    #[serde(default)]
    pub conflict_field: Option<Spanned<String>>,
    /// Compared fields whose exact agreement overrides a conflict; default `["email"]`.
    #[serde(default)]
    pub conflict_unless_exact: Option<Vec<Spanned<String>>>,
}

/// `[survivorship]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSurvivorship {
    /// Rule for fields without their own, one of `Rule::NAMES`; default `most_recent`.
    #[serde(default)]
    pub default: Option<Spanned<String>>,
    /// Source names, most trusted first (needed by the `source_priority` rule).
    #[serde(default)]
    pub source_priority: Option<Spanned<Vec<Spanned<String>>>>,
    /// `[survivorship.fields]`: field → rule.
    #[serde(default)]
    pub fields: Option<OrderedTable<Spanned<String>>>,
}

/// A TOML table read as `(key, value)` pairs in file order.
///
/// toml's own map is sorted by key; the entries are put back in file order by the position of
/// their keys.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedTable<V>(pub Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedTable<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TableVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for TableVisitor<V> {
            type Value = OrderedTable<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(Spanned<String>, V)> = Vec::new();
                while let Some(entry) = map.next_entry::<Spanned<String>, V>()? {
                    entries.push(entry);
                }
                entries.sort_by_key(|(k, _)| k.span().start);
                Ok(OrderedTable(entries))
            }
        }

        deserializer.deserialize_map(TableVisitor(PhantomData))
    }
}
