//! The three synthetic exports: their names, columns, coverage and how each formats a
//! [`Variant`] (phones, dates, names) the way that system would.

use rand::Rng;
use rand::rngs::StdRng;

use super::people::Date;
use super::variant::{Missing, Variant};

/// One synthetic export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// CRM contacts (CSV).
    Crm,
    /// Billing accounts (Parquet).
    Billing,
    /// Support-desk users (NDJSON).
    Support,
}

impl Source {
    /// Every source, in file order.
    pub const ALL: [Source; 3] = [Source::Crm, Source::Billing, Source::Support];

    /// Source name, as in `truth.csv` and `pipeline.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Crm => "crm",
            Source::Billing => "billing",
            Source::Support => "support",
        }
    }

    /// File name inside the output directory.
    pub fn file(self) -> &'static str {
        match self {
            Source::Crm => "crm.csv",
            Source::Billing => "billing.parquet",
            Source::Support => "support.ndjson",
        }
    }

    /// The id column.
    pub fn id_column(self) -> &'static str {
        match self {
            Source::Crm => "contact_id",
            Source::Billing => "account_no",
            Source::Support => "user_id",
        }
    }

    /// The other columns, in the order [`Source::row`] fills them.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Source::Crm => &[
                "first_name",
                "last_name",
                "email",
                "phone",
                "street",
                "city",
                "postcode",
                "date_of_birth",
                "updated_at",
            ],
            Source::Billing => &[
                "full_name",
                "billing_email",
                "phone_number",
                "address_line1",
                "town",
                "zip",
                "dob",
                "modified",
            ],
            Source::Support => &[
                "given_name",
                "family_name",
                "email_address",
                "tel",
                "city",
                "post_code",
                "birthday",
                "last_seen",
            ],
        }
    }

    /// Chance that a person has a record here.
    pub fn coverage(self) -> f64 {
        match self {
            Source::Crm => 0.75,
            Source::Billing => 0.5,
            Source::Support => 0.4,
        }
    }

    /// Chance that a person present here has a second record here, under another id.
    pub fn duplicate(self) -> f64 {
        match self {
            Source::Crm => 0.05,
            Source::Billing => 0.02,
            Source::Support => 0.03,
        }
    }

    /// How often this source leaves each field empty.
    pub fn missing(self) -> Missing {
        match self {
            Source::Crm => Missing {
                name: 0.01,
                email: 0.08,
                phone: 0.1,
                address: 0.05,
                dob: 0.1,
            },
            Source::Billing => Missing {
                name: 0.01,
                email: 0.05,
                phone: 0.08,
                address: 0.03,
                dob: 0.12,
            },
            Source::Support => Missing {
                name: 0.1,
                email: 0.03,
                phone: 0.25,
                address: 0.2,
                dob: 0.4,
            },
        }
    }

    /// The id of this source's `n`-th record (1-based): `C0000042`, `B0000042`, `10042`.
    pub fn id(self, n: usize) -> String {
        match self {
            Source::Crm => format!("C{n:07}"),
            Source::Billing => format!("B{n:07}"),
            Source::Support => (10_000 + n).to_string(),
        }
    }

    /// The values of [`Source::columns`] for one record, formatted as this source would.
    pub fn row(self, rng: &mut StdRng, v: Variant) -> Vec<Option<String>> {
        let phone = v.phone.map(|p| self.phone(rng, &p));
        let dob = v.dob.map(|d| self.date(rng, d));
        match self {
            Source::Crm => vec![
                v.first,
                v.last,
                v.email,
                phone,
                v.street,
                v.city,
                v.postcode,
                dob,
                Some(v.updated.iso(' ')),
            ],
            Source::Billing => vec![
                full_name(rng, v.first, v.last),
                v.email,
                phone,
                v.street,
                v.city,
                v.postcode,
                dob,
                Some(format!("{}Z", v.updated.iso('T'))),
            ],
            Source::Support => vec![
                v.first,
                v.last,
                v.email,
                phone,
                v.city,
                v.postcode,
                dob,
                Some(v.updated.iso('T')),
            ],
        }
    }

    /// A GB mobile (national significant number `7AAABBBCCC`) as this source writes it.
    fn phone(self, rng: &mut StdRng, nsn: &str) -> String {
        let (a, rest) = nsn.split_at(nsn.len().min(4));
        let (b, c) = rest.split_at(rest.len().min(3));
        let compact = rng.random_bool(0.2);
        match self {
            Source::Crm if compact => format!("0{nsn}"),
            Source::Crm => format!("0{a} {rest}"),
            Source::Billing if compact => format!("+44{nsn}"),
            Source::Billing => format!("+44 {a} {rest}"),
            Source::Support if rng.random_bool(0.5) => format!("44{nsn}"),
            Source::Support => format!("(0){a}-{b}-{c}"),
        }
    }

    /// A date as this source writes it: `DD/MM/YYYY`, `YYYY-MM-DD`, or `YYYYMMDD` /
    /// `YYYY-MM-DDT00:00:00`.
    fn date(self, rng: &mut StdRng, Date { y, m, d }: Date) -> String {
        match self {
            Source::Crm => format!("{d:02}/{m:02}/{y:04}"),
            Source::Billing => format!("{y:04}-{m:02}-{d:02}"),
            Source::Support if rng.random_bool(0.6) => format!("{y:04}{m:02}{d:02}"),
            Source::Support => format!("{y:04}-{m:02}-{d:02}T00:00:00"),
        }
    }
}

/// `Last, First` or `First Last`, whichever parts are present.
fn full_name(rng: &mut StdRng, first: Option<String>, last: Option<String>) -> Option<String> {
    match (first, last) {
        (Some(f), Some(l)) if rng.random_bool(0.5) => Some(format!("{l}, {f}")),
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    }
}
