//! `updated_at` values in the formats exports use → sortable ISO-8601 `YYYY-MM-DDTHH:MM:SS`.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y%m%d%H%M%S",
];
const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d/%m/%Y", "%d.%m.%Y"];

/// Parses a last-modified value (RFC 3339, ISO date or date-time, epoch seconds or
/// milliseconds, day-first dates) into `YYYY-MM-DDTHH:MM:SS` in UTC; `None` if unparseable.
pub fn normalize(value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let dt = parse(v)?;
    // Formatted by hand: chrono's strftime parses its pattern on every call.
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    ))
}

/// `YYYY-MM-DD[T ]HH:MM:SS`, the shape most exports write, without chrono's format parser.
fn parse_iso_fast(v: &str) -> Option<NaiveDateTime> {
    let b = v.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?.and_hms_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    )
}

fn parse(v: &str) -> Option<NaiveDateTime> {
    if let Some(dt) = parse_iso_fast(v) {
        return Some(dt);
    }
    if v.bytes().all(|b| b.is_ascii_digit()) && (v.len() == 10 || v.len() == 13) {
        let n: i64 = v.parse().ok()?;
        let secs = if v.len() == 13 { n / 1000 } else { n };
        return DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc());
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(v) {
        return Some(d.naive_utc());
    }
    if let Some(d) = DATETIME_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
    {
        return Some(d);
    }
    DATE_FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(v, f).ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn formats_seen_in_exports() {
        let want = Some("2024-03-05T10:20:30".to_string());
        assert_eq!(normalize("2024-03-05 10:20:30"), want);
        assert_eq!(normalize("2024-03-05T10:20:30Z"), want);
        assert_eq!(normalize("2024-03-05T11:20:30+01:00"), want);
        assert_eq!(normalize("1709634030"), want);
        assert_eq!(normalize("1709634030000"), want);
        assert_eq!(normalize("05/03/2024 10:20:30"), want);
        assert_eq!(normalize("2024-03-05"), Some("2024-03-05T00:00:00".into()));
        assert_eq!(normalize("20240305"), Some("2024-03-05T00:00:00".into()));
        assert_eq!(normalize("yesterday"), None);
        assert_eq!(normalize("  "), None);
    }
}
