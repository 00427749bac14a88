//! Phone numbers → E.164 (`+447700900123`) as both display value and match key, parsed with
//! the record's country, else the configured default region, else only with a `+`/`00` prefix.

use std::collections::HashMap;
use std::str::FromStr;

use arrow::array::{Array, StringArray};
use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber};

use super::Cleaned;
use super::address::country_code;
use super::text::{CleanedBuilder, clean};

/// Standardises a phone column. `countries` (row for row, optional) gives each record's
/// country as a name or ISO code; `default_region` (ISO alpha-2) is used where it gives none.
/// Unparseable or implausible numbers become null (see [`plausible`]). Parses are cached per
/// distinct input.
pub fn phones(
    values: &StringArray,
    countries: Option<&StringArray>,
    default_region: Option<&str>,
) -> Cleaned {
    let default_region = default_region.and_then(region);
    let mut regions: HashMap<&str, Option<Id>> = HashMap::new();
    let mut parsed: HashMap<(&str, Option<Id>), Option<String>> = HashMap::new();
    let mut out = CleanedBuilder::like(values);
    for row in 0..values.len() {
        if values.is_null(row) {
            out.append(None, None);
            continue;
        }
        let raw = values.value(row);
        let row_region = countries
            .filter(|c| row < c.len() && c.is_valid(row))
            .and_then(|c| {
                let name = c.value(row);
                *regions.entry(name).or_insert_with(|| region(name))
            })
            .or(default_region);
        let e164 = parsed
            .entry((raw, row_region))
            .or_insert_with(|| to_e164(raw, row_region));
        out.append(e164.as_deref(), e164.as_deref());
    }
    out.finish()
}

/// The phone region of a country name or code, if it is one.
fn region(country: &str) -> Option<Id> {
    Id::from_str(&country_code(&clean(country)?)).ok()
}

/// Parses one number: keeps a leading `+` and the digits up to any extension, reads `00` as
/// `+`, drops a `(0)` trunk prefix, and formats a valid number as E.164.
fn to_e164(raw: &str, region: Option<Id>) -> Option<String> {
    let text = raw.trim().replace("(0)", "");
    let number_part = text
        .split(|c: char| c.is_alphabetic() || matches!(c, '#' | ';' | ','))
        .next()
        .unwrap_or_default();
    let digits: String = number_part.chars().filter(char::is_ascii_digit).collect();
    let international = number_part.starts_with('+');
    let normalised = match (international, digits.strip_prefix("00")) {
        (true, _) => format!("+{digits}"),
        (false, Some(rest)) => format!("+{rest}"),
        (false, None) if region.is_some() => digits,
        (false, None) => return None,
    };
    if !(6..=17).contains(&normalised.len()) {
        return None;
    }
    let number = phonenumber::parse(region, &normalised).ok()?;
    plausible(&number).then(|| number.format().mode(Mode::E164).to_string())
}

/// Valid per libphonenumber, or at least matching the general pattern and length of its
/// country: reserved ranges such as the UK's fictional `07700 900xxx`, which libphonenumber
/// calls invalid, are kept, while numbers of impossible shape are not.
fn plausible(number: &PhoneNumber) -> bool {
    if number.is_valid() {
        return true;
    }
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
