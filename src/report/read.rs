//! What the report reads of a run, through the run store: its manifest, model and tables,
//! each column typed and named in errors (file and column, and how to fix it).

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};

use crate::model::ModelParams;
use crate::output::Manifest;
use crate::run::{Table, Text, layout, read_columns};
use crate::{Error, Result};

/// One table of a run, read whole or in part, with its file for error messages.
pub struct TableRead {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its rows.
    pub batch: RecordBatch,
}

impl TableRead {
    /// Reads `columns` (all when `None`) of `table` in run directory `dir`.
    pub fn of(dir: &Path, table: Table, columns: Option<&[&str]>) -> Result<TableRead> {
        Self::file(&dir.join(table.file_name()), columns)
    }

    /// Reads `columns` (all when `None`) of the Parquet file at `path`.
    pub fn file(path: &Path, columns: Option<&[&str]>) -> Result<TableRead> {
        let batch = read_columns(path, columns)?;
        Ok(TableRead {
            path: path.to_path_buf(),
            batch,
        })
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The error for a column that is missing or of the wrong type (`why` names it).
    fn damaged(&self, why: &str) -> Error {
        Error::Input {
            path: self.path.clone(),
            message: format!(
                "{why}; the run is damaged or was written by another golden version (rerun the pipeline)"
            ),
        }
    }

    /// Column `name` as text (dictionary or other types cast), through the run store's helper.
    pub fn strings(&self, name: &str) -> Result<StringArray> {
        crate::run::text(&self.batch, name, Text::Cast).map_err(|why| self.damaged(&why))
    }

    /// Column `name` as `f64` (other numeric types cast); `None` where null.
    pub fn floats(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let col = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| self.damaged(&format!("no column `{name}`")))?;
        let col = cast(col, &DataType::Float64)
            .map_err(|_| self.damaged(&format!("column `{name}` is not numeric")))?;
        Ok(col.as_primitive::<Float64Type>().iter().collect())
    }

    /// Whether the table has a column `name`.
    pub fn has(&self, name: &str) -> bool {
        self.batch.column_by_name(name).is_some()
    }
}

/// The run's manifest.
pub fn manifest(dir: &Path) -> Result<Manifest> {
    Manifest::read(&dir.join(layout::MANIFEST))
}

/// The run's model, `None` when the run has no `model.json` (a failed run).
pub fn model(dir: &Path) -> Result<Option<ModelParams>> {
    let path = dir.join(layout::MODEL);
    if !path.is_file() {
        return Ok(None);
    }
    ModelParams::load(&path).map(Some)
}

/// Text of a column value, `""` where null.
pub fn text(a: &StringArray, i: usize) -> &str {
    if a.is_valid(i) { a.value(i) } else { "" }
}
