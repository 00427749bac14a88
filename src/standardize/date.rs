//! Dates (`birth_date`, any `*_date`) → ISO `YYYY-MM-DD` as both display value and match key.
//!
//! Accepted: `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, timestamps starting with an ISO date,
//! `D/M/Y`, `M/D/Y`, `D.M.Y`, `D-M-Y` with two- or four-digit years, month names
//! (`3 Feb 1985`, `February 3, 1985`, `03-FEB-85`) and epoch seconds (9–10 digits). Whether
//! `A/B/Y` is day-first or month-first is decided once per column (see [`Order`]).

use arrow::array::StringArray;
use chrono::{Datelike, NaiveDate};

use super::Cleaned;
use super::text::{clean, map_cleaned};

/// Month names and abbreviations (lowercase, sorted) → month number.
const MONTHS: &[(&str, u32)] = &[
    ("apr", 4),
    ("april", 4),
    ("aug", 8),
    ("august", 8),
    ("dec", 12),
    ("december", 12),
    ("feb", 2),
    ("february", 2),
    ("jan", 1),
    ("january", 1),
    ("jul", 7),
    ("july", 7),
    ("jun", 6),
    ("june", 6),
    ("mar", 3),
    ("march", 3),
    ("may", 5),
    ("nov", 11),
    ("november", 11),
    ("oct", 10),
    ("october", 10),
    ("sep", 9),
    ("sept", 9),
    ("september", 9),
];

/// How a column writes numeric dates `A/B/Y` whose two parts are both ≤ 12.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Some value has A > 12 and none has B > 12: day first.
    DayFirst,
    /// Some value has B > 12 and none has A > 12: month first.
    MonthFirst,
    /// Neither or both were seen: only `A == B` and dotted `D.M.Y` are parsed, the rest are null.
    Ambiguous,
}

/// Standardises a date column; `birth` restricts epoch seconds to past dates from 1900 on.
pub fn dates(values: &StringArray, birth: bool) -> Cleaned {
    let today = chrono::Utc::now().date_naive();
    let ctx = Context {
        order: column_order(values),
        pivot: today.year() % 100,
        min_epoch_year: 1900,
        max_epoch_year: if birth { today.year() } else { 2100 },
    };
    map_cleaned(values, |s| {
        let d = parse(s, &ctx)?;
        // Formatted by hand: chrono's strftime parses its pattern on every call.
        let iso = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
        Some((iso.clone(), iso))
    })
}

/// How many times more unambiguous dates one order needs than the other to decide a column:
/// exports carry a few day/month swaps (a clerk's slip, a noisy feed), which must not make
/// every ambiguous date of the column unreadable.
const ORDER_MAJORITY: usize = 10;

/// Decides the day/month order of a column from its unambiguous numeric dates: the order that
/// at least [`ORDER_MAJORITY`] times as many of them show (a date that is unambiguous on its
/// own is still read its own way).
pub fn column_order(values: &StringArray) -> Order {
    let (mut day_first, mut month_first) = (0usize, 0usize);
    for (a, b, _) in values
        .iter()
        .flatten()
        .filter_map(clean)
        .filter_map(|s| numeric_triple(strip_time(&s)))
    {
        day_first += usize::from(a > 12);
        month_first += usize::from(b > 12);
    }
    if day_first > 0 && day_first >= ORDER_MAJORITY * month_first {
        Order::DayFirst
    } else if month_first > 0 && month_first >= ORDER_MAJORITY * day_first {
        Order::MonthFirst
    } else {
        Order::Ambiguous
    }
}

/// What parsing one value needs to know about its column and today.
struct Context {
    /// The column's day/month order.
    order: Order,
    /// Two-digit years above this are 19xx, the rest 20xx.
    pivot: i32,
    /// Earliest year accepted from epoch seconds.
    min_epoch_year: i32,
    /// Latest year accepted from epoch seconds.
    max_epoch_year: i32,
}

/// Parses one cleaned value; `None` when it is no valid date.
fn parse(s: &str, ctx: &Context) -> Option<NaiveDate> {
    let s = strip_time(s);
    if let Some(date) = parse_digits_only(s, ctx) {
        return Some(date);
    }
    if let Some(date) = parse_iso(s) {
        return Some(date);
    }
    if let Some((a, b, y)) = numeric_triple(s) {
        let (day, month) = match ctx.order {
            _ if a > 12 => (a, b),
            _ if b > 12 => (b, a),
            Order::DayFirst => (a, b),
            Order::MonthFirst => (b, a),
            Order::Ambiguous if a == b || s.contains('.') => (a, b),
            Order::Ambiguous => return None,
        };
        return ymd(full_year(y, ctx.pivot)?, month, day);
    }
    parse_month_name(s, ctx)
}

/// Cuts a time of day off: everything from a `T` or space that follows a leading ISO date, or
/// from the space before the first `:`.
fn strip_time(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() > 10 && b[..4].iter().all(u8::is_ascii_digit) && matches!(b[10], b'T' | b' ') {
        return &s[..10];
    }
    match s.find(':') {
        Some(colon) => s[..colon]
            .rfind(' ')
            .map_or(s, |space| s[..space].trim_end()),
        None => s,
    }
}

/// `YYYYMMDD` or epoch seconds (9–10 digits, optionally negative).
fn parse_digits_only(s: &str, ctx: &Context) -> Option<NaiveDate> {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if unsigned.is_empty() || !unsigned.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match unsigned.len() {
        8 if unsigned.len() == s.len() => ymd(
            s[..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..].parse().ok()?,
        ),
        9 | 10 => {
            let seconds: i64 = s.parse().ok()?;
            let date = chrono::DateTime::from_timestamp(seconds, 0)?.date_naive();
            (ctx.min_epoch_year..=ctx.max_epoch_year)
                .contains(&date.year())
                .then_some(date)
        }
        _ => None,
    }
}

/// `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYY.MM.DD`.
fn parse_iso(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split(['-', '/', '.']);
    let year = parts.next().filter(|y| y.len() == 4)?;
    let month = parts.next()?;
    let day = parts.next()?;
    if parts.next().is_some() || !all_digits(&[year, month, day]) {
        return None;
    }
    ymd(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

/// `A/B/Y`, `A.B.Y` or `A-B-Y` with one- or two-digit A and B and a two- or four-digit year.
fn numeric_triple(s: &str) -> Option<(u32, u32, u32)> {
    let sep = s.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let mut parts = s.split(sep);
    let (a, b, y) = (parts.next()?, parts.next()?, parts.next()?);
    let short = |p: &str| (1..=2).contains(&p.len());
    if parts.next().is_some()
        || !short(a)
        || !short(b)
        || !matches!(y.len(), 2 | 4)
        || !all_digits(&[a, b, y])
    {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, y.parse().ok()?))
}

/// Dates with a month name: one month word, a day of one or two digits and a year.
fn parse_month_name(s: &str, ctx: &Context) -> Option<NaiveDate> {
    let lower = s.to_ascii_lowercase();
    let mut month = None;
    let mut numbers: Vec<&str> = Vec::with_capacity(2);
    for token in lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        let digits = token.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
            numbers.push(digits);
            continue;
        }
        let Ok(i) = MONTHS.binary_search_by(|(name, _)| (*name).cmp(token)) else {
            continue;
        };
        if month.replace(MONTHS[i].1).is_some() {
            return None;
        }
    }
    let month = month?;
    let (day, year) = match numbers.as_slice() {
        [first, second] if first.len() == 4 => (*second, *first),
        [first, second] => (*first, *second),
        _ => return None,
    };
    if day.len() > 2 || !matches!(year.len(), 2 | 4) {
        return None;
    }
    ymd(
        full_year(year.parse().ok()?, ctx.pivot)?,
        month,
        day.parse().ok()?,
    )
}

/// A four-digit year as is; a two-digit year pivoted around the current year.
fn full_year(year: u32, pivot: i32) -> Option<i32> {
    let year = i32::try_from(year).ok()?;
    Some(match year {
        0..=99 if year > pivot => 1900 + year,
        0..=99 => 2000 + year,
        _ => year,
    })
}

/// A calendar date, `None` for impossible ones such as 30 February.
fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Whether every part is non-empty ASCII digits.
fn all_digits(parts: &[&str]) -> bool {
    parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(values: &[&str]) -> Vec<Option<String>> {
        let out = dates(&StringArray::from(values.to_vec()), true);
        assert_eq!(out.display, out.key);
        out.key.iter().map(|v| v.map(str::to_string)).collect()
    }

    fn all(value: &str, n: usize) -> Vec<Option<String>> {
        vec![Some(value.to_string()); n]
    }

    #[test]
    fn months_are_sorted() {
        assert!(MONTHS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn every_format_gives_iso() {
        let formats = [
            "1985-02-03",
            "1985/02/03",
            "19850203",
            "3 Feb 1985",
            "February 3, 1985",
            "03-FEB-85",
            "Feb 3rd 1985",
            "1985-02-03T00:00:00Z",
            "1985-02-03 10:00:00",
            "476236800",
            "3.2.1985",
        ];
        assert_eq!(iso(&formats), all("1985-02-03", formats.len()));
    }

    #[test]
    fn two_digit_years_pivot() {
        assert_eq!(
            iso(&["03-FEB-85", "03-FEB-05"]),
            vec![
                Some("1985-02-03".to_string()),
                Some("2005-02-03".to_string()),
            ]
        );
    }

    #[test]
    fn column_decides_day_or_month_first() {
        // 25/12 proves the column is day-first, so 03/02 is 3 February.
        assert_eq!(
            iso(&["25/12/1990", "03/02/1985"]),
            vec![
                Some("1990-12-25".to_string()),
                Some("1985-02-03".to_string()),
            ]
        );
        // 12/25 proves month-first, so 02/03 is 3 February.
        assert_eq!(
            iso(&["12/25/1990", "02/03/1985"]),
            vec![
                Some("1990-12-25".to_string()),
                Some("1985-02-03".to_string()),
            ]
        );
        // Neither proven: only day == month parses; unambiguous values always do.
        assert_eq!(
            iso(&["03/02/1985", "04/04/1985", "4-5-85"]),
            vec![None, Some("1985-04-04".to_string()), None,]
        );
        // Both seen: ambiguous again, unambiguous still parse.
        assert_eq!(
            iso(&["25/12/1990", "12/25/1990", "03/02/1985"]),
            vec![
                Some("1990-12-25".to_string()),
                Some("1990-12-25".to_string()),
                None,
            ]
        );
        assert_eq!(
            column_order(&StringArray::from(vec!["13.1.2000"])),
            Order::DayFirst
        );
    }

    /// A few day/month swaps in a month-first column (pseudopeople's census has about 1 %) do
    /// not make its ambiguous dates unreadable; an even split still does.
    #[test]
    fn a_few_swapped_dates_do_not_make_a_column_ambiguous() {
        let mut values: Vec<String> = (13..=28).map(|d| format!("01/{d}/1990")).collect();
        values.push("25/12/1990".into());
        values.push("03/02/1985".into());
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let got = iso(&values);
        assert_eq!(got[values.len() - 2].as_deref(), Some("1990-12-25"));
        assert_eq!(got[values.len() - 1].as_deref(), Some("1985-03-02"));
        let even: Vec<String> = (13..=20)
            .map(|d| format!("01/{d}/1990"))
            .chain((13..=20).map(|d| format!("{d}/01/1990")))
            .collect();
        let even: Vec<&str> = even.iter().map(String::as_str).collect();
        assert_eq!(column_order(&StringArray::from(even)), Order::Ambiguous);
    }

    #[test]
    fn invalid_and_empty_are_null() {
        let got = iso(&[
            "1985-02-30",
            "30/02/1985",
            "31 Feb 1985",
            "",
            "  ",
            "unknown",
            "not a date",
            "1234",
            "9999999999",
            "2100-13-01",
        ]);
        assert!(got.iter().all(Option::is_none), "{got:?}");
    }
}
