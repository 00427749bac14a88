//! Stage "standardize": one source's records → the same rows, each field column replaced by its
//! clean display value and one `<field>__match` key column appended per field.
//!
//! Each field kind has its own file with a pure kernel over [`StringArray`]s that returns a
//! [`Cleaned`] pair; [`standardize`] picks the kernel from the field name ([`FieldKind::of`]).

pub mod address;
pub mod date;
pub mod email;
pub mod keys;
pub mod name;
pub mod phone;
pub mod placeholder;
pub mod postcode;
pub mod profile;
pub mod records;
mod text;
pub mod value_ids;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use rayon::prelude::*;

use crate::Result;
use crate::config::StandardizeConfig;
use crate::schema::match_column;

use name::{FullNames, NameKind};
use text::{CleanedBuilder, value_at};

/// A standardised column: row for row, the value to show and the key to match on.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    /// What a golden record shows (null when the value is missing or invalid).
    pub display: StringArray,
    /// The normalised key used for blocking and comparison (null exactly when `display` is).
    pub key: StringArray,
}

impl Cleaned {
    /// A column of `rows` nulls, for a field the source does not map.
    pub fn nulls(rows: usize) -> Self {
        let display = StringArray::new_null(rows);
        Cleaned {
            key: display.clone(),
            display,
        }
    }

    /// `display` with `key`; a key equal to the display (phones, dates) becomes the display
    /// column itself, sharing its buffers: one copy in memory, and the steps after
    /// ([`Self::concat`], [`Self::take`], `pipeline::standardize_all`) see that they are one
    /// column without comparing them.
    pub fn new(display: StringArray, key: StringArray) -> Self {
        let key = if key == display { display.clone() } else { key };
        Cleaned { display, key }
    }

    /// Whether the key is the display column itself (the same buffers, see [`Self::new`]).
    pub fn key_is_display(&self) -> bool {
        same_column(&self.display, &self.key)
    }

    /// The chunks `parts`, one after the other.
    pub fn concat(parts: &[Cleaned]) -> Cleaned {
        let join = |pick: fn(&Cleaned) -> &StringArray| {
            let arrays: Vec<&dyn Array> = parts.iter().map(|c| pick(c) as &dyn Array).collect();
            match arrow::compute::concat(&arrays) {
                Ok(a) => a.as_string::<i32>().clone(),
                // Only fails past i32 offsets (2 GiB of text in one column), where the row-by-row
                // StringBuilder would panic as well.
                Err(e) => panic!("standardize: column too large to concatenate: {e}"),
            }
        };
        let display = join(|c| &c.display);
        let key = if parts.iter().all(Cleaned::key_is_display) {
            display.clone()
        } else {
            join(|c| &c.key)
        };
        Cleaned { display, key }
    }

    /// The rows `indices` of this column (a null index gives a null row).
    pub fn take(&self, indices: &UInt32Array) -> Cleaned {
        let pick = |a: &StringArray| match arrow::compute::take(a, indices, None) {
            Ok(a) => a.as_string::<i32>().clone(),
            // Only fails past i32 offsets, as in `concat`.
            Err(e) => panic!("standardize: column too large to gather: {e}"),
        };
        let display = pick(&self.display);
        let key = if self.key_is_display() {
            display.clone()
        } else {
            pick(&self.key)
        };
        Cleaned { display, key }
    }

    /// This column with its null rows taken from `fill` (display and key together).
    pub fn fill_nulls(&self, fill: &Cleaned) -> Cleaned {
        debug_assert_eq!(self.display.len(), fill.display.len());
        let mut out = CleanedBuilder::like(&self.display);
        for row in 0..self.display.len() {
            let from = if self.display.is_valid(row) {
                self
            } else {
                fill
            };
            out.append(value_at(&from.display, row), value_at(&from.key, row));
        }
        out.finish()
    }
}

/// Whether `a` and `b` are one column: the same buffers, not merely equal values.
pub fn same_column(a: &dyn Array, b: &dyn Array) -> bool {
    a.to_data().ptr_eq(&b.to_data())
}

/// Which kernel standardises a field, decided by the field's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `first_name`: a personal name whose key maps nicknames.
    FirstName,
    /// `last_name`: a personal name.
    LastName,
    /// `full_name`: a personal name that is also split into first and last names.
    FullName,
    /// `email`: lowercase address; key without `+tag` and Gmail dots.
    Email,
    /// `phone`: E.164.
    Phone,
    /// `postcode`: uppercase, UK codes spaced.
    Postcode,
    /// `birth_date` or any `*_date`: ISO `YYYY-MM-DD`.
    Date {
        /// Whether it is a birth date (epoch seconds must then lie in the past).
        birth: bool,
    },
    /// `street`: title case; key with standard abbreviations.
    Street,
    /// `city`: title case; folded key.
    City,
    /// `country`: ISO 3166 alpha-2.
    Country,
    /// Any other field: trimmed; key lowercase.
    Other,
}

impl FieldKind {
    /// The kind of the field called `field`.
    pub fn of(field: &str) -> FieldKind {
        match field {
            "first_name" => FieldKind::FirstName,
            "last_name" => FieldKind::LastName,
            "full_name" => FieldKind::FullName,
            "email" => FieldKind::Email,
            "phone" => FieldKind::Phone,
            "postcode" => FieldKind::Postcode,
            "street" => FieldKind::Street,
            "city" => FieldKind::City,
            "country" => FieldKind::Country,
            "birth_date" => FieldKind::Date { birth: true },
            f if f.ends_with("_date") => FieldKind::Date { birth: false },
            _ => FieldKind::Other,
        }
    }
}

/// Standardises one field column with the kernel of `kind`; `countries` (the record's raw
/// country, row for row) only matters for phones.
pub fn standardize_column(
    kind: FieldKind,
    values: &StringArray,
    countries: Option<&StringArray>,
    cfg: &StandardizeConfig,
) -> Cleaned {
    match kind {
        FieldKind::FirstName => name::names(values, NameKind::First),
        FieldKind::LastName => name::names(values, NameKind::Last),
        FieldKind::FullName => name::full_names(values).full,
        FieldKind::Email => email::emails(values),
        FieldKind::Phone => phone::phones(values, countries, cfg.default_phone_region.as_deref()),
        FieldKind::Postcode => postcode::postcodes(values),
        FieldKind::Date { birth } => date::dates(values, birth),
        FieldKind::Street => address::streets(values),
        FieldKind::City => address::cities(values),
        FieldKind::Country => address::countries(values),
        FieldKind::Other => others(values),
    }
}

/// Any other field: display the cleaned text, match on it lowercased.
fn others(values: &StringArray) -> Cleaned {
    text::map_cleaned(values, |s| {
        let key = s.to_lowercase();
        Some((s.to_string(), key))
    })
}

/// Standardises one source's records. Columns that are not fields (the metadata) stay in place;
/// then come the fields in `fields` order (display values; a field the batch lacks is all null)
/// and then their `<field>__match` keys in the same order. A `full_name` fills the nulls of
/// `first_name` and `last_name`, which are added before it when `fields` lacks them.
pub fn standardize(
    batch: &RecordBatch,
    fields: &[String],
    cfg: &StandardizeConfig,
) -> crate::Result<RecordBatch> {
    let fields = with_split_names(fields);
    let rows = batch.num_rows();
    let raw = fields
        .iter()
        .map(|f| utf8_column(batch, f))
        .collect::<Result<Vec<_>>>()?;
    let countries = fields
        .iter()
        .position(|f| *f == "country")
        .and_then(|i| raw[i].as_ref());

    // Fields run in parallel (and each kernel over chunks of rows, see `text::map_cleaned`).
    let results: Vec<(Cleaned, Option<FullNames>)> = fields
        .par_iter()
        .zip(&raw)
        .map(|(field, values)| {
            let Some(values) = values else {
                return (Cleaned::nulls(rows), None);
            };
            let started = std::time::Instant::now();
            let out = match FieldKind::of(field) {
                FieldKind::FullName => {
                    let names = name::full_names(values);
                    (names.full.clone(), Some(names))
                }
                kind => (standardize_column(kind, values, countries, cfg), None),
            };
            let seconds = started.elapsed().as_secs_f64();
            tracing::debug!(field = *field, rows, seconds, "field standardised");
            out
        })
        .collect();
    let mut split = None;
    let mut cleaned = Vec::with_capacity(results.len());
    for (c, names) in results {
        if let Some(FullNames { first, last, .. }) = names {
            split = Some([("first_name", first), ("last_name", last)]);
        }
        cleaned.push(c);
    }
    for (field, part) in split.into_iter().flatten() {
        if let Some(i) = fields.iter().position(|f| *f == field) {
            cleaned[i] = cleaned[i].fill_nulls(&part);
        }
    }

    let schema = batch.schema();
    let is_derived = |name: &str| fields.iter().any(|f| *f == name || match_column(f) == name);
    let mut out_fields: Vec<FieldRef> =
        Vec::with_capacity(schema.fields().len() + 2 * fields.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(out_fields.capacity());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if !is_derived(field.name()) {
            out_fields.push(field.clone());
            columns.push(column.clone());
        }
    }
    for (field, c) in fields.iter().zip(&cleaned) {
        out_fields.push(Arc::new(Field::new(*field, DataType::Utf8, true)));
        columns.push(Arc::new(c.display.clone()));
    }
    for (field, c) in fields.iter().zip(&cleaned) {
        out_fields.push(Arc::new(Field::new(
            match_column(field),
            DataType::Utf8,
            true,
        )));
        columns.push(Arc::new(c.key.clone()));
    }
    let schema = Schema::new_with_metadata(out_fields, schema.metadata().clone());
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(schema),
        columns,
        &options,
    )?)
}

/// `fields`, with `first_name` and `last_name` inserted before `full_name` when missing.
fn with_split_names(fields: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(fields.len() + 2);
    for field in fields {
        if field == "full_name" {
            for part in ["first_name", "last_name"] {
                if !fields.iter().any(|f| f == part) {
                    out.push(part);
                }
            }
        }
        if !out.contains(&field.as_str()) {
            out.push(field);
        }
    }
    out
}

/// The column `field` of `batch` as Utf8 (cast when it has another type), `None` when absent.
fn utf8_column(batch: &RecordBatch, field: &str) -> Result<Option<StringArray>> {
    let Some(column) = batch.column_by_name(field) else {
        return Ok(None);
    };
    Ok(Some(crate::run::as_utf8(column)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{UInt32Array, UInt64Array};

    fn cfg() -> StandardizeConfig {
        StandardizeConfig {
            default_phone_region: Some("GB".to_string()),
        }
    }

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn metadata() -> Vec<(&'static str, ArrayRef)> {
        vec![
            (
                "record_idx",
                Arc::new(UInt32Array::from(vec![0, 1, 2])) as ArrayRef,
            ),
            ("source", strings(&[Some("crm"); 3])),
            ("source_id", strings(&[Some("a"), Some("b"), Some("c")])),
            ("row_number", Arc::new(UInt64Array::from(vec![1, 2, 3]))),
            ("source_file", strings(&[Some("crm.csv"); 3])),
            ("updated_at", strings(&[None, None, None])),
        ]
    }

    fn column<'a>(batch: &'a RecordBatch, name: &str) -> Vec<Option<&'a str>> {
        batch
            .column_by_name(name)
            .unwrap()
            .as_string::<i32>()
            .iter()
            .collect()
    }

    fn names(batch: &RecordBatch) -> Vec<String> {
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    #[test]
    fn kinds_from_field_names() {
        assert_eq!(FieldKind::of("first_name"), FieldKind::FirstName);
        assert_eq!(FieldKind::of("birth_date"), FieldKind::Date { birth: true });
        assert_eq!(
            FieldKind::of("signup_date"),
            FieldKind::Date { birth: false }
        );
        assert_eq!(FieldKind::of("loyalty_tier"), FieldKind::Other);
    }

    #[test]
    fn standardizes_a_source_and_adds_missing_fields() {
        let mut columns = metadata();
        columns.extend([
            ("tier", strings(&[Some(" Gold "), Some("n/a"), None])),
            (
                "email",
                strings(&[Some("J.Smith+news@GoogleMail.com"), Some("bad"), Some("")]),
            ),
            (
                "full_name",
                strings(&[Some("Smith, Bob"), Some("Mrs Anne O'Neil"), None]),
            ),
            (
                "phone",
                strings(&[Some("07700 900123"), Some("(415) 555-2671"), Some("12")]),
            ),
            ("country", strings(&[Some("UK"), Some("USA"), Some("null")])),
            (
                "birth_date",
                strings(&[Some("25/12/1990"), Some("3 Feb 1985"), Some("30/02/1985")]),
            ),
        ]);
        let fields: Vec<String> = [
            "first_name",
            "last_name",
            "full_name",
            "email",
            "phone",
            "postcode",
            "country",
            "birth_date",
            "tier",
        ]
        .map(String::from)
        .to_vec();
        let out = standardize(&batch(columns), &fields, &cfg()).unwrap();
        let mut expected: Vec<String> = metadata().iter().map(|(n, _)| n.to_string()).collect();
        expected.extend(fields.iter().cloned());
        expected.extend(fields.iter().map(|f| match_column(f)));
        assert_eq!(names(&out), expected);
        assert_eq!(out.num_rows(), 3);
        assert_eq!(
            column(&out, "source_id"),
            vec![Some("a"), Some("b"), Some("c")]
        );

        assert_eq!(
            column(&out, "first_name"),
            vec![Some("Bob"), Some("Anne"), None]
        );
        assert_eq!(
            column(&out, "first_name__match"),
            vec![Some("robert"), Some("anne"), None]
        );
        assert_eq!(
            column(&out, "last_name"),
            vec![Some("Smith"), Some("O'Neil"), None]
        );
        assert_eq!(
            column(&out, "full_name"),
            vec![Some("Bob Smith"), Some("Anne O'Neil"), None]
        );
        assert_eq!(
            column(&out, "full_name__match"),
            vec![Some("robert smith"), Some("anne oneil"), None]
        );
        assert_eq!(
            column(&out, "email"),
            vec![Some("j.smith+news@googlemail.com"), None, None]
        );
        assert_eq!(
            column(&out, "email__match"),
            vec![Some("jsmith@gmail.com"), None, None]
        );
        assert_eq!(
            column(&out, "phone"),
            vec![Some("+447700900123"), Some("+14155552671"), None]
        );
        assert_eq!(column(&out, "postcode"), vec![None, None, None]);
        assert_eq!(column(&out, "postcode__match"), vec![None, None, None]);
        assert_eq!(column(&out, "country"), vec![Some("GB"), Some("US"), None]);
        assert_eq!(
            column(&out, "birth_date__match"),
            vec![Some("1990-12-25"), Some("1985-02-03"), None]
        );
        assert_eq!(column(&out, "tier"), vec![Some("Gold"), None, None]);
        assert_eq!(column(&out, "tier__match"), vec![Some("gold"), None, None]);
        // A key equal to its display column is that column (phones, dates, a field the
        // source lacks); one that differs in a row is a column of its own.
        let shared = |f: &str| {
            let (d, m) = (
                out.column_by_name(f).unwrap(),
                out.column_by_name(&match_column(f)),
            );
            same_column(d.as_ref(), m.unwrap().as_ref())
        };
        for f in ["phone", "birth_date", "postcode"] {
            assert!(shared(f), "{f}");
        }
        for f in ["first_name", "email", "tier", "full_name"] {
            assert!(!shared(f), "{f}");
        }
    }

    #[test]
    fn a_key_shared_with_its_display_stays_shared_through_concat_and_take() {
        let col = |v: &[Option<&str>]| StringArray::from(v.to_vec());
        let same = Cleaned::new(col(&[Some("a"), None]), col(&[Some("a"), None]));
        let other = Cleaned::new(col(&[Some("B")]), col(&[Some("b")]));
        assert!(same.key_is_display());
        assert!(!other.key_is_display());
        let both = Cleaned::concat(&[same.clone(), same.clone()]);
        assert!(both.key_is_display());
        assert_eq!(both.key, col(&[Some("a"), None, Some("a"), None]));
        let mixed = Cleaned::concat(&[same.clone(), other]);
        assert!(!mixed.key_is_display());
        assert_eq!(mixed.display, col(&[Some("a"), None, Some("B")]));
        assert_eq!(mixed.key, col(&[Some("a"), None, Some("b")]));
        let taken = both.take(&UInt32Array::from(vec![Some(2), None, Some(1)]));
        assert!(taken.key_is_display());
        assert_eq!(taken.display, col(&[Some("a"), None, None]));
    }

    #[test]
    fn full_name_fills_only_null_split_names() {
        let mut columns = metadata();
        columns.extend([
            ("first_name", strings(&[Some("Robert"), None, Some("  ")])),
            (
                "full_name",
                strings(&[Some("Jim Beam"), Some("Jim Beam"), Some("van Dyke, Dick")]),
            ),
        ]);
        let fields = vec!["full_name".to_string()];
        let out = standardize(&batch(columns), &fields, &cfg()).unwrap();
        let tail: Vec<String> = names(&out).split_off(6);
        assert_eq!(
            tail,
            [
                "first_name",
                "last_name",
                "full_name",
                "first_name__match",
                "last_name__match",
                "full_name__match"
            ]
        );
        assert_eq!(
            column(&out, "first_name"),
            vec![Some("Robert"), Some("Jim"), Some("Dick")]
        );
        assert_eq!(
            column(&out, "first_name__match"),
            vec![Some("robert"), Some("james"), Some("richard")]
        );
        assert_eq!(
            column(&out, "last_name"),
            vec![Some("Beam"), Some("Beam"), Some("Van Dyke")]
        );
    }

    #[test]
    fn non_utf8_field_columns_are_cast() {
        let mut columns = metadata();
        columns.push((
            "score",
            Arc::new(UInt32Array::from(vec![Some(7), None, Some(9)])) as ArrayRef,
        ));
        let out = standardize(&batch(columns), &["score".to_string()], &cfg()).unwrap();
        assert_eq!(
            column(&out, "score__match"),
            vec![Some("7"), None, Some("9")]
        );
    }
}
