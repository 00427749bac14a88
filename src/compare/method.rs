//! One similarity function per comparison method, over match values.

use super::kernels;
use crate::config::Method;

/// Characters of a value that string methods compare: the kernels are quadratic, so a hostile
/// 100,000-character name would take minutes per pair; no real name is this long.
pub const MAX_COMPARED_CHARS: usize = 256;

/// The first [`MAX_COMPARED_CHARS`] characters of `s`.
fn capped(s: &str) -> &str {
    if s.len() <= MAX_COMPARED_CHARS {
        return s;
    }
    match s.char_indices().nth(MAX_COMPARED_CHARS) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// Similarity of two non-null, unequal match values in [0, 1] under `method`, over their first
/// [`MAX_COMPARED_CHARS`] characters.
///
/// `Exact` gives 0 (unequal values never agree); `Date` is not a similarity and gives 0 here
/// (see [`date_level`]).
pub fn similarity(method: Method, a: &str, b: &str) -> f64 {
    let (a, b) = (capped(a), capped(b));
    if a.is_ascii() && b.is_ascii() {
        return ascii_similarity(method, a, b);
    }
    match method {
        Method::Exact | Method::Date => 0.0,
        Method::JaroWinkler => strsim::jaro_winkler(a, b),
        Method::Jaro => strsim::jaro(a, b),
        Method::Levenshtein => strsim::normalized_levenshtein(a, b),
        Method::DamerauLevenshtein => strsim::normalized_damerau_levenshtein(a, b),
    }
}

/// True when the lengths of two non-null, unequal ASCII values alone keep their similarity
/// under `method` below `lowest` (so no kernel need run): the bound assumes every character
/// of the shorter value matches.
#[inline]
pub fn out_of_reach(method: Method, la: usize, lb: usize, lowest: f64) -> bool {
    let (la, lb) = (la.min(MAX_COMPARED_CHARS), lb.min(MAX_COMPARED_CHARS));
    let (short, long) = (la.min(lb) as f64, la.max(lb) as f64);
    let bound = match method {
        Method::JaroWinkler => kernels::jaro_winkler_bound(la, lb),
        Method::Jaro => (2.0 + short / long) / 3.0,
        Method::Levenshtein | Method::DamerauLevenshtein => short / long,
        Method::Exact | Method::Date => return false,
    };
    bound < lowest
}

/// [`out_of_reach`] of one method and lowest threshold for every two lengths, as a table: for
/// each length (capped at [`MAX_COMPARED_CHARS`]), the interval of other lengths within reach.
/// The bound grows with the ratio of the shorter length to the longer, so that set is an
/// interval around the length itself; a test checks the table against the function.
pub struct Reach {
    within: Vec<(u16, u16)>,
}

impl Reach {
    /// The table of `method` with lowest threshold `lowest`.
    pub fn new(method: Method, lowest: f64) -> Reach {
        let lengths = 0..=MAX_COMPARED_CHARS;
        let within = lengths
            .clone()
            .map(|la| {
                let mut reached = lengths
                    .clone()
                    .filter(|&lb| !out_of_reach(method, la, lb, lowest));
                let lo = reached.next().unwrap_or(usize::MAX);
                let hi = reached.next_back().unwrap_or(lo);
                (
                    lo.min(u16::MAX as usize) as u16,
                    hi.min(u16::MAX as usize) as u16,
                )
            })
            .collect();
        Reach { within }
    }

    /// [`out_of_reach`] of two non-null, unequal ASCII values of lengths `la` and `lb`.
    #[inline]
    pub fn out(&self, la: usize, lb: usize) -> bool {
        let (lo, hi) = self.within[la.min(MAX_COMPARED_CHARS)];
        let lb = lb.min(MAX_COMPARED_CHARS) as u16;
        lb < lo || lb > hi
    }
}

/// [`similarity`] of two ASCII values: the same values as strsim's `&str` functions (one byte
/// is one char) without decoding UTF-8 and counting chars on every call.
pub fn ascii_similarity(method: Method, a: &str, b: &str) -> f64 {
    let cap = |s: &'_ str| s.len().min(MAX_COMPARED_CHARS);
    let (a, b) = (&a[..cap(a)], &b[..cap(b)]);
    let (wa, wb) = (Bytes(a.as_bytes()), Bytes(b.as_bytes()));
    let longest = a.len().max(b.len());
    let normalise = |distance: usize| normalised(distance, longest);
    let word = longest <= kernels::WORD;
    match method {
        Method::Exact | Method::Date => 0.0,
        Method::JaroWinkler if word => kernels::jaro_winkler(wa.0, wb.0),
        Method::JaroWinkler => strsim::generic_jaro_winkler(&wa, &wb),
        Method::Jaro if word => kernels::jaro(wa.0, wb.0),
        Method::Jaro => strsim::generic_jaro(&wa, &wb),
        Method::Levenshtein if a.len().min(b.len()) <= kernels::WORD => {
            normalise(kernels::levenshtein(wa.0, wb.0))
        }
        Method::Levenshtein => normalise(strsim::generic_levenshtein(&wa, &wb)),
        // strsim's own `&str` version beats its generic one (a SipHash map) even on bytes.
        Method::DamerauLevenshtein => strsim::normalized_damerau_levenshtein(a, b),
    }
}

/// A Levenshtein `distance` between values of at most `longest` characters as a similarity in
/// [0, 1] (strsim's `normalized_levenshtein`).
#[inline]
pub fn normalised(distance: usize, longest: usize) -> f64 {
    if longest == 0 {
        1.0
    } else {
        1.0 - distance as f64 / longest as f64
    }
}

/// A byte slice that strsim's generic functions can iterate by reference.
pub(super) struct Bytes<'a>(pub(super) &'a [u8]);

impl<'a> IntoIterator for &Bytes<'a> {
    type Item = u8;
    type IntoIter = std::iter::Copied<std::slice::Iter<'a, u8>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().copied()
    }
}

/// Level of two unequal ISO dates (`YYYY-MM-DD`): 2 when day and month are swapped,
/// 1 when they differ in a single character (a typo), else 0.
pub fn date_level(a: &str, b: &str) -> i8 {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    if let (Ok(x), Ok(y)) = (<&[u8; 10]>::try_from(ab), <&[u8; 10]>::try_from(bb)) {
        return ten_byte_level(x, y);
    }
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

/// [`date_level`] of two 10-byte values, on words: the bytes that differ are counted without
/// a loop (every pair of a date field's block goes through here).
#[inline]
fn ten_byte_level(x: &[u8; 10], y: &[u8; 10]) -> i8 {
    let word = |v: &[u8; 10]| u64::from_le_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]);
    let tail = |v: &[u8; 10]| u64::from(u16::from_le_bytes([v[8], v[9]]));
    let (head, rest) = (word(x) ^ word(y), tail(x) ^ tail(y));
    if x[..5] == y[..5] && x[5..7] == y[8..10] && x[8..10] == y[5..7] {
        return 2;
    }
    // A byte is nonzero when its low seven bits carry into the top one or its top bit is set.
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let nonzero = |v: u64| ((((v & LOW) + LOW) | v) & !LOW).count_ones();
    i8::from(nonzero(head) + nonzero(rest) == 1)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn ascii_fast_path_equals_strsim_on_str() {
        let words = [
            "martha", "marhta", "dwayne", "duane", "dixon", "dicksonx", "a", "ab c", "ca",
        ];
        for x in words {
            for y in words {
                let (a, b) = (x, y);
                assert_eq!(
                    ascii_similarity(Method::JaroWinkler, a, b),
                    strsim::jaro_winkler(x, y)
                );
                assert_eq!(ascii_similarity(Method::Jaro, a, b), strsim::jaro(x, y));
                assert_eq!(
                    ascii_similarity(Method::Levenshtein, a, b),
                    strsim::normalized_levenshtein(x, y)
                );
                assert_eq!(
                    ascii_similarity(Method::DamerauLevenshtein, a, b),
                    strsim::normalized_damerau_levenshtein(x, y)
                );
            }
        }
    }

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

    /// REDTEAM 14: only the first 256 characters are compared, in every kernel.
    #[test]
    fn only_the_first_256_chars_are_compared() {
        for head in ["a", "é"] {
            let head = head.repeat(MAX_COMPARED_CHARS);
            let (a, b) = (
                format!("{head}{}", "b".repeat(900)),
                format!("{head}{}", "c".repeat(900)),
            );
            for m in [
                Method::JaroWinkler,
                Method::Jaro,
                Method::Levenshtein,
                Method::DamerauLevenshtein,
            ] {
                assert_eq!(similarity(m, &a, &b), 1.0, "{m:?}");
            }
        }
    }

    /// The methods that compare two values (dates have their own levels).
    pub(in crate::compare) const VALUE_METHODS: [Method; 5] = [
        Method::JaroWinkler,
        Method::Jaro,
        Method::Levenshtein,
        Method::DamerauLevenshtein,
        Method::Exact,
    ];

    #[test]
    fn the_reach_table_is_the_bound() {
        for method in VALUE_METHODS {
            for lowest in [0.0, 0.3, 0.6, 0.8, 0.88, 0.92, 0.97, 1.0] {
                let reach = Reach::new(method, lowest);
                let mut pruned = 0;
                for la in 1..=MAX_COMPARED_CHARS + 3 {
                    for lb in 1..=MAX_COMPARED_CHARS + 3 {
                        let want = out_of_reach(method, la, lb, lowest);
                        assert_eq!(reach.out(la, lb), want, "{method:?} {lowest} {la} {lb}");
                        pruned += usize::from(want);
                    }
                }
                // Jaro–Winkler's bound never falls below 0.8, Jaro's below 2/3.
                let prunes = match method {
                    Method::JaroWinkler => lowest > 0.8,
                    Method::Jaro => lowest > 2.0 / 3.0,
                    Method::Levenshtein | Method::DamerauLevenshtein => lowest > 0.0,
                    Method::Exact | Method::Date => false,
                };
                assert_eq!(pruned > 0, prunes, "{method:?} {lowest}");
            }
        }
    }

    #[test]
    fn date_levels() {
        assert_eq!(date_level("1985-02-03", "1985-03-02"), 2);
        assert_eq!(date_level("1985-02-03", "1985-02-08"), 1);
        assert_eq!(date_level("1985-02-03", "1975-02-03"), 1);
        assert_eq!(date_level("1985-02-03", "1990-07-21"), 0);
        // Any one differing byte of ten, in the word or the tail, and only one.
        let base = *b"1985-02-03";
        for i in 0..10 {
            for c in [b'0', b'9', 0x00, 0x80, 0xff] {
                let mut other = base;
                other[i] = c;
                let want = i8::from(other != base);
                assert_eq!(ten_byte_level(&base, &other), want, "byte {i} = {c}");
                let mut two = other;
                two[(i + 3) % 10] ^= 0x41;
                assert_eq!(ten_byte_level(&base, &two), i8::from(other == base), "{i}");
            }
        }
    }
}
