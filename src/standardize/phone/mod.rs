//! Phone numbers → E.164 (`+447700900123`) as both display value and match key, parsed with
//! the record's country, else the configured default region, else only with a `+`/`00` prefix.

use foldhash::{HashMap, HashMapExt};
use std::str::FromStr;

use arrow::array::{Array, StringArray};
use phonenumber::PhoneNumber;
use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use rayon::prelude::*;

mod fast;

use super::Cleaned;
use super::address::country_code;
use super::text::{CleanedBuilder, clean, value_at};

/// Standardises a phone column. `countries` (row for row, optional) gives each record's
/// country as a name or ISO code; `default_region` (ISO alpha-2) is used where it gives none.
/// Unparseable or implausible numbers become null (see [`plausible`]).
///
/// Rows are parsed in parallel chunks. Within a source almost every number is distinct (740,681
/// numbers, 705,852 distinct spellings in the 1M-entity CRM export), so parsing each row costs
/// less than the hash lookups that would find the few repeats.
pub fn phones(
    values: &StringArray,
    countries: Option<&StringArray>,
    default_region: Option<&str>,
) -> Cleaned {
    let default_region = default_region.and_then(region);
    let n = values.len();
    let chunks: Vec<Cleaned> = (0..n)
        .step_by(PHONE_CHUNK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| {
            let rows = start..n.min(start + PHONE_CHUNK);
            let mut regions: HashMap<&str, Option<Id>> = HashMap::new();
            let mut out = CleanedBuilder::like(&values.slice(start, rows.len()));
            for row in rows {
                let row_region = countries
                    .filter(|c| row < c.len() && c.is_valid(row))
                    .and_then(|c| {
                        let name = c.value(row);
                        *regions.entry(name).or_insert_with(|| region(name))
                    })
                    .or(default_region);
                let e164 = value_at(values, row)
                    .and_then(|raw| normalise(raw, row_region.is_some()))
                    .and_then(|number| to_e164(&number, row_region));
                out.append(e164.as_deref(), e164.as_deref());
            }
            out.finish()
        })
        .collect();
    if chunks.is_empty() {
        return Cleaned::nulls(0);
    }
    Cleaned::concat(&chunks)
}

/// Rows per parallel task of [`phones`].
const PHONE_CHUNK: usize = 16 * 1024;

/// The phone region of a country name or code, if it is one.
fn region(country: &str) -> Option<Id> {
    Id::from_str(&country_code(&clean(country)?)).ok()
}

/// Reduces a written number to a leading `+` (also for an `00` prefix) and its digits, dropping
/// a `(0)` trunk prefix and anything from an extension marker on; `None` when it cannot be a
/// phone number, or has no `+` and no region to read it in.
fn normalise(raw: &str, has_region: bool) -> Option<String> {
    let text = raw.trim().replace("(0)", "");
    let number_part = text
        .split(|c: char| c.is_alphabetic() || matches!(c, '#' | ';' | ','))
        .next()
        .unwrap_or_default();
    let digits: String = number_part.chars().filter(char::is_ascii_digit).collect();
    let normalised = match (number_part.starts_with('+'), digits.strip_prefix("00")) {
        (true, _) => format!("+{digits}"),
        (false, Some(rest)) => format!("+{rest}"),
        (false, None) if has_region => digits,
        (false, None) => return None,
    };
    (6..=17).contains(&normalised.len()).then_some(normalised)
}

/// Parses a [`normalise`]d number in `region` and writes a plausible one as E.164 (through the
/// lock-free [`fast`] path where it can decide).
fn to_e164(number: &str, region: Option<Id>) -> Option<String> {
    fast::to_e164(number, region).unwrap_or_else(|| parse_e164(number, region))
}

/// [`to_e164`] by `phonenumber::parse` alone.
fn parse_e164(number: &str, region: Option<Id>) -> Option<String> {
    let number = phonenumber::parse(region, number).ok()?;
    plausible(&number).then(|| format!("+{}{}", number.code().value(), number.national()))
}

/// Whether the national number matches the general pattern and length of its country code's
/// regions (libphonenumber's full per-type validation costs about twice as much and rejects
/// reserved ranges such as the UK's fictional `07700 900xxx`).
fn plausible(number: &PhoneNumber) -> bool {
    let national = number.national().to_string();
    DATABASE
        .by_code(&number.code().value())
        .is_some_and(|regions| {
            regions
                .iter()
                .any(|m| m.descriptors().general().is_match(&national))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(
        values: &[&str],
        countries: Option<&[&str]>,
        default: Option<&str>,
    ) -> Vec<Option<String>> {
        let values = StringArray::from(values.to_vec());
        let countries = countries.map(|c| StringArray::from(c.to_vec()));
        let out = phones(&values, countries.as_ref(), default);
        assert_eq!(out.display, out.key);
        out.key.iter().map(|v| v.map(str::to_string)).collect()
    }

    #[test]
    fn uk_formats_agree() {
        let formats = [
            "07700 900123",
            "+44 (0)7700-900123",
            "0044 7700 900123",
            "+447700900123",
            "7700900123",
            "(07700) 900 123 ext. 12",
            "447700900123",
            "(0)7700-900-123",
        ];
        let got = e164(&formats, None, Some("GB"));
        assert!(
            got.iter().all(|v| v.as_deref() == Some("+447700900123")),
            "{got:?}"
        );
        assert_eq!(
            e164(&["(020) 7946 0958"], None, Some("GB")),
            vec![Some("+442079460958".to_string())]
        );
    }

    #[test]
    fn region_from_country_column_then_default_then_none() {
        let got = e164(
            &[
                "(415) 555-2671",
                "07700 900123",
                "030 901820",
                "+44 7700 900123",
                "07700 900123",
            ],
            Some(&["USA", "United Kingdom", "Deutschland", "", ""]),
            None,
        );
        assert_eq!(
            got,
            vec![
                Some("+14155552671".to_string()),
                Some("+447700900123".to_string()),
                Some("+4930901820".to_string()),
                Some("+447700900123".to_string()),
                None,
            ]
        );
        let us = e164(&["415-555-2671"], None, Some("US"));
        assert_eq!(us, vec![Some("+14155552671".to_string())]);
    }

    #[test]
    fn invalid_numbers_are_null() {
        let got = e164(
            &["12", "not a phone", "", "n/a", "+44 12", "0000000000"],
            None,
            Some("GB"),
        );
        assert!(got.iter().all(Option::is_none), "{got:?}");
    }
}
