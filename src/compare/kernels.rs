//! Bit-parallel kernels over ASCII values of up to 64 bytes: the same results as strsim's
//! `generic_jaro`, `generic_jaro_winkler` and `generic_levenshtein` (asserted on random strings
//! below), without their allocations and per-character iterators. Every match value of a
//! customer field fits one 64-bit word; longer values go to strsim.

/// Longest value the word-sized kernels take.
pub const WORD: usize = 64;

/// For each ASCII byte, the bit set of its positions in `s` (`s.len()` ≤ [`WORD`]).
#[inline]
fn positions(s: &[u8]) -> [u64; 128] {
    let mut pm = [0u64; 128];
    for (j, &c) in s.iter().enumerate() {
        pm[(c & 0x7f) as usize] |= 1 << j;
    }
    pm
}

/// Bits `lo..hi` set (`hi` ≤ 64).
#[inline]
fn span(lo: usize, hi: usize) -> u64 {
    let upto = |n: usize| if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    upto(hi) & !upto(lo)
}

/// A value of at most [`WORD`] bytes prepared once to be compared with many others: the bit
/// set of its positions of each ASCII byte (a 1 KiB table, so building it per pair costs as
/// much as the comparison).
pub struct Pattern<'a> {
    text: &'a [u8],
    pm: [u64; 128],
}

impl<'a> Pattern<'a> {
    /// Prepares `text` (at most [`WORD`] bytes, ASCII).
    #[inline]
    pub fn new(text: &'a [u8]) -> Self {
        debug_assert!(text.len() <= WORD);
        Pattern {
            text,
            pm: positions(text),
        }
    }

    /// Length of the pattern, in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Jaro similarity of `a` (ASCII, at most [`WORD`] bytes) and the pattern, `jaro(a,
    /// pattern)` ([`Pattern::jaro_lanes`] of one value).
    pub fn jaro(&self, a: &[u8]) -> f64 {
        self.jaro_lanes([a])[0]
    }

    /// Jaro similarity of each of `N` values (ASCII, at most [`WORD`] bytes each) and the
    /// pattern: strsim's algorithm (each character of `a` takes the first unflagged equal
    /// character of the pattern in its window), the window searched as one word and slid along
    /// without a branch (whether a character matches is as good as random, so a branch on it
    /// is mispredicted half the time). Each value's loop waits on its previous match; the `N`
    /// loops are interleaved so that the CPU runs them side by side.
    // Indexing by position is the point: lane `l` reads its `i`-th character at step `i`.
    #[allow(clippy::needless_range_loop)]
    pub fn jaro_lanes<const N: usize>(&self, values: [&[u8]; N]) -> [f64; N] {
        let (b, lb) = (self.text, self.text.len());
        let in_b = span(0, lb);
        let mut text = [[0u8; WORD]; N];
        let (mut range, mut window) = ([0usize; N], [0u64; N]);
        let (mut a_flags, mut b_flags) = ([0u64; N], [0u64; N]);
        let mut longest = 0;
        for (l, a) in values.iter().enumerate() {
            debug_assert!(a.len() <= WORD && lb <= WORD);
            text[l][..a.len()].copy_from_slice(a);
            range[l] = (a.len().max(lb) / 2).saturating_sub(1);
            // The window of `a[i]`: positions i - range ..= i + range of `b`.
            window[l] = span(0, range[l] + 1) & in_b;
            longest = longest.max(a.len());
        }
        for i in 0..longest {
            for l in 0..N {
                let live = 0u64.wrapping_sub(u64::from(i < values[l].len()));
                let c = text[l][i] & 0x7f;
                let free = self.pm[c as usize] & !b_flags[l] & window[l] & live;
                let first = free & free.wrapping_neg();
                b_flags[l] |= first;
                a_flags[l] |= u64::from(first != 0) << i;
                window[l] = ((window[l] << 1) | u64::from(i < range[l])) & in_b;
            }
        }
        std::array::from_fn(|l| jaro_of(values[l], b, a_flags[l], b_flags[l]))
    }

    /// Jaro–Winkler similarity of `a` and the pattern.
    pub fn jaro_winkler(&self, a: &[u8]) -> f64 {
        winkler(self.jaro(a), a, self.text)
    }

    /// Jaro–Winkler similarity of each of `N` values and the pattern ([`Pattern::jaro_lanes`]).
    pub fn jaro_winkler_lanes<const N: usize>(&self, values: [&[u8]; N]) -> [f64; N] {
        let sims = self.jaro_lanes(values);
        std::array::from_fn(|l| winkler(sims[l], values[l], self.text))
    }

    /// Levenshtein distance of the pattern and `t` (ASCII, any length)
    /// ([`Pattern::levenshtein_lanes`] of one value).
    pub fn levenshtein(&self, t: &[u8]) -> usize {
        self.levenshtein_lanes([t])[0]
    }

    /// Levenshtein distance of the pattern and each of `N` values (ASCII, any length): Myers'
    /// bit-vector algorithm in Hyyrö's formulation, one pass over each value, the `N` passes
    /// interleaved (each step waits on the previous one of its value).
    pub fn levenshtein_lanes<const N: usize>(&self, texts: [&[u8]; N]) -> [usize; N] {
        let p = self.text;
        if p.is_empty() {
            return texts.map(<[u8]>::len);
        }
        let last = 1u64 << (p.len() - 1);
        let (mut pv, mut mv, mut score) = ([u64::MAX; N], [0u64; N], [p.len(); N]);
        let longest = texts.iter().map(|t| t.len()).max().unwrap_or(0);
        for i in 0..longest {
            for l in 0..N {
                let Some(&c) = texts[l].get(i) else {
                    continue;
                };
                let eq = self.pm[(c & 0x7f) as usize];
                let xv = eq | mv[l];
                let xh = ((eq & pv[l]).wrapping_add(pv[l]) ^ pv[l]) | eq;
                let ph = mv[l] | !(xh | pv[l]);
                let mh = pv[l] & xh;
                // The last row's horizontal step: +1, -1 or 0 (never both).
                score[l] = (score[l] + usize::from(ph & last != 0)) - usize::from(mh & last != 0);
                let ph = (ph << 1) | 1;
                pv[l] = (mh << 1) | !(xv | ph);
                mv[l] = ph & xv;
            }
        }
        score
    }
}

/// The Jaro similarity of `a` and `b` whose matched characters are the set bits of `a_flags`
/// and `b_flags` (in order, the k-th of one matched with the k-th of the other).
#[inline]
fn jaro_of(a: &[u8], b: &[u8], a_flags: u64, b_flags: u64) -> f64 {
    let (la, lb) = (a.len(), b.len());
    if la == 0 && lb == 0 {
        return 1.0;
    } else if la == 0 || lb == 0 {
        return 0.0;
    }
    let matches = a_flags.count_ones() as usize;
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let (mut af, mut bf) = (a_flags, b_flags);
    while af != 0 {
        let (i, j) = (af.trailing_zeros() as usize, bf.trailing_zeros() as usize);
        af &= af - 1;
        bf &= bf - 1;
        transpositions += usize::from(a[i] != b[j]);
    }
    let (m, t) = (matches as f64, (transpositions / 2) as f64);
    ((m / la as f64) + (m / lb as f64) + ((m - t) / m)) / 3.0
}

/// strsim's Winkler lift of Jaro similarity `sim` of `a` and `b`: a common prefix of up to
/// four characters lifts a similarity above 0.7.
#[inline]
fn winkler(sim: f64, a: &[u8], b: &[u8]) -> f64 {
    if sim > 0.7 {
        let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// Jaro similarity of two ASCII strings of at most [`WORD`] bytes ([`Pattern::jaro`]).
pub fn jaro(a: &[u8], b: &[u8]) -> f64 {
    Pattern::new(b).jaro(a)
}

/// Jaro–Winkler similarity of two ASCII strings of at most [`WORD`] bytes.
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    Pattern::new(b).jaro_winkler(a)
}

/// Levenshtein distance of two ASCII strings, the shorter of at most [`WORD`] bytes (the
/// pattern).
pub fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    let (p, t) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    Pattern::new(p).levenshtein(t)
}

/// An upper bound of the Jaro–Winkler similarity of two non-empty strings of these lengths:
/// every character of the shorter one matching, in order, with a four-character prefix.
pub fn jaro_winkler_bound(la: usize, lb: usize) -> f64 {
    let (short, long) = (la.min(lb) as f64, la.max(lb) as f64);
    let jaro = (1.0 + short / long + 1.0) / 3.0;
    jaro + 0.4 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    use super::super::method::Bytes;
    use super::*;

    /// Random strings over a small alphabet (many shared characters) of 0–64 bytes.
    fn strings(n: usize) -> Vec<Vec<u8>> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut below = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        (0..n)
            .map(|_| {
                let len = below(65) as usize;
                let alphabet = if below(2) == 0 { 4 } else { 26 };
                (0..len).map(|_| b'a' + below(alphabet) as u8).collect()
            })
            .collect()
    }

    #[test]
    fn the_word_kernels_equal_strsim_exactly() {
        let words = strings(400);
        for a in &words {
            for b in words.iter().step_by(7) {
                let (x, y) = (Bytes(a), Bytes(b));
                assert_eq!(jaro(a, b), strsim::generic_jaro(&x, &y), "{a:?} {b:?}");
                assert_eq!(jaro_winkler(a, b), strsim::generic_jaro_winkler(&x, &y));
                assert_eq!(levenshtein(a, b), strsim::generic_levenshtein(&x, &y));
                // A pattern longer than the text it runs over, too.
                assert_eq!(Pattern::new(a).levenshtein(b), levenshtein(a, b));
                let texts = [b, &a[..], b"", &b[..b.len() / 3]];
                let lanes = Pattern::new(a).levenshtein_lanes(texts);
                assert_eq!(lanes, texts.map(|t| levenshtein(a, t)));
                // Interleaved with other values of other lengths, the same bits.
                let lanes = Pattern::new(b).jaro_winkler_lanes([a, b"", b, &a[..a.len() / 2]]);
                let one = |v: &[u8]| jaro_winkler(v, b).to_bits();
                assert_eq!(
                    lanes.map(f64::to_bits),
                    [one(a), one(b""), one(b), one(&a[..a.len() / 2])]
                );
            }
        }
    }

    /// Pairs are compared with the first record's value as the pattern whichever side it is on:
    /// that is only right because Jaro (and so Jaro–Winkler) and Levenshtein are symmetric,
    /// exactly, to the last bit.
    #[test]
    fn the_kernels_are_symmetric() {
        let mut words = strings(600);
        // Short values too, where the match window is a character or two.
        let short: Vec<Vec<u8>> = words.iter().map(|w| w[..w.len() % 9].to_vec()).collect();
        words.extend(short);
        for a in &words {
            for b in &words {
                assert_eq!(jaro(a, b).to_bits(), jaro(b, a).to_bits(), "{a:?} {b:?}");
                assert_eq!(levenshtein(a, b), levenshtein(b, a));
            }
        }
    }

    #[test]
    fn the_bound_is_never_below_the_similarity() {
        let words = strings(300);
        for a in words.iter().filter(|w| !w.is_empty()) {
            for b in words.iter().filter(|w| !w.is_empty()) {
                assert!(jaro_winkler(a, b) <= jaro_winkler_bound(a.len(), b.len()) + 1e-12);
            }
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(levenshtein(b"kitten", b"sitting"), 3);
        assert_eq!(levenshtein(b"", b"abc"), 3);
        assert!((jaro_winkler(b"martha", b"marhta") - 0.9611).abs() < 1e-4);
        assert!((jaro(b"dixon", b"dicksonx") - 0.7667).abs() < 1e-4);
    }
}
