//! A finished run's comparison levels recomputed on a cluster: every pair of
//! `decisions.parquet` joined with both its records in `records.parquet`, each field's level
//! computed by `golden_level` on the executors and checked against the level the run wrote.

use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use super::functions::Level;
use crate::config::{ComparisonConfig, Method};
use crate::run::layout::{self, Table};
use crate::{Error, Result};

/// What a recomputation found: pairs read and, per compared field, how many pairs got another
/// level than the run wrote (all zero when the cluster computes what the run computed).
#[derive(Debug, Clone, PartialEq)]
pub struct Recompared {
    /// Pairs in `decisions.parquet`.
    pub pairs: u64,
    /// Each compared field with its count of differing levels, in the pipeline's order.
    pub differing: Vec<(String, u64)>,
}

impl Recompared {
    /// True when every level equals the run's.
    pub fn equal(&self) -> bool {
        self.differing.iter().all(|(_, n)| *n == 0)
    }
}

/// Recomputes the levels of every pair the run at `run` (a run directory or an output
/// directory's `latest`) wrote, on the cluster of `ctx` (see [`super::session`]). The run's
/// files must be readable at the same path by every executor.
pub async fn recompare(ctx: &SessionContext, run: &Path) -> Result<Recompared> {
    let dir = crate::run::resolve_run(run)?;
    let copy = dir.join(layout::PIPELINE);
    let text = std::fs::read_to_string(&copy).map_err(|e| Error::io(&copy, e))?;
    let pipeline = crate::config::load_recorded(&text, &copy)?;
    for table in [Table::Records, Table::Decisions] {
        let path = dir.join(table.file_name());
        let url = path
            .to_str()
            .ok_or_else(|| Error::Usage(format!("{}: the path is not UTF-8", path.display())))?;
        ctx.register_parquet(table.name(), url, ParquetReadOptions::default())
            .await?;
    }
    let batches = ctx
        .sql(&sql(&pipeline.comparisons))
        .await?
        .collect()
        .await?;
    let batch = batches
        .first()
        .ok_or_else(|| Error::Internal("recompare: the cluster returned no rows".into()))?;
    let count = |c: usize| -> u64 {
        let column = batch.column(c).as_primitive::<Int64Type>();
        if column.is_null(0) {
            0
        } else {
            column.value(0) as u64
        }
    };
    Ok(Recompared {
        pairs: count(0),
        differing: (pipeline.comparisons.iter().enumerate())
            .map(|(i, c)| (c.field.clone(), count(i + 1)))
            .collect(),
    })
}

/// The query: the number of pairs, then for each comparison the number of pairs whose level
/// recomputed from both records' match values differs from the written one.
fn sql(comparisons: &[ComparisonConfig]) -> String {
    let differing: Vec<String> = comparisons
        .iter()
        .map(|c| {
            let f = &c.field;
            format!(
                "SUM(CASE WHEN {}('{}', '{}', l.\"{f}__match\", r.\"{f}__match\") = d.\"{f}_level\" \
                 THEN 0 ELSE 1 END)",
                Level::NAME,
                c.method.as_str(),
                thresholds(c),
            )
        })
        .collect();
    format!(
        "SELECT COUNT(*), {} FROM decisions d \
         JOIN records l ON l.source = d.left_source AND l.source_id = d.left_id \
         JOIN records r ON r.source = d.right_source AND r.source_id = d.right_id",
        differing.join(", ")
    )
}

/// A comparison's thresholds as `golden_level` takes them.
fn thresholds(c: &ComparisonConfig) -> String {
    match c.method {
        Method::Exact | Method::Date => String::new(),
        _ => (c.levels.iter().map(f64::to_string))
            .collect::<Vec<_>>()
            .join(","),
    }
}
