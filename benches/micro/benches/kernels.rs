//! Criterion benchmarks of the per-value kernels that dominate a run: each standardiser over a
//! 20,000-row column of messy export values, and each comparison method over 20,000 pairs of
//! near-duplicate match values. Throughput is reported in rows (or pairs) per second.

use std::hint::black_box;

use arrow::array::StringArray;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use golden::compare::method::{date_level, similarity};
use golden::config::Method;
use golden::standardize::{address, date, email, name, phone, postcode};

/// Rows per benchmarked column.
const ROWS: usize = 20_000;

/// A deterministic stream of indices (SplitMix64), so every run benchmarks the same values.
struct Pick(u64);

impl Pick {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

const FIRST: &[&str] = &[
    "John", "JOHN", " jon ", "Bob", "Robert", "Liz", "Élisabeth", "Zoë", "Mary-Jane", "o'neil",
    "Siobhán", "Wei", "Dr. Anne", "Anne (Annie)", "", "N/A",
];
const LAST: &[&str] = &[
    "Smith", "SMITH", "smyth", "Müller", "Mueller", "O'Brien", "van der Berg", "García López",
    "Nguyen", "Smith Jr.", "  Brown ", "Łukasz", "",
];
const EMAIL: &[&str] = &[
    "John.Smith@Gmail.com", " j.smith+news@gmail.com", "JSMITH@example.co.uk", "a.b@c",
    "not an email", "mary-jane@hotmail.com ", "",
];
const PHONE: &[&str] = &[
    "07700 900123", "+44 7700 900123", "(0)7700-900-123", "0044 7700 900123", "020 7946 0018",
    "+1 (415) 555-0134", "7700900123", "n/a", "+44 (0) 20 7946 0018 ext 12",
];
const DATE: &[&str] = &[
    "1984-03-07", "07/03/1984", "19840307", "1984-03-07T00:00:00", "447465600", "7 Mar 1984",
    "31/12/1990", "",
];
const POSTCODE: &[&str] = &["sw1a 1aa", "SW1A1AA", " ec1a 1bb ", "M1 1AE", "90210", ""];
const STREET: &[&str] = &[
    "12 High Street", "12 high st.", "Flat 3, 45 Church Road", "45 CHURCH RD", "1 Ave. Foch",
];

/// A column of `ROWS` values drawn from `pool`; empty strings become nulls.
fn column(pool: &[&str], seed: u64) -> StringArray {
    let mut pick = Pick(seed);
    (0..ROWS)
        .map(|_| {
            let v = pool[pick.next(pool.len())];
            (!v.is_empty()).then_some(v)
        })
        .collect()
}

fn standardisers(c: &mut Criterion) {
    let mut g = c.benchmark_group("standardize");
    g.throughput(Throughput::Elements(ROWS as u64));
    let first = column(FIRST, 1);
    let last = column(LAST, 2);
    let emails = column(EMAIL, 3);
    let phones = column(PHONE, 4);
    let dates = column(DATE, 5);
    let postcodes = column(POSTCODE, 6);
    let streets = column(STREET, 7);
    g.bench_function("first_name", |b| {
        b.iter(|| name::names(black_box(&first), name::NameKind::First))
    });
    g.bench_function("last_name", |b| {
        b.iter(|| name::names(black_box(&last), name::NameKind::Last))
    });
    g.bench_function("email", |b| b.iter(|| email::emails(black_box(&emails))));
    g.bench_function("phone", |b| {
        b.iter(|| phone::phones(black_box(&phones), None, Some("GB")))
    });
    g.bench_function("birth_date", |b| {
        b.iter(|| date::dates(black_box(&dates), true))
    });
    g.bench_function("postcode", |b| {
        b.iter(|| postcode::postcodes(black_box(&postcodes)))
    });
    g.bench_function("street", |b| b.iter(|| address::streets(black_box(&streets))));
    g.finish();
}

/// Pairs of similar match values: a value and a one-edit variant (or itself, or another value).
fn pairs(pool: &[&str], seed: u64) -> Vec<(String, String)> {
    let mut pick = Pick(seed);
    (0..ROWS)
        .map(|_| {
            let a = pool[pick.next(pool.len())].to_lowercase();
            let b = match pick.next(3) {
                0 => a.clone(),
                1 if a.len() > 2 => {
                    let cut = pick.next(a.len() - 1) + 1;
                    let mut v: Vec<char> = a.chars().collect();
                    if cut < v.len() {
                        v.swap(cut - 1, cut);
                    }
                    v.into_iter().collect()
                }
                _ => pool[pick.next(pool.len())].to_lowercase(),
            };
            (a, b)
        })
        .collect()
}

fn comparisons(c: &mut Criterion) {
    let mut g = c.benchmark_group("compare");
    g.throughput(Throughput::Elements(ROWS as u64));
    let names = pairs(LAST, 11);
    for method in [
        Method::JaroWinkler,
        Method::Jaro,
        Method::Levenshtein,
        Method::DamerauLevenshtein,
    ] {
        g.bench_function(method.as_str(), |b| {
            b.iter(|| {
                names
                    .iter()
                    .map(|(x, y)| similarity(method, black_box(x), black_box(y)))
                    .sum::<f64>()
            })
        });
    }
    let dates = pairs(&["1984-03-07", "1984-07-03", "1984-03-08", "1990-12-31"], 12);
    g.bench_function("date", |b| {
        b.iter(|| {
            dates
                .iter()
                .map(|(x, y)| i64::from(date_level(black_box(x), black_box(y))))
                .sum::<i64>()
        })
    });
    g.finish();
}

criterion_group!(benches, standardisers, comparisons);
criterion_main!(benches);
