//! Which compared fields identify a person and which a household may share, for the
//! "same household, different person" class of the model ([`super::em::HouseholdClass`]).
//!
//! Twins, siblings, spouses, parents and their adult children share a surname, an address, a
//! phone, often an e-mail; they differ in given name and birth date. Naive Bayes adds the shared
//! fields up as independent evidence of one person; the household class explains them together,
//! so only the person fields can tell a match from a relative. On data without households
//! (FEBRL, typo-heavy person files) EM finds next to no household pairs and the class fades.

use super::em::Role;
use crate::config::ComparisonConfig;

/// Starting share of household pairs that agree on a person field as one person would: twins
/// on a birth date, juniors and seniors on a given name. EM estimates it per field.
pub const PERSON_AGREEMENT: f64 = 0.05;

/// Largest such share EM may estimate: above it the household class could become a second
/// match class (pairs agreeing on everything) instead of relatives.
pub const MAX_PERSON_AGREEMENT: f64 = 0.3;

/// TEMP experiment knobs.
pub fn knob(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Canonical fields and name fragments that identify a person rather than a household.
const PERSON_NAMES: &[&str] = &[
    "first_name",
    "given",
    "forename",
    "middle",
    "birth",
    "dob",
    "gender",
    "sex",
    "ssn",
    "soc_sec",
    "social_security",
    "national_id",
    "passport",
    "tax_id",
    "nino",
];

/// Role of a field, from its name: person fields are given names, birth dates, sex and
/// national ids; every other field (surname, e-mail, phone, address, custom fields) may be
/// shared by a household.
pub fn role(field: &str) -> Role {
    let f = field.to_ascii_lowercase();
    if PERSON_NAMES.iter().any(|p| f.contains(p)) {
        Role::Person
    } else {
        Role::Household
    }
}

/// Roles of the pipeline's comparisons, in order.
pub fn roles(comparisons: &[ComparisonConfig]) -> Vec<Role> {
    comparisons.iter().map(|c| role(&c.field)).collect()
}

/// True when the comparisons marked `active` include both a person and a household field, so
/// the household class can be told apart from matches and from strangers.
pub fn usable(roles: &[Role], active: &[bool]) -> bool {
    let has = |r: Role| roles.iter().zip(active).any(|(&x, &a)| a && x == r);
    has(Role::Person) && has(Role::Household)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_field_names() {
        for f in ["first_name", "birth_date", "middle_name", "ssn", "soc_sec_id", "Gender"] {
            assert_eq!(role(f), Role::Person, "{f}");
        }
        for f in ["last_name", "email", "phone", "street", "postcode", "city", "state"] {
            assert_eq!(role(f), Role::Household, "{f}");
        }
    }

    #[test]
    fn the_class_needs_both_kinds_of_field() {
        let r = [Role::Person, Role::Household, Role::Household];
        assert!(usable(&r, &[true, true, false]));
        assert!(!usable(&r, &[false, true, true]));
        assert!(!usable(&r, &[true, false, false]));
    }
}
