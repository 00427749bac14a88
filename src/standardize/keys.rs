//! Derived blocking keys: phonetic codes, prefixes, years.

use arrow::array::{Array, StringArray, StringBuilder};
use foldhash::{HashMap, HashMapExt};
use rphonetic::{DoubleMetaphone, Encoder, Nysiis, Soundex};

use crate::config::KeyTransform;

/// Applies `transform` to every value; nulls, empty values and empty results are null.
pub fn key(values: &StringArray, transform: KeyTransform) -> StringArray {
    match transform {
        KeyTransform::Identity if !values.iter().flatten().any(str::is_empty) => values.clone(),
        KeyTransform::Identity => map(values, str::to_string),
        KeyTransform::Metaphone => {
            let metaphone = DoubleMetaphone::default();
            map(values, |v| metaphone.encode(v))
        }
        KeyTransform::Soundex => {
            let soundex = Soundex::default();
            map(values, |v| soundex.encode(v))
        }
        KeyTransform::Nysiis => {
            let nysiis = Nysiis::default();
            map(values, |v| nysiis.encode(v))
        }
        KeyTransform::Prefix(n) => map(values, |v| v.chars().take(n).collect()),
        KeyTransform::Year => map(values, |v| v.get(..4).unwrap_or_default().to_string()),
    }
}

/// Runs `f` once per distinct non-empty value (names repeat heavily, and phonetic codes are
/// the slow part), keeping nulls and turning empty results into nulls.
fn map(values: &StringArray, mut f: impl FnMut(&str) -> String) -> StringArray {
    let mut codes: HashMap<&str, Option<String>> = HashMap::new();
    let mut out = StringBuilder::with_capacity(values.len(), values.value_data().len());
    for value in values.iter() {
        let code = value.filter(|v| !v.is_empty()).and_then(|v| {
            codes
                .entry(v)
                .or_insert_with(|| Some(f(v)).filter(|c| !c.is_empty()))
                .as_deref()
        });
        out.append_option(code);
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[Option<&str>], transform: KeyTransform) -> Vec<Option<String>> {
        key(&StringArray::from(values.to_vec()), transform)
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn transforms() {
        let names = [Some("smith"), Some("smyth"), None, Some("")];
        assert_eq!(
            run(&names, KeyTransform::Identity),
            vec![s("smith"), s("smyth"), None, None]
        );
        assert_eq!(
            run(&names, KeyTransform::Metaphone),
            vec![s("SM0"), s("SM0"), None, None]
        );
        assert_eq!(
            run(&names, KeyTransform::Soundex),
            vec![s("S530"), s("S530"), None, None]
        );
        assert_eq!(
            run(&names, KeyTransform::Nysiis),
            vec![s("SNAT"), s("SNYT"), None, None]
        );
        assert_eq!(
            run(&names, KeyTransform::Prefix(3)),
            vec![s("smi"), s("smy"), None, None]
        );
        let dates = [Some("1985-02-03"), Some("85"), None];
        assert_eq!(run(&dates, KeyTransform::Year), vec![s("1985"), None, None]);
    }
}
