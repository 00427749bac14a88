//! The "same household, different person" class of the model: which compared fields identify a
//! person and which a household may share, and how likely a comparison vector is for two
//! people of one household.
//!
//! Twins, siblings, spouses, parents and their adult children share a surname, an address, a
//! phone, often an e-mail; they differ in given name and birth date. Naive Bayes adds the shared
//! fields up as independent evidence of one person; the household class explains them together,
//! so only the person fields can tell a match from a relative. The class has few parameters,
//! each estimated by EM: per household *group* (the address fields together, or one field such
//! as the surname, phone or e-mail) the share `s` of household pairs that share it (their
//! levels then look like a match's, typos included; otherwise like two strangers'), and per
//! person field the small share `a` of household pairs that agree on it as one person would (a
//! twin's birth date, a junior's given name; at most one person field at a time). On data
//! without households (FEBRL, typo-heavy person files) EM finds next to no household pairs and
//! the class fades.

use std::collections::BTreeMap;

use crate::config::ComparisonConfig;

/// Starting share of household pairs that agree on a person field as one person would.
pub const PERSON_AGREEMENT: f64 = 0.02;

/// Largest agreement share EM may estimate per person field: above it the household class
/// could become a second match class (pairs agreeing on everything) instead of relatives.
pub const MAX_PERSON_AGREEMENT: f64 = 0.3;

/// Starting share of household pairs sharing a household group.
pub const SHARED: f64 = 0.5;

/// Name fragments of fields that identify a person rather than a household.
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

/// Name fragments of the fields of an address, which a household shares as one group.
const ADDRESS_NAMES: &[&str] = &[
    "street", "address", "city", "town", "suburb", "postcode", "post_code", "zip", "state",
    "county", "country", "region", "province",
];

/// The group of household fields that make up an address.
pub const ADDRESS_GROUP: &str = "address";

/// Each comparison's part in the household class.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Per comparison: `None` for a person field, else its household group.
    pub group: Vec<Option<usize>>,
    /// Name of each household group (`address`, or the field's name).
    pub names: Vec<String>,
}

/// True when a field identifies a person (given names, birth dates, sex, national ids).
pub fn is_person(field: &str) -> bool {
    let f = field.to_ascii_lowercase();
    PERSON_NAMES.iter().any(|p| f.contains(p))
}

/// The household group a non-person field belongs to: e-mails and phones on their own, the
/// parts of an address together, every other field (surname, custom fields) on its own.
fn group_name(field: &str) -> String {
    let f = field.to_ascii_lowercase();
    let own = f.contains("mail") || f.contains("phone");
    if !own && ADDRESS_NAMES.iter().any(|a| f.contains(a)) {
        ADDRESS_GROUP.to_string()
    } else {
        field.to_string()
    }
}

impl Layout {
    /// The layout of the pipeline's comparisons, from their field names.
    pub fn new(comparisons: &[ComparisonConfig]) -> Self {
        Self::from_fields(comparisons.iter().map(|c| c.field.as_str()))
    }

    /// The layout of comparisons of these fields, in order.
    pub fn from_fields<'a>(fields: impl Iterator<Item = &'a str>) -> Self {
        let mut names: Vec<String> = Vec::new();
        let group = fields
            .map(|field| {
                if is_person(field) {
                    return None;
                }
                let name = group_name(field);
                Some(names.iter().position(|n| *n == name).unwrap_or_else(|| {
                    names.push(name);
                    names.len() - 1
                }))
            })
            .collect();
        Layout { group, names }
    }

    /// True when the comparisons marked `active` include both a person and a household field,
    /// so the household class can be told apart from matches and from strangers.
    pub fn usable(&self, active: &[bool]) -> bool {
        let on = |person: bool| {
            self.group
                .iter()
                .zip(active)
                .any(|(g, &a)| a && g.is_none() == person)
        };
        on(true) && on(false)
    }
}

/// The household class's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdFit {
    /// Per comparison, the share of household pairs agreeing on it as one person (person
    /// fields only; 0 for household fields).
    pub agreement: Vec<f64>,
    /// Per household group, the share of household pairs that share it.
    pub shared: Vec<f64>,
}

/// Expected counts of the household class's parameters in one E-step: per comparison and per
/// group, (expected pairs of the "as one person" component, expected household pairs).
#[derive(Debug, Clone)]
pub struct Responsibilities {
    /// Per comparison (person fields).
    pub agreement: Vec<(f64, f64)>,
    /// Per household group.
    pub shared: Vec<(f64, f64)>,
}

impl HouseholdFit {
    /// Starting parameters.
    pub fn start(layout: &Layout) -> Self {
        HouseholdFit {
            agreement: layout
                .group
                .iter()
                .map(|g| if g.is_none() { PERSON_AGREEMENT } else { 0.0 })
                .collect(),
            shared: vec![SHARED; layout.names.len()],
        }
    }

    /// Likelihood of a comparison vector for a household pair, from each present field's m and
    /// u at its level (`None` for null or inactive fields); with `resp`, also adds this
    /// vector's `weight` expected household pairs to the responsibilities.
    pub fn likelihood(
        &self,
        layout: &Layout,
        mu: &[Option<(f64, f64)>],
        resp: Option<(&mut Responsibilities, f64)>,
    ) -> f64 {
        let person = self.person_part(layout, mu);
        let groups: Vec<(f64, f64)> = (0..self.shared.len())
            .map(|g| {
                let present = (0..mu.len()).filter(|&c| layout.group[c] == Some(g));
                present.fold((1.0, 1.0), |(pm, pu), c| match mu[c] {
                    Some((m, u)) => (pm * m, pu * u),
                    None => (pm, pu),
                })
            })
            .collect();
        let group_like = |g: usize| self.shared[g] * groups[g].0 + (1.0 - self.shared[g]) * groups[g].1;
        let total = person.0 * (0..groups.len()).map(group_like).product::<f64>();
        if let Some((r, w)) = resp.filter(|(_, w)| *w > 0.0) {
            for (c, share) in person.1 {
                r.agreement[c].0 += w * share;
                r.agreement[c].1 += w;
            }
            for (g, &(pm, pu)) in groups.iter().enumerate() {
                if (pm, pu) != (1.0, 1.0) && group_like(g) > 0.0 {
                    r.shared[g].0 += w * self.shared[g] * pm / group_like(g);
                    r.shared[g].1 += w;
                }
            }
        }
        total
    }

    /// The person fields' part of the likelihood — with share `1 - Σ a` all as strangers,
    /// with share `a[c]` field `c` alone as one person — and each present person field's share
    /// of the "as one person" component.
    fn person_part(&self, layout: &Layout, mu: &[Option<(f64, f64)>]) -> (f64, Vec<(usize, f64)>) {
        let present: Vec<(usize, f64, f64)> = (0..mu.len())
            .filter(|&c| layout.group[c].is_none())
            .filter_map(|c| mu[c].map(|(m, u)| (c, m, u)))
            .collect();
        let strangers: f64 = present.iter().map(|p| p.2).product();
        let a_sum: f64 = present.iter().map(|p| self.agreement[p.0]).sum();
        let one: Vec<f64> = present
            .iter()
            .map(|&(c, m, _)| {
                let others: f64 = present.iter().filter(|p| p.0 != c).map(|p| p.2).product();
                self.agreement[c] * m * others
            })
            .collect();
        let total = (1.0 - a_sum) * strangers + one.iter().sum::<f64>();
        let shares = present
            .iter()
            .zip(&one)
            .map(|(p, &x)| (p.0, if total > 0.0 { x / total } else { 0.0 }))
            .collect();
        (total, shares)
    }

    /// log2 of the household class's likelihood over two strangers', from each comparison's
    /// match weight log2(m/u) (`None` for null fields).
    pub fn log2_ratio(&self, layout: &Layout, weights: &[Option<f64>]) -> f64 {
        let mut mix = 1.0;
        let mut group_w = vec![0.0; self.shared.len()];
        let mut group_on = vec![false; self.shared.len()];
        for (c, w) in weights.iter().enumerate() {
            let Some(w) = *w else { continue };
            match layout.group[c] {
                None => mix += self.agreement[c] * (w.exp2() - 1.0),
                Some(g) => {
                    group_w[g] += w;
                    group_on[g] = true;
                }
            }
        }
        let mut x = mix.max(f64::MIN_POSITIVE).log2();
        for g in (0..group_w.len()).filter(|&g| group_on[g]) {
            let s = self.shared[g];
            // log2(s 2^W + 1 - s), kept finite for large W.
            x += if group_w[g] > 60.0 {
                s.max(f64::MIN_POSITIVE).log2() + group_w[g]
            } else {
                (s * group_w[g].exp2() + 1.0 - s).max(f64::MIN_POSITIVE).log2()
            };
        }
        x
    }

    /// The marginal h of comparison `c` per level (for model.json): `s m + (1 - s) u` for
    /// household fields, `a m + (1 - a) u` for person fields.
    pub fn marginal(&self, layout: &Layout, c: usize, m: &[f64], u: &[f64]) -> Vec<f64> {
        let s = layout.group[c].map_or(self.agreement[c], |g| self.shared[g]);
        m.iter().zip(u).map(|(m, u)| s * m + (1.0 - s) * u).collect()
    }

    /// The parameters by name, for model.json: person field → agreement, group → shared.
    pub fn named(
        &self,
        layout: &Layout,
        comparisons: &[ComparisonConfig],
    ) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
        let person = comparisons
            .iter()
            .enumerate()
            .filter(|(c, _)| layout.group[*c].is_none())
            .map(|(c, cc)| (cc.field.clone(), self.agreement[c]))
            .collect();
        let groups = layout.names.iter().cloned().zip(self.shared.iter().copied()).collect();
        (person, groups)
    }
}

/// The parameters written by [`HouseholdFit::named`], read back for the comparisons of
/// `fields` (starting values for names not in the maps).
pub fn from_named<'a>(
    fields: impl Iterator<Item = &'a str> + Clone,
    person: &BTreeMap<String, f64>,
    shared: &BTreeMap<String, f64>,
) -> (Layout, HouseholdFit) {
    let layout = Layout::from_fields(fields.clone());
    let mut fit = HouseholdFit::start(&layout);
    for (c, f) in fields.enumerate() {
        if let (None, Some(&a)) = (layout.group[c], person.get(f)) {
            fit.agreement[c] = a;
        }
    }
    for (g, name) in layout.names.iter().enumerate() {
        if let Some(&s) = shared.get(name) {
            fit.shared[g] = s;
        }
    }
    (layout, fit)
}

impl Responsibilities {
    /// Empty counts for `fit`'s parameters.
    pub fn new(fit: &HouseholdFit) -> Self {
        Responsibilities {
            agreement: vec![(0.0, 0.0); fit.agreement.len()],
            shared: vec![(0.0, 0.0); fit.shared.len()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Method;

    fn cmp(field: &str) -> ComparisonConfig {
        ComparisonConfig {
            field: field.into(),
            method: Method::Exact,
            levels: Vec::new(),
        }
    }

    #[test]
    fn fields_fall_into_person_fields_and_household_groups() {
        let fields = [
            "first_name", "last_name", "email", "phone", "street", "city", "postcode",
            "birth_date", "ssn", "middle_initial", "state", "email_address",
        ];
        let c: Vec<ComparisonConfig> = fields.iter().map(|f| cmp(f)).collect();
        let l = Layout::new(&c);
        assert_eq!(l.names, ["last_name", "email", "phone", "address", "email_address"]);
        let a = Some(3);
        assert_eq!(
            l.group,
            [None, Some(0), Some(1), Some(2), a, a, a, None, None, None, a, Some(4)]
        );
        assert!(l.usable(&[true; 12]));
        let mut only_household = [true; 12];
        for c in [0, 7, 8, 9] {
            only_household[c] = false;
        }
        assert!(!l.usable(&only_household));
    }

    /// The ratio form used in scoring equals the likelihood form used by EM divided by the
    /// strangers' likelihood.
    #[test]
    fn log2_ratio_matches_the_likelihood() {
        let c: Vec<ComparisonConfig> = ["first_name", "birth_date", "last_name", "street", "city"]
            .iter()
            .map(|f| cmp(f))
            .collect();
        let l = Layout::new(&c);
        let fit = HouseholdFit {
            agreement: vec![0.03, 0.1, 0.0, 0.0, 0.0],
            shared: vec![0.7, 0.4],
        };
        let mu = [Some((0.05, 0.9)), Some((0.9, 0.001)), Some((0.9, 0.01)), None, Some((0.95, 0.02))];
        let like = fit.likelihood(&l, &mu, None);
        let strangers: f64 = mu.iter().flatten().map(|p| p.1).product();
        let w: Vec<Option<f64>> = mu.iter().map(|p| p.map(|(m, u)| (m / u).log2())).collect();
        assert!(((like / strangers).log2() - fit.log2_ratio(&l, &w)).abs() < 1e-9);
    }
}
