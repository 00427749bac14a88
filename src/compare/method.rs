//! One similarity function per comparison method, over match values.

use crate::config::Method;

/// Similarity of two non-null, unequal match values in [0, 1] under `method`.
///
/// `Exact` gives 0 (unequal values never agree); `Date` is not a similarity and gives 0 here
/// (see [`date_level`]).
pub fn similarity(method: Method, a: &str, b: &str) -> f64 {
    match method {
        Method::Exact | Method::Date => 0.0,
        Method::JaroWinkler => strsim::jaro_winkler(a, b),
        Method::Jaro => strsim::jaro(a, b),
        Method::Levenshtein => strsim::normalized_levenshtein(a, b),
        Method::DamerauLevenshtein => strsim::normalized_damerau_levenshtein(a, b),
    }
}

/// Level of two unequal ISO dates (`YYYY-MM-DD`): 2 when day and month are swapped,
/// 1 when they differ in a single character (a typo), else 0.
pub fn date_level(a: &str, b: &str) -> i8 {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    if ab.len() == 10
        && bb.len() == 10
        && ab[..5] == bb[..5]
        && ab[5..7] == bb[8..10]
        && ab[8..10] == bb[5..7]
    {
        return 2;
    }
    if ab.len() == bb.len() && ab.iter().zip(bb).filter(|(x, y)| x != y).count() == 1 {
        return 1;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarities_match_strsim() {
        assert!((similarity(Method::JaroWinkler, "martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((similarity(Method::Jaro, "martha", "marhta") - 0.9444).abs() < 1e-3);
        assert!(
            (similarity(Method::Levenshtein, "kitten", "sitting") - (1.0 - 3.0 / 7.0)).abs() < 1e-9
        );
        assert!((similarity(Method::DamerauLevenshtein, "ab", "ba") - 0.5).abs() < 1e-9);
        assert_eq!(similarity(Method::Exact, "a", "b"), 0.0);
        // Non-ASCII values are compared by character, not byte.
        assert!((similarity(Method::Levenshtein, "zoë", "zoe") - (1.0 - 1.0 / 3.0)).abs() < 1e-9);
    }

    #[test]
    fn date_levels() {
        assert_eq!(date_level("1985-02-03", "1985-03-02"), 2);
        assert_eq!(date_level("1985-02-03", "1985-02-08"), 1);
        assert_eq!(date_level("1985-02-03", "1975-02-03"), 1);
        assert_eq!(date_level("1985-02-03", "1990-07-21"), 0);
    }
}
