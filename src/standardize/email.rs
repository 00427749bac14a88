//! E-mail addresses → lowercase display values and canonical match keys (`+tag` dropped,
//! Gmail dots dropped).

use arrow::array::StringArray;

use super::Cleaned;
use super::text::map_cleaned;

/// Domains whose local part ignores dots, with the domain they are matched under.
const DOTLESS_DOMAINS: &[&str] = &["gmail.com", "googlemail.com"];

/// Standardises an e-mail column; a value without exactly one `@` and two non-empty parts, or
/// containing whitespace, is invalid and becomes null.
pub fn emails(values: &StringArray) -> Cleaned {
    map_cleaned(values, |s| {
        let display = s.to_lowercase();
        let key = email_key(&display)?;
        Some((display, key))
    })
}

/// The match key of a lowercase address, or `None` when it is not a valid address.
fn email_key(email: &str) -> Option<String> {
    let (local, domain) = email.split_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.contains('@') || email.contains(' ') {
        return None;
    }
    let local = match local.split_once('+') {
        Some((base, _)) if !base.is_empty() => base,
        _ => local,
    };
    Some(if DOTLESS_DOMAINS.contains(&domain) {
        format!("{}@gmail.com", local.replace('.', ""))
    } else {
        format!("{local}@{domain}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_key() {
        let values = StringArray::from(vec![
            Some(" J.Smith+news@GoogleMail.com "),
            Some("j.smith@gmail.com"),
            Some("Anna.Lee+x@Example.CO.UK"),
            Some("+tag@example.com"),
            Some("no-at-sign.example.com"),
            Some("two@@example.com"),
            Some("a@b@c"),
            Some("@example.com"),
            Some("user@"),
            Some("a b@example.com"),
            Some(""),
            None,
        ]);
        let out = emails(&values);
        let got: Vec<_> = out.display.iter().zip(out.key.iter()).collect();
        assert_eq!(
            got,
            vec![
                (
                    Some("j.smith+news@googlemail.com"),
                    Some("jsmith@gmail.com")
                ),
                (Some("j.smith@gmail.com"), Some("jsmith@gmail.com")),
                (
                    Some("anna.lee+x@example.co.uk"),
                    Some("anna.lee@example.co.uk")
                ),
                (Some("+tag@example.com"), Some("+tag@example.com")),
                (None, None),
                (None, None),
                (None, None),
                (None, None),
                (None, None),
                (None, None),
                (None, None),
                (None, None),
            ]
        );
    }
}
