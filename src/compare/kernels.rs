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
    /// The set of its characters ([`char_set`]).
    chars: u128,
    /// Whether four values at a time go through the AVX2 kernel.
    #[cfg(target_arch = "x86_64")]
    simd: bool,
}

impl<'a> Pattern<'a> {
    /// Prepares `text` (at most [`WORD`] bytes, ASCII).
    #[inline]
    pub fn new(text: &'a [u8]) -> Self {
        debug_assert!(text.len() <= WORD);
        Pattern {
            text,
            pm: positions(text),
            chars: char_set(text),
            #[cfg(target_arch = "x86_64")]
            simd: simd::available(),
        }
    }

    /// Whether four values cost about what one does here (the AVX2 kernel runs).
    #[inline]
    pub fn wide(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        return self.simd;
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// The set of the pattern's characters ([`char_set`]).
    #[inline]
    pub fn chars(&self) -> u128 {
        self.chars
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
    /// pattern: strsim's algorithm ([`Pattern::jaro_flags`]); four values at a time go
    /// through one AVX2 register where the CPU has it ([`simd::jaro_flags4`]), with the same
    /// flags and so the same bits.
    pub fn jaro_lanes<const N: usize>(&self, values: [&[u8]; N]) -> [f64; N] {
        let (a_flags, b_flags) = self.flags_of(values);
        std::array::from_fn(|l| jaro_of(values[l], self.text, a_flags[l], b_flags[l]))
    }

    /// The matched characters of each value and of the pattern, as bit sets.
    #[inline]
    fn flags_of<const N: usize>(&self, values: [&[u8]; N]) -> ([u64; N], [u64; N]) {
        #[cfg(target_arch = "x86_64")]
        if let (true, Ok(four)) = (self.simd, <[&[u8]; 4]>::try_from(&values[..])) {
            // SAFETY: `simd` is set only where the CPU runs AVX2 (`simd::available`).
            let (a, b) = unsafe { simd::jaro_flags4(&self.pm, self.text.len(), four) };
            let widen = |f: [u64; 4]| std::array::from_fn(|l| f[l]);
            return (widen(a), widen(b));
        }
        self.jaro_flags(values)
    }

    /// The matched characters of each of `N` values and of the pattern, as bit sets: each
    /// character of `a` takes the first unflagged equal character of the pattern in its window,
    /// the window searched as one word and slid along without a branch (whether a character
    /// matches is as good as random, so a branch on it is mispredicted half the time). Each
    /// value's loop waits on its previous match; the `N` loops are interleaved so that the CPU
    /// runs them side by side.
    // Indexing by position is the point: lane `l` reads its `i`-th character at step `i`.
    #[allow(clippy::needless_range_loop)]
    fn jaro_flags<const N: usize>(&self, values: [&[u8]; N]) -> ([u64; N], [u64; N]) {
        let lb = self.text.len();
        let in_b = span(0, lb);
        let mut text = [[0u8; WORD]; N];
        let (mut range, mut window) = ([0usize; N], [0u64; N]);
        let (mut a_flags, mut b_flags) = ([0u64; N], [0u64; N]);
        let mut longest = 0;
        for (l, a) in values.iter().enumerate() {
            debug_assert!(a.len() <= WORD && lb <= WORD);
            text[l][..a.len()].copy_from_slice(a);
            range[l] = match_range(a.len(), lb);
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
        (a_flags, b_flags)
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

/// The set of the characters of ASCII value `s`: bit `c` for each character `c`.
#[inline]
pub fn char_set(s: &[u8]) -> u128 {
    s.iter().fold(0, |set, &c| set | 1 << (c & 0x7f))
}

/// A lower bound of the Levenshtein distance of two values whose character sets are `a` and
/// `b`: each character of one that the other lacks is deleted, inserted or substituted, one
/// edit apiece.
#[inline]
pub fn missing_chars(a: u128, b: u128) -> usize {
    (a & !b).count_ones().max((b & !a).count_ones()) as usize
}

/// How far from its own position a character may match in Jaro (strsim's window) between
/// values of `la` and `lb` characters.
#[inline]
fn match_range(la: usize, lb: usize) -> usize {
    (la.max(lb) / 2).saturating_sub(1)
}

/// [`Pattern::jaro_flags`] for four values in one AVX2 register.
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    use super::{WORD, match_range, span};

    /// Whether this CPU runs AVX2 (`std` caches the answer).
    #[inline]
    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2")
    }

    /// The first `longest` bytes of four values (each below [`WORD`] bytes), masked to 7 bits,
    /// position-major: step `i` of [`jaro_flags4`] reads the `i`-th byte of each value as one
    /// `u32` (0 past a value's end). Sixteen positions at a time, by byte and word unpacking.
    #[target_feature(enable = "avx2")]
    fn transposed(values: [&[u8]; 4], longest: usize) -> [[u8; 4]; WORD] {
        let mut rows = [[0u8; WORD]; 4];
        for (row, a) in rows.iter_mut().zip(values) {
            row[..a.len()].copy_from_slice(a);
        }
        let mut bytes = [[0u8; 4]; WORD];
        let seven_bits = _mm_set1_epi8(0x7f);
        for q in (0..longest).step_by(16) {
            // SAFETY: `q + 16 <= WORD`, so each load reads within its row.
            let row = |l: usize| unsafe {
                _mm_and_si128(_mm_loadu_si128(rows[l][q..].as_ptr().cast()), seven_bits)
            };
            let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
            let (lo01, hi01) = (_mm_unpacklo_epi8(r0, r1), _mm_unpackhi_epi8(r0, r1));
            let (lo23, hi23) = (_mm_unpacklo_epi8(r2, r3), _mm_unpackhi_epi8(r2, r3));
            let fours = [
                _mm_unpacklo_epi16(lo01, lo23),
                _mm_unpackhi_epi16(lo01, lo23),
                _mm_unpacklo_epi16(hi01, hi23),
                _mm_unpackhi_epi16(hi01, hi23),
            ];
            for (k, four) in fours.into_iter().enumerate() {
                // SAFETY: positions q + 4k .. q + 4k + 4 lie within `bytes` (q + 16 <= WORD).
                unsafe { _mm_storeu_si128(bytes[q + 4 * k..].as_mut_ptr().cast(), four) };
            }
        }
        bytes
    }

    /// Whether this CPU compresses bytes under a mask (AVX-512 VBMI2).
    #[inline]
    pub fn compresses() -> bool {
        std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi2")
    }

    /// [`super::unequal_matches_scalar`] in a few instructions: each value's matched bytes are
    /// packed to the front of a register in order, and the two registers compared byte by byte
    /// (past the last match both hold zeros). Masked loads read no byte past either value.
    #[target_feature(enable = "avx512bw,avx512vbmi2")]
    pub fn unequal_matches(a: &[u8], b: &[u8], a_flags: u64, b_flags: u64) -> usize {
        debug_assert!(a.len() <= WORD && b.len() <= WORD);
        // SAFETY: the masks cover exactly each value's bytes; masked-off bytes are not read.
        let (x, y) = unsafe {
            (
                _mm512_maskz_loadu_epi8(span(0, a.len()), a.as_ptr().cast()),
                _mm512_maskz_loadu_epi8(span(0, b.len()), b.as_ptr().cast()),
            )
        };
        let (x, y) = (
            _mm512_maskz_compress_epi8(a_flags, x),
            _mm512_maskz_compress_epi8(b_flags, y),
        );
        _mm512_cmpneq_epi8_mask(x, y).count_ones() as usize
    }

    /// [`super::Pattern::jaro_flags`] of four values against the pattern of `lb` bytes whose
    /// positions are `pm`: the same steps, each on the four lanes of a register.
    #[target_feature(enable = "avx2")]
    pub fn jaro_flags4(pm: &[u64; 128], lb: usize, values: [&[u8]; 4]) -> ([u64; 4], [u64; 4]) {
        let (mut len, mut range, mut window) = ([0i64; 4], [0i64; 4], [0i64; 4]);
        let in_b = span(0, lb);
        for (l, a) in values.iter().enumerate() {
            debug_assert!(a.len() <= WORD && lb <= WORD);
            len[l] = a.len() as i64;
            range[l] = match_range(a.len(), lb) as i64;
            window[l] = (span(0, match_range(a.len(), lb) + 1) & in_b) as i64;
        }
        let longest = values.iter().map(|a| a.len()).max().unwrap_or(0);
        let bytes = transposed(values, longest);
        let load = |v: &[i64; 4]| unsafe { _mm256_loadu_si256(v.as_ptr().cast()) };
        let (len, range, mut window) = (load(&len), load(&range), load(&window));
        let (zero, one) = (_mm256_setzero_si256(), _mm256_set1_epi64x(1));
        let in_b = _mm256_set1_epi64x(in_b as i64);
        let (mut a_flags, mut b_flags) = (zero, zero);
        // Each lane's step number, and its bit.
        let (mut at, mut bit) = (zero, one);
        for step in bytes.iter().take(longest) {
            let chars = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(i32::from_ne_bytes(*step)));
            // SAFETY: every char is below 128 (masked above), within `pm`.
            let pm_c = unsafe { _mm256_i64gather_epi64::<8>(pm.as_ptr().cast(), chars) };
            let live = _mm256_cmpgt_epi64(len, at);
            let free = _mm256_and_si256(_mm256_andnot_si256(b_flags, pm_c), window);
            let free = _mm256_and_si256(free, live);
            let first = _mm256_and_si256(free, _mm256_sub_epi64(zero, free));
            b_flags = _mm256_or_si256(b_flags, first);
            let none = _mm256_cmpeq_epi64(first, zero);
            a_flags = _mm256_or_si256(a_flags, _mm256_andnot_si256(none, bit));
            let grow = _mm256_and_si256(_mm256_cmpgt_epi64(range, at), one);
            window = _mm256_and_si256(_mm256_or_si256(_mm256_slli_epi64::<1>(window), grow), in_b);
            at = _mm256_add_epi64(at, one);
            bit = _mm256_slli_epi64::<1>(bit);
        }
        let store = |v: __m256i| {
            let mut out = [0u64; 4];
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
            out
        };
        (store(a_flags), store(b_flags))
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
    let transpositions = unequal_matches(a, b, a_flags, b_flags);
    let (m, t) = (matches as f64, (transpositions / 2) as f64);
    ((m / la as f64) + (m / lb as f64) + ((m - t) / m)) / 3.0
}

/// How many of the k-th matched characters of `a` and of `b` differ, for each k: through
/// AVX-512's byte compression where the CPU has it ([`simd::unequal_matches`]).
#[inline]
fn unequal_matches(a: &[u8], b: &[u8], a_flags: u64, b_flags: u64) -> usize {
    #[cfg(target_arch = "x86_64")]
    if simd::compresses() {
        // SAFETY: the CPU runs the instructions (`compresses`); both values fit a word.
        return unsafe { simd::unequal_matches(a, b, a_flags, b_flags) };
    }
    unequal_matches_scalar(a, b, a_flags, b_flags)
}

/// [`unequal_matches`], one matched pair at a time.
#[inline]
fn unequal_matches_scalar(a: &[u8], b: &[u8], a_flags: u64, b_flags: u64) -> usize {
    let mut unequal = 0usize;
    let (mut af, mut bf) = (a_flags, b_flags);
    while af != 0 {
        let (i, j) = (af.trailing_zeros() as usize, bf.trailing_zeros() as usize);
        af &= af - 1;
        bf &= bf - 1;
        unequal += usize::from(a[i] != b[j]);
    }
    unequal
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

    /// Four values at a time (the AVX2 kernel, where the CPU has it) flag the same characters
    /// as one at a time, on values of every length up to a word, empty ones included.
    #[test]
    fn four_lanes_flag_what_one_lane_flags() {
        let words = strings(240);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(Pattern::new(b"x").simd, simd::available());
        for b in words.iter().step_by(3) {
            let p = Pattern::new(b);
            for four in words.chunks_exact(4) {
                let four = [&four[0][..], &four[1], &four[2], &four[3]];
                let (a_flags, b_flags) = p.flags_of(four);
                for l in 0..4 {
                    let one = p.jaro_flags([four[l]]);
                    assert_eq!(one, ([a_flags[l]], [b_flags[l]]), "{:?} {b:?}", four[l]);
                }
            }
        }
    }

    /// The AVX-512 count of transposed matches (where the CPU has it) equals the scalar one.
    #[test]
    fn unequal_matches_are_counted_alike() {
        let words = strings(200);
        for a in &words {
            for b in words.iter().step_by(5) {
                let p = Pattern::new(b);
                let (af, bf) = p.jaro_flags([&a[..]]);
                let want = unequal_matches_scalar(a, b, af[0], bf[0]);
                assert_eq!(unequal_matches(a, b, af[0], bf[0]), want, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn missing_characters_never_exceed_the_distance() {
        let words = strings(300);
        let mut reached = 0;
        for a in &words {
            for b in words.iter().step_by(3) {
                let bound = missing_chars(char_set(a), char_set(b));
                let distance = levenshtein(a, b);
                assert!(bound <= distance, "{a:?} {b:?}");
                reached += usize::from(bound == distance && distance > 0);
            }
        }
        assert!(reached > 0, "the bound is never tight");
        assert_eq!(missing_chars(char_set(b"kitten"), char_set(b"sitting")), 2);
    }

    #[test]
    fn known_values() {
        assert_eq!(levenshtein(b"kitten", b"sitting"), 3);
        assert_eq!(levenshtein(b"", b"abc"), 3);
        assert!((jaro_winkler(b"martha", b"marhta") - 0.9611).abs() < 1e-4);
        assert!((jaro(b"dixon", b"dicksonx") - 0.7667).abs() < 1e-4);
    }
}
