//! Issue 12, item 2: placeholder values (`n/a@n/a.com`, `noemail@example.com`, `1900-01-01`,
//! values far more frequent than one person's) are missing for blocking and comparison, so they
//! chain nobody together; they are counted in `manifest.json` without their values, and a real
//! value survives over them.

use super::{CRM_HEADER, Case, assert_accounted, crm_source};
use crate::util::{strings, table};

const FIRST: [&str; 5] = [
    "Wilhelmina",
    "Bartholomew",
    "Esmeralda",
    "Ignatius",
    "Ottoline",
];
const LAST: [&str; 8] = [
    "Quarmby",
    "Fairweather",
    "Honeysett",
    "Dankworth",
    "Pennycook",
    "Ravenscroft",
    "Tolley",
    "Underhill",
];

/// 40 different people, [`FIRST`] × [`LAST`], each with the same `[email, phone, postcode, dob]`.
fn forty(shared: [&'static str; 4]) -> Vec<[&'static str; 6]> {
    let [email, phone, postcode, dob] = shared;
    FIRST
        .iter()
        .flat_map(|f| {
            LAST.iter()
                .map(move |l| [*f, *l, email, phone, postcode, dob])
        })
        .collect()
}

/// CSV rows `C<i>,first,last,email,phone,postcode,dob` after [`CRM_HEADER`].
fn csv(rows: &[[&str; 6]]) -> String {
    let mut out = CRM_HEADER.to_string();
    for (i, r) in rows.iter().enumerate() {
        out.push_str(&format!("C{},{}\n", i + 1, r.join(",")));
    }
    out
}

/// A case whose `crm.csv` holds `rows`, run once: exit 0, every row accounted for, none of
/// `values` printed.
fn run(rows: &[[&str; 6]], values: &[&str]) -> Case {
    let case = Case::new();
    case.write("crm.csv", csv(rows));
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[]).code(0).no_values(values);
    let n = rows.len() as u64;
    assert_accounted(&case.out().join("latest"), &[("crm", "crm.csv", n)]);
    case
}

/// The text of the latest run's `manifest.json`.
fn manifest_text(case: &Case) -> String {
    std::fs::read_to_string(case.out().join("latest/manifest.json")).unwrap()
}

/// The latest run's `manifest.json`.
fn manifest(case: &Case) -> serde_json::Value {
    serde_json::from_str(&manifest_text(case)).unwrap()
}

/// The run's `placeholders` report: field → (distinct values, records).
fn placeholders(case: &Case) -> Vec<(String, u64, u64)> {
    let manifest = manifest(case);
    let report = manifest["placeholders"]
        .as_object()
        .expect("manifest.json has placeholders");
    report
        .iter()
        .map(|(f, c)| {
            let n = |k: &str| c[k].as_u64().unwrap();
            (f.clone(), n("values"), n("records"))
        })
        .collect()
}

/// The manifest's `golden_records` count.
fn golden_records(case: &Case) -> u64 {
    manifest(case)["counts"]["golden_records"].as_u64().unwrap()
}

/// The report of the CRM pipeline's checked fields, with e-mail and birth date as given
/// (distinct values, records).
fn report(email: (u64, u64), birth_date: (u64, u64)) -> Vec<(String, u64, u64)> {
    vec![
        ("birth_date".into(), birth_date.0, birth_date.1),
        ("email".into(), email.0, email.1),
        ("first_name".into(), 0, 0),
        ("last_name".into(), 0, 0),
        ("phone".into(), 0, 0),
    ]
}

#[test]
fn forty_people_sharing_a_dummy_email_and_birth_date_stay_forty_golden_records() {
    // 5 first names × 8 surnames: 40 different people, any two sharing a first name or a
    // surname, all with the same dummy e-mail and birth date. Before: one golden record.
    let people = forty(["n/a@n/a.com", "", "", "1900-01-01"]);
    let mut values = vec!["n/a@n/a.com", "1900-01-01"];
    values.extend(FIRST.iter().chain(LAST.iter()));
    let case = run(&people, &values);
    assert_eq!(golden_records(&case), 40);
    assert_eq!(placeholders(&case), report((1, 40), (1, 40)));
    let manifest = manifest_text(&case);
    assert!(!manifest.contains("n/a@n/a.com") && !manifest.contains("1900-01-01"));
}

#[test]
fn two_couples_sharing_only_noemail_are_four_golden_records() {
    // Two couples: same surname and postcode, different given names and birth dates, and all
    // four "noemail@example.com". Before: each couple was one golden record.
    let rows = [
        [
            "Wilhelmina",
            "Quarmby",
            "noemail@example.com",
            "",
            "SW1A 1AA",
            "1961-04-12",
        ],
        [
            "Bartholomew",
            "Quarmby",
            "noemail@example.com",
            "",
            "SW1A 1AA",
            "1958-09-30",
        ],
        [
            "Esmeralda",
            "Honeysett",
            "noemail@example.com",
            "",
            "EC1A 1BB",
            "1990-07-01",
        ],
        [
            "Ignatius",
            "Honeysett",
            "noemail@example.com",
            "",
            "EC1A 1BB",
            "1988-11-23",
        ],
    ];
    let case = run(
        &rows,
        &["noemail@example.com", "Quarmby", "Honeysett", "SW1A 1AA"],
    );
    assert_eq!(golden_records(&case), 4);
    assert_eq!(placeholders(&case), report((1, 4), (0, 0)));
}

#[test]
fn a_family_email_shared_by_three_people_is_not_a_placeholder() {
    // Three people share a real family address; Tom appears twice and is found through it.
    let family = "quarmby.family@example.com";
    let rows = [
        ["Tom", "Quarmby", family, "", "", "1961-04-12"],
        ["Ann", "Quarmby", family, "", "", "1963-02-17"],
        ["Sue", "Quarmby", family, "", "", "1992-08-05"],
        ["Tom", "Quarmby", family, "", "", "1961-04-12"],
    ];
    let case = run(&rows, &[family, "Quarmby"]);
    assert_eq!(
        golden_records(&case),
        3,
        "Tom's two records merged by e-mail"
    );
    assert_eq!(placeholders(&case), report((0, 0), (0, 0)));
}

#[test]
fn a_real_email_survives_over_a_placeholder_of_the_same_person() {
    // One person twice, linked by phone; the first (preferred by most_recent's row order) has
    // the dummy e-mail. Before: the golden record showed "noemail@example.com".
    let rows = [
        [
            "Zebedee",
            "Quarmby",
            "noemail@example.com",
            "07700 900123",
            "",
            "1985-02-03",
        ],
        [
            "Zebedee",
            "Quarmby",
            "zq@realmail.org",
            "07700 900123",
            "",
            "1985-02-03",
        ],
    ];
    let case = run(&rows, &["noemail@example.com", "zq@realmail.org", "900123"]);
    let golden = table(&case.out().join("latest"), "golden");
    assert_eq!(
        strings(&golden, "email"),
        vec![Some("zq@realmail.org".into())]
    );
}

#[test]
fn forty_colleagues_sharing_a_switchboard_number_are_forty_golden_records() {
    // One office: 40 people, any two sharing a first name or a surname, all with the office's
    // phone and postcode and nothing else. Before: one golden record per first name.
    let people = forty(["", "020 7946 0000", "EC1A 1BB", ""]);
    let case = run(&people, &["7946 0000", "79460000", "EC1A 1BB", "Quarmby"]);
    assert_eq!(golden_records(&case), 40);
    let mut want = report((0, 0), (0, 0));
    want[4] = ("phone".into(), 1, 40);
    assert_eq!(placeholders(&case), want);
}

#[test]
fn a_value_far_more_frequent_than_one_persons_is_a_placeholder() {
    // A shop's order inbox on 60 customers' records (20 records, 20 × the median of 1, is the bar), next
    // to 60 customers with their own addresses.
    let shared = "orders@quarmby-widgets.co.uk";
    let own: Vec<String> = (0..60)
        .map(|i| format!("customer{i}@realmail.org"))
        .collect();
    let first: Vec<String> = (0..120).map(|i| format!("Given{i}")).collect();
    let rows: Vec<[&str; 6]> = (0..120)
        .map(|i| {
            let email = if i < 60 { shared } else { own[i - 60].as_str() };
            [first[i].as_str(), "Quarmby", email, "", "", ""]
        })
        .collect();
    let case = Case::new();
    case.write("crm.csv", csv(&rows));
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[])
        .code(0)
        .no_values(&[shared, "customer7@realmail.org"]);
    assert_accounted(&case.out().join("latest"), &[("crm", "crm.csv", 120)]);
    assert_eq!(golden_records(&case), 120);
    assert_eq!(placeholders(&case), report((1, 60), (0, 0)));
}
