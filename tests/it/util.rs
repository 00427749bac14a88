//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::record_batch::RecordBatch;

/// Path of a file under the repository root.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs the `golden` binary with `args`.
pub fn golden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_golden"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the golden binary runs")
}

/// Runs `golden` and asserts success, returning stdout.
pub fn golden_ok(args: &[&str]) -> String {
    let out = golden(args);
    assert!(
        out.status.success(),
        "golden {args:?} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads a Parquet table of a run directory.
pub fn table(run: &Path, name: &str) -> RecordBatch {
    golden::run::read_parquet(&run.join(format!("{name}.parquet"))).expect("table reads")
}

/// Pretty-prints `columns` of `batch`, sorted by the text of each line, for exact comparisons.
pub fn pretty(batch: &RecordBatch, columns: &[&str]) -> Vec<String> {
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| batch.schema().index_of(c).expect("column exists"))
        .collect();
    let projected = batch.project(&idx).expect("projection");
    let text = arrow::util::pretty::pretty_format_batches(&[projected])
        .expect("pretty")
        .to_string();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Header (3 lines) and closing line stay in place; body lines are sorted.
    let mut body: Vec<String> = lines[3..lines.len() - 1].to_vec();
    body.sort();
    let mut out = lines[..3].to_vec();
    out.extend(body);
    out.push(lines[lines.len() - 1].clone());
    out
}

/// String values of a column.
pub fn strings(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let col = batch.column_by_name(column).expect("column exists");
    let col = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8).expect("cast");
    let col = col
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("utf8");
    col.iter().map(|v| v.map(str::to_string)).collect()
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Fixes the model of a generated `pipeline` to `model.json` next to it (`model_file`),
/// adding a `[model]` section when the file has none.
pub fn pin_model(pipeline: &Path) {
    let text = std::fs::read_to_string(pipeline).unwrap();
    let pin = "[model]\nmodel_file = \"model.json\"\n";
    let text = if text.contains("\n[model]\n") {
        text.replace("[model]\n", pin)
    } else {
        format!("{text}\n{pin}")
    };
    std::fs::write(pipeline, text).unwrap();
}
