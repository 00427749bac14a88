//! The layout of an output directory (DESIGN §3): `runs/<run_id>/` holds one run's tables
//! ([`Table`]), `manifest.json`, `model.json` and a copy of its pipeline file; `runs/.tmp-<run_id>` is a run still writing
//! (or one that died), `runs/<run_id>.failed` a run stopped by bad input; `latest` links to the
//! newest committed run and `.lock` keeps two runs apart.

/// Folder of the run directories, in an output directory.
pub const RUNS: &str = "runs";
/// Link to the newest committed run, in an output directory.
pub const LATEST: &str = "latest";
/// The lock file, in an output directory.
pub const LOCK: &str = ".lock";
/// A run's manifest, in its run directory.
pub const MANIFEST: &str = "manifest.json";
/// A run's model parameters, in its run directory.
pub const MODEL: &str = "model.json";
/// A verbatim copy of the pipeline file a run was given, in its run directory (its SHA-256 is
/// the manifest's `pipeline_hash`), so that the run can be explained without the original.
pub const PIPELINE: &str = "pipeline.toml";
/// A run's self-contained audit report, in its run directory.
pub const REPORT: &str = "report.html";

/// A Parquet table of a run directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `golden.parquet`: one row per entity.
    Golden,
    /// `crosswalk.parquet`: one row per input record.
    Crosswalk,
    /// `lineage.parquet`: where each golden value came from.
    Lineage,
    /// `decisions.parquet`: every scored pair.
    Decisions,
    /// `review.parquet`: the pairs left for review.
    Review,
    /// `rejects.parquet`: rows refused at ingest.
    Rejects,
    /// `changes.parquet`: golden ids that changed since the previous run.
    Changes,
    /// `records.parquet`: one row per input record, what blocking and comparison saw.
    Records,
}

impl Table {
    /// Every table, in the order `golden query` registers them.
    pub const ALL: [Table; 8] = [
        Table::Golden,
        Table::Crosswalk,
        Table::Lineage,
        Table::Decisions,
        Table::Review,
        Table::Rejects,
        Table::Changes,
        Table::Records,
    ];

    /// The table's name (its file name without `.parquet`).
    pub const fn name(self) -> &'static str {
        match self {
            Table::Golden => "golden",
            Table::Crosswalk => "crosswalk",
            Table::Lineage => "lineage",
            Table::Decisions => "decisions",
            Table::Review => "review",
            Table::Rejects => "rejects",
            Table::Changes => "changes",
            Table::Records => "records",
        }
    }

    /// The table's file name in a run directory.
    pub const fn file_name(self) -> &'static str {
        match self {
            Table::Golden => "golden.parquet",
            Table::Crosswalk => "crosswalk.parquet",
            Table::Lineage => "lineage.parquet",
            Table::Decisions => "decisions.parquet",
            Table::Review => "review.parquet",
            Table::Rejects => "rejects.parquet",
            Table::Changes => "changes.parquet",
            Table::Records => "records.parquet",
        }
    }
}

/// Name under `runs/` of run `run_id` while it is written.
pub fn tmp_dir_name(run_id: &str) -> String {
    format!("{TMP_PREFIX}{run_id}")
}

/// Name under `runs/` of run `run_id` when bad input stopped it.
pub fn failed_dir_name(run_id: &str) -> String {
    format!("{run_id}{FAILED_SUFFIX}")
}

/// Name in the output directory of the new `latest` link of run `run_id`, before it is
/// renamed over `latest`.
pub fn latest_tmp_name(run_id: &str) -> String {
    format!("{LATEST_TMP_PREFIX}{run_id}")
}

/// Prefix of a new `latest` link not yet renamed into place (left behind by a dead run).
pub const LATEST_TMP_PREFIX: &str = ".latest-";
/// Prefix of a run directory still being written.
const TMP_PREFIX: &str = ".tmp-";
/// Suffix of a failed run's directory.
const FAILED_SUFFIX: &str = ".failed";

/// A new run id: UTC time to the millisecond, sortable.
pub fn new_run_id() -> String {
    chrono::Utc::now()
        .format("%Y%m%dT%H%M%S%.3fZ")
        .to_string()
        .replace('.', "")
}

/// Where a run directory stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunState {
    /// Renamed into place: every file is complete.
    Committed,
    /// Stopped by bad input; kept as `<run_id>.failed`.
    Failed,
    /// Still writing, or died before committing (`.tmp-<run_id>`).
    Incomplete,
}

impl RunState {
    /// Name as listed.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Committed => "committed",
            RunState::Failed => "failed",
            RunState::Incomplete => "incomplete",
        }
    }
}

/// Whether `id` has the shape of a run id ([`new_run_id`]: `YYYYMMDDTHHMMSSmmmZ`), so
/// that a directory someone else put under `runs/` is never listed or deleted as a run.
fn is_run_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 19
        && b[8] == b'T'
        && b[18] == b'Z'
        && b[..8].iter().chain(&b[9..18]).all(u8::is_ascii_digit)
}

/// Run id and state of a name under `runs/`, if it is a run directory's name.
pub fn parse_name(name: &str) -> Option<(String, RunState)> {
    let (id, state) = if let Some(id) = name.strip_prefix(TMP_PREFIX) {
        (id, RunState::Incomplete)
    } else if let Some(id) = name.strip_suffix(FAILED_SUFFIX) {
        (id, RunState::Failed)
    } else {
        (name, RunState::Committed)
    };
    is_run_id(id).then(|| (id.to_string(), state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_file_names_are_their_names_in_parquet() {
        for t in Table::ALL {
            assert_eq!(t.file_name(), format!("{}.parquet", t.name()));
        }
        let id = "20200101T000000001Z";
        assert_eq!(
            parse_name(&tmp_dir_name(id)),
            Some((id.to_string(), RunState::Incomplete))
        );
        assert_eq!(
            parse_name(&failed_dir_name(id)),
            Some((id.to_string(), RunState::Failed))
        );
    }
}
