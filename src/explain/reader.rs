//! A typed reader of a run's tables: crosswalk members, lineage rows, decisions as pairs with a
//! [`Decision`], and each pair's per-field scores.

use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int8Type, UInt64Type};

use super::RecordRef;
use crate::config::BlockingRule;
use crate::config::validate::parse_rule;
use crate::model::Decision;
use crate::model::params::ModelParams;
use crate::run;
use crate::run::{Text, read_parquet, text};
use crate::schema;
use crate::{Error, Result};

/// The tables of a run that explanations are read from.
#[derive(Debug, Clone)]
pub struct RunTables {
    /// The run directory (named in error messages).
    pub dir: PathBuf,
    /// `model.json`.
    pub model: ModelParams,
    /// `crosswalk.parquet`.
    pub crosswalk: RecordBatch,
    /// `lineage.parquet`.
    pub lineage: RecordBatch,
    /// `decisions.parquet`.
    pub decisions: RecordBatch,
    /// `records.parquet` and the manifest, once [`RunTables::load_records`] read them;
    /// `None` also for a run written before golden kept them.
    pub records: Option<RunRecords>,
}

/// `records.parquet` (what blocking and comparison saw of every record) and what the manifest
/// says of the run's blocking and pipeline.
#[derive(Debug, Clone)]
pub struct RunRecords {
    /// `records.parquet`, row = record index.
    pub batch: RecordBatch,
    /// The manifest's `blocking` entries (rule labels, size caps), in rule order.
    pub blocking: Vec<crate::block::RuleStats>,
    /// The blocking rules, read from the manifest's labels, in rule order.
    pub rules: Vec<BlockingRule>,
    /// The pipeline the run used.
    pub pipeline: RunPipeline,
    /// The posterior below which the run did not write a compared pair (the manifest's
    /// `decisions.floor`); `None` when it wrote every pair it compared.
    pub decisions_floor: Option<f64>,
}

/// The pipeline a run used, as its manifest and run directory have it.
#[derive(Debug, Clone, Default)]
pub struct RunPipeline {
    /// The pipeline file the run was given (the manifest's `pipeline_path`, as given).
    pub path: PathBuf,
    /// Its SHA-256 then (the manifest's `pipeline_hash`).
    pub hash: String,
    /// The run's copy of it (`pipeline.toml`); `None` in a run of an older golden.
    pub copy: Option<String>,
}

impl RunRecords {
    /// The string column `name`; an error naming the file when it is missing.
    fn strings(&self, name: &str) -> Result<&arrow::array::StringArray> {
        self.batch
            .column_by_name(name)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| Error::Internal(format!("records.parquet: no string column `{name}`")))
    }

    /// The record index (row) of `r`, if the run kept it.
    pub fn index_of(&self, r: &RecordRef) -> Result<Option<u32>> {
        let (src, ids) = (
            self.strings(schema::SOURCE)?,
            self.strings(schema::SOURCE_ID)?,
        );
        Ok((0..self.batch.num_rows())
            .find(|&i| src.value(i) == r.source && ids.value(i) == r.id)
            .map(|i| i as u32))
    }

    /// Column `name` of record `row` (a display value or match key).
    pub fn value(&self, name: &str, row: u32) -> Result<Option<String>> {
        let col = self.strings(name)?;
        let row = row as usize;
        Ok(col.is_valid(row).then(|| col.value(row).to_string()))
    }

    /// The key of record `row` under blocking rule `rule`, from its match keys as the run
    /// made it; `None` when it has none.
    pub fn rule_key(&self, rule: &BlockingRule, row: u32) -> Result<Option<String>> {
        let one = self.batch.slice(row as usize, 1);
        let key = crate::block::rule_keys(&one, rule)?;
        Ok(key.is_valid(0).then(|| key.value(0).to_string()))
    }

    /// Records whose key under blocking rule `rule` is `key`: the size of its block.
    pub fn block_size(&self, rule: &BlockingRule, key: &str) -> Result<u64> {
        let keys = crate::block::rule_keys(&self.batch, rule)?;
        Ok(keys.iter().filter(|v| *v == Some(key)).count() as u64)
    }
}

/// A Parquet table of [`RunTables`].
#[derive(Debug, Clone, Copy)]
pub enum Table {
    /// `crosswalk.parquet`.
    Crosswalk,
    /// `lineage.parquet`.
    Lineage,
    /// `decisions.parquet`.
    Decisions,
}

impl Table {
    /// The table's file in a run directory.
    pub fn file(self) -> &'static str {
        match self {
            Table::Crosswalk => run::Table::Crosswalk.file_name(),
            Table::Lineage => run::Table::Lineage.file_name(),
            Table::Decisions => run::Table::Decisions.file_name(),
        }
    }
}

/// A crosswalk row.
pub struct Member {
    /// The record.
    pub record: RecordRef,
    /// Its golden id.
    pub golden_id: String,
    /// Probability of its best link.
    pub probability: Option<f64>,
    /// The file it was read from.
    pub file: Option<String>,
    /// Its row in that file.
    pub row: Option<u64>,
}

/// A lineage row.
pub struct LineageRow {
    /// Golden id.
    pub golden_id: String,
    /// Field name.
    pub field: String,
    /// Surviving value.
    pub value: Option<String>,
    /// The record the value came from.
    pub record: RecordRef,
    /// The rule that chose it.
    pub rule: String,
}

/// A decisions row, without its per-field columns.
pub struct Pair {
    /// Row in `decisions.parquet`.
    pub row: usize,
    /// Left record.
    pub left: RecordRef,
    /// Right record.
    pub right: RecordRef,
    /// The blocking rule that found the pair.
    pub blocking_rule: String,
    /// Match weight.
    pub match_weight: Option<f64>,
    /// Match probability.
    pub probability: Option<f64>,
    /// The decision.
    pub decision: Decision,
}

impl Pair {
    /// The record of the pair that is not `r`.
    pub fn other(&self, r: &RecordRef) -> &RecordRef {
        if &self.left == r {
            &self.right
        } else {
            &self.left
        }
    }

    /// True when the pair links its records (a match or a manual link).
    pub fn links(&self) -> bool {
        matches!(self.decision, Decision::Match | Decision::Manual)
    }
}

/// One comparison's part of a pair's score.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldScore {
    /// Comparison level (-1 = null).
    pub level: i8,
    /// Weight of the level.
    pub weight: f64,
    /// Term-frequency adjustment, when the comparison has one.
    pub tf_adjustment: Option<f64>,
}

/// A pair's score, comparison by comparison: a decisions row as the run wrote it, or
/// recomputed with the run's model for a pair it never compared.
pub struct Scores {
    /// Each comparison's part, in model order.
    pub fields: Vec<FieldScore>,
    /// The household class's term, when the model has one.
    pub household: Option<f64>,
    /// Match weight.
    pub match_weight: Option<f64>,
    /// Match probability.
    pub probability: Option<f64>,
    /// The decision.
    pub decision: Decision,
}

/// A file of run `dir` that cannot be used: names it and says what to do (exit 3).
pub fn damaged(dir: &Path, path: &Path, what: &str) -> Error {
    let what = what
        .strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or(what);
    Error::Input {
        path: path.to_path_buf(),
        message: format!(
            "{what}; the run looks damaged, or was written by another version of golden: check \
             it with `golden verify {}`, or rerun `golden run`",
            dir.display()
        ),
    }
}

impl RunTables {
    /// Reads the tables of the run directory `dir`; a file that cannot be read is named, with
    /// the advice that the run looks damaged.
    pub fn load(dir: &Path) -> Result<Self> {
        let table = |t: Table| {
            let path = dir.join(t.file());
            read_parquet(&path).map_err(|e| damaged(dir, &path, &e.to_string()))
        };
        let model_path = dir.join(run::layout::MODEL);
        Ok(RunTables {
            dir: dir.to_path_buf(),
            model: ModelParams::load(&model_path)
                .map_err(|e| damaged(dir, &model_path, &e.to_string()))?,
            crosswalk: table(Table::Crosswalk)?,
            lineage: table(Table::Lineage)?,
            decisions: table(Table::Decisions)?,
            records: None,
        })
    }

    /// Reads `records.parquet` and the manifest into [`Self::records`]; leaves it `None` for
    /// a run without `records.parquet` (written by an older golden).
    pub fn load_records(&mut self) -> Result<()> {
        let path = self.dir.join(run::Table::Records.file_name());
        if !path.exists() {
            return Ok(());
        }
        let batch = read_parquet(&path).map_err(|e| damaged(&self.dir, &path, &e.to_string()))?;
        let manifest_path = self.dir.join(run::layout::MANIFEST);
        let m = crate::output::Manifest::read(&manifest_path)
            .map_err(|e| damaged(&self.dir, &manifest_path, &e.to_string()))?;
        let rules = (m.blocking.iter().enumerate())
            .map(|(k, stats)| {
                parse_rule(&stats.rule).map_err(|e| {
                    let what = format!("blocking[{k}].rule is not a blocking rule: {e}");
                    damaged(&self.dir, &manifest_path, &what)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let pipeline = RunPipeline {
            path: PathBuf::from(m.pipeline_path),
            hash: m.pipeline_hash,
            copy: self.pipeline_copy()?,
        };
        self.records = Some(RunRecords {
            batch,
            blocking: m.blocking,
            rules,
            pipeline,
            decisions_floor: m.decisions.map(|d| d.floor).filter(|&f| f > 0.0),
        });
        Ok(())
    }

    /// The text of the run's `pipeline.toml`; `None` when the run has none (an older golden).
    fn pipeline_copy(&self) -> Result<Option<String>> {
        let path = self.dir.join(run::layout::PIPELINE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(damaged(&self.dir, &path, &e.to_string())),
        }
    }

    /// Column `name` of `table`, cast to `ty`; a missing column names the file and the fix.
    fn column(&self, table: Table, name: &str, ty: &DataType) -> Result<Option<ArrayRef>> {
        self.batch(table)
            .column_by_name(name)
            .map(|c| cast(c, ty).map_err(|e| self.bad(table, &format!("column `{name}`: {e}"))))
            .transpose()
    }

    /// [`Self::column`], an error when it is missing.
    fn required(&self, table: Table, name: &str, ty: &DataType) -> Result<ArrayRef> {
        self.column(table, name, ty)?
            .ok_or_else(|| self.bad(table, &format!("no column `{name}`")))
    }

    /// The rows read of `table`.
    fn batch(&self, table: Table) -> &RecordBatch {
        match table {
            Table::Crosswalk => &self.crosswalk,
            Table::Lineage => &self.lineage,
            Table::Decisions => &self.decisions,
        }
    }

    /// `table` is damaged: `what` is wrong with it.
    pub fn bad(&self, table: Table, what: &str) -> Error {
        damaged(&self.dir, &self.dir.join(table.file()), what)
    }

    /// The string column `name` of `table`, which must exist.
    fn strings(&self, table: Table, name: &str) -> Result<Vec<Option<String>>> {
        let col =
            text(self.batch(table), name, Text::Cast).map_err(|what| self.bad(table, &what))?;
        Ok(strings_of(&col))
    }

    /// The float column `name` of `table`, if it exists.
    fn floats(&self, table: Table, name: &str) -> Result<Option<Vec<Option<f64>>>> {
        Ok(self
            .column(table, name, &DataType::Float64)?
            .map(|c| c.as_primitive::<Float64Type>().iter().collect()))
    }

    /// The float column `name` of `decisions`, which must exist.
    fn required_floats(&self, name: &str) -> Result<Vec<Option<f64>>> {
        self.floats(Table::Decisions, name)?
            .ok_or_else(|| self.bad(Table::Decisions, &format!("no column `{name}`")))
    }

    /// Every crosswalk row.
    pub fn crosswalk_rows(&self) -> Result<Vec<Member>> {
        let cw = Table::Crosswalk;
        let source = self.strings(cw, schema::SOURCE)?;
        let id = self.strings(cw, schema::SOURCE_ID)?;
        let gid = self.strings(cw, schema::GOLDEN_ID)?;
        let n = source.len();
        let prob = self
            .floats(cw, schema::MATCH_PROBABILITY)?
            .unwrap_or_else(|| vec![None; n]);
        let file = match self.batch(cw).column_by_name(schema::SOURCE_FILE) {
            Some(_) => self.strings(cw, schema::SOURCE_FILE)?,
            None => vec![None; n],
        };
        let row: Vec<Option<u64>> = match self.column(cw, schema::ROW_NUMBER, &DataType::UInt64)? {
            Some(c) => c.as_primitive::<UInt64Type>().iter().collect(),
            None => vec![None; n],
        };
        Ok((0..n)
            .map(|i| Member {
                record: record_at(&source, &id, i),
                golden_id: gid[i].clone().unwrap_or_default(),
                probability: prob[i],
                file: file[i].clone(),
                row: row[i],
            })
            .collect())
    }

    /// Every lineage row.
    pub fn lineage_rows(&self) -> Result<Vec<LineageRow>> {
        let cols = schema::LINEAGE_COLUMNS
            .iter()
            .map(|c| self.strings(Table::Lineage, c))
            .collect::<Result<Vec<_>>>()?;
        let get = |c: usize, i: usize| cols[c][i].clone().unwrap_or_default();
        Ok((0..cols[0].len())
            .map(|i| LineageRow {
                golden_id: get(0, i),
                field: get(1, i),
                value: cols[2][i].clone(),
                record: record_at(&cols[3], &cols[4], i),
                rule: get(5, i),
            })
            .collect())
    }

    /// The pairs of `decisions` for which `keep(left, right)` holds, in table order.
    pub fn pairs(&self, keep: impl Fn(&RecordRef, &RecordRef) -> bool) -> Result<Vec<Pair>> {
        let [ls, li, rs, ri, rule] = ["left_source", "left_id", "right_source", "right_id"]
            .into_iter()
            .chain(["blocking_rule"])
            .map(|c| self.strings(Table::Decisions, c))
            .collect::<Result<Vec<_>>>()?
            .try_into()
            .map_err(|_| Error::Internal("explain: decision columns".into()))?;
        let mw = self.required_floats(schema::MATCH_WEIGHT)?;
        let mp = self.required_floats(schema::MATCH_PROBABILITY)?;
        let decision = self.strings(Table::Decisions, "decision")?;
        let mut out = Vec::new();
        for k in 0..ls.len() {
            let (left, right) = (record_at(&ls, &li, k), record_at(&rs, &ri, k));
            if keep(&left, &right) {
                out.push(Pair {
                    row: k,
                    left,
                    right,
                    blocking_rule: rule[k].clone().unwrap_or_default(),
                    match_weight: mw[k],
                    probability: mp[k],
                    decision: self.decision(decision[k].as_deref(), k)?,
                });
            }
        }
        Ok(out)
    }

    /// The decision `value` of decisions row `row`; an error when it is not one golden writes.
    fn decision(&self, value: Option<&str>, row: usize) -> Result<Decision> {
        value.and_then(Decision::parse).ok_or_else(|| {
            let expected: Vec<&str> = Decision::ALL.iter().map(|d| d.as_str()).collect();
            self.bad(
                Table::Decisions,
                &format!(
                    "row {}: column `decision` is not one of {}",
                    row + 1,
                    expected.join(", ")
                ),
            )
        })
    }

    /// The household class's term of decisions row `row`, when the model has one.
    pub fn household_adjustment(&self, row: usize) -> Result<Option<f64>> {
        let col = self.column(
            Table::Decisions,
            schema::HOUSEHOLD_ADJUSTMENT,
            &DataType::Float64,
        )?;
        Ok(col.and_then(|c| float_at(&c, row)))
    }

    /// The score of `pair` as its decisions row has it.
    pub fn scores(&self, pair: &Pair) -> Result<Scores> {
        Ok(Scores {
            fields: self.field_scores(pair.row)?,
            household: self.household_adjustment(pair.row)?,
            match_weight: pair.match_weight,
            probability: pair.probability,
            decision: pair.decision,
        })
    }

    /// Level, weight and term-frequency adjustment of each comparison for decisions row `row`.
    pub fn field_scores(&self, row: usize) -> Result<Vec<FieldScore>> {
        self.model
            .comparisons
            .iter()
            .map(|cp| {
                let name = format!("{}_level", cp.field);
                let level_col = self.required(Table::Decisions, &name, &DataType::Int8)?;
                let level_col = level_col.slice(row, 1);
                let level = level_col.as_primitive::<Int8Type>();
                let level = if level.is_null(0) { -1 } else { level.value(0) };
                let f64_at = |suffix: &str| -> Result<Option<f64>> {
                    let name = format!("{}_{suffix}", cp.field);
                    let col = self.column(Table::Decisions, &name, &DataType::Float64)?;
                    Ok(col.and_then(|c| float_at(&c, row)))
                };
                Ok(FieldScore {
                    level,
                    weight: f64_at("weight")?.unwrap_or_else(|| cp.weight(level)),
                    tf_adjustment: f64_at("tf_adjustment")?,
                })
            })
            .collect()
    }
}

/// The values of a string column.
fn strings_of(col: &StringArray) -> Vec<Option<String>> {
    col.iter().map(|v| v.map(str::to_string)).collect()
}

/// Row `row` of a float column.
fn float_at(col: &ArrayRef, row: usize) -> Option<f64> {
    let one = col.slice(row, 1);
    one.as_primitive::<Float64Type>().iter().next().flatten()
}

/// The record of row `i` of the `sources` and `ids` columns.
fn record_at(sources: &[Option<String>], ids: &[Option<String>], i: usize) -> RecordRef {
    RecordRef {
        source: sources[i].clone().unwrap_or_default(),
        id: ids[i].clone().unwrap_or_default(),
    }
}
