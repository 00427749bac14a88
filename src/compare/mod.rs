//! Stage "compare": candidate pairs → comparison vectors, one level per field per pair.
//!
//! Levels follow Splink: -1 null (either side missing), 0 "else", then one level per similarity
//! threshold from the loosest up, and the top level for an exact match of the match values. The
//! comparison of all blocks runs in parallel with rayon; each task owns its output buffers.

pub mod cache;
pub mod chunks;
mod kernels;
mod memo;
pub mod method;

use kernels::Pattern;
use memo::Memo;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use rayon::prelude::*;

use crate::config::{ComparisonConfig, Method};
use crate::{Error, Result};

/// Level of a pair where either value is null.
pub const NULL_LEVEL: i8 = -1;

/// Compares one field of two records, through its values interned to dense ids: equal values
/// share an id, so agreement and exact methods compare integers, and a similarity kernel runs
/// only on distinct values.
struct FieldComparator<'a> {
    /// The value of each id.
    distinct: Vec<&'a str>,
    /// Whether the value of each id is ASCII (the kernels' fast path), found once per value.
    ascii: Vec<bool>,
    method: Method,
    thresholds: Vec<f64>,
    /// The lowest threshold: below it the level is "else" whatever the exact similarity.
    lowest: f64,
    /// Which lengths of two values can reach `lowest` at all.
    reach: method::Reach,
    exact_level: i8,
    /// With at most [`SMALL_DOMAIN`] distinct values (a city, a country, a title), the level
    /// of every two ids, row-major, computed once: such a field differs in most pairs.
    matrix: Option<Vec<i8>>,
}

/// Values that one call of a word kernel (Jaro, Levenshtein) compares with a prepared value,
/// side by side.
const LANES: usize = 4;

/// A level not yet computed, in [`FieldComparator::row_levels`]'s output.
const PENDING: i8 = i8::MIN;

/// Most distinct values of a field whose levels are all computed up front (a 1 MiB table).
const SMALL_DOMAIN: usize = 1024;

use crate::standardize::value_ids::{MatchIds, NO_VALUE, ValueIds, match_values};

impl<'a> FieldComparator<'a> {
    /// Interns `values` (`None` and empty strings are missing): the comparator, and each
    /// record's id ([`NO_VALUE`] when missing).
    fn new(values: &'a StringArray, c: &ComparisonConfig) -> (Self, Vec<u32>) {
        Self::of_ids(ValueIds::of(values), c)
    }

    /// [`Self::new`] from the values already interned.
    fn of_ids(values: ValueIds<'a>, c: &ComparisonConfig) -> (Self, Vec<u32>) {
        let ValueIds { ids, distinct } = values;
        let ascii = distinct.iter().map(|s| s.is_ascii()).collect();
        let lowest = c.levels.iter().copied().fold(f64::INFINITY, f64::min);
        let mut field = FieldComparator {
            distinct,
            ascii,
            method: c.method,
            thresholds: c.levels.clone(),
            lowest,
            reach: method::Reach::new(c.method, lowest),
            exact_level: (c.level_count() - 1) as i8,
            matrix: None,
        };
        field.matrix = field.small_domain_matrix();
        (field, ids)
    }

    /// Every two ids' level, when the field has few distinct values and a method that is more
    /// than an equality test.
    fn small_domain_matrix(&self) -> Option<Vec<i8>> {
        let n = self.distinct.len();
        if n > SMALL_DOMAIN || self.method == Method::Exact {
            return None;
        }
        // Computed while `matrix` is still unset, so `level` reads the values.
        let rows = (0..n as u32)
            .into_par_iter()
            .map(|a| (0..n as u32).map(|b| self.level(a, b)).collect::<Vec<i8>>());
        Some(rows.flatten_iter().collect())
    }

    /// The level of two records whose values have ids `a` and `b`.
    #[inline]
    fn level(&self, a: u32, b: u32) -> i8 {
        self.level_with(a, b, || self.values_level(self.value(a), self.value(b)))
    }

    /// [`Self::level`] of two records whose ids and values were gathered
    /// ([`Comparator::gather`]): the values are read from there, not from the distinct values.
    #[inline]
    fn gathered_level(&self, a: u32, b: u32, x: Value<'a>, y: Value<'a>) -> i8 {
        self.level_with(a, b, || self.values_level(x, y))
    }

    /// The level of ids `a` and `b`; `unequal` gives it when they are two different values and
    /// the field has no table.
    #[inline]
    fn level_with(&self, a: u32, b: u32, unequal: impl FnOnce() -> i8) -> i8 {
        if a == NO_VALUE || b == NO_VALUE {
            return NULL_LEVEL;
        }
        if a == b {
            return self.exact_level;
        }
        match &self.matrix {
            Some(m) => m[a as usize * self.distinct.len() + b as usize],
            // Unequal values never agree exactly: nothing to read.
            None if self.method == Method::Exact => 0,
            None => unequal(),
        }
    }

    /// Writes the level of gathered record `x` with each of the gathered records `ys` into
    /// `out[j * k + f]` (`f` is this field's place among the `k` comparisons): when a word
    /// kernel compares `x`'s value, it is prepared once for all of them ([`Pattern`]), and the
    /// others go through the kernel [`LANES`] at a time.
    fn row_levels(
        &self,
        (g, memo): (&Gathered<'a>, &mut Memo),
        (k, f): (usize, usize),
        x: usize,
        ys: &[u32],
        out: &mut [i8],
    ) {
        let at = |r: u32| r as usize * k + f;
        let (ix, vx) = (g.ids[at(x as u32)], g.value(at(x as u32)));
        if !self.reads_values() {
            // Exact, or a small domain's table: the ids alone give each level.
            for (o, &y) in out[f..].iter_mut().step_by(k).zip(ys) {
                *o = self.level(ix, g.ids[at(y)]);
            }
            return;
        }
        let Some(p) = self.pattern_of(vx) else {
            for (o, &y) in out[f..].iter_mut().step_by(k).zip(ys) {
                let y = at(y);
                *o = self.level_with(ix, g.ids[y], || self.values_level(vx, g.value(y)));
            }
            return;
        };
        for (o, &y) in out[f..].iter_mut().step_by(k).zip(ys) {
            let y = at(y);
            *o = self.level_with(ix, g.ids[y], || {
                self.pattern_level(&p, vx, g.value(y)).unwrap_or(PENDING)
            });
        }
        // The values left to a kernel, in lanes, unless the block met the same two before.
        let (mut lane, mut n) = ([0usize; LANES], 0);
        let value = |j: usize| g.texts[at(ys[j])].as_bytes();
        let put = |out: &mut [i8], memo: &mut Memo, j: usize, level: i8| {
            out[j * k + f] = level;
            memo.set(x, ys[j] as usize, level);
        };
        for j in 0..ys.len() {
            if out[j * k + f] == PENDING {
                if let Some(level) = memo.get(x, ys[j] as usize) {
                    out[j * k + f] = level;
                    continue;
                }
                lane[n] = j;
                n += 1;
                if n == LANES {
                    let levels = self.lane_levels(&p, lane.map(value));
                    for (&j, level) in lane.iter().zip(levels) {
                        put(out, memo, j, level);
                    }
                    n = 0;
                }
            }
        }
        if n > 0 && p.wide() {
            // The last few in one more call of the wide kernel, its other lanes empty.
            let mut values = [&b""[..]; LANES];
            for (v, &j) in values.iter_mut().zip(&lane[..n]) {
                *v = value(j);
            }
            let levels = self.lane_levels(&p, values);
            for (&j, level) in lane[..n].iter().zip(levels) {
                put(out, memo, j, level);
            }
            return;
        }
        for &j in &lane[..n] {
            put(out, memo, j, self.lane_levels(&p, [value(j)])[0]);
        }
    }

    /// The levels of `N` values against the prepared `p`, by this field's word kernel.
    #[inline]
    fn lane_levels<const N: usize>(&self, p: &Pattern, values: [&[u8]; N]) -> [i8; N] {
        let sims = match self.method {
            Method::Jaro => p.jaro_lanes(values),
            Method::JaroWinkler => p.jaro_winkler_lanes(values),
            _ => {
                let capped = values.map(|v| &v[..v.len().min(method::MAX_COMPARED_CHARS)]);
                let distances = p.levenshtein_lanes(capped);
                let longest = |l: usize| p.len().max(capped[l].len());
                std::array::from_fn(|l| method::normalised(distances[l], longest(l)))
            }
        };
        sims.map(|s| self.threshold_level(s))
    }

    /// `x` prepared for a word kernel, when this field's levels come from one and `x` fits it.
    fn pattern_of<'v>(&self, x: Value<'v>) -> Option<Pattern<'v>> {
        let fits = x.ascii && x.text.len() <= kernels::WORD;
        (self.kernel() && fits).then(|| Pattern::new(x.text.as_bytes()))
    }

    /// [`Self::values_level`] of `x` and `y` when it needs no kernel; `None` when it takes the
    /// word kernel, which [`Self::row_levels`] runs against `x` (prepared, and the kernels are
    /// symmetric, so the level is the same) for several values at once.
    #[inline]
    fn pattern_level(&self, p: &Pattern, x: Value, y: Value) -> Option<i8> {
        let yb = y.text.as_bytes();
        if !y.ascii || (self.method != Method::Levenshtein && yb.len() > kernels::WORD) {
            return Some(self.values_level(x, y));
        }
        if self.reach.out(x.text.len(), yb.len()) {
            return Some(0);
        }
        if self.method == Method::Levenshtein {
            // Each character of one value missing from the other costs an edit at least.
            let yb = &yb[..yb.len().min(method::MAX_COMPARED_CHARS)];
            let at_least = kernels::missing_chars(p.chars(), kernels::char_set(yb));
            if method::normalised(at_least, p.len().max(yb.len())) < self.lowest {
                return Some(0);
            }
        }
        None
    }

    /// Whether this field's levels of unequal values may come from a word kernel (worth
    /// remembering within a block, see [`Memo`]).
    fn kernel(&self) -> bool {
        let word = matches!(
            self.method,
            Method::JaroWinkler | Method::Jaro | Method::Levenshtein
        );
        word && self.reads_values() && !self.thresholds.is_empty()
    }

    /// Whether comparing two unequal ids of this field reads their values.
    fn reads_values(&self) -> bool {
        self.matrix.is_none() && self.method != Method::Exact
    }

    /// The value of id `a`, as gathered.
    fn value(&self, a: u32) -> Value<'a> {
        match a {
            NO_VALUE => Value::default(),
            a => Value {
                text: self.distinct[a as usize],
                ascii: self.ascii[a as usize],
            },
        }
    }

    /// The level of two unequal, non-missing values.
    fn values_level(&self, x: Value, y: Value) -> i8 {
        let ascii = x.ascii && y.ascii;
        let (x, y) = (x.text, y.text);
        if self.method == Method::Date {
            return method::date_level(x, y);
        }
        if self.thresholds.is_empty() {
            return 0;
        }
        let s = if ascii {
            if self.reach.out(x.len(), y.len()) {
                return 0;
            }
            method::ascii_similarity(self.method, x, y)
        } else {
            method::similarity(self.method, x, y)
        };
        self.threshold_level(s)
    }

    /// The level of similarity `s`: one above "else" per threshold it reaches.
    #[inline]
    fn threshold_level(&self, s: f64) -> i8 {
        let n = self.thresholds.len();
        self.thresholds
            .iter()
            .position(|&t| s >= t)
            .map_or(0, |k| (n - k) as i8)
    }
}

/// A value as a comparison reads it: its text and whether it is ASCII.
#[derive(Debug, Clone, Copy, Default)]
struct Value<'a> {
    text: &'a str,
    ascii: bool,
}

/// The ids and values of a few records (one block's), side by side: comparing each of them
/// with every other then reads memory in order instead of the whole table's.
#[derive(Default)]
pub struct Gathered<'a> {
    ids: Vec<u32>,
    /// The values comparisons read ("" for the others), and whether each is ASCII.
    texts: Vec<&'a str>,
    ascii: Vec<bool>,
    /// Per comparison, the kernel levels already computed in this block.
    memo: Vec<Memo>,
    /// Scratch space of [`Memo::number`].
    numbering: foldhash::HashMap<u32, u16>,
}

impl<'a> Gathered<'a> {
    /// The gathered value at `i` (record-major).
    #[inline]
    fn value(&self, i: usize) -> Value<'a> {
        Value {
            text: self.texts[i],
            ascii: self.ascii[i],
        }
    }
}

/// Compares records field by field, per the pipeline's comparisons.
pub struct Comparator<'a> {
    fields: Vec<FieldComparator<'a>>,
    /// Value ids, record-major (`ids[record * fields + field]`): one record's ids share a
    /// cache line, so a pair costs two memory reads, not two per field.
    ids: Vec<u32>,
}

impl<'a> Comparator<'a> {
    /// Prepares the comparisons over `batch`'s `__match` columns.
    pub fn new(batch: &'a RecordBatch, comparisons: &[ComparisonConfig]) -> Result<Self> {
        Self::with_ids(batch, comparisons, MatchIds::default())
    }

    /// [`Self::new`], taking the fields that `ids` already interned from there.
    pub fn with_ids(
        batch: &'a RecordBatch,
        comparisons: &[ComparisonConfig],
        mut ids: MatchIds<'a>,
    ) -> Result<Self> {
        let fields = comparisons
            .iter()
            .map(|c| Ok((match_values(batch, &c.field)?, ids.take(&c.field), c)))
            .collect::<Result<Vec<_>>>()?
            .into_par_iter()
            .map(|(values, interned, c)| {
                FieldComparator::of_ids(interned.unwrap_or_else(|| ValueIds::of(values)), c)
            })
            .collect::<Vec<_>>();
        let (fields, columns): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
        let k = columns.len();
        let mut ids = vec![NO_VALUE; batch.num_rows() * k];
        // Interleaved record by record, in parallel blocks of rows.
        const ROWS: usize = 64 * 1024;
        ids.par_chunks_mut((ROWS * k).max(1))
            .enumerate()
            .for_each(|(block, out)| {
                for (c, column) in columns.iter().enumerate() {
                    let rows = &column[(block * ROWS).min(column.len())..];
                    for (slot, &id) in out[c..].iter_mut().step_by(k).zip(rows) {
                        *slot = id;
                    }
                }
            });
        Ok(Comparator { fields, ids })
    }

    /// Number of comparisons.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no comparisons.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Gathers the ids, and the values that comparisons read, of `records` into `into`.
    pub fn gather(&self, records: &[u32], into: &mut Gathered<'a>) {
        let k = self.fields.len();
        into.ids.clear();
        into.texts.clear();
        into.ascii.clear();
        for &r in records {
            let row = &self.ids[r as usize * k..(r as usize + 1) * k];
            into.ids.extend_from_slice(row);
            for (f, &id) in self.fields.iter().zip(row) {
                let v = if f.reads_values() {
                    f.value(id)
                } else {
                    Value::default()
                };
                into.texts.push(v.text);
                into.ascii.push(v.ascii);
            }
        }
        into.memo.resize_with(k, Memo::default);
        for (f, field) in self.fields.iter().enumerate() {
            let ids = into.ids[f..].iter().step_by(k.max(1)).copied();
            let ids = if field.kernel() {
                ids.take(records.len())
            } else {
                ids.take(0)
            };
            into.memo[f].number(ids, NO_VALUE, &mut into.numbering);
        }
    }

    /// Writes the level of each comparison for the gathered records `x` and `y` (positions in
    /// the records given to [`Comparator::gather`]) into `out`: what [`Comparator::levels`]
    /// writes for those records.
    #[inline]
    pub fn gathered_levels(&self, g: &Gathered<'a>, x: usize, y: usize, out: &mut [i8]) {
        let k = self.fields.len();
        let (ix, iy) = (&g.ids[x * k..(x + 1) * k], &g.ids[y * k..(y + 1) * k]);
        for (c, (f, o)) in self.fields.iter().zip(out.iter_mut()).enumerate() {
            *o = f.gathered_level(ix[c], iy[c], g.value(x * k + c), g.value(y * k + c));
        }
    }

    /// Writes the levels of gathered record `x` with each gathered record of `ys` into `out`
    /// (`ys.len()` rows of [`Comparator::len`] levels): what [`Comparator::gathered_levels`]
    /// writes for each pair, computed a field at a time, so each field's method is chosen and
    /// `x`'s value prepared once per row.
    pub fn row_levels(&self, g: &mut Gathered<'a>, x: usize, ys: &[u32], out: &mut [i8]) {
        let k = self.fields.len();
        debug_assert_eq!(out.len(), ys.len() * k);
        let mut memo = std::mem::take(&mut g.memo);
        memo.resize_with(k, Memo::default);
        for (f, field) in self.fields.iter().enumerate() {
            field.row_levels((g, &mut memo[f]), (k, f), x, ys, out);
        }
        g.memo = memo;
    }

    /// Writes the level of each comparison for records `a` and `b` into `out`.
    #[inline]
    pub fn levels(&self, a: u32, b: u32, out: &mut [i8]) {
        let k = self.fields.len();
        let (a, b) = (a as usize * k, b as usize * k);
        let (ra, rb) = (&self.ids[a..a + k], &self.ids[b..b + k]);
        for (c, (f, o)) in self.fields.iter().zip(out.iter_mut()).enumerate() {
            *o = f.level(ra[c], rb[c]);
        }
    }
}

/// The level of each pair `(a[i], b[i])` under comparison `c`: the same function as the compare
/// stage (the values interned together, equal ones agreeing exactly, a small domain's table,
/// the same kernels), for callers that hold pairs of values rather than records, such as
/// golden's functions on a cluster (`distributed`). Both arrays must be of one length.
pub fn pair_levels(c: &ComparisonConfig, a: &StringArray, b: &StringArray) -> Result<Vec<i8>> {
    if a.len() != b.len() {
        return Err(Error::Internal(format!(
            "pair_levels: {} left values for {} right values",
            a.len(),
            b.len()
        )));
    }
    let both = arrow::compute::concat(&[a, b])?;
    let (field, ids) = FieldComparator::new(both.as_string::<i32>(), c);
    let n = a.len();
    Ok((0..n).map(|i| field.level(ids[i], ids[n + i])).collect())
}

/// Comparison vectors of every candidate pair, column-wise.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Compared {
    /// Left record index (left < right).
    pub left: Vec<u32>,
    /// Right record index.
    pub right: Vec<u32>,
    /// Index of the first blocking rule that found the pair.
    pub rule: Vec<u8>,
    /// Levels, row-major: `levels[pair * n_comparisons + comparison]`; empty where the pairs
    /// come without them (compare's chunks and scoring's re-enumeration, whose levels are in
    /// their chunk's table, [`chunks::ChunkTable::levels`]).
    pub levels: Vec<i8>,
    /// Number of comparisons per pair.
    pub n_comparisons: usize,
    /// Pairs whose levels were reused from the previous run instead of computed.
    pub reused: u64,
}

impl Compared {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// Levels of pair `i`.
    pub fn pair_levels(&self, i: usize) -> &[i8] {
        &self.levels[i * self.n_comparisons..(i + 1) * self.n_comparisons]
    }

    /// No pairs yet, `k` comparisons each.
    pub fn with_comparisons(k: usize) -> Compared {
        Compared {
            n_comparisons: k,
            ..Default::default()
        }
    }

    /// Adds pair (`a`, `b`) found first by `rule`, with its levels.
    #[inline]
    pub fn push(&mut self, a: u32, b: u32, rule: u8, levels: &[i8]) {
        self.left.push(a);
        self.right.push(b);
        self.rule.push(rule);
        self.levels.extend_from_slice(levels);
    }

    /// Appends the pairs of `other`.
    pub fn append(&mut self, mut other: Compared) {
        self.left.append(&mut other.left);
        self.right.append(&mut other.right);
        self.rule.append(&mut other.rule);
        self.levels.append(&mut other.levels);
        self.reused += other.reused;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::schema::match_column;
    use arrow::array::ArrayRef;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn levels_per_method_with_nulls() {
        let names: ArrayRef = Arc::new(StringArray::from(vec![
            Some("martha"),
            Some("marhta"),
            Some("zed"),
            None,
            Some("martha"),
        ]));
        let dates: ArrayRef = Arc::new(StringArray::from(vec![
            Some("1985-02-03"),
            Some("1985-03-02"),
            Some("1985-02-08"),
            Some("1985-02-03"),
            None,
        ]));
        let schema = Schema::new(vec![
            Field::new(match_column("first_name"), DataType::Utf8, true),
            Field::new(match_column("birth_date"), DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![names, dates]).unwrap();
        let cmp = vec![
            ComparisonConfig {
                field: "first_name".into(),
                method: Method::JaroWinkler,
                levels: vec![0.92, 0.80],
            },
            ComparisonConfig {
                field: "birth_date".into(),
                method: Method::Date,
                levels: vec![],
            },
        ];
        let c = Comparator::new(&batch, &cmp).unwrap();
        let mut out = [0i8; 2];
        c.levels(0, 4, &mut out);
        assert_eq!(out, [3, -1], "exact name, null date");
        c.levels(0, 1, &mut out);
        assert_eq!(out, [2, 2], "jw 0.96 ≥ 0.92, day/month swapped");
        c.levels(0, 2, &mut out);
        assert_eq!(out, [0, 1], "far name, one-digit date typo");
        c.levels(3, 0, &mut out);
        assert_eq!(out, [-1, 3], "null name, same date");
        // Gathered (in another order), every pair has the same levels.
        let order = [4u32, 2, 0, 3, 1];
        let mut g = Gathered::default();
        c.gather(&order, &mut g);
        for x in 0..order.len() {
            // A row at a time (x's value prepared once), the same levels as pair by pair.
            let ys: Vec<u32> = (0..order.len() as u32).rev().collect();
            let mut row = vec![0i8; ys.len() * 2];
            c.row_levels(&mut g, x, &ys, &mut row);
            for (j, &y) in ys.iter().enumerate() {
                let y = y as usize;
                let mut gathered = [0i8; 2];
                c.gathered_levels(&g, x, y, &mut gathered);
                c.levels(order[x], order[y], &mut out);
                assert_eq!(gathered, out, "records {} and {}", order[x], order[y]);
                assert_eq!(
                    row[j * 2..j * 2 + 2],
                    out,
                    "row of {} with {}",
                    order[x],
                    order[y]
                );
            }
        }
    }

    /// A row at a time (the first record's value prepared once as a [`Pattern`]), every
    /// method gives the levels it gives pair by pair: ASCII and not, values longer than a word
    /// on either side, missing values; enough distinct values that no table is built.
    #[test]
    fn row_levels_equal_pair_levels_for_every_method() {
        let long = "abcdefghij".repeat(7);
        let longer = format!("{long}x");
        let huge = "ab".repeat(200);
        let mut values: Vec<Option<String>> = [
            "martha", "marhta", "marta", "zoë", "zoe", "m", "", "dwayne", "duane",
        ]
        .iter()
        .map(|v| Some(v.to_string()))
        .chain([Some(long), Some(longer), Some(huge), None])
        .collect();
        let shown = values.len();
        values.extend((0..SMALL_DOMAIN).map(|i| Some(format!("filler {i}"))));
        let schema = Schema::new(vec![Field::new(match_column("f"), DataType::Utf8, true)]);
        let column: ArrayRef = Arc::new(StringArray::from(values));
        let batch = RecordBatch::try_new(Arc::new(schema), vec![column]).unwrap();
        for method in method::tests::VALUE_METHODS {
            let cmp = [ComparisonConfig {
                field: "f".into(),
                method,
                levels: if method == Method::Exact {
                    vec![]
                } else {
                    vec![0.9, 0.6, 0.3]
                },
            }];
            let c = Comparator::new(&batch, &cmp).unwrap();
            assert!(c.fields[0].matrix.is_none());
            let members: Vec<u32> = (0..shown as u32).collect();
            let mut g = Gathered::default();
            c.gather(&members, &mut g);
            let ys: Vec<u32> = members.clone();
            let mut row = vec![0i8; ys.len()];
            let mut kinds = std::collections::BTreeSet::new();
            for x in 0..shown {
                c.row_levels(&mut g, x, &ys, &mut row);
                for (j, &y) in ys.iter().enumerate() {
                    let mut out = [0i8];
                    c.levels(x as u32, y, &mut out);
                    assert_eq!(row[j], out[0], "{method:?}: {x} with {y}");
                    kinds.insert(out[0]);
                }
            }
            assert!(kinds.len() >= 3, "{method:?} gives only {kinds:?}");
            // Pairs of values, as golden's functions on a cluster take them: the same levels.
            let value = |r: usize| batch.column(0).as_string::<i32>().iter().nth(r).flatten();
            let (mut a, mut b, mut want) = (vec![], vec![], vec![]);
            for x in 0..shown {
                for &y in &ys {
                    a.push(value(x));
                    b.push(value(y as usize));
                    let mut out = [0i8];
                    c.levels(x as u32, y, &mut out);
                    want.push(out[0]);
                }
            }
            let got = pair_levels(&cmp[0], &StringArray::from(a), &StringArray::from(b));
            assert_eq!(got.unwrap(), want, "{method:?}: pair_levels");
            let short = StringArray::from(vec!["a"]);
            assert!(pair_levels(&cmp[0], &short, &StringArray::from(vec!["a", "b"])).is_err());
        }
    }

    /// The levels of a field with few distinct values (read from its table) equal those of the
    /// same values in a field with too many for a table (computed per pair).
    #[test]
    fn small_domain_table_gives_the_computed_levels() {
        let levels = |values: &[&str], extra: bool, method: Method| {
            let mut v: Vec<String> = values.iter().map(|s| s.to_string()).collect();
            if extra {
                v.extend((0..SMALL_DOMAIN).map(|i| format!("filler {i}")));
            }
            let schema = Schema::new(vec![Field::new(match_column("city"), DataType::Utf8, true)]);
            let column: ArrayRef = Arc::new(StringArray::from(v));
            let batch = RecordBatch::try_new(Arc::new(schema), vec![column]).unwrap();
            let cmp = [ComparisonConfig {
                field: "city".into(),
                method,
                levels: vec![0.9, 0.7, 0.5],
            }];
            let c = Comparator::new(&batch, &cmp).unwrap();
            assert_eq!(c.fields[0].matrix.is_some(), !extra);
            let mut all = Vec::new();
            for a in 0..values.len() as u32 {
                for b in 0..values.len() as u32 {
                    let mut out = [0i8];
                    c.levels(a, b, &mut out);
                    all.push(out[0]);
                }
            }
            all
        };
        let towns = [
            "london", "londno", "leeds", "lundun", "ldn", "luton", "é-town", "etown",
        ];
        let dates = [
            "1985-02-03",
            "1985-03-02",
            "1985-02-08",
            "1986-02-03",
            "1990-11-30",
        ];
        for (values, method) in [
            (&towns[..], Method::JaroWinkler),
            (&towns[..], Method::Levenshtein),
            (&dates[..], Method::Date),
        ] {
            let table = levels(values, false, method);
            assert_eq!(table, levels(values, true, method), "{method:?}");
            let kinds = table
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            assert!(kinds > 2, "{method:?} gives only {kinds} levels");
        }
    }
}
