//! Stage "plan": the pipeline file (TOML, DESIGN §2) → a validated [`Pipeline`].
//!
//! `raw` mirrors the file 1:1 (serde, unknown keys rejected, spans kept); `validate` turns it
//! into typed values and collects every problem; `diagnostics` renders each problem as
//! `file:line:col: key: message`.

/// Defines a fieldless enum whose variants each have one name in pipeline files, written once
/// (`Variant => "name"`); `NAMES`, `parse` and `as_str` are derived from that one list.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every name accepted in pipeline files, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// Parses a name as written in pipeline files.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The name used in pipeline files (and in lineage).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }
    };
}

pub mod diagnostics;
pub mod raw;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use diagnostics::{ConfigError, ConfigErrors};

/// A validated pipeline: what every stage receives.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Pipeline name.
    pub name: String,
    /// The pipeline file itself.
    pub path: PathBuf,
    /// Directory of the pipeline file; relative paths are resolved against it.
    pub base_dir: PathBuf,
    /// Hex SHA-256 of the pipeline file's bytes.
    pub hash: String,
    /// The pipeline file's text as read (its SHA-256 is `hash`), copied into every run.
    pub text: String,
    /// Where run directories are written.
    pub output: OutputConfig,
    /// The exports to consolidate, in file order.
    pub sources: Vec<SourceConfig>,
    /// Standardisation settings.
    pub standardize: StandardizeConfig,
    /// Blocking rules and caps.
    pub blocking: BlockingConfig,
    /// Field comparisons, in file order.
    pub comparisons: Vec<ComparisonConfig>,
    /// Fellegi–Sunter model settings.
    pub model: ModelConfig,
    /// Survivorship rules.
    pub survivorship: SurvivorshipConfig,
    /// Manual must-link / cannot-link decisions CSV, if any.
    pub manual_decisions: Option<PathBuf>,
    /// How `report.html` is written.
    pub report: ReportConfig,
    /// `[engine] scheduler`: block and compare on this Ballista cluster (`df://HOST:PORT` or
    /// `standalone`) unless `golden run --scheduler` says otherwise.
    pub scheduler: Option<String>,
}

/// `[report]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportConfig {
    /// Write `***` for every customer value.
    pub redact: bool,
}

impl Pipeline {
    /// The pipeline file, its input files and its output directory: what a file written on
    /// the user's behalf (`--out`) must never replace.
    pub fn own_paths(&self) -> Vec<PathBuf> {
        let inputs = self.sources.iter().flat_map(|s| s.files.iter().cloned());
        let mut paths: Vec<PathBuf> = inputs.collect();
        paths.push(self.path.clone());
        paths.push(self.output.dir.clone());
        paths
    }

    /// Every canonical or custom field mapped by at least one source, in first-seen order,
    /// with `full_name` implying `first_name` and `last_name`.
    pub fn fields(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |f: &str| {
            if !out.iter().any(|o| o == f) {
                out.push(f.to_string());
            }
        };
        for s in &self.sources {
            for (f, _) in &s.fields {
                if f == "full_name" {
                    push("first_name");
                    push("last_name");
                }
                push(f);
            }
        }
        out
    }
}

/// `[output]`.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    /// Directory under which `runs/<run_id>` and `latest` are created (resolved).
    pub dir: PathBuf,
    /// How many completed runs to keep (older ones are deleted); `None` keeps all.
    pub keep_runs: Option<usize>,
    /// Which scored pairs `decisions.parquet` holds.
    pub decisions: Decisions,
}

named_enum! {
    /// `[output] decisions`: which scored pairs a run writes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Decisions {
        /// Matches, the review band, near misses and manual pairs: every pair whose posterior
        /// is at or above the decisions floor (the default).
        #[default]
        AboveFloor => "above_floor",
        /// Every candidate pair, clear non-matches included.
        All => "all",
    }
}

impl Decisions {
    /// The posterior below which pairs are not written: `floor`, or 0 for every pair.
    pub fn floor(self, floor: f64) -> f64 {
        match self {
            Decisions::AboveFloor => floor,
            Decisions::All => 0.0,
        }
    }

    /// What a run's manifest records of this setting.
    pub fn describe(self, floor: f64) -> DecisionsKept {
        DecisionsKept {
            kept: self.as_str().to_string(),
            floor: self.floor(floor),
        }
    }
}

/// Which decisions a run wrote (the manifest's `decisions`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecisionsKept {
    /// `above_floor` or `all` ([`Decisions`]).
    pub kept: String,
    /// Posterior below which candidate pairs were counted but not written (0: none).
    pub floor: f64,
}

named_enum! {
    /// File format of a source.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Format {
        /// Comma-separated values with a header row.
        Csv => "csv",
        /// One JSON object per line.
        Ndjson => "ndjson",
        /// Apache Parquet.
        Parquet => "parquet",
    }
}

/// One `[[sources]]` entry.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Source name, unique within the pipeline.
    pub name: String,
    /// The `path` as written (file or glob, relative to the pipeline file).
    pub pattern: String,
    /// Files the pattern matched, sorted.
    pub files: Vec<PathBuf>,
    /// File format.
    pub format: Format,
    /// SQL expression giving the record id within the source.
    pub id: String,
    /// SQL expression giving when the record last changed, if any.
    pub updated_at: Option<String>,
    /// Canonical field → SQL expression over the source's columns, in file order.
    pub fields: Vec<(String, String)>,
    /// Share of rejected rows above which the run fails with exit code 3.
    pub max_reject_ratio: f64,
    /// CSV field delimiter.
    pub delimiter: u8,
    /// 1-based (line, column) in the pipeline file of each key of this source (`id`,
    /// `path`, `fields.email`, …), for error messages found after loading.
    pub positions: BTreeMap<String, (usize, usize)>,
}

/// `[standardize]`.
#[derive(Debug, Clone)]
pub struct StandardizeConfig {
    /// ISO 3166 alpha-2 region used to parse phones without a country code.
    pub default_phone_region: Option<String>,
}

/// A transform applied to a field to make a blocking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTransform {
    /// The field's match value itself.
    Identity,
    /// Double Metaphone primary code.
    Metaphone,
    /// American Soundex.
    Soundex,
    /// NYSIIS code.
    Nysiis,
    /// The first `n` characters.
    Prefix(usize),
    /// The birth year (first four characters of an ISO date).
    Year,
}

/// One key of a blocking rule, such as `metaphone(first_name)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockKey {
    /// Field the key is computed from.
    pub field: String,
    /// Transform applied to the field's match value.
    pub transform: KeyTransform,
}

/// One blocking rule: a pair is a candidate when it agrees on every key.
#[derive(Debug, Clone)]
pub struct BlockingRule {
    /// The keys, all of which must agree.
    pub keys: Vec<BlockKey>,
    /// The rule as written, for the audit trail (`last_name & birth_date`).
    pub text: String,
}

/// `[blocking]`.
#[derive(Debug, Clone)]
pub struct BlockingConfig {
    /// Rules, OR-ed, first rule wins.
    pub rules: Vec<BlockingRule>,
    /// Blocks with more records than this are skipped with a warning.
    pub max_block_size: usize,
}

named_enum! {
    /// Comparison method of a field.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Method {
        /// Equal match values or not.
        Exact => "exact",
        /// Jaro–Winkler similarity.
        JaroWinkler => "jaro_winkler",
        /// Jaro similarity.
        Jaro => "jaro",
        /// Normalised Levenshtein similarity.
        Levenshtein => "levenshtein",
        /// Normalised Damerau–Levenshtein similarity.
        DamerauLevenshtein => "damerau_levenshtein",
        /// Dates: exact, day/month swapped, one-character typo, else.
        Date => "date",
    }
}

/// One `[[comparisons]]` entry.
#[derive(Debug, Clone)]
pub struct ComparisonConfig {
    /// Field compared.
    pub field: String,
    /// Method.
    pub method: Method,
    /// Similarity thresholds, best first, each in (0, 1).
    pub levels: Vec<f64>,
}

impl ComparisonConfig {
    /// Number of non-null levels: else (0), one per threshold, exact (top).
    pub fn level_count(&self) -> usize {
        match self.method {
            Method::Exact => 2,
            Method::Date => 4,
            _ => self.levels.len() + 2,
        }
    }
}

/// `[model]`.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Posterior probability at or above which a pair links (None: chosen by the model).
    pub match_threshold: Option<f64>,
    /// Posterior probability at or above which a non-linking pair goes to review (None:
    /// chosen by the model).
    pub review_threshold: Option<f64>,
    /// Fields whose exact-match weight is adjusted by term frequency.
    pub term_frequency: Vec<String>,
    /// Random record pairs sampled to estimate u.
    pub u_sample_pairs: usize,
    /// EM iteration cap.
    pub em_max_iterations: usize,
    /// EM stops when no parameter moves more than this.
    pub em_tolerance: f64,
    /// Seed for every random choice of the run.
    pub seed: u64,
    /// A trained model.json to use instead of training.
    pub model_file: Option<PathBuf>,
    /// Compared field whose "else" level is an identity conflict (never an automatic link).
    pub conflict_field: Option<String>,
    /// Compared fields whose exact agreement overrides a conflict.
    pub conflict_unless_exact: Vec<String>,
}

named_enum! {
    /// Survivorship rule for a field.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Rule {
        /// Value of the most recently updated record.
        MostRecent => "most_recent",
        /// Value held by most records (ties: most recent).
        MostFrequent => "most_frequent",
        /// Value from the first source in `source_priority` that has one.
        SourcePriority => "source_priority",
        /// Longest value (ties: most recent).
        Longest => "longest",
        /// First non-null value in source order, then row order.
        FirstNonNull => "first_non_null",
    }
}

/// `[survivorship]`.
#[derive(Debug, Clone)]
pub struct SurvivorshipConfig {
    /// Rule for fields without their own.
    pub default: Rule,
    /// Source names, most trusted first.
    pub source_priority: Vec<String>,
    /// Per-field rules.
    pub fields: BTreeMap<String, Rule>,
}

impl SurvivorshipConfig {
    /// The rule for `field`.
    pub fn rule_for(&self, field: &str) -> Rule {
        self.fields.get(field).copied().unwrap_or(self.default)
    }
}

/// Why `url` names no Ballista scheduler: it must be `standalone` (a scheduler and an executor
/// in this process) or `df://HOST:PORT`.
pub fn check_scheduler(url: &str) -> Result<(), String> {
    if url == "standalone" {
        return Ok(());
    }
    match url.strip_prefix("df://").and_then(host_port) {
        Some(_) => Ok(()),
        None => Err(format!(
            "`{url}` is not a scheduler: write df://HOST:PORT (e.g. df://localhost:50050) \
             or standalone"
        )),
    }
}

/// `HOST:PORT` as host and port; `None` without a colon, with an empty host or a port that is
/// not a number from 0 to 65535.
pub fn host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let port = port.parse().ok()?;
    (!host.is_empty()).then_some((host, port))
}

/// Loads and validates a pipeline file; every problem found is returned together.
pub fn load(path: &Path) -> Result<Pipeline, ConfigErrors> {
    validate::load(path)
}

/// Validates pipeline `text` as if read from `path` (used in messages and as the base for
/// relative paths); every problem found is returned together.
pub fn load_str(text: &str, path: &Path) -> Result<Pipeline, ConfigErrors> {
    validate::load_str(text, path)
}

/// Validates the text of a finished run's pipeline (its `pipeline.toml`) as if read from
/// `path`, the pipeline file the run was given, without looking for the files it names: its
/// sources, model and manual decisions may be gone since (a source then has no files).
pub fn load_recorded(text: &str, path: &Path) -> Result<Pipeline, ConfigErrors> {
    validate::load_recorded(text, path)
}
