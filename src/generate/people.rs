//! True entities: people with one canonical value per attribute, generated one household at a
//! time so that hard negatives (twins, siblings, spouses, namesakes) share what they would share
//! in real life.

use std::collections::HashSet;

use rand::Rng;
use rand::rngs::StdRng;

use super::pools::{FirstName, POOLS, Town, pick};

/// Share of non-ASCII names.
const INTL_NAME: f64 = 0.05;
/// Share of people who moved: their records carry either the old or the new address.
const MOVED: f64 = 0.10;
/// Share of people with a second phone number.
const NEW_PHONE: f64 = 0.08;
/// Share of women who changed surname after marriage.
const MARRIED: f64 = 0.05;
/// Share of married women who also changed email.
const MARRIED_NEW_EMAIL: f64 = 0.5;
/// Share of households that are hard-negative groups (about 10% of people end up in one).
const GROUP: f64 = 0.05;
/// With adjustable sharing: share of households that are families of two to four relatives
/// (about 30% of people end up in one; [`GROUP`] / 4 are namesakes, as without it).
const FAMILY: f64 = 0.16;
/// Years between a parent's birth and a child's (or a senior's and a junior's).
const GENERATION: std::ops::RangeInclusive<u32> = 20..=35;
/// Latest birth year drawn for anyone (adults only).
const LAST_BIRTH_YEAR: u32 = 2005;

/// A calendar date; always valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Date {
    /// Year.
    pub y: u32,
    /// Month, 1–12.
    pub m: u32,
    /// Day, 1–days_in_month.
    pub d: u32,
}

impl Date {
    /// A uniformly drawn date within the years `from..=to`.
    pub fn random(rng: &mut StdRng, from: u32, to: u32) -> Date {
        let y = rng.random_range(from..=to);
        let m = rng.random_range(1..=12);
        let d = rng.random_range(1..=days_in_month(y, m));
        Date { y, m, d }
    }

    /// The date if `y-m-d` exists.
    pub fn new(y: u32, m: u32, d: u32) -> Option<Date> {
        ((1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d)).then_some(Date {
            y,
            m,
            d,
        })
    }

    /// The same day `years` later (or earlier), moved to the 28th when it would not exist.
    fn shifted(self, years: i32) -> Date {
        let y = self.y.saturating_add_signed(years);
        Date::new(y, self.m, self.d).unwrap_or(Date {
            y,
            m: self.m,
            d: 28,
        })
    }
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A postal address.
#[derive(Debug, Clone)]
pub(super) struct Address {
    /// Optional flat number.
    pub flat: Option<u32>,
    /// House number.
    pub number: u32,
    /// Street stem (`Oak`).
    pub stem: &'static str,
    /// Street type, full and abbreviated (`Road`, `Rd`).
    pub kind: (&'static str, &'static str),
    /// Town.
    pub town: &'static Town,
    /// Postcode in canonical form (`SW1A 1AA`).
    pub postcode: String,
}

impl Address {
    /// A fresh address in `town`, or in a drawn town.
    fn random(rng: &mut StdRng, town: Option<&'static Town>) -> Address {
        let pools = &*POOLS;
        let town = town.unwrap_or_else(|| pools.towns.draw(rng));
        let flat = rng.random_bool(0.08).then(|| rng.random_range(1..=40));
        Address {
            flat,
            number: rng.random_range(1..=250),
            stem: pick::<&str>(rng, &pools.street_stems),
            kind: *pick(rng, &pools.street_types),
            town,
            postcode: postcode(rng, town),
        }
    }
}

/// A UK-style postcode in `town`'s area: `AREA` + district, space, digit + two letters.
fn postcode(rng: &mut StdRng, town: &Town) -> String {
    const INWARD: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
    let area = pick(rng, &town.areas);
    let district = rng.random_range(1..=29);
    let sector = rng.random_range(0..=9);
    let a = char::from(*pick(rng, INWARD));
    let b = char::from(*pick(rng, INWARD));
    format!("{area}{district} {sector}{a}{b}")
}

/// One true entity.
#[derive(Debug, Clone)]
pub(super) struct Person {
    /// Dense entity number (0-based).
    pub entity: usize,
    /// First name with its gender and nicknames.
    pub first: &'static FirstName,
    /// Surname (the maiden name when `married_last` is set).
    pub last: &'static str,
    /// Surname after marriage, if any; records carry either.
    pub married_last: Option<&'static str>,
    /// Email address.
    pub email: String,
    /// A second email address (e.g. after marriage), if any.
    pub alt_email: Option<String>,
    /// Mobile number: national significant number, 10 digits starting with 7.
    pub phone: String,
    /// A second (newer) phone number, if any.
    pub alt_phone: Option<String>,
    /// Current address.
    pub address: Address,
    /// Previous address, if the person moved.
    pub old_address: Option<Address>,
    /// Date of birth.
    pub dob: Date,
}

/// Draws people one household at a time, keeping emails unique (except those a relative
/// shares).
pub(super) struct PeopleGenerator {
    used_emails: HashSet<String>,
    next_entity: usize,
    /// Chance that a relative shares each of the base person's e-mail, phone and address;
    /// `None`: relatives always share address and phone and never an e-mail.
    share: Option<f64>,
}

impl PeopleGenerator {
    /// A generator whose first entity is number 0; `share` as in
    /// [`GenerateOptions::household_share`](super::GenerateOptions::household_share).
    pub fn new(share: Option<f64>) -> Self {
        PeopleGenerator {
            used_emails: HashSet::new(),
            next_entity: 0,
            share,
        }
    }

    /// The next household: one person, or a hard-negative group of two or three (of two to
    /// four with adjustable sharing); never more than `max` people.
    pub fn household(&mut self, rng: &mut StdRng, max: usize) -> Vec<Person> {
        let base = self.person(rng, None, None);
        if self.share.is_some() {
            return self.drawn_household(rng, base, max);
        }
        if max < 2 || !rng.random_bool(GROUP) {
            return vec![base];
        }
        let mut out = vec![base];
        match rng.random_range(0..4) {
            0 => self.twins(rng, &mut out),
            1 => self.siblings(rng, &mut out, max),
            2 => self.spouses(rng, &mut out),
            _ => self.namesakes(rng, &mut out),
        }
        out
    }

    /// With adjustable sharing: `base` alone, with namesakes, or with relatives.
    fn drawn_household(&mut self, rng: &mut StdRng, base: Person, max: usize) -> Vec<Person> {
        let mut out = vec![base];
        if max < 2 {
            return out;
        }
        let x: f64 = rng.random();
        if x < GROUP / 4.0 {
            self.namesakes(rng, &mut out);
        } else if x < GROUP / 4.0 + FAMILY {
            self.family(rng, &mut out, max.min(4));
        }
        out
    }

    /// Adds relatives of `out[0]` (at most `max` people in all): a couple (40%), parents with
    /// adult children (20%), siblings (20%), twins (10%) or a senior and a junior (10%).
    pub fn family(&mut self, rng: &mut StdRng, out: &mut Vec<Person>, max: usize) {
        match rng.random_range(0..10) {
            0..4 => self.spouses(rng, out),
            4..6 => self.parents_and_children(rng, out, max),
            6..8 => self.siblings(rng, out, max),
            8 => self.twins(rng, out),
            _ => self.junior(rng, out),
        }
    }

    /// A parent, perhaps a spouse, and one or two adult children with the parent's surname.
    fn parents_and_children(&mut self, rng: &mut StdRng, out: &mut Vec<Person>, max: usize) {
        if max >= 3 && rng.random_bool(0.6) {
            self.spouses(rng, out);
        }
        let base = out[0].clone();
        let children = if out.len() + 2 <= max && rng.random_bool(0.4) {
            2
        } else {
            1
        };
        for _ in 0..children {
            let mut child = self.person(rng, None, Some(base.last));
            child.dob = next_generation(rng, base.dob);
            self.share(rng, &base, &mut child);
            out.push(child);
        }
    }

    /// Same first name and surname as the senior, a generation apart.
    fn junior(&mut self, rng: &mut StdRng, out: &mut Vec<Person>) {
        let base = out[0].clone();
        let mut junior = self.person(rng, Some(base.first), Some(base.last));
        junior.dob = next_generation(rng, base.dob);
        self.share(rng, &base, &mut junior);
        out.push(junior);
    }

    /// Same surname and birth date, different first names; the household shared as in
    /// [`Self::share`].
    fn twins(&mut self, rng: &mut StdRng, out: &mut Vec<Person>) {
        let base = out[0].clone();
        let first = self.other_first_name(rng, &base, None);
        let mut twin = self.person(rng, Some(first), Some(base.last));
        twin.dob = base.dob;
        self.share(rng, &base, &mut twin);
        out.push(twin);
    }

    /// Same surname, different first names and birth dates; the household shared as in
    /// [`Self::share`].
    fn siblings(&mut self, rng: &mut StdRng, out: &mut Vec<Person>, max: usize) {
        let base = out[0].clone();
        let count = if max >= 3 && rng.random_bool(0.3) {
            2
        } else {
            1
        };
        for _ in 0..count {
            let first = self.other_first_name(rng, &base, None);
            let mut sibling = self.person(rng, Some(first), Some(base.last));
            let gap = rng.random_range(1..=10) * if rng.random_bool(0.5) { 1 } else { -1 };
            sibling.dob = Date {
                y: base.dob.y,
                ..sibling.dob
            }
            .shifted(gap);
            self.share(rng, &base, &mut sibling);
            out.push(sibling);
        }
    }

    /// Opposite first-name gender, often the same surname; the household shared as in
    /// [`Self::share`].
    fn spouses(&mut self, rng: &mut StdRng, out: &mut Vec<Person>) {
        let base = out[0].clone();
        let first = self.other_first_name(rng, &base, Some(!base.first.female));
        let last = rng.random_bool(0.6).then_some(base.last);
        let mut spouse = self.person(rng, Some(first), last);
        spouse.dob = Date {
            y: base.dob.y,
            ..spouse.dob
        }
        .shifted(rng.random_range(-8..=8));
        self.share(rng, &base, &mut spouse);
        out.push(spouse);
    }

    /// Same first name and surname in the same town; everything else different.
    fn namesakes(&mut self, rng: &mut StdRng, out: &mut Vec<Person>) {
        let base = out[0].clone();
        let mut namesake = self.person(rng, Some(base.first), Some(base.last));
        namesake.address = Address::random(rng, Some(base.address.town));
        namesake.old_address = None;
        out.push(namesake);
    }

    /// Makes `other` share `base`'s household: address and phone always without adjustable
    /// sharing; else each of e-mail, phone and address with the chance `share`.
    fn share(&self, rng: &mut StdRng, base: &Person, other: &mut Person) {
        let Some(rate) = self.share else {
            share_address(base, other);
            share_phone(base, other);
            return;
        };
        if rng.random_bool(rate) {
            other.email = base.email.clone();
        }
        if rng.random_bool(rate) {
            share_phone(base, other);
        }
        if rng.random_bool(rate) {
            share_address(base, other);
        }
    }

    /// A first name different from `base`'s, of the given gender (default: any).
    fn other_first_name(
        &mut self,
        rng: &mut StdRng,
        base: &Person,
        female: Option<bool>,
    ) -> &'static FirstName {
        loop {
            let first = first_name(rng, female);
            if first.name != base.first.name {
                return first;
            }
        }
    }

    /// A new person; `first` and `last` are drawn unless given.
    fn person(
        &mut self,
        rng: &mut StdRng,
        first: Option<&'static FirstName>,
        last: Option<&'static str>,
    ) -> Person {
        let entity = self.next_entity;
        self.next_entity += 1;
        let first = first.unwrap_or_else(|| first_name(rng, None));
        let last = last.unwrap_or_else(|| surname(rng));
        let married_last = (first.female && rng.random_bool(MARRIED)).then(|| surname(rng));
        let email = self.email(rng, first.name, last);
        let alt_email = match married_last {
            Some(new_last) if rng.random_bool(MARRIED_NEW_EMAIL) => {
                Some(self.email(rng, first.name, new_last))
            }
            _ => None,
        };
        let address = Address::random(rng, None);
        let old_address = rng.random_bool(MOVED).then(|| Address::random(rng, None));
        Person {
            entity,
            first,
            last,
            married_last,
            email,
            alt_email,
            phone: mobile(rng),
            alt_phone: rng.random_bool(NEW_PHONE).then(|| mobile(rng)),
            address,
            old_address,
            dob: Date::random(rng, 1940, LAST_BIRTH_YEAR),
        }
    }

    /// An email address built from the name, unique among all generated so far.
    fn email(&mut self, rng: &mut StdRng, first: &str, last: &str) -> String {
        let first = ascii_slug(first);
        let last = ascii_slug(last);
        let initial = first.chars().next().unwrap_or('x');
        let mut local = match rng.random_range(0..7) {
            0 | 1 => format!("{first}.{last}"),
            2 => format!("{first}{last}"),
            3 => format!("{initial}.{last}"),
            4 => format!("{first}_{last}"),
            5 => format!("{last}.{first}"),
            _ => format!("{first}{}", rng.random_range(1..=99)),
        };
        if rng.random_bool(0.3) {
            local.push_str(&rng.random_range(50..=99).to_string());
        }
        let domain = POOLS.domains.draw(rng);
        loop {
            let email = format!("{local}@{domain}");
            if self.used_emails.insert(email.clone()) {
                return email;
            }
            local.push(char::from(b'0' + rng.random_range(0..10u8)));
        }
    }
}

/// `other` lives at `base`'s address (and made the same move, if any).
fn share_address(base: &Person, other: &mut Person) {
    other.address = base.address.clone();
    other.old_address = base.old_address.clone();
}

/// `other` has `base`'s phone numbers.
fn share_phone(base: &Person, other: &mut Person) {
    other.phone = base.phone.clone();
    other.alt_phone = base.alt_phone.clone();
}

/// A birth date a generation after `dob` (before it when that would be after
/// [`LAST_BIRTH_YEAR`]).
fn next_generation(rng: &mut StdRng, dob: Date) -> Date {
    let gap = rng.random_range(GENERATION);
    let later = dob.y + gap <= LAST_BIRTH_YEAR;
    Date {
        y: if later { dob.y + gap } else { dob.y - gap },
        ..Date::random(rng, 1940, LAST_BIRTH_YEAR)
    }
    .shifted(0)
}

/// A first name of the given gender (drawn when `None`).
fn first_name(rng: &mut StdRng, female: Option<bool>) -> &'static FirstName {
    let pools = &*POOLS;
    let female = female.unwrap_or_else(|| rng.random_bool(0.5));
    match (female, rng.random_bool(INTL_NAME)) {
        (false, false) => pools.male.draw(rng),
        (true, false) => pools.female.draw(rng),
        (false, true) => pick(rng, &pools.male_intl),
        (true, true) => pick(rng, &pools.female_intl),
    }
}

fn surname(rng: &mut StdRng) -> &'static str {
    let pools = &*POOLS;
    if rng.random_bool(INTL_NAME) {
        pick::<&str>(rng, &pools.surnames_intl)
    } else {
        pools.surnames.draw(rng)
    }
}

/// A UK mobile number's national significant number (`7` + 9 digits, valid mobile ranges).
fn mobile(rng: &mut StdRng) -> String {
    const PREFIXES: &[&str] = &["74", "75", "77", "78", "79"];
    format!(
        "{}{:08}",
        pick(rng, PREFIXES),
        rng.random_range(0..100_000_000u32)
    )
}

/// Lowercase ASCII letters and digits only (`O'Brien` → `obrien`, `Zoë` → `zoe`).
fn ascii_slug(s: &str) -> String {
    deunicode::deunicode(s)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
