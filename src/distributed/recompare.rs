//! A finished run's blocking and comparison repeated on a cluster: the pipeline's rules over
//! `records.parquet` (keys by `golden_key`), checked rule by rule against the manifest's counts
//! and pair by pair against `decisions.parquet`; and every written pair joined with both its
//! records, each field's level computed by `golden_level` and checked against the level the
//! run wrote.

use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use super::functions::{Key, Level, key_text};
use super::pairs::thresholds;
use crate::config::{BlockingConfig, ComparisonConfig};
use crate::run::layout::{self, Table};
use crate::schema::match_column;
use crate::{Error, Result};

/// What a recomputation found: pairs read and, per compared field, how many pairs got another
/// level than the run wrote (all zero when the cluster computes what the run computed).
#[derive(Debug, Clone, PartialEq)]
pub struct Recompared {
    /// Pairs in `decisions.parquet`.
    pub pairs: u64,
    /// Each compared field with its count of differing levels, in the pipeline's order.
    pub differing: Vec<(String, u64)>,
    /// Each blocking rule as the cluster found it, beside the run's counts.
    pub rules: Vec<RuleCounts>,
    /// Written pairs (other than manual ones) that the cluster's blocking did not find, or
    /// found under another first rule.
    pub pairs_missed: u64,
}

/// One blocking rule's pairs: counted by the cluster and recorded by the run (`manifest.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCounts {
    /// The rule as written.
    pub rule: String,
    /// Pairs in the rule's kept blocks (cluster, run).
    pub pairs_in_blocks: (u64, u64),
    /// Pairs the rule found first (cluster, run).
    pub candidate_pairs: (u64, u64),
}

impl Recompared {
    /// True when every level, every rule's counts and every written pair equal the run's.
    pub fn equal(&self) -> bool {
        let rules = (self.rules.iter()).all(|r| {
            r.pairs_in_blocks.0 == r.pairs_in_blocks.1 && r.candidate_pairs.0 == r.candidate_pairs.1
        });
        self.differing.iter().all(|(_, n)| *n == 0) && rules && self.pairs_missed == 0
    }
}

/// Repeats the blocking of the run at `run` (a run directory or an output directory's
/// `latest`) and the levels of every pair it wrote, on the cluster of `ctx` (see
/// [`super::session`]). The run's files must be readable at the same path by every executor.
pub async fn recompare(ctx: &SessionContext, run: &Path) -> Result<Recompared> {
    // Absolute: executors in other working directories read the same files.
    let dir = crate::run::resolve_run(run)?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
    let copy = dir.join(layout::PIPELINE);
    let text = std::fs::read_to_string(&copy).map_err(|e| Error::io(&copy, e))?;
    let pipeline = crate::config::load_recorded(&text, &copy)?;
    for table in [Table::Records, Table::Decisions] {
        let path = dir.join(table.file_name());
        if !path.is_file() {
            return Err(Error::Input {
                path,
                message: "missing: recompare reads a complete run's records and decisions \
                          (a failed run, or one written before records.parquet existed, has none)"
                    .into(),
            });
        }
        let url = path
            .to_str()
            .ok_or_else(|| Error::Usage(format!("{}: the path is not UTF-8", path.display())))?;
        ctx.register_parquet(table.name(), url, ParquetReadOptions::default())
            .await?;
    }
    let levels = counts(ctx, &sql(&pipeline.comparisons)).await?;
    let blocking = Blocking::new(&pipeline.blocking);
    let in_blocks = by_rule(ctx, &blocking.pairs_in_blocks()).await?;
    let candidates = by_rule(ctx, &blocking.candidate_pairs()).await?;
    let written = counts(ctx, WRITTEN).await?[0];
    let found: u64 = candidates.values().map(|c| c[1]).sum();
    let manifest = crate::output::manifest::Manifest::read(&dir.join(layout::MANIFEST))?;
    let cluster = |counts: &std::collections::BTreeMap<u64, Vec<u64>>, r: usize| {
        counts.get(&(r as u64)).map_or(0, |c| c[0])
    };
    let rules = (pipeline.blocking.rules.iter().enumerate())
        .map(|(r, rule)| {
            let run = manifest.blocking.get(r);
            RuleCounts {
                rule: rule.text.clone(),
                pairs_in_blocks: (cluster(&in_blocks, r), run.map_or(0, |s| s.pairs_in_blocks)),
                candidate_pairs: (
                    cluster(&candidates, r),
                    run.and_then(|s| s.candidate_pairs).unwrap_or(0),
                ),
            }
        })
        .collect();
    Ok(Recompared {
        pairs: levels[0],
        differing: (pipeline.comparisons.iter().enumerate())
            .map(|(i, c)| (c.field.clone(), levels[i + 1]))
            .collect(),
        rules,
        pairs_missed: written - found.min(written),
    })
}

/// The rows of integers that `query` returns, by their first column (the rule's number).
async fn by_rule(
    ctx: &SessionContext,
    query: &str,
) -> Result<std::collections::BTreeMap<u64, Vec<u64>>> {
    let mut rows = std::collections::BTreeMap::new();
    for batch in ctx.sql(query).await?.collect().await? {
        let column = |c: usize| batch.column(c).as_primitive::<Int64Type>().clone();
        let columns: Vec<_> = (0..batch.num_columns()).map(column).collect();
        for i in 0..batch.num_rows() {
            let values = columns[1..].iter().map(|c| c.value(i) as u64).collect();
            rows.insert(columns[0].value(i) as u64, values);
        }
    }
    Ok(rows)
}

/// The one row of integers that `query` returns, run on the cluster (nulls as 0).
async fn counts(ctx: &SessionContext, query: &str) -> Result<Vec<u64>> {
    let batches = ctx.sql(query).await?.collect().await?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| Error::Internal("recompare: the cluster returned no rows".into()))?;
    Ok((0..batch.num_columns())
        .map(|c| {
            let column = batch.column(c).as_primitive::<Int64Type>();
            if column.is_null(0) {
                0
            } else {
                column.value(0) as u64
            }
        })
        .collect())
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

/// Blocking as SQL over `records`, as the blocking stage does it: each rule a self-join on
/// its keys (computed by `golden_key`) within blocks of at most `max_block_size` records, and
/// each pair taken by the first rule that pairs it (the least rule number among its rules).
struct Blocking<'p> {
    cfg: &'p BlockingConfig,
}

impl<'p> Blocking<'p> {
    fn new(cfg: &'p BlockingConfig) -> Self {
        Blocking { cfg }
    }

    /// Column names of rule `r`'s keys.
    fn keys(&self, r: usize) -> Vec<String> {
        (0..self.cfg.rules[r].keys.len())
            .map(|k| format!("r{r}k{k}"))
            .collect()
    }

    /// `WITH keyed AS (…), kept{r} AS (…), …, pairs AS (…), firsts AS (…)`: each record's source,
    /// id and rule keys; each rule's kept blocks (keys with 2 to `max_block_size` records); every
    /// pair of each rule's kept blocks with the rule's number (the records in text order); and
    /// each pair once with its first rule. Block sizes are grouped and joined, not windowed:
    /// Ballista 55 fails on a window partitioned by two columns.
    fn with(&self) -> String {
        let (mut keys, mut kept, mut pairs) = (vec![], vec![], vec![]);
        for (r, rule) in self.cfg.rules.iter().enumerate() {
            let names = self.keys(r);
            for (k, name) in rule.keys.iter().zip(&names) {
                keys.push(format!(
                    "{}('{}', \"{}\") AS {name}",
                    Key::NAME,
                    key_text(k.transform),
                    match_column(&k.field)
                ));
            }
            let present: Vec<String> = names.iter().map(|n| format!("{n} IS NOT NULL")).collect();
            let list = names.join(", ");
            kept.push(format!(
                "kept{r} AS (SELECT {list} FROM keyed WHERE {} GROUP BY {list} \
                 HAVING COUNT(*) BETWEEN 2 AND {})",
                present.join(" AND "),
                self.cfg.max_block_size
            ));
            let same = |x: &str, y: &str| -> String {
                let eq: Vec<String> = names.iter().map(|n| format!("{x}.{n} = {y}.{n}")).collect();
                eq.join(" AND ")
            };
            pairs.push(format!(
                "SELECT a.source AS ls, a.source_id AS lid, b.source AS rs, b.source_id AS rid, \
                 CAST({r} AS BIGINT) AS rule FROM kept{r} s JOIN keyed a ON {} JOIN keyed b ON {} \
                 WHERE a.source < b.source OR (a.source = b.source AND a.source_id < b.source_id)",
                same("s", "a"),
                same("a", "b")
            ));
        }
        format!(
            "WITH keyed AS (SELECT source, source_id, {} FROM records), {}, pairs AS ({}), \
             firsts AS (SELECT ls, lid, rs, rid, MIN(rule) AS rule FROM pairs \
             GROUP BY ls, lid, rs, rid)",
            keys.join(", "),
            kept.join(", "),
            pairs.join(" UNION ALL ")
        )
    }

    /// Rows (rule, pairs in its kept blocks).
    fn pairs_in_blocks(&self) -> String {
        format!(
            "{} SELECT rule, COUNT(*) FROM pairs GROUP BY rule",
            self.with()
        )
    }

    /// Rows (rule, pairs it found first, of those the pairs the run wrote under that rule).
    fn candidate_pairs(&self) -> String {
        let first = "(d.left_source < d.right_source OR (d.left_source = d.right_source \
                     AND d.left_id < d.right_id))";
        let side = |l: &str, r: &str| format!("CASE WHEN {first} THEN d.{l} ELSE d.{r} END");
        let number: Vec<String> = (self.cfg.rules.iter().enumerate())
            .map(|(r, rule)| format!("WHEN '{}' THEN {r}", rule.text.replace('\'', "''")))
            .collect();
        format!(
            "{}, written AS (SELECT {} AS ls, {} AS lid, {} AS rs, {} AS rid, \
             CASE d.blocking_rule {} END AS rule FROM decisions d) \
             SELECT f.rule, COUNT(*), COUNT(w.rule) FROM firsts f LEFT JOIN written w \
             ON f.ls = w.ls AND f.lid = w.lid AND f.rs = w.rs AND f.rid = w.rid AND f.rule = w.rule \
             GROUP BY f.rule",
            self.with(),
            side("left_source", "right_source"),
            side("left_id", "right_id"),
            side("right_source", "left_source"),
            side("right_id", "left_id"),
            number.join(" "),
        )
    }
}

/// Written pairs other than manual ones.
const WRITTEN: &str = "SELECT COUNT(*) FROM decisions WHERE blocking_rule <> 'manual'";
