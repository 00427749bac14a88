//! The levels a word kernel computed within one block, remembered by value: in a block of
//! people who share a name, the same two e-mail addresses meet again and again (the same
//! person's records in several sources), so each two values go through the kernel once.

use super::PENDING;

/// Fewest records of a block whose kernel levels are remembered: in smaller blocks few values
/// repeat, and numbering them would cost more than it saves.
const MEMO_RECORDS: usize = 8;

/// Most distinct values of one field in a block whose levels are remembered (a table of their
/// square: 1 MiB).
const MEMO_VALUES: usize = 1024;

/// A value not numbered: missing, or its block has too many values to remember.
const UNNUMBERED: u16 = u16::MAX;

/// One field's kernel levels within a block: each gathered record's value numbered, and the
/// level of every two numbers once computed ([`PENDING`] until then).
#[derive(Default)]
pub(super) struct Memo {
    /// The number of each gathered record's value; empty when the block is not remembered.
    number: Vec<u16>,
    /// How many distinct values were numbered.
    distinct: usize,
    /// `levels[a * distinct + b]`: the level of values `a` and `b`, both ways.
    levels: Vec<i8>,
}

impl Memo {
    /// Numbers the values of the records gathered as `ids` (the field's id of each record,
    /// `missing` for none), reusing `numbering`'s space; remembers nothing for a block too
    /// small or with too many values.
    pub(super) fn number(
        &mut self,
        ids: impl ExactSizeIterator<Item = u32>,
        missing: u32,
        numbering: &mut foldhash::HashMap<u32, u16>,
    ) {
        self.number.clear();
        self.distinct = 0;
        if ids.len() < MEMO_RECORDS {
            return;
        }
        numbering.clear();
        for id in ids {
            let n = if id == missing {
                UNNUMBERED
            } else {
                let next = numbering.len() as u16;
                *numbering.entry(id).or_insert(next)
            };
            if numbering.len() > MEMO_VALUES {
                self.number.clear();
                return;
            }
            self.number.push(n);
        }
        self.distinct = numbering.len();
        self.levels.clear();
        self.levels.resize(self.distinct * self.distinct, PENDING);
    }

    /// The remembered level of gathered records `x` and `y`, if any.
    #[inline]
    pub(super) fn get(&self, x: usize, y: usize) -> Option<i8> {
        let at = self.at(x, y)?;
        let level = self.levels[at.0];
        (level != PENDING).then_some(level)
    }

    /// Remembers `level` for gathered records `x` and `y` (both ways).
    #[inline]
    pub(super) fn set(&mut self, x: usize, y: usize, level: i8) {
        if let Some((xy, yx)) = self.at(x, y) {
            self.levels[xy] = level;
            self.levels[yx] = level;
        }
    }

    /// Where the level of records `x` and `y` is kept, both ways; `None` when not remembered.
    #[inline]
    fn at(&self, x: usize, y: usize) -> Option<(usize, usize)> {
        let (a, b) = (*self.number.get(x)?, *self.number.get(y)?);
        if a == UNNUMBERED || b == UNNUMBERED {
            return None;
        }
        let (a, b, d) = (a as usize, b as usize, self.distinct);
        Some((a * d + b, b * d + a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_remembers_levels_by_value_both_ways_and_small_or_wide_blocks_remember_nothing() {
        let mut numbering = Default::default();
        let mut memo = Memo::default();
        // Records 0, 5, 10 ... share value 7; missing values are never remembered.
        let ids: Vec<u32> = (0..20).map(|r| if r % 5 == 0 { 7 } else { r }).collect();
        let mut with_missing = ids.clone();
        with_missing[3] = u32::MAX;
        memo.number(with_missing.iter().copied(), u32::MAX, &mut numbering);
        assert_eq!(memo.get(0, 1), None);
        memo.set(0, 1, 2);
        assert_eq!(memo.get(0, 1), Some(2));
        assert_eq!(memo.get(1, 0), Some(2), "levels are symmetric");
        assert_eq!(memo.get(5, 1), Some(2), "record 5 has record 0's value");
        assert_eq!(memo.get(10, 2), None);
        memo.set(3, 1, 1);
        assert_eq!(memo.get(3, 1), None, "a missing value is not remembered");

        memo.number(
            ids[..MEMO_RECORDS - 1].iter().copied(),
            u32::MAX,
            &mut numbering,
        );
        memo.set(0, 1, 2);
        assert_eq!(memo.get(0, 1), None, "a small block is not remembered");

        let wide: Vec<u32> = (0..MEMO_VALUES as u32 + 1).collect();
        memo.number(wide.iter().copied(), u32::MAX, &mut numbering);
        memo.set(0, 1, 2);
        assert_eq!(
            memo.get(0, 1),
            None,
            "a block of too many values is not remembered"
        );
    }
}
