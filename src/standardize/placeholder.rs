//! Placeholder values: what a form or an export writes when it has no real value
//! (`noemail@example.com`, `1900-01-01`, `9999999999`) and values that far more records carry than
//! one person's records could. Left in the match keys they chain different people into one golden
//! record, so [`mask`] nulls them there (blocking, comparison and term frequencies treat them as
//! missing). Their display values stay: survivorship takes one only when no member of a cluster
//! has a real value (see `survive`).
//!
//! Two tests, per field, on the standardised match keys of all sources together:
//!
//! - **Built-in dummies** ([`is_dummy`]): e-mails whose local part says "none" (`n/a`, `noemail`,
//!   `noreply`, `test`, …, see [`DUMMY_EMAIL_LOCALS`]) or is one letter repeated as the domain
//!   (`x@x.com`); phone numbers whose national part is one repeated digit or a run of consecutive
//!   digits (`1234567890`, `0123456789`, `9876543210`); the dates in [`DUMMY_DATES`]; names made
//!   only of [`DUMMY_NAMES`]. Dates that are real for many people but also common defaults
//!   ([`SUSPECT_DATES`]: `1970-01-01`, `2000-01-01`) count only when also too frequent (a lower
//!   bar than other values, see [`Limits`]).
//! - **Frequency** (e-mails, phones and birth dates only; never names, postcodes or addresses,
//!   which many real people share): a value is a placeholder when more records carry it than
//!   [`Limits::frequent`], the largest of [`MIN_RECORDS`], [`RECORDS_PER_SOURCE`] × the number of
//!   sources (one person has at most a few records per source), and [`MEDIAN_FACTOR`] × the
//!   median number of records per distinct value of that field, its most frequent value left
//!   out (on large data sets a real birth date is shared by about records ÷ distinct dates
//!   people; the bar grows with it), so the test holds on data sets of any size without tuning.
//!
//! Values are never logged or reported: only per field the number of distinct placeholder values
//! and of records that carried one ([`PlaceholderCount`], in `manifest.json`).

use std::collections::BTreeMap;

use arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
#[cfg(test)]
use foldhash::HashSet;
use phonenumber::metadata::DATABASE;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::FieldKind;
use super::value_ids::{NO_VALUE, ValueIds};
use crate::Result;
use crate::schema::match_column;

/// Records a value must exceed, whatever the data, to be a placeholder by frequency.
pub const MIN_RECORDS: u64 = 20;
/// Records one person may have per source (duplicates within an export included).
pub const RECORDS_PER_SOURCE: u64 = 5;
/// How many times the median records per distinct value a value must exceed.
pub const MEDIAN_FACTOR: u64 = 20;
/// The same factor for [`SUSPECT_DATES`], which are also common defaults.
pub const SUSPECT_MEDIAN_FACTOR: u64 = 5;

/// E-mail local parts that mean "no address", compared after dropping `.`, `-`, `_` and `/`
/// (so `n/a`, `no.email`, `do-not-reply` match `na`, `noemail`, `donotreply`).
pub const DUMMY_EMAIL_LOCALS: &[&str] = &[
    "asdf",
    "declined",
    "donotemail",
    "donotreply",
    "dontreply",
    "dummy",
    "email",
    "example",
    "fake",
    "na",
    "nil",
    "noaddress",
    "nobody",
    "noemail",
    "noemailaddress",
    "noemailgiven",
    "noemailprovided",
    "nomail",
    "none",
    "nonegiven",
    "noone",
    "noreply",
    "notavailable",
    "notgiven",
    "notprovided",
    "null",
    "refused",
    "sample",
    "test",
    "testing",
    "unknown",
    "xxx",
];

/// Birth dates that are defaults, not birthdays: the first day of 1900 and 1901, repeated
/// digits, end-of-time values, and the zero dates of Excel (1899-12-30/31), SQL Server
/// (1753-01-01) and .NET (0001-01-01).
pub const DUMMY_DATES: &[&str] = &[
    "0001-01-01",
    "1111-11-11",
    "1753-01-01",
    "1899-12-30",
    "1899-12-31",
    "1900-01-01",
    "1901-01-01",
    "9999-09-09",
    "9999-12-31",
];

/// Dates that are also real birthdays (2000-01-01) or the Unix epoch: placeholders only when
/// too frequent ([`SUSPECT_MEDIAN_FACTOR`]).
pub const SUSPECT_DATES: &[&str] = &["1970-01-01", "2000-01-01"];

/// Name match keys that are no name; a name is a dummy when all its words are.
/// (`unknown`, `none`, `null`, `n/a` are already removed by standardisation.)
pub const DUMMY_NAMES: &[&str] = &[
    "anonymous",
    "asdf",
    "dummy",
    "fake",
    "noname",
    "test",
    "testing",
    "xx",
    "xxx",
    "xxxx",
];

/// Placeholders found in one field.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct PlaceholderCount {
    /// Distinct placeholder values (the values themselves are never recorded).
    pub values: u64,
    /// Records whose value was one of them.
    pub records: u64,
}

/// Per checked field, what was found (in `manifest.json` as `placeholders`).
pub type Placeholders = BTreeMap<String, PlaceholderCount>;

/// How a field kind is checked: `None` not at all, else whether frequency counts too.
fn policy(kind: FieldKind) -> Option<bool> {
    match kind {
        FieldKind::Email | FieldKind::Phone | FieldKind::Date { birth: true } => Some(true),
        FieldKind::FirstName | FieldKind::LastName | FieldKind::FullName => Some(false),
        _ => None,
    }
}

/// Nulls the placeholder values of every checked field in its `<field>__match` column of
/// `records` (all sources, standardised; `sources` is how many there are), and says how many
/// were found per field.
pub fn mask(
    records: RecordBatch,
    fields: &[String],
    sources: usize,
) -> Result<(RecordBatch, Placeholders)> {
    let schema = records.schema();
    let checked: Vec<(usize, &str, FieldKind)> = fields
        .iter()
        .filter_map(|f| {
            let kind = FieldKind::of(f);
            policy(kind)?;
            Some((schema.index_of(&match_column(f)).ok()?, f.as_str(), kind))
        })
        .collect();
    let masked: Vec<(usize, &str, Option<ArrayRef>, PlaceholderCount)> = checked
        .into_par_iter()
        .map(|(i, field, kind)| {
            let keys = records.column(i).as_string::<i32>();
            let (column, count) = mask_column(field, keys, kind, sources)?;
            Ok((i, field, column, count))
        })
        .collect::<Result<_>>()?;
    let mut columns = records.columns().to_vec();
    let mut report = Placeholders::new();
    for (i, field, column, count) in masked {
        if let Some(column) = column {
            columns[i] = column;
        }
        if count.values > 0 {
            tracing::info!(
                field,
                values = count.values,
                records = count.records,
                "placeholder values treated as missing for matching"
            );
        }
        report.insert(field.to_string(), count);
    }
    Ok((RecordBatch::try_new(schema, columns)?, report))
}

/// The keys of field `field` with its placeholders nulled (`None`: there were none) and their
/// count.
fn mask_column(
    field: &str,
    keys: &StringArray,
    kind: FieldKind,
    sources: usize,
) -> Result<(Option<ArrayRef>, PlaceholderCount)> {
    let found = placeholders(field, keys, kind, sources);
    let values = found.count() as u64;
    if values == 0 {
        return Ok((None, PlaceholderCount::default()));
    }
    let rows: BooleanArray = found
        .keys
        .ids
        .iter()
        .map(|&id| Some(id != NO_VALUE && found.is_placeholder[id as usize]))
        .collect();
    let records = rows.true_count() as u64;
    let column = arrow::compute::nullif(keys, &rows)?;
    Ok((Some(column), PlaceholderCount { values, records }))
}

/// The frequency bars of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// More records than this make any value a placeholder.
    pub frequent: u64,
    /// More records than this make a [`SUSPECT_DATES`] value a placeholder.
    pub suspect: u64,
}

impl Limits {
    /// The bars for a field whose distinct values have `median` records each, over `sources`.
    pub fn new(median: u64, sources: usize) -> Limits {
        let floor = MIN_RECORDS.max(RECORDS_PER_SOURCE * sources as u64);
        Limits {
            frequent: floor.max(MEDIAN_FACTOR * median),
            suspect: floor.max(SUSPECT_MEDIAN_FACTOR * median),
        }
    }
}

/// A column's keys interned, and which of them are placeholders.
struct Found<'a> {
    /// Each row's key id and the distinct keys.
    keys: ValueIds<'a>,
    /// Per key id: whether it is a placeholder.
    is_placeholder: Vec<bool>,
}

impl<'a> Found<'a> {
    /// How many distinct keys are placeholders.
    fn count(&self) -> usize {
        self.is_placeholder.iter().filter(|&&p| p).count()
    }

    /// The placeholder keys.
    #[cfg(test)]
    fn values(&self) -> HashSet<&'a str> {
        let ids = (0..self.keys.distinct.len()).filter(|&i| self.is_placeholder[i]);
        ids.map(|i| self.keys.distinct[i]).collect()
    }
}

/// The placeholder keys of the column of field `field`, of kind `kind`: each distinct key is
/// judged once, and counted through its id, so a row costs one hash lookup.
fn placeholders<'a>(
    field: &str,
    keys: &'a StringArray,
    kind: FieldKind,
    sources: usize,
) -> Found<'a> {
    let keys = ValueIds::with_empty(keys);
    let Some(by_frequency) = policy(kind) else {
        let is_placeholder = vec![false; keys.distinct.len()];
        return Found {
            keys,
            is_placeholder,
        };
    };
    let mut counts = vec![0u64; keys.distinct.len()];
    for &id in keys.ids.iter().filter(|&&id| id != NO_VALUE) {
        counts[id as usize] += 1;
    }
    let limits = Limits::new(median(counts.clone()), sources);
    let is_placeholder: Vec<bool> = (keys.distinct.iter().zip(&counts))
        .map(|(&key, &n)| {
            is_dummy(kind, key)
                || (by_frequency && n > limits.frequent)
                || (by_frequency && n > limits.suspect && SUSPECT_DATES.contains(&key))
        })
        .collect();
    let found = Found {
        keys,
        is_placeholder,
    };
    tracing::debug!(
        field,
        distinct = counts.len(),
        by_frequency,
        limit = limits.frequent,
        placeholders = found.count(),
        "placeholder check"
    );
    found
}

/// The median of `counts` without its largest one (0 when that leaves none): the typical
/// frequency of the other values, so that a file where one value is on every record still
/// measures that value against the floor rather than against itself.
fn median(mut counts: Vec<u64>) -> u64 {
    let Some(top) = (0..counts.len()).max_by_key(|&i| counts[i]) else {
        return 0;
    };
    counts.swap_remove(top);
    if counts.is_empty() {
        return 0;
    }
    let mid = counts.len() / 2;
    *counts.select_nth_unstable(mid).1
}

/// Whether the match key `key` of a field of kind `kind` is a built-in dummy.
pub fn is_dummy(kind: FieldKind, key: &str) -> bool {
    match kind {
        FieldKind::Email => dummy_email(key),
        FieldKind::Phone => dummy_phone(key),
        FieldKind::Date { birth: true } => DUMMY_DATES.contains(&key),
        FieldKind::FirstName | FieldKind::LastName | FieldKind::FullName => {
            key.split_whitespace().all(|w| DUMMY_NAMES.contains(&w))
        }
        _ => false,
    }
}

/// `local@domain` with a "none" local part, or one letter that is also the domain's name.
fn dummy_email(key: &str) -> bool {
    let Some((local, domain)) = key.split_once('@') else {
        return false;
    };
    let one_letter = local.chars().count() == 1 && domain.split('.').next() == Some(local);
    // The local part without its punctuation, on the stack: no listed local is longer.
    let mut bare = [0u8; 16];
    let mut n = 0;
    for &b in local.as_bytes() {
        if matches!(b, b'.' | b'-' | b'_' | b'/') {
            continue;
        }
        if n == bare.len() {
            return one_letter;
        }
        bare[n] = b;
        n += 1;
    }
    one_letter
        || DUMMY_EMAIL_LOCALS
            .iter()
            .any(|d| d.as_bytes() == &bare[..n])
}

/// An E.164 key whose national number is one repeated digit or consecutive digits.
fn dummy_phone(key: &str) -> bool {
    let digits = key.trim_start_matches('+');
    let national = (1..=3)
        .filter(|&n| n < digits.len())
        .find(|&n| {
            digits[..n]
                .parse::<u16>()
                .is_ok_and(|code| DATABASE.by_code(&code).is_some())
        })
        .map_or(digits, |n| &digits[n..]);
    let d = national.as_bytes();
    let step = |s: u8| d.windows(2).all(|w| w[1] == b'0' + (w[0] - b'0' + s) % 10);
    d.len() >= 6 && d.iter().all(u8::is_ascii_digit) && (step(0) || step(1) || step(9))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_listed_local_fits_the_stack_buffer_of_dummy_email() {
        assert!(DUMMY_EMAIL_LOCALS.iter().all(|d| d.len() <= 16));
        assert!(dummy_email("no-reply@x.com") && dummy_email("n.o.r.e.p.l.y@x.com"));
        assert!(!dummy_email("noreplyx@x.com") && !dummy_email("a.very.long.local.part@x.com"));
        assert!(dummy_email("a@a.com") && !dummy_email("a@b.com"));
    }

    fn keys(values: &[Option<&str>]) -> StringArray {
        StringArray::from(values.to_vec())
    }

    /// Asserts that every key of `dummies` is a dummy of `kind` and no key of `real` is.
    fn assert_dummies(kind: FieldKind, dummies: &[&str], real: &[&str]) {
        for key in dummies {
            assert!(is_dummy(kind, key), "{key} is a dummy");
        }
        for key in real {
            assert!(!is_dummy(kind, key), "{key} is real");
        }
    }

    #[test]
    fn built_in_dummy_emails() {
        let dummies = [
            "n/a@n/a.com",
            "noemail@example.com",
            "no.email@example.com",
            "none@company.co.uk",
            "test@test.com",
            "do-not-reply@shop.com",
            "unknown@unknown.org",
            "x@x.com",
            "a@a.com",
            "null@null.com",
            "nomail@gmail.com",
            "email@email.com",
            "no_email_provided@shop.com",
        ];
        let real = [
            "anna@example.com",
            "a@smith.org",
            "nancy@na.com",
            "testa@rossi.it",
            "smith.family@example.com",
            "mail@annasmith.net",
            "not-an-email",
        ];
        assert_dummies(FieldKind::Email, &dummies, &real);
    }

    #[test]
    fn built_in_dummy_phones() {
        let dummies = [
            "+19999999999",
            "+447777777777",
            "+441234567890",
            "+440123456789",
            "+449876543210",
            "+33111111111",
        ];
        let real = [
            "+447700900123",
            "+14155552671",
            "+442079460958",
            "+4930901820",
        ];
        assert_dummies(FieldKind::Phone, &dummies, &real);
    }

    #[test]
    fn built_in_dummy_dates_and_names() {
        let birth = FieldKind::Date { birth: true };
        assert!(is_dummy(birth, "1900-01-01"));
        assert!(is_dummy(birth, "9999-12-31"));
        assert!(!is_dummy(birth, "1985-02-03"));
        assert!(!is_dummy(birth, "2000-01-01"), "only when too frequent");
        assert!(!is_dummy(FieldKind::Date { birth: false }, "1900-01-01"));
        assert!(is_dummy(FieldKind::FirstName, "test"));
        assert!(is_dummy(FieldKind::FullName, "xxx xxx"));
        assert!(!is_dummy(FieldKind::FullName, "test smith"));
        assert!(!is_dummy(FieldKind::LastName, "smith"));
        assert!(!is_dummy(FieldKind::Postcode, "xxx"));
    }

    #[test]
    fn limits_grow_with_sources_and_the_median() {
        assert_eq!(
            Limits::new(2, 3),
            Limits {
                frequent: 40,
                suspect: 20
            }
        );
        assert_eq!(Limits::new(0, 10).frequent, 50);
        assert_eq!(Limits::new(0, 1).frequent, 20);
        assert_eq!(
            Limits::new(33, 3),
            Limits {
                frequent: 660,
                suspect: 165
            }
        );
        assert_eq!(median(vec![]), 0);
        assert_eq!(median(vec![40]), 0, "one value on every record");
        assert_eq!(median(vec![5, 1, 1]), 1);
        assert_eq!(median(vec![3, 40, 3, 1]), 3);
    }

    /// `n` copies of `value` followed by `unique` distinct e-mails.
    fn emails(value: &str, n: usize, unique: usize) -> StringArray {
        let mut v: Vec<String> = vec![value.to_string(); n];
        v.extend((0..unique).map(|i| format!("person{i}@example.com")));
        v.into_iter().map(Some).collect()
    }

    #[test]
    fn frequent_values_are_placeholders_and_shared_family_values_are_not() {
        let too_many = emails("office@acme.com", 21, 500);
        let flagged = placeholders("email", &too_many, FieldKind::Email, 1).values();
        assert_eq!(flagged, HashSet::from_iter(["office@acme.com"]));
        let (column, count) = mask_column("email", &too_many, FieldKind::Email, 1).unwrap();
        let column = column.expect("masked");
        assert_eq!(
            column.null_count(),
            21,
            "every record of the value, no other"
        );
        assert!(
            column
                .as_string::<i32>()
                .iter()
                .skip(21)
                .all(|v| v.is_some())
        );
        assert_eq!(
            count,
            PlaceholderCount {
                values: 1,
                records: 21
            }
        );
        let family = emails("smith.family@example.com", 4, 500);
        assert!(
            placeholders("email", &family, FieldKind::Email, 1)
                .values()
                .is_empty()
        );
        let at_the_bar = emails("office@acme.com", 20, 500);
        assert!(
            placeholders("email", &at_the_bar, FieldKind::Email, 1)
                .values()
                .is_empty()
        );
        let names = keys(&[Some("john"); 500]);
        assert!(
            placeholders("first_name", &names, FieldKind::FirstName, 1)
                .values()
                .is_empty()
        );
    }

    #[test]
    fn suspect_dates_need_frequency() {
        let birth = FieldKind::Date { birth: true };
        let mut dates: Vec<Option<String>> = (0..300)
            .map(|i| Some(format!("19{:02}-0{}-1{}", 40 + i % 60, 1 + i % 9, i % 10)))
            .collect();
        dates.extend(std::iter::repeat_n(Some("2000-01-01".to_string()), 3));
        let few: StringArray = dates.iter().cloned().collect();
        assert!(
            placeholders("birth_date", &few, birth, 1)
                .values()
                .is_empty()
        );
        dates.extend(std::iter::repeat_n(Some("2000-01-01".to_string()), 30));
        let many: StringArray = dates.iter().cloned().collect();
        assert_eq!(
            placeholders("birth_date", &many, birth, 1).values(),
            HashSet::from_iter(["2000-01-01"])
        );
    }

    #[test]
    fn mask_nulls_match_keys_and_counts_without_values() {
        let batch = RecordBatch::try_from_iter([
            (
                "email",
                Arc::new(keys(&[Some("n/a@n/a.com"), Some("ann@x.org"), None])) as ArrayRef,
            ),
            (
                "email__match",
                Arc::new(keys(&[Some("n/a@n/a.com"), Some("ann@x.org"), None])) as ArrayRef,
            ),
            (
                "street__match",
                Arc::new(keys(&[Some("test"), Some("test"), None])) as ArrayRef,
            ),
        ])
        .unwrap();
        let fields = ["email".to_string(), "street".to_string()];
        let (out, report) = mask(batch, &fields, 2).unwrap();
        let col = |name: &str| -> Vec<Option<String>> {
            let c = out.column_by_name(name).unwrap().as_string::<i32>();
            c.iter().map(|v| v.map(str::to_string)).collect()
        };
        assert_eq!(
            col("email__match"),
            vec![None, Some("ann@x.org".into()), None]
        );
        assert_eq!(
            col("email")[0].as_deref(),
            Some("n/a@n/a.com"),
            "display kept"
        );
        assert_eq!(
            col("street__match")[0].as_deref(),
            Some("test"),
            "not checked"
        );
        assert_eq!(
            report,
            Placeholders::from([(
                "email".to_string(),
                PlaceholderCount {
                    values: 1,
                    records: 1
                }
            )])
        );
    }
}
