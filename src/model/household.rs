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

/// Starting share of household pairs that agree on a person group as one person would.
pub const PERSON_AGREEMENT: f64 = 0.05;

/// Largest agreement share EM may estimate per person group. Twins and juniors are a few in a
/// hundred household pairs; a larger share would let the class take matches whose given name
/// was garbled (they agree on the birth date as one person would) instead of relatives.
pub const MAX_PERSON_AGREEMENT: f64 = 0.1;

/// Starting share of matches whose multi-field group (address) differs: the person moved.
pub const MOVED: f64 = 0.1;

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
    "street",
    "address",
    "city",
    "town",
    "suburb",
    "postcode",
    "post_code",
    "zip",
    "state",
    "county",
    "country",
    "region",
    "province",
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
    /// Per group, whether it has several fields (an address): the match class then treats it
    /// as one thing a person keeps (levels as m) or moved from (levels as u).
    pub multi: Vec<bool>,
    /// Per comparison: the person group of a person field (`None` for household fields).
    pub person: Vec<Option<usize>>,
    /// Name of each person group (`given_name` for first and middle names, `birth_date`, or
    /// the field's name): a junior shares a first and middle name together.
    pub person_names: Vec<String>,
}

/// The person group of a person field: given names together, birth dates together, every
/// other person field (national ids, sex) on its own.
fn person_group_name(field: &str) -> String {
    let f = field.to_ascii_lowercase();
    if ["first", "given", "forename", "middle"]
        .iter()
        .any(|p| f.contains(p))
    {
        "given_name".to_string()
    } else if f.contains("birth") || f.contains("dob") {
        "birth_date".to_string()
    } else {
        field.to_string()
    }
}

/// Most comparisons a pipeline may have (`model::train` refuses more), hence most groups.
pub const MAX_COMPARISONS: usize = 16;

/// Per group of `group_of`, the sum of its present fields' weights (`None` when none is
/// present), on the stack: this runs once per scored pair.
fn group_sums(
    group_of: &[Option<usize>],
    weights: &[Option<f64>],
) -> [Option<f64>; MAX_COMPARISONS] {
    let mut w = [None; MAX_COMPARISONS];
    for (c, x) in weights.iter().enumerate() {
        if let (Some(g), Some(x)) = (group_of[c], x) {
            w[g] = Some(w[g].unwrap_or(0.0) + x);
        }
    }
    w
}

/// Index of `name` in `names`, appended when new.
fn index_of(names: &mut Vec<String>, name: String) -> usize {
    names.iter().position(|n| *n == name).unwrap_or_else(|| {
        names.push(name);
        names.len() - 1
    })
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
        let (mut names, mut person_names) = (Vec::new(), Vec::new());
        let (mut group, mut person) = (Vec::new(), Vec::new());
        for field in fields {
            if is_person(field) {
                group.push(None);
                person.push(Some(index_of(&mut person_names, person_group_name(field))));
            } else {
                group.push(Some(index_of(&mut names, group_name(field))));
                person.push(None);
            }
        }
        let multi = (0..names.len())
            .map(|g| group.iter().filter(|x| **x == Some(g)).count() > 1)
            .collect();
        Layout {
            group,
            names,
            multi,
            person,
            person_names,
        }
    }

    /// The match class's likelihood of a vector from each present field's m and u (`None`
    /// for null or inactive fields): m for every field, except that each multi-field group is
    /// kept (its fields' m) with share `1 - moved[g]` or moved (their u) with share
    /// `moved[g]`. Also returns, per multi-field group with a present field, the kept share of
    /// its likelihood.
    pub fn match_likelihood(
        &self,
        moved: &[f64],
        mu: &[Option<(f64, f64)>],
    ) -> (f64, Vec<(usize, f64)>) {
        let mut total = 1.0;
        let mut groups = vec![(1.0, 1.0, false); self.names.len()];
        for (c, p) in mu.iter().enumerate() {
            let Some((m, u)) = *p else { continue };
            match self.group[c] {
                Some(g) if self.multi[g] => {
                    groups[g].0 *= m;
                    groups[g].1 *= u;
                    groups[g].2 = true;
                }
                _ => total *= m,
            }
        }
        let mut kept = Vec::new();
        for (g, &(pm, pu, _)) in groups.iter().enumerate().filter(|(_, x)| x.2) {
            let like = (1.0 - moved[g]) * pm + moved[g] * pu;
            total *= like;
            kept.push((
                g,
                if like > 0.0 {
                    (1.0 - moved[g]) * pm / like
                } else {
                    1.0
                },
            ));
        }
        (total, kept)
    }

    /// log2 of how much the match class's treatment of multi-field groups (kept or moved)
    /// changes a pair's weight against naive Bayes, from each comparison's weight log2(m/u)
    /// (`None` for null fields): per group `log2((1 - moved) 2^W + moved) - W`.
    pub fn moved_correction(&self, moved: &[f64], weights: &[Option<f64>]) -> f64 {
        let sums = group_sums(&self.group, weights);
        (0..self.names.len())
            .filter(|&g| self.multi[g])
            .filter_map(|g| sums[g].map(|wg| (moved[g], wg)))
            .map(|(mv, wg)| {
                if wg > 60.0 {
                    (1.0 - mv).log2()
                } else {
                    ((1.0 - mv) * wg.exp2() + mv).max(f64::MIN_POSITIVE).log2() - wg
                }
            })
            .sum()
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
    /// Per person group, the share of household pairs agreeing on it as one person.
    pub agreement: Vec<f64>,
    /// Per household group, the share of household pairs that share it.
    pub shared: Vec<f64>,
}

/// Expected counts of the household class's parameters in one E-step: per person group and
/// per household group, (expected pairs of the "as one person" or "shared" component,
/// expected household pairs).
#[derive(Debug, Clone)]
pub struct Responsibilities {
    /// Per person group.
    pub agreement: Vec<(f64, f64)>,
    /// Per household group.
    pub shared: Vec<(f64, f64)>,
}

/// Per group of `group_of`, the product of its present fields' m and of their u.
fn group_products(
    group_of: &[Option<usize>],
    groups: usize,
    mu: &[Option<(f64, f64)>],
) -> Vec<Option<(f64, f64)>> {
    let mut out = vec![None; groups];
    for (c, p) in mu.iter().enumerate() {
        if let (Some(g), Some((m, u))) = (group_of[c], p) {
            let (pm, pu) = out[g].unwrap_or((1.0, 1.0));
            out[g] = Some((pm * m, pu * u));
        }
    }
    out
}

impl HouseholdFit {
    /// Starting parameters.
    pub fn start(layout: &Layout) -> Self {
        HouseholdFit {
            agreement: vec![PERSON_AGREEMENT; layout.person_names.len()],
            shared: vec![SHARED; layout.names.len()],
        }
    }

    /// Likelihood of a comparison vector for a household pair, from each present field's m and
    /// u at its level (`None` for null or inactive fields): the person groups as strangers with
    /// share `1 - Σ a`, or one group `p` as one person with share `a[p]`; each household group
    /// shared (as m) with share `s[g]`, or not (as u). With `resp`, also adds this vector's
    /// `weight` expected household pairs to the responsibilities.
    pub fn likelihood(
        &self,
        layout: &Layout,
        mu: &[Option<(f64, f64)>],
        resp: Option<(&mut Responsibilities, f64)>,
    ) -> f64 {
        let persons = group_products(&layout.person, self.agreement.len(), mu);
        let groups = group_products(&layout.group, self.shared.len(), mu);
        let strangers: f64 = persons.iter().flatten().map(|p| p.1).product();
        let others = |p: usize| -> f64 {
            let rest = persons.iter().enumerate().filter(|(q, _)| *q != p);
            rest.filter_map(|(_, x)| x.map(|x| x.1)).product()
        };
        let one = |p: usize| persons[p].map_or(0.0, |(pm, _)| self.agreement[p] * pm * others(p));
        let a_sum: f64 = (0..persons.len())
            .filter(|&p| persons[p].is_some())
            .map(|p| self.agreement[p])
            .sum();
        let person = (1.0 - a_sum) * strangers + (0..persons.len()).map(one).sum::<f64>();
        let group_like = |g: usize| {
            groups[g].map_or(1.0, |(pm, pu)| {
                self.shared[g] * pm + (1.0 - self.shared[g]) * pu
            })
        };
        let total = person * (0..groups.len()).map(group_like).product::<f64>();
        if let Some((r, w)) = resp.filter(|(_, w)| *w > 0.0) {
            for p in (0..persons.len()).filter(|&p| persons[p].is_some()) {
                r.agreement[p].0 += if person > 0.0 {
                    w * one(p) / person
                } else {
                    0.0
                };
                r.agreement[p].1 += w;
            }
            for g in (0..groups.len()).filter(|&g| groups[g].is_some()) {
                let (pm, _) = groups[g].unwrap_or((1.0, 1.0));
                let like = group_like(g);
                r.shared[g].0 += if like > 0.0 {
                    w * self.shared[g] * pm / like
                } else {
                    0.0
                };
                r.shared[g].1 += w;
            }
        }
        total
    }

    /// log2 of the household class's likelihood over two strangers', from each comparison's
    /// match weight log2(m/u) (`None` for null fields).
    pub fn log2_ratio(&self, layout: &Layout, weights: &[Option<f64>]) -> f64 {
        let mut mix = 1.0;
        for (p, w) in group_sums(&layout.person, weights)[..self.agreement.len()]
            .iter()
            .enumerate()
        {
            if let Some(w) = w {
                mix += self.agreement[p] * (w.min(1000.0).exp2() - 1.0);
            }
        }
        let mut x = mix.max(f64::MIN_POSITIVE).log2();
        for (g, w) in group_sums(&layout.group, weights)[..self.shared.len()]
            .iter()
            .enumerate()
        {
            let (Some(w), s) = (*w, self.shared[g]) else {
                continue;
            };
            // log2(s 2^W + 1 - s), kept finite for large W.
            x += if w > 60.0 {
                s.max(f64::MIN_POSITIVE).log2() + w
            } else {
                (s * w.exp2() + 1.0 - s).max(f64::MIN_POSITIVE).log2()
            };
        }
        x
    }

    /// The marginal h of comparison `c` per level (for model.json): `s m + (1 - s) u` with its
    /// household group's shared share or its person group's agreement share.
    pub fn marginal(&self, layout: &Layout, c: usize, m: &[f64], u: &[f64]) -> Vec<f64> {
        let s = match (layout.group[c], layout.person[c]) {
            (Some(g), _) => self.shared[g],
            (None, Some(p)) => self.agreement[p],
            (None, None) => 0.0,
        };
        m.iter()
            .zip(u)
            .map(|(m, u)| s * m + (1.0 - s) * u)
            .collect()
    }

    /// The parameters by name, for model.json: person group → agreement, household group →
    /// shared.
    pub fn named(&self, layout: &Layout) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
        let zip =
            |names: &[String], v: &[f64]| names.iter().cloned().zip(v.iter().copied()).collect();
        (
            zip(&layout.person_names, &self.agreement),
            zip(&layout.names, &self.shared),
        )
    }
}

/// The parameters written by [`HouseholdFit::named`], read back for the comparisons of
/// `fields` (starting values for names not in the maps).
pub fn from_named<'a>(
    fields: impl Iterator<Item = &'a str>,
    person: &BTreeMap<String, f64>,
    shared: &BTreeMap<String, f64>,
) -> (Layout, HouseholdFit) {
    let layout = Layout::from_fields(fields);
    let mut fit = HouseholdFit::start(&layout);
    for (p, name) in layout.person_names.iter().enumerate() {
        if let Some(&a) = person.get(name) {
            fit.agreement[p] = a;
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
            "first_name",
            "last_name",
            "email",
            "phone",
            "street",
            "city",
            "postcode",
            "birth_date",
            "ssn",
            "middle_initial",
            "state",
            "email_address",
        ];
        let c: Vec<ComparisonConfig> = fields.iter().map(|f| cmp(f)).collect();
        let l = Layout::new(&c);
        assert_eq!(
            l.names,
            ["last_name", "email", "phone", "address", "email_address"]
        );
        assert_eq!(l.person_names, ["given_name", "birth_date", "ssn"]);
        assert_eq!(
            l.person,
            [
                Some(0),
                None,
                None,
                None,
                None,
                None,
                None,
                Some(1),
                Some(2),
                Some(0),
                None,
                None
            ]
        );
        assert_eq!(l.multi, [false, false, false, true, false]);
        let a = Some(3);
        assert_eq!(
            l.group,
            [
                None,
                Some(0),
                Some(1),
                Some(2),
                a,
                a,
                a,
                None,
                None,
                None,
                a,
                Some(4)
            ]
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
        let c: Vec<ComparisonConfig> = [
            "first_name",
            "birth_date",
            "last_name",
            "street",
            "city",
            "middle_name",
        ]
        .iter()
        .map(|f| cmp(f))
        .collect();
        let l = Layout::new(&c);
        let fit = HouseholdFit {
            agreement: vec![0.03, 0.1],
            shared: vec![0.7, 0.4],
        };
        let mu = [
            Some((0.05, 0.9)),
            Some((0.9, 0.001)),
            Some((0.9, 0.01)),
            None,
            Some((0.95, 0.02)),
            Some((0.9, 0.1)),
        ];
        let like = fit.likelihood(&l, &mu, None);
        let strangers: f64 = mu.iter().flatten().map(|p| p.1).product();
        let w: Vec<Option<f64>> = mu.iter().map(|p| p.map(|(m, u)| (m / u).log2())).collect();
        assert!(((like / strangers).log2() - fit.log2_ratio(&l, &w)).abs() < 1e-9);
    }
}
