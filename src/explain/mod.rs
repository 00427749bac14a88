//! `golden explain`: why a pair scored as it did (or would have), where a record went, and what
//! a golden record is made of.
//!
//! In: a run's tables ([`RunTables`]: `model.json`, `crosswalk`, `lineage`, `decisions`, and
//! for `--pair` `records.parquet` with the manifest and the run's copy of its pipeline,
//! `pipeline.toml`), read as typed rows by [`reader`]. Out: a plain-text report, written by
//! [`render`]. The scores of compared pairs are read back from the run; a pair the run never
//! compared is scored by [`why`] with the run's model and pipeline through the run's own
//! scoring code, and [`pair`] adds each blocking rule's verdict (keys computed from the match
//! keys in `records.parquet`) and what keeps the records apart. Values shown are the standardised values in `records.parquet`; a run without
//! it shows the surviving values in `lineage` (`(not kept)` elsewhere). `redact` replaces every
//! value and key with `***`.

pub mod pair;
pub mod reader;
pub mod render;
pub mod why;

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};
pub use reader::RunTables;
use reader::{Member, Table};
pub use render::level_label;

/// One input record, named as `SOURCE:ID`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordRef {
    /// Source name.
    pub source: String,
    /// The record's id in its source.
    pub id: String,
}

impl FromStr for RecordRef {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((source, id)) if !source.is_empty() && !id.is_empty() => Ok(RecordRef {
                source: source.to_string(),
                id: id.to_string(),
            }),
            _ => Err(format!(
                "`{s}` is not SOURCE:ID; write the source name, a colon and the record's id, e.g. crm:C1"
            )),
        }
    }
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.id)
    }
}

/// What to explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The score of a pair of records, field by field (a waterfall).
    Pair(RecordRef, RecordRef),
    /// One record: its golden record and the pairs it was part of.
    Record(RecordRef),
    /// One golden record: its values with their origin, its members and the links among them.
    Golden(String),
}

/// Explains `target` from the run's tables; `redact` hides every customer value.
///
/// A record or golden id that the run does not have is an [`Error::Usage`] with a hint.
pub fn explain(tables: &RunTables, target: &Target, redact: bool) -> Result<String> {
    let members = tables.crosswalk_rows()?;
    let mut out = String::new();
    match target {
        Target::Pair(a, b) => explain_pair(&mut out, tables, &members, (a, b), redact)?,
        Target::Record(r) => {
            let m = members
                .iter()
                .find(|m| &m.record == r)
                .ok_or_else(|| unknown_record(tables, r))?;
            let pairs = tables.pairs(|l, rr| l == r || rr == r)?;
            render::record_report(&mut out, m, &pairs);
            render::golden_report(&mut out, tables, &members, &m.golden_id, redact)?;
        }
        Target::Golden(g) => {
            if !members.iter().any(|m| &m.golden_id == g) {
                return Err(Error::Usage(format!(
                    "golden id `{g}` is not in {}; list the ids with `golden query {} \"select golden_id from golden\"`",
                    tables.dir.join(Table::Crosswalk.file()).display(),
                    tables.dir.display()
                )));
            }
            render::golden_report(&mut out, tables, &members, g, redact)?;
        }
    }
    Ok(out)
}

/// The waterfall of pair `a` ~ `b` and their golden records, or why they were never compared.
fn explain_pair(
    out: &mut String,
    tables: &RunTables,
    members: &[Member],
    (a, b): (&RecordRef, &RecordRef),
    redact: bool,
) -> Result<()> {
    use std::fmt::Write as _;
    let ga = golden_of(tables, members, a)?;
    let gb = golden_of(tables, members, b)?;
    let found = tables.pairs(|l, r| (l == a && r == b) || (l == b && r == a))?;
    if let Some(rec) = &tables.records {
        let sides = pair::Sides {
            records: (a, b),
            golden: (ga, gb),
            members,
        };
        return pair::report(out, tables, rec, &sides, found.first(), redact);
    }
    let Some(pair) = found.first() else {
        render::not_compared(out, (a, ga), (b, gb));
        return Ok(());
    };
    let lineage = if redact {
        Vec::new()
    } else {
        tables.lineage_rows()?
    };
    let title = format!("pair {a} ~ {b}   (blocking rule: {})", pair.blocking_rule);
    let value = |r: &RecordRef, field: &str| render::kept_value(&lineage, r, field, redact);
    render::waterfall(
        out,
        &tables.model,
        &title,
        &tables.scores(pair)?,
        (a, b),
        &value,
    );
    render::score_line(out, "", &tables.scores(pair)?);
    if !redact {
        let _ = writeln!(
            out,
            "values: the surviving values in lineage; (not kept) where another record's value survived"
        );
    }
    let _ = writeln!(
        out,
        "this run has no records.parquet (written by an older golden): the compared values were not kept by that run"
    );
    let _ = writeln!(
        out,
        "{a} is in golden record {ga}\n{b} is in golden record {gb}"
    );
    Ok(())
}

/// The golden id of record `r`; a usage error when the run does not have it.
fn golden_of<'a>(tables: &RunTables, members: &'a [Member], r: &RecordRef) -> Result<&'a str> {
    members
        .iter()
        .find(|m| &m.record == r)
        .map(|m| m.golden_id.as_str())
        .ok_or_else(|| unknown_record(tables, r))
}

/// The usage error for record `r`, which the run does not have, with a query to find it.
fn unknown_record(tables: &RunTables, r: &RecordRef) -> Error {
    Error::Usage(format!(
        "record `{r}` is not in {}; check the source name and id with `golden query {} \"select source, source_id from crosswalk where source = '{}'\"`, or look for the row in rejects",
        tables.dir.join(Table::Crosswalk.file()).display(),
        tables.dir.display(),
        r.source.replace('\'', "''")
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float32Array, Float64Array, Int8Array, StringArray, UInt64Array};
    use arrow::datatypes::{Field, Schema};

    use super::*;
    use crate::model::params::{ComparisonParams, ModelParams, TrainingHistory};
    use arrow::array::{ArrayRef, RecordBatch};
    use std::path::PathBuf;

    fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = cols
            .iter()
            .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
            .collect();
        let arrays = cols.into_iter().map(|(_, c)| c).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    fn s(v: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn cp(field: &str, method: &str, thresholds: &[f64], m: &[f64], u: &[f64]) -> ComparisonParams {
        ComparisonParams::for_test(field, method, thresholds, m, u)
    }

    /// Three records: a:1 and b:2 linked into G1 (with a tf adjustment on first_name), c:3
    /// alone in G2 and compared with a:1 as a non-match.
    fn tables() -> RunTables {
        RunTables {
            dir: PathBuf::from("run"),
            model: model(),
            crosswalk: batch(vec![
                ("source", s(&["a", "b", "c"])),
                ("source_id", s(&["1", "2", "3"])),
                ("golden_id", s(&["G1", "G1", "G2"])),
                (
                    "match_probability",
                    Arc::new(Float64Array::from(vec![Some(0.95), Some(0.95), None])),
                ),
                ("source_file", s(&["a.csv", "b.csv", "c.csv"])),
                ("row_number", Arc::new(UInt64Array::from(vec![1, 2, 3]))),
            ]),
            lineage: batch(vec![
                ("golden_id", s(&["G1", "G1", "G2"])),
                ("field", s(&["first_name", "birth_date", "first_name"])),
                ("value", s(&["Ann", "1990-02-03", "Cy"])),
                ("source", s(&["a", "b", "c"])),
                ("source_id", s(&["1", "2", "3"])),
                ("rule", s(&["most_recent", "longest", "most_recent"])),
            ]),
            decisions: decisions(),
            records: None,
        }
    }

    /// The model of [`tables`]: first names (jaro-winkler, two thresholds) and birth dates.
    fn model() -> ModelParams {
        ModelParams {
            golden_version: "test".into(),
            prior: 0.01,
            comparisons: vec![
                cp(
                    "first_name",
                    "jaro_winkler",
                    &[0.92, 0.8],
                    &[0.1, 0.1, 0.2, 0.6],
                    &[0.85, 0.1, 0.04, 0.01],
                ),
                cp(
                    "birth_date",
                    "date",
                    &[],
                    &[0.05, 0.05, 0.05, 0.85],
                    &[0.95, 0.03, 0.01, 0.01],
                ),
            ],
            moved: Default::default(),
            household: None,
            labels: None,
            thresholds: None,
            history: TrainingHistory::default(),
        }
    }

    /// The decisions of [`tables`]: a:1 ~ b:2 a match, a:1 ~ c:3 a non-match.
    fn decisions() -> RecordBatch {
        batch(vec![
            ("left_source", s(&["a", "a"])),
            ("left_id", s(&["1", "1"])),
            ("right_source", s(&["b", "c"])),
            ("right_id", s(&["2", "3"])),
            ("blocking_rule", s(&["last_name", "phone"])),
            ("first_name_level", Arc::new(Int8Array::from(vec![2, 0]))),
            (
                "first_name_weight",
                Arc::new(Float32Array::from(vec![2.321928, -3.087463])),
            ),
            (
                "first_name_tf_adjustment",
                Arc::new(Float32Array::from(vec![1.0, 0.0])),
            ),
            ("birth_date_level", Arc::new(Int8Array::from(vec![2, -1]))),
            (
                "birth_date_weight",
                Arc::new(Float32Array::from(vec![2.321928, 0.0])),
            ),
            (
                "match_weight",
                Arc::new(Float64Array::from(vec![-0.985567, -9.716870])),
            ),
            (
                "match_probability",
                Arc::new(Float64Array::from(vec![0.335576, 0.001188])),
            ),
            ("decision", s(&["match", "non_match"])),
        ])
    }

    fn rec(s: &str) -> RecordRef {
        s.parse().unwrap()
    }

    #[test]
    fn level_labels_name_thresholds_dates_and_ends() {
        let t = tables();
        let (jw, date) = (&t.model.comparisons[0], &t.model.comparisons[1]);
        let labels: Vec<String> = (-1..=3).map(|l| level_label(jw, l)).collect();
        assert_eq!(
            labels,
            [
                "null",
                "else",
                "jaro_winkler ≥ 0.8",
                "jaro_winkler ≥ 0.92",
                "exact"
            ]
        );
        let labels: Vec<String> = (-1..=3).map(|l| level_label(date, l)).collect();
        assert_eq!(
            labels,
            [
                "null",
                "else",
                "one-character typo",
                "day/month swapped",
                "exact"
            ]
        );
        let exact = cp("email", "exact", &[], &[0.3, 0.7], &[0.999, 0.001]);
        assert_eq!(level_label(&exact, 1), "exact");
    }

    #[test]
    fn pair_waterfall_runs_from_prior_to_decision() {
        let text = explain(&tables(), &Target::Pair(rec("a:1"), rec("b:2")), false).unwrap();
        let expected = "\
pair a:1 ~ b:2   (blocking rule: last_name)
step         level                     m        u   weight      tf   total   a:1          b:2
prior                                                -6.63           -6.63
first_name   jaro_winkler ≥ 0.92   0.200   0.0400    +2.32   +1.00   -3.31   Ann          (not kept)
birth_date   day/month swapped     0.050   0.0100    +2.32           -0.99   (not kept)   1990-02-03
match weight -0.99   probability 0.3356   decision match
values: the surviving values in lineage; (not kept) where another record's value survived
this run has no records.parquet (written by an older golden): the compared values were not kept by that run
a:1 is in golden record G1
b:2 is in golden record G1
";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn pair_is_found_in_either_order_and_redacted() {
        let text = explain(&tables(), &Target::Pair(rec("b:2"), rec("a:1")), true).unwrap();
        assert!(text.starts_with("pair b:2 ~ a:1   (blocking rule: last_name)\n"));
        assert!(!text.contains("Ann") && !text.contains("1990"), "{text}");
        assert!(text.contains("+2.32   +1.00   -3.31   ***   ***"), "{text}");
    }

    #[test]
    fn pair_never_compared_says_so() {
        let text = explain(&tables(), &Target::Pair(rec("b:2"), rec("c:3")), false).unwrap();
        assert_eq!(
            text,
            "pair b:2 ~ c:3: not compared: no blocking rule put them in one block\n\
             b:2 is in golden record G1\n\
             c:3 is in golden record G2 (different golden records)\n"
        );
    }

    #[test]
    fn null_levels_show_no_m_or_u() {
        let text = explain(&tables(), &Target::Pair(rec("a:1"), rec("c:3")), false).unwrap();
        let line = text.lines().find(|l| l.starts_with("birth_date")).unwrap();
        assert_eq!(
            line,
            "birth_date   null                      +0.00           -9.72   (not kept)   (not kept)"
        );
    }

    #[test]
    fn golden_lists_values_members_and_only_linking_pairs() {
        let text = explain(&tables(), &Target::Golden("G1".into()), false).unwrap();
        let expected = "\
golden record G1   (2 records: a:1, b:2)
field        value        source   source_id   rule
first_name   Ann          a        1           most_recent
birth_date   1990-02-03   b        2           longest

members (2)
source   source_id   match probability   file    row
a        1                      0.9500   a.csv     1
b        2                      0.9500   b.csv     2

links (1)
left   right   decision   probability   blocking rule
a:1    b:2     match           0.3356   last_name
";
        assert_eq!(text, expected, "\n{text}");
        let redacted = explain(&tables(), &Target::Golden("G1".into()), true).unwrap();
        assert!(
            redacted.contains("first_name   ***     a        1"),
            "{redacted}"
        );
        assert!(!redacted.contains("Ann"));
    }

    #[test]
    fn record_lists_its_pairs_and_golden_record() {
        let text = explain(&tables(), &Target::Record(rec("c:3")), false).unwrap();
        assert!(text.starts_with("record c:3   (c.csv row 3)\ngolden id           G2\nmatch probability   -\n\npairs with c:3 (1)\n"), "{text}");
        assert!(
            text.contains("a:1     non_match        0.0012          -9.72   phone"),
            "{text}"
        );
        assert!(
            text.contains("golden record G2   (1 record: c:3)"),
            "{text}"
        );
        assert!(text.contains("links (0)"), "{text}");
    }

    #[test]
    fn unknown_ids_are_usage_errors_with_a_hint() {
        let t = tables();
        for target in [
            Target::Record(rec("a:9")),
            Target::Pair(rec("a:1"), rec("z:1")),
            Target::Golden("G9".into()),
        ] {
            let e = explain(&t, &target, false).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
            assert!(e.to_string().contains("golden query run"), "{e}");
        }
    }

    #[test]
    fn record_refs_parse_at_the_first_colon() {
        assert_eq!(rec("crm:C:1").id, "C:1");
        assert!("crm".parse::<RecordRef>().is_err());
        assert!(":1".parse::<RecordRef>().is_err());
    }
}
