//! A run's blocking and comparison on a cluster (`golden run --scheduler`): the standardized
//! records are staged as Parquet where every executor reads them; each blocking rule is a
//! self-join on its `golden_key` keys within blocks of 2 to `max_block_size` records; each pair
//! is taken once, under its first rule, and gets its comparison vector from `golden_level`,
//! packed into one integer as the local tally packs it. The driver gets back counts (each
//! rule's blocks, every vector's pairs per rule) and, once the model is trained, only the pairs
//! it may keep, in the local run's order.

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::Int64Type;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use super::functions::{Key, Level, Sampled, key_text};
use crate::block::RuleStats;
use crate::cluster::ManualDecisions;
use crate::compare::Compared;
use crate::config::{Method, Pipeline};
use crate::model::score::Scorer;
use crate::model::select::{self, Selected};
use crate::model::{em, tally};
use crate::schema::match_column;
use crate::{Error, Result};

/// The staged records' table name on the cluster, and its record-index column.
const STAGED: &str = "staged";
/// The record index column (the row of the driver's records).
const REC: &str = "rec";
/// The compared pairs' table on the cluster, written once beside the staged records, so that
/// the counts and the pairs fetched after training do not block and compare twice.
const COMPARED: &str = "compared_pairs";
/// 2^32: a pair's first rule and its block's first record travel as one number.
const SHIFT: u64 = 1 << 32;

/// A run's candidate pairs on the cluster: the counts the run needs before training, and the
/// query that fetches the pairs it keeps once the model is trained.
pub struct ClusterPairs {
    ctx: SessionContext,
    sql: Sql,
    staged: PathBuf,
    /// Each rule's blocks and pairs, as the blocking stage counts them.
    pub stats: Vec<RuleStats>,
    /// Every candidate pair counted by first rule and packed vector: (rule, vector, pairs).
    pub counted: Vec<(u8, u64, u64)>,
}

/// Stages `records` under `staging` (a directory every executor reads at the same path) and
/// blocks and compares them on the cluster of `ctx`: the pairs, and the counts training needs.
pub async fn compare(
    ctx: SessionContext,
    p: &Pipeline,
    records: &RecordBatch,
    staging: &Path,
) -> Result<(ClusterPairs, tally::Tally)> {
    if p.comparisons.len() > 15 {
        return Err(Error::Usage(format!(
            "a run on a cluster compares at most 15 fields (packed in 64 bits); this pipeline has {}",
            p.comparisons.len()
        )));
    }
    let staged = stage(p, records, staging)?;
    let url = staged
        .to_str()
        .ok_or_else(|| Error::Usage(format!("{}: the path is not UTF-8", staged.display())))?;
    ctx.register_parquet(STAGED, url, ParquetReadOptions::default())
        .await?;
    let sql = Sql { p: p.clone() };
    let stats = rule_stats(&ctx, &sql).await?;
    // Written by the executors, one file per partition, in the staging directory.
    let dir = format!(
        "{}/compared/",
        url.rsplit_once('/').map_or(".", |(parent, _)| parent)
    );
    let options = DataFrameWriteOptions::new();
    (ctx.sql(&sql.compared_pairs()).await?)
        .write_parquet(&dir, options, None)
        .await?;
    ctx.register_parquet(COMPARED, &dir, ParquetReadOptions::default())
        .await?;
    let totals: Vec<u64> = stats.iter().map(|s| s.pairs_in_blocks).collect();
    let rows = int_rows(&ctx, &sql.tally(&tally::keep_below(&totals))).await?;
    let rows: Vec<(u8, u64, u64, u64)> = (rows.iter())
        .map(|r| (r[0] as u8, r[1] as u64, r[2] as u64, r[3] as u64))
        .collect();
    let mut counted = std::collections::BTreeMap::<(u8, u64), u64>::new();
    for &(rule, _, code, n) in &rows {
        *counted.entry((rule, code)).or_default() += n;
    }
    let pairs = ClusterPairs {
        ctx,
        sql,
        staged,
        stats,
        counted: counted.into_iter().map(|((r, c), n)| (r, c, n)).collect(),
    };
    Ok((pairs, tally::from_counted(p, rows)))
}

impl ClusterPairs {
    /// The candidate pairs whose packed vector is in `vectors` (every pair with `None`) or
    /// that `manual` lists, with their first rule and levels, in the order a local run
    /// enumerates them: by first rule, block (its first record), then record indices.
    pub async fn fetch(&self, vectors: Option<&[u64]>, manual: &[(u32, u32)]) -> Result<Compared> {
        let rows = int_rows(&self.ctx, &self.sql.fetch(vectors, manual)).await?;
        let mut rows: Vec<[i64; 4]> = rows.into_iter().map(|r| [r[0], r[1], r[2], r[3]]).collect();
        rows.sort_unstable();
        let k = self.sql.p.comparisons.len();
        let mut pairs = Compared::with_comparisons(k);
        let mut levels = Vec::with_capacity(k);
        for [at, a, b, code] in rows {
            levels.clear();
            em::unpack(code as u64, k, &mut levels);
            pairs.push(a as u32, b as u32, (at as u64 / SHIFT) as u8, &levels);
        }
        Ok(pairs)
    }

    /// [`crate::model::select::select`] for these pairs: fetches from the cluster the pairs
    /// `scorer` may keep (with the `manual` ones) and counts the rest from [`Self::counted`];
    /// the staged records are removed once the pairs are here.
    pub fn select(
        &self,
        scorer: &Scorer,
        p: &Pipeline,
        floor: f64,
        manual: &ManualDecisions,
    ) -> Result<Selected> {
        let codes: Vec<u64> = self.counted.iter().map(|&(_, code, _)| code).collect();
        let k = p.comparisons.len();
        let vectors = select::fetched_vectors(scorer, &codes, k, floor);
        let mut listed: Vec<(u32, u32)> = manual.pairs.keys().copied().collect();
        listed.sort_unstable();
        let fetch = self.fetch(vectors.as_deref(), &listed);
        let fetched =
            tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(fetch))?;
        self.remove_staged()?;
        let is_manual = |a, b| manual.pairs.contains_key(&(a, b));
        let rules = p.blocking.rules.len();
        Ok(select::select_fetched(
            scorer,
            rules,
            &self.counted,
            &fetched,
            floor,
            is_manual,
        ))
    }

    /// Removes the staged records and their directory.
    pub fn remove_staged(&self) -> Result<()> {
        let Some(dir) = self.staged.parent() else {
            return Ok(());
        };
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(dir, e)),
            _ => Ok(()),
        }
    }
}

/// Writes the record index and the match columns that blocking and comparison read into
/// `staged.parquet` under `staging`; its absolute path.
fn stage(p: &Pipeline, records: &RecordBatch, staging: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(staging).map_err(|e| Error::io(staging, e))?;
    let dir = std::fs::canonicalize(staging).map_err(|e| Error::io(staging, e))?;
    let mut names: Vec<String> = (p.blocking.rules.iter())
        .flat_map(|r| r.keys.iter().map(|k| match_column(&k.field)))
        .chain(p.comparisons.iter().map(|c| match_column(&c.field)))
        .collect();
    names.sort();
    names.dedup();
    let rows = records.num_rows() as i64;
    let mut fields = vec![arrow::datatypes::Field::new(
        REC,
        arrow::datatypes::DataType::Int64,
        false,
    )];
    let mut columns: Vec<arrow::array::ArrayRef> =
        vec![std::sync::Arc::new(Int64Array::from_iter_values(0..rows))];
    for name in &names {
        let column = crate::run::text(records, name, crate::run::Text::Cast);
        fields.push(arrow::datatypes::Field::new(
            name,
            arrow::datatypes::DataType::Utf8,
            true,
        ));
        columns.push(std::sync::Arc::new(column.map_err(Error::Internal)?));
    }
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
    let path = dir.join("staged.parquet");
    let mut w = crate::run::TableWriter::new(&path).text_statistics(&[]);
    w.write(RecordBatch::try_new(schema, columns)?)?;
    w.finish()?;
    Ok(path)
}

/// Each rule's counts as the blocking stage keeps them: kept blocks (2 to `max_block_size`
/// records), the largest, blocks and records skipped for the cap, and pairs in kept blocks.
async fn rule_stats(ctx: &SessionContext, sql: &Sql) -> Result<Vec<RuleStats>> {
    let cfg = &sql.p.blocking;
    let mut stats: Vec<RuleStats> = (cfg.rules.iter())
        .map(|rule| RuleStats {
            rule: rule.text.clone(),
            max_block_size: Some(cfg.max_block_size as u64),
            ..RuleStats::default()
        })
        .collect();
    for row in int_rows(ctx, &sql.stats()).await? {
        let Some(s) = stats.get_mut(row[0] as usize) else {
            return Err(Error::Internal(format!(
                "the cluster counted rule {}",
                row[0]
            )));
        };
        let [blocks, largest, capped, capped_records, pairs] =
            [1, 2, 3, 4, 5].map(|c| row[c] as u64);
        (s.blocks, s.largest_block, s.capped_blocks) = (blocks, largest, capped);
        (s.capped_records, s.pairs_in_blocks) = (capped_records, pairs);
        if capped > 0 {
            tracing::warn!(
                rule = %s.rule,
                capped_blocks = capped,
                capped_records,
                max_block_size = cfg.max_block_size,
                "blocks skipped: larger than max_block_size; make the rule more specific or raise the cap"
            );
        }
    }
    Ok(stats)
}

/// Runs `query` on the cluster and returns its rows, every column a 64-bit integer (nulls 0).
async fn int_rows(ctx: &SessionContext, query: &str) -> Result<Vec<Vec<i64>>> {
    let mut rows = Vec::new();
    for batch in ctx.sql(query).await?.collect().await? {
        let columns: Vec<Int64Array> = (0..batch.num_columns())
            .map(|c| {
                let column =
                    arrow::compute::cast(batch.column(c), &arrow::datatypes::DataType::Int64)?;
                Ok(column.as_primitive::<Int64Type>().clone())
            })
            .collect::<Result<_>>()?;
        for i in 0..batch.num_rows() {
            rows.push(
                columns
                    .iter()
                    .map(|c| if c.is_null(i) { 0 } else { c.value(i) })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// The queries of a run's pairs over the staged records.
struct Sql {
    p: Pipeline,
}

impl Sql {
    /// Column names of rule `r`'s keys.
    fn keys(&self, r: usize) -> Vec<String> {
        (0..self.p.blocking.rules[r].keys.len())
            .map(|k| format!("r{r}k{k}"))
            .collect()
    }

    /// `keyed` (each record's index and rule keys) and `groups{r}` (each rule's key groups:
    /// records, first record), as the start of a `WITH`.
    fn groups(&self) -> String {
        let (mut keys, mut groups) = (vec![], vec![]);
        for (r, rule) in self.p.blocking.rules.iter().enumerate() {
            let names = self.keys(r);
            for (k, name) in rule.keys.iter().zip(&names) {
                let column = match_column(&k.field);
                let text = key_text(k.transform);
                keys.push(format!("{}('{text}', \"{column}\") AS {name}", Key::NAME));
            }
            let present: Vec<String> = names.iter().map(|n| format!("{n} IS NOT NULL")).collect();
            let list = names.join(", ");
            groups.push(format!(
                "groups{r} AS (SELECT {list}, COUNT(*) AS n, MIN({REC}) AS first FROM keyed \
                 WHERE {} GROUP BY {list})",
                present.join(" AND ")
            ));
        }
        format!(
            "WITH keyed AS (SELECT {REC}, {} FROM {STAGED}), {}",
            keys.join(", "),
            groups.join(", ")
        )
    }

    /// Rows (rule, kept blocks, largest kept block, skipped blocks, records in skipped blocks,
    /// pairs in kept blocks).
    fn stats(&self) -> String {
        let cap = self.p.blocking.max_block_size;
        let kept = format!("n BETWEEN 2 AND {cap}");
        let sizes: Vec<String> = (0..self.p.blocking.rules.len())
            .map(|r| format!("SELECT CAST({r} AS BIGINT) AS rule, n FROM groups{r}"))
            .collect();
        format!(
            "{}, sizes AS ({}) SELECT rule, SUM(CASE WHEN {kept} THEN 1 ELSE 0 END), \
             MAX(CASE WHEN {kept} THEN n ELSE 0 END), SUM(CASE WHEN n > {cap} THEN 1 ELSE 0 END), \
             SUM(CASE WHEN n > {cap} THEN n ELSE 0 END), \
             SUM(CASE WHEN {kept} THEN n * (n - 1) / 2 ELSE 0 END) FROM sizes GROUP BY rule",
            self.groups(),
            sizes.join(" UNION ALL ")
        )
    }

    /// The `WITH` of every candidate pair: `compared` (a, b, at = first rule × 2^32 + its
    /// block's first record, rules = a bit per rule whose blocks hold the pair, code = the
    /// packed comparison vector).
    fn compared(&self) -> String {
        let cap = self.p.blocking.max_block_size;
        let pairs: Vec<String> = (0..self.p.blocking.rules.len())
            .map(|r| {
                let same = |x: &str, y: &str| -> String {
                    let eq: Vec<String> = (self.keys(r).iter())
                        .map(|n| format!("{x}.{n} = {y}.{n}"))
                        .collect();
                    eq.join(" AND ")
                };
                format!(
                    "SELECT a.{REC} AS a, b.{REC} AS b, CAST({at} AS BIGINT) + s.first AS at, \
                     CAST({bit} AS BIGINT) AS bit FROM groups{r} s JOIN keyed a ON {} \
                     JOIN keyed b ON {} WHERE s.n BETWEEN 2 AND {cap} AND a.{REC} < b.{REC}",
                    same("s", "a"),
                    same("a", "b"),
                    at = r as u64 * SHIFT,
                    bit = 1u64 << r,
                )
            })
            .collect();
        let mut code = String::from("CAST(0 AS BIGINT)");
        for c in &self.p.comparisons {
            let f = match_column(&c.field);
            let level = format!(
                "{}('{}', '{}', l.\"{f}\", r.\"{f}\")",
                Level::NAME,
                c.method.as_str(),
                thresholds(c)
            );
            code = format!("({code}) * 16 + CAST({level} AS BIGINT) + 1");
        }
        format!(
            "{}, pairs AS ({}), firsts AS (SELECT a, b, MIN(at) AS at, BIT_OR(bit) AS rules \
             FROM pairs GROUP BY a, b), compared AS (SELECT f.a, f.b, f.at, f.rules, {code} AS code \
             FROM firsts f JOIN {STAGED} l ON l.{REC} = f.a JOIN {STAGED} r ON r.{REC} = f.b)",
            self.groups(),
            pairs.join(" UNION ALL ")
        )
    }

    /// Every candidate pair: a, b, at, rules and code (see [`Self::compared`]).
    fn compared_pairs(&self) -> String {
        format!(
            "{} SELECT a, b, at, rules, code FROM compared",
            self.compared()
        )
    }

    /// Rows (first rule, rules whose EM sample holds the pairs, packed vector, pairs), each
    /// rule's sample cut at `keep_below`.
    fn tally(&self, keep_below: &[u64]) -> String {
        let cut_offs: Vec<String> = keep_below.iter().map(u64::to_string).collect();
        format!(
            "SELECT CAST(at / {SHIFT} AS BIGINT) AS rule, \
             rules & {}('{}', '{}', a, b) AS tallied, code, COUNT(*) FROM {COMPARED} \
             GROUP BY 1, 2, 3",
            Sampled::NAME,
            self.p.model.seed,
            cut_offs.join(",")
        )
    }

    /// Rows (at, a, b, packed vector) of the pairs with a vector in `vectors` (all with
    /// `None`) or listed in `manual`.
    fn fetch(&self, vectors: Option<&[u64]>, manual: &[(u32, u32)]) -> String {
        let list = |v: &mut dyn Iterator<Item = u64>| -> String {
            let v: Vec<String> = v.map(|x| x.to_string()).collect();
            v.join(", ")
        };
        let mut wanted = Vec::new();
        if let Some(vectors) = vectors.filter(|v| !v.is_empty()) {
            wanted.push(format!("code IN ({})", list(&mut vectors.iter().copied())));
        }
        if !manual.is_empty() {
            let mut pairs = manual.iter().map(|&(a, b)| a as u64 * SHIFT + b as u64);
            wanted.push(format!("a * {SHIFT} + b IN ({})", list(&mut pairs)));
        }
        let filter = match (vectors, wanted.is_empty()) {
            (None, _) => String::new(),
            (Some(_), true) => " WHERE FALSE".into(),
            (Some(_), false) => format!(" WHERE {}", wanted.join(" OR ")),
        };
        format!("SELECT at, a, b, code FROM {COMPARED}{filter}")
    }
}

/// A comparison's thresholds as `golden_level` takes them.
pub(super) fn thresholds(c: &crate::config::ComparisonConfig) -> String {
    match c.method {
        Method::Exact | Method::Date => String::new(),
        _ => (c.levels.iter().map(f64::to_string))
            .collect::<Vec<_>>()
            .join(","),
    }
}
