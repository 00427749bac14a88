//! Stage "survive": clusters → golden records, one value per field chosen by the field's
//! survivorship rule, each remembered in lineage with the source record and rule behind it.
//!
//! Steps: [`records`] ranks the records once; per cluster, [`fields`] applies each field's
//! rule, [`derived`] rebuilds `full_name`, [`golden_row`] appends the golden row (its schema is
//! defined there, once) and [`lineage`] the rows that say where each value came from.

pub mod derived;
pub mod fields;
pub mod golden_row;
pub mod lineage;
pub mod records;
pub mod rules;

use std::ops::Range;

use arrow::array::RecordBatch;

use crate::cluster::Clusters;
use crate::config::Pipeline;
use crate::{Error, Result};
use derived::{DERIVED_FULL_NAME, FullName};
use fields::FieldPlan;
use golden_row::{GoldenRows, RowFacts};
use lineage::{LineageBuilder, LineageRow};
use records::Records;
use rules::Candidate;

/// Clusters per parallel survivorship task: two waves of tasks' golden and lineage rows wait in
/// memory at a time, so smaller tasks hold fewer rows at once.
const SURVIVE_CHUNK: usize = 4 * 1024;

/// Builds golden records for `clusters` over the standardized `batch` and hands them to
/// `emit` in cluster order, chunk by chunk, each golden chunk (`golden.parquet`: one row per
/// cluster, `created_run` holding the run that created each cluster's id) with its lineage
/// (`lineage.parquet`: one row per non-null golden value). A few chunks are built in parallel
/// at a time, so neither table is ever whole in memory.
pub fn survive(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    clusters: &Clusters,
    created_run: &[std::sync::Arc<str>],
    emit: impl FnMut(RecordBatch, RecordBatch) -> Result<()> + Send,
) -> Result<()> {
    survive_in_chunks(batch, pipeline, clusters, created_run, SURVIVE_CHUNK, emit)
}

/// [`survive`] with `chunk` clusters per parallel task.
fn survive_in_chunks(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    clusters: &Clusters,
    created_run: &[std::sync::Arc<str>],
    chunk: usize,
    mut emit: impl FnMut(RecordBatch, RecordBatch) -> Result<()> + Send,
) -> Result<()> {
    if created_run.len() != clusters.len() {
        return Err(Error::Internal(format!(
            "survive: {} creation runs for {} clusters",
            created_run.len(),
            clusters.len()
        )));
    }
    let plan = Plan::new(batch, pipeline, clusters, created_run)?;
    let n = clusters.len();
    if n == 0 {
        let (golden, lineage) = plan.build(0..0)?;
        return emit(golden, lineage);
    }
    let starts: Vec<usize> = (0..n).step_by(chunk.max(1)).collect();
    // Clusters are independent: chunks of them are survived in parallel and concatenated.
    crate::run::build_in_waves(
        &starts,
        |&start| plan.build(start..n.min(start + chunk)),
        |(golden, lineage)| emit(golden, lineage),
    )
}

/// Everything a chunk of clusters is survived from, read once per run.
struct Plan<'b> {
    records: Records<'b>,
    names: Vec<String>,
    fields: Vec<FieldPlan<'b>>,
    /// Set when `full_name` is derived.
    full_name: Option<FullName>,
    clusters: &'b Clusters,
    members: crate::cluster::Members,
    created_run: &'b [std::sync::Arc<str>],
}

/// Scratch space reused across the clusters of a chunk.
#[derive(Default)]
struct Scratch<'b> {
    cands: Vec<Candidate<'b>>,
    by_recency: Vec<u32>,
    chosen: Vec<Option<Candidate<'b>>>,
    full_name: String,
    /// The `sources` value of each set of sources seen in this chunk (bit i: source i).
    source_lists: foldhash::HashMap<u64, String>,
}

impl<'b> Plan<'b> {
    fn new(
        batch: &'b RecordBatch,
        pipeline: &Pipeline,
        clusters: &'b Clusters,
        created_run: &'b [std::sync::Arc<str>],
    ) -> Result<Self> {
        let names = pipeline.fields();
        Ok(Plan {
            records: Records::new(batch, pipeline)?,
            fields: FieldPlan::all(batch, pipeline, &names)?,
            full_name: FullName::of(&names),
            names,
            clusters,
            members: clusters.members(),
            created_run,
        })
    }

    /// The golden rows and lineage of clusters `range`.
    fn build(&self, range: Range<usize>) -> Result<(RecordBatch, RecordBatch)> {
        let mut golden = GoldenRows::with_capacity(range.len(), self.names.len());
        let mut lineage = LineageBuilder::with_capacity(range.len() * self.names.len());
        let mut scratch = Scratch::default();
        for c in range {
            self.survive_cluster(c, &mut scratch, &mut golden, &mut lineage);
        }
        Ok((golden.finish(&self.names)?, lineage.finish()?))
    }

    /// Appends cluster `c`'s golden row to `golden` and its lineage to `lineage`.
    fn survive_cluster(
        &self,
        c: usize,
        s: &mut Scratch<'b>,
        golden: &mut GoldenRows,
        lineage: &mut LineageBuilder,
    ) {
        let m = self.members.of(c);
        let gid = self.clusters.golden_ids[c].as_str();
        // Members most recent first, once per cluster (most fields survive by recency).
        s.by_recency.clear();
        s.by_recency.extend_from_slice(m);
        if m.len() > 1 {
            let at = |r: u32| self.records.candidate(r, "");
            s.by_recency
                .sort_by(|&a, &b| rules::recency(&at(a), &at(b)));
        }
        s.chosen.clear();
        for (f, field) in self.fields.iter().enumerate() {
            if self.full_name.is_some_and(|d| d.at == f) {
                s.chosen.push(None);
                continue;
            }
            let pick = field.pick(&self.records, m, &s.by_recency, &mut s.cands);
            if let Some(p) = pick {
                self.push_lineage(lineage, gid, &self.names[f], p, field.rule.as_str());
            }
            s.chosen.push(pick);
        }
        if let Some(derived) = self.full_name {
            match derived.derive(&s.chosen, &mut s.full_name) {
                Some(basis) => {
                    let p = Candidate {
                        value: &s.full_name,
                        ..basis
                    };
                    self.push_lineage(lineage, gid, "full_name", p, DERIVED_FULL_NAME);
                    golden.values[derived.at].append_value(&s.full_name);
                }
                None => golden.values[derived.at].append_null(),
            }
        }
        for (f, pick) in s.chosen.iter().enumerate() {
            if self.full_name.is_some_and(|d| d.at == f) {
                continue;
            }
            golden.values[f].append_option(pick.map(|p| p.value));
        }
        golden.push_facts(RowFacts {
            golden_id: gid,
            record_count: m.len() as u32,
            sources: &self.records.sources_of(m, &mut s.source_lists),
            seen: self.records.seen(m),
            created_run: &self.created_run[c][..],
        });
    }

    /// Appends the lineage row of value `p` of `field` in golden record `gid`.
    fn push_lineage(
        &self,
        lineage: &mut LineageBuilder,
        gid: &str,
        field: &str,
        p: Candidate,
        rule: &str,
    ) {
        let r = p.record as usize;
        lineage.push(LineageRow {
            golden_id: gid,
            field,
            value: p.value,
            source: self.records.sources.value(r),
            source_id: self.records.source_ids.value(r),
            rule,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Rule;
    use crate::schema;
    use arrow::array::{Array, ArrayRef, AsArray, StringArray, UInt64Array};
    use std::sync::Arc;

    /// 11 records in 7 clusters (cluster of each record).
    fn fixture() -> (RecordBatch, Vec<u32>) {
        let n = 11;
        let text = |f: &dyn Fn(usize) -> Option<String>| -> ArrayRef {
            Arc::new((0..n).map(f).collect::<StringArray>())
        };
        let batch = RecordBatch::try_from_iter([
            (schema::SOURCE, text(&|_| Some("crm".into()))),
            (schema::SOURCE_ID, text(&|r| Some(format!("id{r}")))),
            (
                schema::UPDATED_AT,
                text(&|r| (r % 3 != 2).then(|| format!("2026-01-{:02}", r % 4 + 1))),
            ),
            (
                schema::ROW_NUMBER,
                Arc::new(UInt64Array::from_iter_values(1..=n as u64)) as ArrayRef,
            ),
            (
                "first_name",
                text(&|r| (r % 4 != 0).then(|| format!("name{}", r % 3))),
            ),
            ("email", text(&|r| Some(format!("e{}@x.org", r % 5)))),
        ])
        .expect("batch");
        let cluster_of = vec![0, 1, 0, 2, 3, 1, 4, 5, 6, 6, 0];
        (batch, cluster_of)
    }

    /// Survives 11 records in 7 clusters with `chunk` clusters per task; returns both tables
    /// concatenated in the order they were emitted.
    fn survived(chunk: usize) -> (RecordBatch, RecordBatch) {
        survived_by(chunk, "most_frequent")
    }

    /// [`survived`] with `rule` as the default survivorship rule. Some records share an
    /// `updated_at` and some have none, so recency ties occur.
    fn survived_by(chunk: usize, rule: &str) -> (RecordBatch, RecordBatch) {
        let (batch, cluster_of) = fixture();
        survived_with(&batch, cluster_of, chunk, rule)
    }

    /// Survives `batch` (records in clusters `cluster_of`, numbered from 0) under `rule`.
    fn survived_with(
        batch: &RecordBatch,
        cluster_of: Vec<u32>,
        chunk: usize,
        rule: &str,
    ) -> (RecordBatch, RecordBatch) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("crm.csv"), "id\n1\n").expect("write");
        let toml = r#"name = "t"
[output]
dir = "out"
[[sources]]
name = "crm"
path = "crm.csv"
id = "id"
[sources.fields]
first_name = "first"
email = "email"
[blocking]
rules = [["email"]]
[[comparisons]]
field = "email"
method = "exact"
[survivorship]
default = "RULE"
"#
        .replace("RULE", rule);
        let p = crate::config::load_str(&toml, &dir.path().join("p.toml")).expect("pipeline");
        let n = batch.num_rows();
        let count = cluster_of.iter().max().map_or(0, |&c| c + 1);
        let clusters = Clusters {
            golden_ids: (0..count).map(|c| format!("g{c}")).collect(),
            best_link: vec![None; n],
            cluster_of,
        };
        let (mut golden, mut lineage) = (Vec::new(), Vec::new());
        let created_run: Vec<std::sync::Arc<str>> = vec!["r0".into(); clusters.len()];
        survive_in_chunks(batch, &p, &clusters, &created_run, chunk, |g, l| {
            golden.push(g);
            lineage.push(l);
            Ok(())
        })
        .expect("survive");
        let concat = |parts: &[RecordBatch]| {
            arrow::compute::concat_batches(&parts[0].schema(), parts).expect("concat")
        };
        (concat(&golden), concat(&lineage))
    }

    #[test]
    fn most_recent_values_are_what_the_rule_picks_among_each_clusters_candidates() {
        let (golden, lineage) = survived_by(2, "most_recent");
        let (batch, cluster_of) = fixture();
        let got = golden.column_by_name("first_name").expect("first_name");
        let got = got.as_string::<i32>();
        let updated = batch.column_by_name(schema::UPDATED_AT).expect("updated");
        let updated = updated.as_string::<i32>();
        let names = batch.column_by_name("first_name").expect("first_name");
        let names = names.as_string::<i32>();
        for c in 0..7u32 {
            let cands: Vec<Candidate> = (0..cluster_of.len())
                .filter(|&r| cluster_of[r] == c && names.is_valid(r))
                .map(|r| Candidate {
                    record: r as u32,
                    value: names.value(r),
                    updated_at: updated.is_valid(r).then(|| updated.value(r)),
                    priority: 0,
                    source_order: 0,
                    row_number: r as u64 + 1,
                })
                .collect();
            let want = rules::pick(Rule::MostRecent, &cands).map(|p| p.value);
            let c = c as usize;
            assert_eq!(got.is_valid(c).then(|| got.value(c)), want, "cluster {c}");
        }
        let rules_used = lineage.column_by_name("rule").expect("rule");
        let rules_used = rules_used.as_string::<i32>();
        assert!(rules_used.iter().all(|r| r == Some("most_recent")));
    }

    #[test]
    fn a_placeholder_survives_only_where_no_member_has_a_real_value() {
        // Cluster 0: two members with a placeholder e-mail (shown, match key null) outvote one
        // real address under most_frequent unless placeholders are set aside. Cluster 1: only
        // the placeholder, which then survives.
        let (mut batch, _) = fixture();
        batch = batch.slice(0, 4);
        let email = [
            "noemail@x.org",
            "noemail@x.org",
            "ann@x.org",
            "noemail@x.org",
        ];
        let key = [None, None, Some("ann@x.org"), None];
        let mut columns: Vec<(&str, ArrayRef)> =
            ["source", "source_id", "updated_at", "row_number"]
                .iter()
                .map(|&c| (c, batch.column_by_name(c).expect("column").clone()))
                .collect();
        columns.push(("first_name", Arc::new(StringArray::new_null(4))));
        columns.push(("email", Arc::new(StringArray::from(email.to_vec()))));
        columns.push(("email__match", Arc::new(StringArray::from(key.to_vec()))));
        let batch = RecordBatch::try_from_iter(columns).expect("batch");
        for rule in ["most_frequent", "most_recent", "longest"] {
            let (golden, _) = survived_with(&batch, vec![0, 0, 0, 1], 4, rule);
            let got = strings_of(&golden, "email");
            assert_eq!(got, [Some("ann@x.org"), Some("noemail@x.org")], "{rule}");
        }
    }

    /// The values of column `name` of `batch`.
    fn strings_of<'a>(batch: &'a RecordBatch, name: &str) -> Vec<Option<&'a str>> {
        let column = batch.column_by_name(name).expect("column");
        column.as_string::<i32>().iter().collect()
    }

    #[test]
    fn chunks_and_waves_emit_the_same_tables_in_cluster_order() {
        let (golden, lineage) = survived(1 << 20);
        let ids = golden.column(0).as_string::<i32>();
        let ids: Vec<&str> = ids.iter().flatten().collect();
        assert_eq!(ids, ["g0", "g1", "g2", "g3", "g4", "g5", "g6"]);
        let counts = golden
            .column_by_name("record_count")
            .expect("record_count")
            .as_primitive::<arrow::datatypes::UInt32Type>()
            .values()
            .to_vec();
        assert_eq!(counts, [3, 2, 1, 1, 1, 1, 2]);
        // On one thread a wave is two tasks: one cluster per task makes four waves.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        for chunk in [1, 2, 3] {
            let got = pool.install(|| survived(chunk));
            assert_eq!(got, (golden.clone(), lineage.clone()), "chunk {chunk}");
        }
    }
}
