//! Stage "survive": clusters → golden records, one value per field chosen by the field's
//! survivorship rule, each remembered in lineage with the source record and rule behind it.

pub mod rules;

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringArray, StringBuilder, UInt32Builder,
};
use arrow::datatypes::{DataType, Field, Schema, UInt64Type};
use rayon::prelude::*;

use crate::cluster::Clusters;
use crate::config::Pipeline;
use crate::config::Rule;
use crate::schema;
use crate::{Error, Result};
use rules::Candidate;

/// Clusters per parallel survivorship task.
const SURVIVE_CHUNK: usize = 16 * 1024;

/// Lineage rule name of a `full_name` rebuilt from the surviving first and last names.
const DERIVED_FULL_NAME: &str = "derived(first_name, last_name)";

/// Builds golden records for `clusters` over the standardized `batch` and hands them to
/// `emit` in cluster order, chunk by chunk, each golden chunk (`golden.parquet`: one row per
/// cluster) with its lineage (`lineage.parquet`: one row per non-null golden value). A few
/// chunks are built in parallel at a time, so neither table is ever whole in memory.
pub fn survive(
    batch: &RecordBatch,
    pipeline: &Pipeline,
    clusters: &Clusters,
    emit: impl FnMut(RecordBatch, RecordBatch) -> Result<()> + Send,
) -> Result<()> {
    survive_in_chunks(batch, pipeline, clusters, SURVIVE_CHUNK, emit)
}

/// [`survive`] with `chunk` clusters per parallel task.
fn survive_in_chunks<'b>(
    batch: &'b RecordBatch,
    pipeline: &Pipeline,
    clusters: &Clusters,
    chunk: usize,
    mut emit: impl FnMut(RecordBatch, RecordBatch) -> Result<()> + Send,
) -> Result<()> {
    let col = |name: &str| -> Result<&StringArray> {
        batch
            .column_by_name(name)
            .map(|c| c.as_string::<i32>())
            .ok_or_else(|| Error::Internal(format!("survive: no column {name}")))
    };
    let sources = col(schema::SOURCE)?;
    let source_ids = col(schema::SOURCE_ID)?;
    let updated = col(schema::UPDATED_AT)?;
    let rows = batch
        .column_by_name(schema::ROW_NUMBER)
        .map(|c| c.as_primitive::<UInt64Type>())
        .ok_or_else(|| Error::Internal("survive: no row_number".into()))?;
    let source_names: Vec<&str> = pipeline.sources.iter().map(|s| s.name.as_str()).collect();
    let order_of = |s: &str| {
        source_names
            .iter()
            .position(|n| *n == s)
            .unwrap_or(usize::MAX)
    };
    let priority_of = |s: &str| {
        let p = &pipeline.survivorship.source_priority;
        p.iter()
            .position(|n| n == s)
            .unwrap_or(p.len() + order_of(s))
    };
    let n = batch.num_rows();
    let source_order: Vec<usize> = (0..n).map(|r| order_of(sources.value(r))).collect();
    let priority: Vec<usize> = (0..n).map(|r| priority_of(sources.value(r))).collect();
    // Each record's source as a bit (its rank among the sorted source names), so the
    // `sources` text of a set of sources is built once per chunk; with more than 64 sources
    // it is built for every cluster.
    let mut sorted_names = source_names.clone();
    sorted_names.sort_unstable();
    let source_bit: Option<Vec<u64>> = (sorted_names.len() <= 64)
        .then(|| {
            (0..n)
                .map(|r| {
                    let s = sources.value(r);
                    sorted_names.iter().position(|x| *x == s).map(|i| 1u64 << i)
                })
                .collect()
        })
        .flatten();

    let fields = pipeline.fields();
    let derive_full_name = fields.iter().any(|f| f == "full_name");
    let field_cols: Vec<&StringArray> = fields.iter().map(|f| col(f)).collect::<Result<_>>()?;
    // A value shown but with a null match key is a placeholder (`standardize::placeholder`):
    // it survives only when no member of the cluster has a real value.
    let key_cols: Vec<Option<&StringArray>> = fields
        .iter()
        .map(|f| col(&schema::match_column(f)).ok())
        .collect();
    let members = clusters.members();
    // What a rule sees of record `r`, with `value` as the field's value.
    let candidate = |r: u32, value: &'b str| {
        let r_us = r as usize;
        Candidate {
            record: r,
            value,
            updated_at: updated.is_valid(r_us).then(|| updated.value(r_us)),
            priority: priority[r_us],
            source_order: source_order[r_us],
            row_number: rows.value(r_us),
        }
    };

    // Clusters are independent: chunks of them are survived in parallel and concatenated.
    let build = |clusters_range: std::ops::Range<usize>| -> Result<(RecordBatch, RecordBatch)> {
        let k = clusters_range.len();
        let mut golden_id = StringBuilder::with_capacity(k, k * 17);
        let mut values: Vec<StringBuilder> = fields
            .iter()
            .map(|_| StringBuilder::with_capacity(k, k * 8))
            .collect();
        let mut record_count = UInt32Builder::with_capacity(k);
        let mut source_list = StringBuilder::with_capacity(k, k * 12);
        let mut first_seen = StringBuilder::with_capacity(k, k * 19);
        let mut last_updated = StringBuilder::with_capacity(k, k * 19);
        let mut lin = LineageBuilder::with_capacity(k * fields.len());
        let full_name_idx = fields.iter().position(|f| f == "full_name");
        let first_idx = fields.iter().position(|f| f == "first_name");
        let last_idx = fields.iter().position(|f| f == "last_name");
        let mut cands: Vec<Candidate> = Vec::new();
        let mut by_recency: Vec<u32> = Vec::new();
        let mut chosen: Vec<Option<Candidate>> = Vec::with_capacity(fields.len());
        let mut full_name = String::new();
        // The `sources` value of each set of sources seen in this chunk (bit i: source i).
        let mut source_lists: foldhash::HashMap<u64, String> = Default::default();
        for c in clusters_range {
            let m = members.of(c);
            let gid = clusters.golden_ids[c].as_str();
            golden_id.append_value(gid);
            chosen.clear();
            // Members most recent first, once per cluster (most fields survive by recency).
            by_recency.clear();
            by_recency.extend_from_slice(m);
            if m.len() > 1 {
                by_recency.sort_by(|&a, &b| rules::recency(&candidate(a, ""), &candidate(b, "")));
            }
            for (f, field) in fields.iter().enumerate() {
                if Some(f) == full_name_idx && derive_full_name {
                    chosen.push(None);
                    continue;
                }
                let values_f = field_cols[f];
                let real = |r: u32| key_cols[f].is_none_or(|k| k.is_valid(r as usize));
                let has_real = m.iter().any(|&r| values_f.is_valid(r as usize) && real(r));
                let usable = |r: u32| values_f.is_valid(r as usize) && (real(r) || !has_real);
                let rule = pipeline.survivorship.rule_for(field);
                let pick = if rule == Rule::MostRecent {
                    // The first member in recency order that has a value: what `pick` would
                    // choose among them (it takes the first of equal candidates too).
                    by_recency
                        .iter()
                        .find(|&&r| usable(r))
                        .map(|&r| candidate(r, values_f.value(r as usize)))
                } else {
                    cands.clear();
                    cands.extend(
                        m.iter()
                            .filter(|&&r| usable(r))
                            .map(|&r| candidate(r, values_f.value(r as usize))),
                    );
                    rules::pick(rule, &cands)
                };
                if let Some(p) = pick {
                    let r = p.record as usize;
                    lin.push(
                        gid,
                        field,
                        p.value,
                        sources.value(r),
                        source_ids.value(r),
                        rule.as_str(),
                    );
                }
                chosen.push(pick);
            }
            if let Some(fi) = full_name_idx.filter(|_| derive_full_name) {
                let first = first_idx.and_then(|i| chosen[i]);
                let last = last_idx.and_then(|i| chosen[i]);
                full_name.clear();
                for part in [first, last].iter().flatten() {
                    if !full_name.is_empty() {
                        full_name.push(' ');
                    }
                    full_name.push_str(part.value);
                }
                if let Some(basis) = first.or(last) {
                    let r = basis.record as usize;
                    lin.push(
                        gid,
                        "full_name",
                        &full_name,
                        sources.value(r),
                        source_ids.value(r),
                        DERIVED_FULL_NAME,
                    );
                    values[fi].append_value(&full_name);
                } else {
                    values[fi].append_null();
                }
            }
            for (f, pick) in chosen.iter().enumerate() {
                if Some(f) == full_name_idx && derive_full_name {
                    continue;
                }
                match pick {
                    Some(p) => values[f].append_value(p.value),
                    None => values[f].append_null(),
                }
            }
            record_count.append_value(m.len() as u32);
            let list_of = || {
                let mut srcs: Vec<&str> = m.iter().map(|&r| sources.value(r as usize)).collect();
                srcs.sort_unstable();
                srcs.dedup();
                srcs.join(",")
            };
            match &source_bit {
                Some(bit) => {
                    let set = m.iter().fold(0, |set, &r| set | bit[r as usize]);
                    source_list.append_value(source_lists.entry(set).or_insert_with(list_of));
                }
                None => source_list.append_value(list_of()),
            }
            let times = m
                .iter()
                .filter(|&&r| updated.is_valid(r as usize))
                .map(|&r| updated.value(r as usize));
            let (lo, hi) = times.fold((None, None), |(lo, hi): (Option<&str>, Option<&str>), t| {
                (
                    Some(lo.map_or(t, |l| l.min(t))),
                    Some(hi.map_or(t, |h| h.max(t))),
                )
            });
            first_seen.append_option(lo);
            last_updated.append_option(hi);
        }

        let mut schema_fields = vec![Field::new(schema::GOLDEN_ID, DataType::Utf8, false)];
        let mut cols: Vec<ArrayRef> = vec![Arc::new(golden_id.finish())];
        for (f, b) in fields.iter().zip(values.iter_mut()) {
            schema_fields.push(Field::new(f, DataType::Utf8, true));
            cols.push(Arc::new(b.finish()));
        }
        schema_fields.extend([
            Field::new("record_count", DataType::UInt32, false),
            Field::new("sources", DataType::Utf8, false),
            Field::new("first_seen", DataType::Utf8, true),
            Field::new("last_updated", DataType::Utf8, true),
        ]);
        cols.push(Arc::new(record_count.finish()));
        cols.push(Arc::new(source_list.finish()));
        cols.push(Arc::new(first_seen.finish()));
        cols.push(Arc::new(last_updated.finish()));
        let golden = RecordBatch::try_new(Arc::new(Schema::new(schema_fields)), cols)?;
        Ok((golden, lin.finish()?))
    };
    let n = members.len();
    if n == 0 {
        let (golden, lineage) = build(0..0)?;
        return emit(golden, lineage);
    }
    let starts: Vec<usize> = (0..n).step_by(chunk.max(1)).collect();
    let wave = 2 * rayon::current_num_threads().max(1);
    // Each wave of chunks is built while the previous wave is handed to `emit` (which writes
    // it), so writing does not leave the other threads idle.
    let mut ready: Vec<(RecordBatch, RecordBatch)> = Vec::new();
    for starts in starts.chunks(wave) {
        let (emitted, built) = rayon::join(
            || {
                std::mem::take(&mut ready)
                    .into_iter()
                    .try_for_each(|(golden, lineage)| emit(golden, lineage))
            },
            || {
                starts
                    .par_iter()
                    .map(|&start| build(start..n.min(start + chunk)))
                    .collect::<Result<Vec<_>>>()
            },
        );
        emitted?;
        ready = built?;
    }
    ready
        .into_iter()
        .try_for_each(|(golden, lineage)| emit(golden, lineage))
}

/// Column builders of `lineage.parquet`.
struct LineageBuilder {
    golden_id: StringBuilder,
    field: StringBuilder,
    value: StringBuilder,
    source: StringBuilder,
    source_id: StringBuilder,
    rule: StringBuilder,
}

impl LineageBuilder {
    /// Builders sized for about `rows` rows.
    fn with_capacity(rows: usize) -> Self {
        let text = |bytes: usize| StringBuilder::with_capacity(rows, rows * bytes);
        LineageBuilder {
            golden_id: text(17),
            field: text(10),
            value: text(10),
            source: text(8),
            source_id: text(10),
            rule: text(12),
        }
    }

    fn push(
        &mut self,
        gid: &str,
        field: &str,
        value: &str,
        source: &str,
        source_id: &str,
        rule: &str,
    ) {
        self.golden_id.append_value(gid);
        self.field.append_value(field);
        self.value.append_value(value);
        self.source.append_value(source);
        self.source_id.append_value(source_id);
        self.rule.append_value(rule);
    }

    fn finish(mut self) -> Result<RecordBatch> {
        let names = schema::LINEAGE_COLUMNS;
        let schema = Schema::new(
            names
                .iter()
                .map(|n| Field::new(*n, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        );
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.golden_id.finish()),
            Arc::new(self.field.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.source_id.finish()),
            Arc::new(self.rule.finish()),
        ];
        Ok(RecordBatch::try_new(Arc::new(schema), cols)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::UInt64Array;

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
        survive_in_chunks(batch, &p, &clusters, chunk, |g, l| {
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
