//! Address parts: `street`, `city` and `country` → title-cased or ISO display values and folded
//! match keys (street abbreviations unified, countries as ISO 3166 alpha-2).

use arrow::array::StringArray;

use super::Cleaned;
use super::text::{fold, map_cleaned, match_text, title_case};

/// Street words → their standard abbreviation (sorted by word, for binary search).
const STREET_ABBREVIATIONS: &[(&str, &str)] = &[
    ("apartment", "apt"),
    ("av", "ave"),
    ("avenue", "ave"),
    ("boulevard", "blvd"),
    ("building", "bldg"),
    ("circle", "cir"),
    ("close", "cl"),
    ("court", "ct"),
    ("crescent", "cres"),
    ("drive", "dr"),
    ("east", "e"),
    ("flat", "apt"),
    ("floor", "fl"),
    ("gardens", "gdns"),
    ("grove", "gr"),
    ("highway", "hwy"),
    ("lane", "ln"),
    ("mount", "mt"),
    ("north", "n"),
    ("parkway", "pkwy"),
    ("place", "pl"),
    ("road", "rd"),
    ("south", "s"),
    ("square", "sq"),
    ("street", "st"),
    ("suite", "apt"),
    ("terrace", "ter"),
    ("unit", "apt"),
    ("west", "w"),
];

/// Country names and alpha-3 codes (folded lowercase) → ISO 3166 alpha-2 (sorted by name).
const COUNTRIES: &[(&str, &str)] = &[
    ("america", "US"),
    ("arg", "AR"),
    ("argentina", "AR"),
    ("aus", "AU"),
    ("australia", "AU"),
    ("austria", "AT"),
    ("aut", "AT"),
    ("bel", "BE"),
    ("belgique", "BE"),
    ("belgium", "BE"),
    ("bra", "BR"),
    ("brasil", "BR"),
    ("brazil", "BR"),
    ("britain", "GB"),
    ("can", "CA"),
    ("canada", "CA"),
    ("che", "CH"),
    ("china", "CN"),
    ("chn", "CN"),
    ("danmark", "DK"),
    ("denmark", "DK"),
    ("deu", "DE"),
    ("deutschland", "DE"),
    ("dnk", "DK"),
    ("england", "GB"),
    ("esp", "ES"),
    ("espana", "ES"),
    ("fin", "FI"),
    ("finland", "FI"),
    ("fra", "FR"),
    ("france", "FR"),
    ("gbr", "GB"),
    ("germany", "DE"),
    ("great britain", "GB"),
    ("hkg", "HK"),
    ("holland", "NL"),
    ("hong kong", "HK"),
    ("ind", "IN"),
    ("india", "IN"),
    ("ireland", "IE"),
    ("irl", "IE"),
    ("ita", "IT"),
    ("italia", "IT"),
    ("italy", "IT"),
    ("japan", "JP"),
    ("jpn", "JP"),
    ("mex", "MX"),
    ("mexico", "MX"),
    ("nederland", "NL"),
    ("netherlands", "NL"),
    ("new zealand", "NZ"),
    ("nld", "NL"),
    ("nor", "NO"),
    ("norge", "NO"),
    ("northern ireland", "GB"),
    ("norway", "NO"),
    ("nzl", "NZ"),
    ("osterreich", "AT"),
    ("pol", "PL"),
    ("poland", "PL"),
    ("polska", "PL"),
    ("portugal", "PT"),
    ("prt", "PT"),
    ("schweiz", "CH"),
    ("scotland", "GB"),
    ("sgp", "SG"),
    ("singapore", "SG"),
    ("south africa", "ZA"),
    ("spain", "ES"),
    ("suisse", "CH"),
    ("sverige", "SE"),
    ("swe", "SE"),
    ("sweden", "SE"),
    ("switzerland", "CH"),
    ("the netherlands", "NL"),
    ("uk", "GB"),
    ("united kingdom", "GB"),
    ("united states", "US"),
    ("united states of america", "US"),
    ("us", "US"),
    ("usa", "US"),
    ("wales", "GB"),
    ("zaf", "ZA"),
];

/// Standardises a street column: display title case, key folded with abbreviations unified.
pub fn streets(values: &StringArray) -> Cleaned {
    map_cleaned(values, |s| {
        let display = title_case(s.split(' '));
        let mut key = String::with_capacity(s.len());
        for word in match_text(s, &['-', ',', '/']).split(' ') {
            if !key.is_empty() {
                key.push(' ');
            }
            key.push_str(lookup(STREET_ABBREVIATIONS, word).unwrap_or(word));
        }
        (!key.is_empty()).then_some((display, key))
    })
}

/// Standardises a city column: display title case, key folded without punctuation.
pub fn cities(values: &StringArray) -> Cleaned {
    map_cleaned(values, |s| {
        let key = match_text(s, &['-', ',', '/']);
        (!key.is_empty()).then(|| (title_case(s.split(' ')), key))
    })
}

/// Standardises a country column: display and key are the ISO alpha-2 code when recognised,
/// else the uppercase text.
pub fn countries(values: &StringArray) -> Cleaned {
    map_cleaned(values, |s| {
        let code = country_code(s);
        Some((code.clone(), code))
    })
}

/// The ISO 3166 alpha-2 code of a cleaned country name or code (`"United Kingdom"` → `"GB"`),
/// or the text in uppercase when it is not in the built-in table.
pub fn country_code(country: &str) -> String {
    let folded = fold(country).replace('.', "");
    match lookup(COUNTRIES, folded.trim()) {
        Some(code) => code.to_string(),
        None => country.to_uppercase(),
    }
}

/// Binary search in a sorted `(from, to)` table.
fn lookup(table: &'static [(&'static str, &'static str)], word: &str) -> Option<&'static str> {
    table
        .binary_search_by(|(from, _)| (*from).cmp(word))
        .ok()
        .map(|i| table[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        kernel: fn(&StringArray) -> Cleaned,
        values: &[Option<&str>],
    ) -> Vec<(Option<String>, Option<String>)> {
        let out = kernel(&StringArray::from(values.to_vec()));
        out.display
            .iter()
            .zip(out.key.iter())
            .map(|(d, k)| (d.map(str::to_string), k.map(str::to_string)))
            .collect()
    }

    fn some(display: &str, key: &str) -> (Option<String>, Option<String>) {
        (Some(display.to_string()), Some(key.to_string()))
    }

    #[test]
    fn tables_are_sorted() {
        for table in [STREET_ABBREVIATIONS, COUNTRIES] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0), "{table:?}");
        }
    }

    #[test]
    fn streets_unify_abbreviations() {
        assert_eq!(
            run(
                streets,
                &[
                    Some("10  downing STREET"),
                    Some("10 Downing St."),
                    Some("Flat 3, 221b Baker Street"),
                    Some("Apt. 3 221B baker st"),
                    Some("1 North Avenue"),
                    Some("  "),
                    None,
                ]
            ),
            vec![
                some("10 Downing Street", "10 downing st"),
                some("10 Downing St.", "10 downing st"),
                some("Flat 3, 221b Baker Street", "apt 3 221b baker st"),
                some("Apt. 3 221B Baker St", "apt 3 221b baker st"),
                some("1 North Avenue", "1 n ave"),
                (None, None),
                (None, None),
            ]
        );
    }

    #[test]
    fn cities_fold() {
        assert_eq!(
            run(
                cities,
                &[
                    Some("MÜNCHEN"),
                    Some("stratford-upon-avon"),
                    Some("St. Albans")
                ]
            ),
            vec![
                some("München", "munchen"),
                some("Stratford-Upon-Avon", "stratford upon avon"),
                some("St. Albans", "st albans"),
            ]
        );
    }

    #[test]
    fn countries_to_alpha2() {
        assert_eq!(
            run(
                countries,
                &[
                    Some("United Kingdom"),
                    Some("uk"),
                    Some("England"),
                    Some("U.S.A."),
                    Some("Deutschland"),
                    Some("fra"),
                    Some("gb"),
                    Some("Narnia"),
                    Some("null"),
                ]
            ),
            vec![
                some("GB", "GB"),
                some("GB", "GB"),
                some("GB", "GB"),
                some("US", "US"),
                some("DE", "DE"),
                some("FR", "FR"),
                some("GB", "GB"),
                some("NARNIA", "NARNIA"),
                (None, None),
            ]
        );
    }
}
