//! Text helpers shared by the field kernels: cleaning, title case, ASCII folding and the
//! builder that assembles a [`Cleaned`] pair of arrays.

use std::borrow::Cow;

use arrow::array::{Array, StringArray, StringBuilder, UInt32Array, UInt32Builder};
use foldhash::{HashMap, HashMapExt, HashSet};
use rayon::prelude::*;
use unicode_normalization::UnicodeNormalization;

use super::Cleaned;

/// Placeholders that mean "no value" (compared case-insensitively).
/// ("na" is left alone: it is also a surname.)
const JUNK: &[&str] = &[
    "#n/a", "-", "--", "n.a.", "n/a", "nil", "none", "null", "unknown",
];

/// NFKC-normalises, trims and collapses whitespace; blank values and placeholders give `None`.
pub(crate) fn clean(raw: &str) -> Option<String> {
    let normalised: Cow<'_, str> = if raw.is_ascii() {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(raw.nfkc().collect())
    };
    let mut out = String::with_capacity(normalised.len());
    for word in normalised.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    let junk = JUNK.iter().any(|j| j.eq_ignore_ascii_case(&out));
    (!out.is_empty() && !junk).then_some(out)
}

/// Appends `word` title-cased: an all-lower or all-upper word gets a capital at its start, after
/// `-`, and after a one-letter `O'`-style prefix; mixed-case words and words with digits are kept.
pub(crate) fn push_title_word(word: &str, out: &mut String) {
    let has_lower = word.chars().any(char::is_lowercase);
    let has_upper = word.chars().any(char::is_uppercase);
    if (has_lower && has_upper) || word.chars().any(|c| c.is_ascii_digit()) {
        out.push_str(word);
        return;
    }
    let mut capital = true;
    for (i, c) in word.chars().enumerate() {
        if capital {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        capital = c == '-' || (i == 1 && matches!(c, '\'' | '’'));
    }
}

/// Title-cases every space-separated word of `words` (see [`push_title_word`]).
pub(crate) fn title_case<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for word in words {
        if !out.is_empty() {
            out.push(' ');
        }
        push_title_word(word, &mut out);
    }
    out
}

/// ASCII-folds (`Müller` → `Muller`) and lowercases.
pub(crate) fn fold(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        deunicode::deunicode(s).to_ascii_lowercase()
    }
}

/// Folds `s` and keeps ASCII letters and digits; whitespace and `separators` become single
/// spaces, every other character is dropped.
pub(crate) fn match_text(s: &str, separators: &[char]) -> String {
    let folded = fold(s);
    let mut out = String::with_capacity(folded.len());
    let mut pending_space = false;
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else if c.is_whitespace() || separators.contains(&c) {
            pending_space = true;
        }
    }
    out
}

/// The value at `row`, `None` when null.
pub(crate) fn value_at(values: &StringArray, row: usize) -> Option<&str> {
    values.is_valid(row).then(|| values.value(row))
}

/// Builds the display and key arrays of a [`Cleaned`] row by row.
pub(crate) struct CleanedBuilder {
    display: StringBuilder,
    key: StringBuilder,
}

impl CleanedBuilder {
    /// A builder sized for an output like `values`.
    pub(crate) fn like(values: &StringArray) -> Self {
        let rows = values.len();
        // The bytes of these rows only (`value_data` is the whole buffer of a slice).
        let offsets = values.value_offsets();
        let bytes = (offsets[rows] - offsets[0]) as usize;
        CleanedBuilder {
            display: StringBuilder::with_capacity(rows, bytes),
            key: StringBuilder::with_capacity(rows, bytes),
        }
    }

    /// Appends one row.
    pub(crate) fn append(&mut self, display: Option<&str>, key: Option<&str>) {
        self.display.append_option(display);
        self.key.append_option(key);
    }

    /// Finishes both arrays.
    pub(crate) fn finish(mut self) -> Cleaned {
        Cleaned::new(self.display.finish(), self.key.finish())
    }
}

/// Distinct values per parallel task of [`per_distinct`]: large enough that a task outweighs
/// its scheduling and the final concatenation, small enough to spread a column over every thread.
const CHUNK_ROWS: usize = 16 * 1024;

/// Runs `f` on every value that survives [`clean`]; `None` from `f` makes the row null in both.
/// Each distinct value is standardised once (see [`per_distinct`]).
pub(crate) fn map_cleaned(
    values: &StringArray,
    f: impl Fn(&str) -> Option<(String, String)> + Sync,
) -> Cleaned {
    let [out] = per_distinct(values, |chunk| {
        let mut out = CleanedBuilder::like(chunk);
        for value in chunk.iter() {
            match value.and_then(clean).and_then(|s| f(&s)) {
                Some((display, key)) => out.append(Some(&display), Some(&key)),
                None => out.append(None, None),
            }
        }
        [out.finish()]
    });
    out
}

/// Applies `kernel` (values → `N` standardised columns, row for row) to the distinct values of
/// `values` only, in parallel chunks, and spreads the results back over the rows. Customer
/// columns repeat heavily (first names, cities, dates), so this does the expensive work once
/// per value; a column whose values hardly repeat goes through the kernel row by row instead,
/// saving a hash lookup and a copy per row.
pub(crate) fn per_distinct<const N: usize>(
    values: &StringArray,
    kernel: impl Fn(&StringArray) -> [Cleaned; N] + Sync,
) -> [Cleaned; N] {
    if mostly_distinct(values) {
        return in_chunks(values, kernel);
    }
    let (distinct, rows) = dictionary(values);
    in_chunks(&distinct, kernel).map(|column| column.take(&rows))
}

/// Rows of a column sampled to judge whether its values repeat.
const SAMPLE_ROWS: usize = 4096;

/// Whether nearly every value of `values` is distinct (98 % of a sample of [`SAMPLE_ROWS`]
/// rows picked over the column; a column whose values each come three times shows about 8 %
/// repeats in a sample of a twelfth of it): e-mails, phones and streets of one export, where
/// finding the distinct values costs a hash lookup per row and saves almost no
/// standardisation.
fn mostly_distinct(values: &StringArray) -> bool {
    // Rows picked at random (a fixed seed), not at a fixed stride, which a column that repeats
    // with some period would fool.
    let n = values.len() as u64;
    let sample: Vec<&str> = (0..SAMPLE_ROWS.min(values.len()) as u64)
        .map(|j| (splitmix64(j) % n.max(1)) as usize)
        .filter(|&i| values.is_valid(i))
        .map(|i| values.value(i))
        .collect();
    let distinct: HashSet<&str> = sample.iter().copied().collect();
    sample.len() >= SAMPLE_ROWS / 2 && distinct.len() * 50 >= sample.len() * 49
}

/// SplitMix64 of `x`: a well-spread 64-bit hash of a counter.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `kernel` on every row of `values`, in parallel chunks: [`per_distinct`]'s result for a
/// column whose values hardly repeat (the kernel is a function of each value alone).
fn in_chunks<const N: usize>(
    values: &StringArray,
    kernel: impl Fn(&StringArray) -> [Cleaned; N] + Sync,
) -> [Cleaned; N] {
    let parts: Vec<[Cleaned; N]> = (0..values.len())
        .step_by(CHUNK_ROWS)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| kernel(&values.slice(start, CHUNK_ROWS.min(values.len() - start))))
        .collect();
    std::array::from_fn(|i| {
        let column: Vec<Cleaned> = parts.iter().map(|p| p[i].clone()).collect();
        if column.is_empty() {
            Cleaned::nulls(0)
        } else {
            Cleaned::concat(&column)
        }
    })
}

/// The distinct non-null values of `values` in first-seen order, and each row's index into
/// them (null for a null row).
fn dictionary(values: &StringArray) -> (StringArray, UInt32Array) {
    let mut index: HashMap<&str, u32> = HashMap::with_capacity(values.len() / 4);
    let mut distinct = StringBuilder::new();
    let mut rows = UInt32Builder::with_capacity(values.len());
    for value in values.iter() {
        match value {
            Some(v) => {
                let next = index.len() as u32;
                let code = *index.entry(v).or_insert_with(|| {
                    distinct.append_value(v);
                    next
                });
                rows.append_value(code);
            }
            None => rows.append_null(),
        }
    }
    (distinct.finish(), rows.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_of_distinct_values_goes_row_by_row_to_the_same_result() {
        let kernel = |chunk: &StringArray| {
            let mut out = CleanedBuilder::like(chunk);
            for v in chunk.iter() {
                let key = v.map(|v| v.trim().to_lowercase());
                out.append(v, key.as_deref().filter(|k| !k.is_empty()));
            }
            [out.finish()]
        };
        let column = |n: usize, distinct: usize| -> StringArray {
            (0..n)
                .map(|i| (i % 7 != 3).then(|| format!(" V{} ", i % distinct)))
                .collect()
        };
        let (unique, repeated) = (column(16 * CHUNK_ROWS + 5, usize::MAX), column(9000, 40));
        assert!(mostly_distinct(&unique));
        assert!(!mostly_distinct(&repeated));
        assert!(
            !mostly_distinct(&column(100, usize::MAX)),
            "too few rows to judge"
        );
        for values in [&unique, &repeated] {
            let (distinct, rows) = dictionary(values);
            let [by_value] = in_chunks(&distinct, kernel).map(|c| c.take(&rows));
            let [by_row] = in_chunks(values, kernel);
            assert_eq!(by_row.key, by_value.key);
            assert_eq!(by_row.display, by_value.display);
            let [chosen] = per_distinct(values, kernel);
            assert_eq!(chosen.key, by_value.key);
        }
    }

    #[test]
    fn clean_trims_collapses_and_drops_placeholders() {
        assert_eq!(clean("  a   b \t c ").as_deref(), Some("a b c"));
        assert_eq!(clean("   "), None);
        assert_eq!(clean(""), None);
        for junk in ["N/A", "null", "None", "-", "UNKNOWN"] {
            assert_eq!(clean(junk), None, "{junk}");
        }
        // NFKC: full-width letters and the ﬁ ligature.
        assert_eq!(clean("Ｊｏｈｎ ﬁ").as_deref(), Some("John fi"));
    }

    #[test]
    fn map_cleaned_keeps_row_order_across_parallel_chunks() {
        let rows = 2 * CHUNK_ROWS + 17;
        let values: StringArray = (0..rows)
            .map(|i| (i % 5 != 0).then(|| format!(" Row  {i} ")))
            .collect();
        let out = map_cleaned(&values, |s| {
            (!s.ends_with('7')).then(|| (s.to_string(), s.to_lowercase()))
        });
        assert_eq!(out.display.len(), rows);
        for i in [
            0,
            1,
            7,
            CHUNK_ROWS - 1,
            CHUNK_ROWS,
            CHUNK_ROWS + 1,
            rows - 1,
        ] {
            let want = (i % 5 != 0 && i % 10 != 7).then(|| format!("Row {i}"));
            assert_eq!(
                value_at(&out.display, i).map(str::to_string),
                want,
                "row {i}"
            );
            let key = want.map(|w| w.to_lowercase());
            assert_eq!(value_at(&out.key, i).map(str::to_string), key, "row {i}");
        }
        assert_eq!(out.display.null_count(), out.key.null_count());
    }

    #[test]
    fn repeated_values_are_standardised_once_and_land_on_every_row() {
        let distinct = CHUNK_ROWS + 3;
        let rows = 3 * CHUNK_ROWS + 5;
        let values: StringArray = (0..rows)
            .map(|i| (i % 5 != 0).then(|| format!("v{}", i % distinct)))
            .collect();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let out = map_cleaned(&values, |s| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (!s.ends_with('3')).then(|| (s.to_uppercase(), s.to_string()))
        });
        assert_eq!(calls.into_inner(), distinct);
        for i in 0..rows {
            let want = (i % 5 != 0)
                .then(|| format!("v{}", i % distinct))
                .filter(|v| !v.ends_with('3'));
            assert_eq!(value_at(&out.key, i), want.as_deref(), "row {i}");
            let display = want.map(|w| w.to_uppercase());
            assert_eq!(value_at(&out.display, i), display.as_deref(), "row {i}");
        }
        let empty = map_cleaned(&StringArray::new_null(3), |s| Some((s.into(), s.into())));
        assert_eq!(empty.key.null_count(), 3);
    }

    #[test]
    fn title_case_rules() {
        assert_eq!(title_case(["o'brien"]), "O'Brien");
        assert_eq!(title_case(["JOHN", "McDonald"]), "John McDonald");
        assert_eq!(title_case(["anne-marie"]), "Anne-Marie");
        assert_eq!(title_case(["king's", "road", "4B"]), "King's Road 4B");
        assert_eq!(title_case(["ØYVIND"]), "Øyvind");
    }

    #[test]
    fn match_text_folds_and_strips() {
        assert_eq!(match_text("José  O'Neil-Smith", &['-']), "jose oneil smith");
        assert_eq!(match_text("Müller", &[]), "muller");
    }
}
