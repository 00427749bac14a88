//! Postcodes → uppercase display values (UK codes spaced as `SW1A 1AA`) and alphanumeric keys.

use arrow::array::StringArray;

use super::Cleaned;
use super::text::map_cleaned;

/// Standardises a postcode column: display uppercase with collapsed spaces (a UK-looking code
/// gets its single space before the inward code), key the uppercase letters and digits only.
pub fn postcodes(values: &StringArray) -> Cleaned {
    map_cleaned(values, |s| {
        let upper = s.to_uppercase();
        let key: String = upper.chars().filter(char::is_ascii_alphanumeric).collect();
        if key.is_empty() {
            return None;
        }
        let display = if looks_british(&key) {
            let (outward, inward) = key.split_at(key.len() - 3);
            format!("{outward} {inward}")
        } else {
            upper
        };
        Some((display, key))
    })
}

/// Whether an uppercase alphanumeric code has the UK shape: outward code (a letter, then a digit
/// within its first three characters, 2–4 characters) and inward code (digit, two letters).
fn looks_british(code: &str) -> bool {
    let b = code.as_bytes();
    let n = b.len();
    (5..=7).contains(&n)
        && b[0].is_ascii_alphabetic()
        && b[1..3].iter().any(u8::is_ascii_digit)
        && b[n - 3].is_ascii_digit()
        && b[n - 2..].iter().all(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_key() {
        let values = StringArray::from(vec![
            Some("sw1a1aa"),
            Some(" SW1A   1AA "),
            Some("m1 1ae"),
            Some("EC1A1BB"),
            Some("12345-6789"),
            Some("90210"),
            Some("75008"),
            Some("-"),
            Some(""),
            None,
        ]);
        let out = postcodes(&values);
        let got: Vec<_> = out.display.iter().zip(out.key.iter()).collect();
        assert_eq!(
            got,
            vec![
                (Some("SW1A 1AA"), Some("SW1A1AA")),
                (Some("SW1A 1AA"), Some("SW1A1AA")),
                (Some("M1 1AE"), Some("M11AE")),
                (Some("EC1A 1BB"), Some("EC1A1BB")),
                (Some("12345-6789"), Some("123456789")),
                (Some("90210"), Some("90210")),
                (Some("75008"), Some("75008")),
                (None, None),
                (None, None),
                (None, None),
            ]
        );
    }
}
