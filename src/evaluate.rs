//! Pairwise and cluster precision / recall / F1 of a run against truth.
//!
//! In: a run directory's `crosswalk.parquet` (`source`, `source_id`, `golden_id`) and a truth
//! CSV (`source,source_id,entity_id`, as written by [`crate::generate`]). Out: an
//! [`Evaluation`]. Pair counts come from the contingency table n(golden, entity) over records
//! present in both, so no pair is ever enumerated: a cluster of size n holds C(n, 2) pairs.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::run::{Table, Text, text};
use crate::schema::{GOLDEN_ID, SOURCE, SOURCE_ID};
use crate::{Error, Result};

/// The truth CSV's columns, in order.
const TRUTH_COLUMNS: [&str; 3] = ["source", "source_id", "entity_id"];

/// Pairwise and cluster scores of a run against truth.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Records in the run's crosswalk.
    pub records: usize,
    /// Records in the truth file.
    pub truth_records: usize,
    /// Truth records absent from the crosswalk (rejected or lost by the run).
    pub missing_from_run: usize,
    /// Golden records (distinct golden ids) in the crosswalk.
    pub golden_records: usize,
    /// True entities (distinct entity ids) in the truth file.
    pub true_entities: usize,
    /// Pairs of records, present in both, that truth puts in one entity.
    pub true_pairs: u64,
    /// Pairs of records, present in both, that the run puts in one golden record.
    pub predicted_pairs: u64,
    /// Pairs that are both true and predicted.
    pub true_positive_pairs: u64,
    /// Pairwise precision: true positive / predicted pairs (1 when nothing is predicted).
    pub precision: f64,
    /// Pairwise recall: true positive / true pairs (1 when there are no true pairs).
    pub recall: f64,
    /// Harmonic mean of pairwise precision and recall (0 when both are 0).
    pub f1: f64,
    /// Golden records whose records are exactly those of one true entity.
    pub exact_clusters: usize,
    /// Exact clusters / golden records (1 when there are none).
    pub cluster_precision: f64,
    /// Exact clusters / true entities (1 when there are none).
    pub cluster_recall: f64,
}

/// Below this share of the run's records in the truth file, scores say little (a warning).
pub const MIN_TRUTH_COVERAGE: f64 = 0.9;

impl Evaluation {
    /// Share of the run's records that the truth file labels (1 for an empty run).
    pub fn truth_coverage(&self) -> f64 {
        let labelled = self.truth_records - self.missing_from_run;
        ratio(labelled as f64, self.records as f64)
    }
}

/// Scores the run in `run_dir` against `truth_csv`.
pub fn evaluate(run_dir: &Path, truth_csv: &Path) -> Result<Evaluation> {
    let run = read_crosswalk(&run_dir.join(Table::Crosswalk.file_name()))?;
    let truth = read_truth(truth_csv)?;
    Ok(score(&run, &truth))
}

/// Records labelled with a cluster (golden record or true entity), clusters numbered densely.
#[derive(Debug, Default)]
struct Labels {
    /// (source, source_id) → cluster number.
    cluster_of: HashMap<(String, String), u32>,
    /// Cluster label → cluster number.
    numbers: HashMap<String, u32>,
    /// Records per cluster number.
    sizes: Vec<u64>,
}

impl Labels {
    /// Adds one record; a record listed twice is an input error.
    fn insert(&mut self, path: &Path, source: &str, id: &str, label: &str) -> Result<()> {
        let next = self.sizes.len() as u32;
        let cluster = *self.numbers.entry(label.to_string()).or_insert(next);
        if cluster == next {
            self.sizes.push(0);
        }
        if self
            .cluster_of
            .insert((source.to_string(), id.to_string()), cluster)
            .is_some()
        {
            return Err(input(
                path,
                format!("record `{source}:{id}` is listed more than once"),
            ));
        }
        self.sizes[cluster as usize] += 1;
        Ok(())
    }

    fn records(&self) -> usize {
        self.cluster_of.len()
    }
}

fn input(path: &Path, message: impl Into<String>) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads `source`, `source_id`, `golden_id` of every crosswalk row.
fn read_crosswalk(path: &Path) -> Result<Labels> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let unreadable = |e: parquet::errors::ParquetError| {
        input(
            path,
            format!("not a readable Parquet crosswalk: {e}; is this a run directory?"),
        )
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|builder| builder.build())
        .map_err(unreadable)?;
    let mut labels = Labels::default();
    for batch in reader {
        let batch = batch.map_err(|e| input(path, e.to_string()))?;
        add_batch(&mut labels, path, &batch, [SOURCE, SOURCE_ID, GOLDEN_ID])?;
    }
    Ok(labels)
}

/// Reads every `source,source_id,entity_id` row of the truth CSV.
fn read_truth(path: &Path) -> Result<Labels> {
    // An argument: a missing file, a directory or a device (/dev/zero never ends) is exit 2.
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(Error::Usage(format!(
                "--truth {}: not a regular file; give a CSV of source,source_id,entity_id",
                path.display()
            )));
        }
        Err(e) => {
            return Err(Error::Usage(format!(
                "--truth {}: {e}; give an existing CSV of source,source_id,entity_id",
                path.display()
            )));
        }
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let fields: Vec<Field> = TRUTH_COLUMNS
        .iter()
        .map(|c| Field::new(*c, DataType::Utf8, true))
        .collect();
    let bad = |e: arrow::error::ArrowError| {
        input(
            path,
            format!(
                "{e}; expected a CSV with the header `{}`",
                TRUTH_COLUMNS.join(",")
            ),
        )
    };
    let reader = arrow::csv::ReaderBuilder::new(Arc::new(Schema::new(fields)))
        .with_header(true)
        .with_header_validation(true)
        .build(file)
        .map_err(bad)?;
    let mut labels = Labels::default();
    for batch in reader {
        add_batch(&mut labels, path, &batch.map_err(bad)?, TRUTH_COLUMNS)?;
    }
    Ok(labels)
}

/// Adds each row of `batch` to `labels`; `columns` names the source, id and label columns.
fn add_batch(
    labels: &mut Labels,
    path: &Path,
    batch: &RecordBatch,
    columns: [&str; 3],
) -> Result<()> {
    let [source, id, label] = columns.map(|c| text(batch, c, Text::Cast));
    let bad = |what: String| input(path, what);
    let (source, id, label) = (source.map_err(bad)?, id.map_err(bad)?, label.map_err(bad)?);
    for row in 0..batch.num_rows() {
        if source.is_null(row) || id.is_null(row) || label.is_null(row) {
            return Err(input(
                path,
                format!(
                    "row {}: `{}` must not be empty",
                    row + 1,
                    columns.join("`, `")
                ),
            ));
        }
        labels.insert(path, source.value(row), id.value(row), label.value(row))?;
    }
    Ok(())
}

/// Pairs among `n` records.
fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// `num / den`, or 1 when `den` is 0.
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 1.0 } else { num / den }
}

fn score(run: &Labels, truth: &Labels) -> Evaluation {
    let mut contingency: HashMap<(u32, u32), u64> = HashMap::new();
    let mut golden_joined = vec![0u64; run.sizes.len()];
    let mut entity_joined = vec![0u64; truth.sizes.len()];
    let mut missing_from_run = 0;
    for (record, &entity) in &truth.cluster_of {
        match run.cluster_of.get(record) {
            Some(&golden) => {
                *contingency.entry((golden, entity)).or_default() += 1;
                golden_joined[golden as usize] += 1;
                entity_joined[entity as usize] += 1;
            }
            None => missing_from_run += 1,
        }
    }
    let true_positive_pairs = contingency.values().map(|&n| pairs(n)).sum();
    let predicted_pairs = golden_joined.iter().map(|&n| pairs(n)).sum();
    let true_pairs = entity_joined.iter().map(|&n| pairs(n)).sum();
    let exact_clusters = contingency
        .iter()
        .filter(|&(&(g, e), &n)| n == run.sizes[g as usize] && n == truth.sizes[e as usize])
        .count();
    let precision = ratio(true_positive_pairs as f64, predicted_pairs as f64);
    let recall = ratio(true_positive_pairs as f64, true_pairs as f64);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Evaluation {
        records: run.records(),
        truth_records: truth.records(),
        missing_from_run,
        golden_records: run.sizes.len(),
        true_entities: truth.sizes.len(),
        true_pairs,
        predicted_pairs,
        true_positive_pairs,
        precision,
        recall,
        f1,
        exact_clusters,
        cluster_precision: ratio(exact_clusters as f64, run.sizes.len() as f64),
        cluster_recall: ratio(exact_clusters as f64, truth.sizes.len() as f64),
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "records   {} in the run, {} in truth, {} of them missing from the run",
            self.records, self.truth_records, self.missing_from_run
        )?;
        writeln!(
            f,
            "clusters  {} golden records, {} true entities, {} identical",
            self.golden_records, self.true_entities, self.exact_clusters
        )?;
        writeln!(
            f,
            "pairwise  precision {:.4}  recall {:.4}  F1 {:.4}  ({} true positive of {} predicted, {} true pairs)",
            self.precision,
            self.recall,
            self.f1,
            self.true_positive_pairs,
            self.predicted_pairs,
            self.true_pairs
        )?;
        write!(
            f,
            "cluster   precision {:.4}  recall {:.4}",
            self.cluster_precision, self.cluster_recall
        )
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use arrow::array::{ArrayRef, DictionaryArray, Float64Array, StringArray};
    use arrow::datatypes::Int32Type;
    use parquet::arrow::ArrowWriter;

    use super::*;

    /// A run directory whose crosswalk holds `(source, source_id, golden_id)` rows, plus a
    /// truth CSV of `(source, source_id, entity_id)` rows.
    fn fixture(
        crosswalk: &[(&str, &str, &str)],
        truth: &[(&str, &str, &str)],
        dictionary_source: bool,
    ) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let column =
            |i: usize| -> Vec<&str> { crosswalk.iter().map(|r| [r.0, r.1, r.2][i]).collect() };
        let source: ArrayRef = if dictionary_source {
            Arc::new(
                column(0)
                    .into_iter()
                    .collect::<DictionaryArray<Int32Type>>(),
            )
        } else {
            Arc::new(StringArray::from(column(0)))
        };
        let probability = Float64Array::from(vec![1.0; crosswalk.len()]);
        let batch = RecordBatch::try_from_iter([
            ("source", source),
            (
                "source_id",
                Arc::new(StringArray::from(column(1))) as ArrayRef,
            ),
            (
                "golden_id",
                Arc::new(StringArray::from(column(2))) as ArrayRef,
            ),
            ("match_probability", Arc::new(probability) as ArrayRef),
        ])
        .unwrap();
        let file = File::create(dir.path().join("crosswalk.parquet")).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let mut csv = String::from("source,source_id,entity_id\n");
        for (s, id, e) in truth {
            csv.push_str(&format!("{s},{id},{e}\n"));
        }
        let truth_path = dir.path().join("truth.csv");
        std::fs::write(&truth_path, csv).unwrap();
        (dir, truth_path)
    }

    const TRUTH: &[(&str, &str, &str)] = &[
        ("crm", "a1", "E1"),
        ("crm", "a2", "E1"),
        ("billing", "a3", "E1"),
        ("support", "b1", "E2"),
    ];

    #[test]
    fn evaluate_counts_pairs_from_cluster_sizes() {
        let run = [
            ("crm", "a1", "G1"),
            ("crm", "a2", "G1"),
            ("billing", "a3", "G2"),
            ("support", "b1", "G2"),
        ];
        let (dir, truth) = fixture(&run, TRUTH, false);
        let e = evaluate(dir.path(), &truth).unwrap();
        assert_eq!(
            (e.true_positive_pairs, e.predicted_pairs, e.true_pairs),
            (1, 2, 3)
        );
        assert_eq!(e.precision, 0.5);
        assert!((e.recall - 1.0 / 3.0).abs() < 1e-12);
        assert!((e.f1 - 0.4).abs() < 1e-12);
        assert_eq!((e.records, e.truth_records, e.missing_from_run), (4, 4, 0));
        assert_eq!(
            (e.golden_records, e.true_entities, e.exact_clusters),
            (2, 2, 0)
        );
        assert_eq!((e.cluster_precision, e.cluster_recall), (0.0, 0.0));
    }

    #[test]
    fn evaluate_perfect_prediction_scores_one_with_dictionary_sources() {
        let run = [
            ("crm", "a1", "G1"),
            ("crm", "a2", "G1"),
            ("billing", "a3", "G1"),
            ("support", "b1", "G2"),
        ];
        let (dir, truth) = fixture(&run, TRUTH, true);
        let e = evaluate(dir.path(), &truth).unwrap();
        assert_eq!((e.precision, e.recall, e.f1), (1.0, 1.0, 1.0));
        assert_eq!(
            (e.exact_clusters, e.cluster_precision, e.cluster_recall),
            (2, 1.0, 1.0)
        );
        let report = e.to_string();
        assert!(
            report.contains("precision 1.0000  recall 1.0000  F1 1.0000"),
            "{report}"
        );
    }

    #[test]
    fn evaluate_missing_records_and_no_predicted_pairs_give_no_nan() {
        // a3 is missing from the run; nothing is linked.
        let run = [
            ("crm", "a1", "G1"),
            ("crm", "a2", "G2"),
            ("support", "b1", "G3"),
        ];
        let (dir, truth) = fixture(&run, TRUTH, false);
        let e = evaluate(dir.path(), &truth).unwrap();
        assert_eq!(e.missing_from_run, 1);
        assert_eq!(
            (e.true_positive_pairs, e.predicted_pairs, e.true_pairs),
            (0, 0, 1)
        );
        assert_eq!((e.precision, e.recall, e.f1), (1.0, 0.0, 0.0));
        // Only {b1} is identical to a true entity: E1 lost a3 and is split.
        assert_eq!(e.exact_clusters, 1);
        assert!((e.cluster_precision - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(e.cluster_recall, 0.5);
    }

    #[test]
    fn evaluate_empty_run_and_truth_scores_one() {
        let (dir, truth) = fixture(&[], &[], false);
        let e = evaluate(dir.path(), &truth).unwrap();
        assert_eq!(
            (e.precision, e.recall, e.f1, e.cluster_precision),
            (1.0, 1.0, 1.0, 1.0)
        );
    }

    #[test]
    fn evaluate_generated_truth_as_the_run_is_perfect() {
        let dir = tempfile::tempdir().unwrap();
        let opts = crate::generate::GenerateOptions {
            entities: 200,
            seed: 5,
            out: dir.path().to_path_buf(),
            broken_rows: false,
            household_share: None,
        };
        crate::generate::generate(&opts).unwrap();
        let text = std::fs::read_to_string(dir.path().join("truth.csv")).unwrap();
        let rows: Vec<(&str, &str, &str)> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut f = l.split(',');
                Some((f.next()?, f.next()?, f.next()?))
            })
            .collect();
        let (run, _) = fixture(&rows, &[], true);
        let e = evaluate(run.path(), &dir.path().join("truth.csv")).unwrap();
        assert_eq!(
            (e.records, e.truth_records, e.missing_from_run),
            (rows.len(), rows.len(), 0)
        );
        assert_eq!((e.true_entities, e.exact_clusters), (200, 200));
        assert!(e.true_pairs > 0);
        assert_eq!((e.precision, e.recall, e.f1), (1.0, 1.0, 1.0));
    }

    #[test]
    fn evaluate_rejects_bad_inputs() {
        let run = [("crm", "a1", "G1")];
        let (dir, truth) = fixture(&run, &[("crm", "a1", "E1"), ("crm", "a1", "E2")], false);
        let err = evaluate(dir.path(), &truth).unwrap_err();
        assert!(
            err.to_string()
                .contains("record `crm:a1` is listed more than once"),
            "{err}"
        );
        assert_eq!(err.exit_code(), 3);

        std::fs::write(&truth, "src,id,entity\ncrm,a1,E1\n").unwrap();
        let err = evaluate(dir.path(), &truth).unwrap_err();
        assert!(
            err.to_string().contains("source,source_id,entity_id"),
            "{err}"
        );

        let empty = tempfile::tempdir().unwrap();
        let err = evaluate(empty.path(), &truth).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
}
