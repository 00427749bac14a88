//! One record's view of a person: the person's values after the corruptions a real export
//! shows (nicknames, typos, marriage, moves, new phones, email spellings, birth-date typos,
//! missing values). Source-specific formatting happens later, in `sources`.

use rand::Rng;
use rand::rngs::StdRng;

use super::people::{Address, Date, Person};
use super::pools::pick;

/// Chance that a name with nicknames is written as one.
const NICKNAME: f64 = 0.08;
/// Chance of a typo in each name field.
const NAME_TYPO: f64 = 0.05;
/// Chance of a typo in the street.
const STREET_TYPO: f64 = 0.03;
/// Chance that a birth date has day and month swapped.
const DOB_SWAP: f64 = 0.02;
/// Chance that a birth date has one digit off.
const DOB_DIGIT: f64 = 0.02;

/// Chance, per field, that a source leaves it empty.
#[derive(Debug, Clone, Copy)]
pub(super) struct Missing {
    /// First name and last name (each).
    pub name: f64,
    /// Email.
    pub email: f64,
    /// Phone.
    pub phone: f64,
    /// Street, city and postcode (each).
    pub address: f64,
    /// Birth date.
    pub dob: f64,
}

/// A moment, to the second.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timestamp {
    /// Day.
    pub date: Date,
    /// Seconds since midnight.
    pub secs: u32,
}

impl Timestamp {
    /// A moment between 2018 and 2024.
    fn random(rng: &mut StdRng) -> Timestamp {
        Timestamp {
            date: Date::random(rng, 2018, 2024),
            secs: rng.random_range(0..86_400),
        }
    }

    /// `YYYY-MM-DD{sep}HH:MM:SS`.
    pub fn iso(&self, sep: char) -> String {
        let Date { y, m, d } = self.date;
        let (h, mi, s) = (self.secs / 3600, self.secs / 60 % 60, self.secs % 60);
        format!("{y:04}-{m:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}")
    }
}

/// The values one record carries, before source formatting.
#[derive(Debug, Clone)]
pub(super) struct Variant {
    /// First name.
    pub first: Option<String>,
    /// Surname.
    pub last: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone: national significant number (10 digits).
    pub phone: Option<String>,
    /// Street line.
    pub street: Option<String>,
    /// Town.
    pub city: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// Birth date.
    pub dob: Option<Date>,
    /// When the record last changed.
    pub updated: Timestamp,
}

/// A corrupted view of `p` for one record, with fields left empty at the rates of `missing`.
pub(super) fn variant(rng: &mut StdRng, p: &Person, missing: &Missing) -> Variant {
    let first = first_name(rng, p);
    let last = either(rng, p.last, p.married_last);
    let last = name(rng, last);
    let email = either(rng, p.email.as_str(), p.alt_email.as_deref());
    let email = self::email(rng, email);
    let phone = either(rng, &p.phone, p.alt_phone.as_ref()).clone();
    let address = either(rng, &p.address, p.old_address.as_ref());
    let dob = birth_date(rng, p.dob);
    let m = missing;
    let [
        first_ok,
        last_ok,
        email_ok,
        phone_ok,
        street_ok,
        city_ok,
        postcode_ok,
        dob_ok,
    ] = [
        m.name, m.name, m.email, m.phone, m.address, m.address, m.address, m.dob,
    ]
    .map(|rate| !rng.random_bool(rate));
    Variant {
        first: first_ok.then_some(first),
        last: last_ok.then_some(last),
        email: email_ok.then_some(email),
        phone: phone_ok.then_some(phone),
        street: street_ok.then(|| street(rng, address)),
        city: city_ok.then(|| recase(rng, address.town.name)),
        postcode: postcode_ok.then(|| postcode(rng, &address.postcode)),
        dob: dob_ok.then_some(dob),
        updated: Timestamp::random(rng),
    }
}

/// `main`, or with even odds `alt` when there is one.
fn either<'a, T: ?Sized>(rng: &mut StdRng, main: &'a T, alt: Option<&'a T>) -> &'a T {
    match alt {
        Some(alt) if rng.random_bool(0.5) => alt,
        _ => main,
    }
}

fn first_name(rng: &mut StdRng, p: &Person) -> String {
    let name = if !p.first.nicknames.is_empty() && rng.random_bool(NICKNAME) {
        *pick(rng, &p.first.nicknames)
    } else {
        p.first.name
    };
    self::name(rng, name)
}

/// A name with, at rate [`NAME_TYPO`], one typo, and sometimes another letter case.
fn name(rng: &mut StdRng, s: &str) -> String {
    let s = if rng.random_bool(NAME_TYPO) {
        typo(rng, s)
    } else {
        s.to_string()
    };
    recase(rng, &s)
}

/// `s` with one transposition, deletion, substitution or insertion after its first letter.
fn typo(rng: &mut StdRng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_string();
    }
    let i = rng.random_range(1..chars.len() - 1);
    let letter = char::from(b'a' + rng.random_range(0..26u8));
    match rng.random_range(0..4) {
        0 => chars.swap(i, i + 1),
        1 => {
            chars.remove(i);
        }
        2 => chars[i] = letter,
        _ => chars.insert(i, letter),
    }
    chars.into_iter().collect()
}

/// Mostly as written; sometimes all upper or all lower case.
fn recase(rng: &mut StdRng, s: &str) -> String {
    match rng.random_range(0..100) {
        0..3 => s.to_uppercase(),
        3..5 => s.to_lowercase(),
        _ => s.to_string(),
    }
}

/// Email spellings that standardise to the same address: case, whitespace, gmail dots and tags.
fn email(rng: &mut StdRng, email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let mut local = local.to_string();
    if domain == "gmail.com" && rng.random_bool(0.15) {
        if local.contains('.') && rng.random_bool(0.5) {
            local.retain(|c| c != '.');
        } else {
            let tag = pick(rng, &["shop", "news", "work", "spam", "2024"]);
            local = format!("{local}+{tag}");
        }
    }
    let mut out = format!("{local}@{domain}");
    match rng.random_range(0..100) {
        0..6 => out = capitalise_parts(&out),
        6..9 => out = out.to_uppercase(),
        _ => {}
    }
    match rng.random_range(0..100) {
        0..3 => format!(" {out}"),
        3..6 => format!("{out} "),
        _ => out,
    }
}

/// `john.smith@gmail.com` → `John.Smith@Gmail.com`.
fn capitalise_parts(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        out.extend(if start {
            c.to_uppercase().collect::<Vec<_>>()
        } else {
            vec![c]
        });
        start = matches!(c, '.' | '@' | '_');
    }
    out
}

/// The street line, sometimes with the street type abbreviated or a typo.
fn street(rng: &mut StdRng, a: &Address) -> String {
    let kind = if rng.random_bool(0.15) {
        a.kind.1
    } else {
        a.kind.0
    };
    let stem = if rng.random_bool(STREET_TYPO) {
        typo(rng, a.stem)
    } else {
        a.stem.to_string()
    };
    let line = format!("{} {stem} {kind}", a.number);
    let line = match a.flat {
        Some(flat) => format!("Flat {flat}, {line}"),
        None => line,
    };
    recase(rng, &line)
}

/// The postcode, sometimes without its space or in lower case.
fn postcode(rng: &mut StdRng, pc: &str) -> String {
    match rng.random_range(0..100) {
        0..8 => pc.replace(' ', ""),
        8..13 => pc.to_lowercase(),
        _ => pc.to_string(),
    }
}

/// The birth date, sometimes with day and month swapped or one digit off.
fn birth_date(rng: &mut StdRng, dob: Date) -> Date {
    let x = rng.random::<f64>();
    if x < DOB_SWAP {
        return Date::new(dob.y, dob.d, dob.m).unwrap_or(dob);
    }
    if x < DOB_SWAP + DOB_DIGIT {
        let off = if rng.random_bool(0.5) { 1 } else { -1 };
        let changed = match rng.random_range(0..3) {
            0 => Date::new(dob.y, dob.m, dob.d.saturating_add_signed(off)),
            1 => Date::new(dob.y.saturating_add_signed(off), dob.m, dob.d),
            _ => Date::new(dob.y.saturating_add_signed(off * 10), dob.m, dob.d),
        };
        return changed.unwrap_or(dob);
    }
    dob
}
