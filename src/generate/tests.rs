use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;

fn run(dir: &Path, entities: usize, seed: u64, broken_rows: bool) -> GenerateSummary {
    let opts = GenerateOptions {
        broken_rows,
        ..options(dir, entities, seed)
    };
    generate(&opts).expect("generate")
}

fn lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).expect("read");
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn parquet_rows(path: &Path) -> (Vec<String>, usize) {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(File::open(path).expect("open")).expect("parquet");
    let columns = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let rows = builder
        .build()
        .expect("reader")
        .map(|b| b.expect("batch").num_rows())
        .sum();
    (columns, rows)
}

#[test]
fn generate_same_seed_gives_identical_files_and_another_seed_does_not() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let sa = run(a.path(), 200, 7, true);
    let sb = run(b.path(), 200, 7, true);
    run(c.path(), 200, 8, true);
    assert_eq!(sa.records, sb.records);
    for file in [
        "crm.csv",
        "billing.parquet",
        "support.ndjson",
        "truth.csv",
        "pipeline.toml",
    ] {
        let bytes = std::fs::read(a.path().join(file)).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(b.path().join(file)).unwrap(),
            "{file} differs"
        );
        if file != "pipeline.toml" {
            assert_ne!(
                bytes,
                std::fs::read(c.path().join(file)).unwrap(),
                "{file} same"
            );
        }
    }
}

#[test]
fn generate_truth_lists_every_valid_record_and_every_entity() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(dir.path(), 200, 1, false);
    assert_eq!(summary.entities, 200);
    assert_eq!(summary.broken, 0);
    assert_eq!(summary.files.len(), 5);
    let crm = lines(&dir.path().join("crm.csv"));
    assert_eq!(
        crm[0],
        b"contact_id,first_name,last_name,email,phone,street,city,postcode,date_of_birth,updated_at"
    );
    let (columns, billing) = parquet_rows(&dir.path().join("billing.parquet"));
    assert_eq!(
        columns,
        [
            "account_no",
            "full_name",
            "billing_email",
            "phone_number",
            "address_line1",
            "town",
            "zip",
            "dob",
            "modified"
        ]
    );
    let support = lines(&dir.path().join("support.ndjson"));
    for line in &support {
        let value: serde_json::Value = serde_json::from_slice(line).expect("json");
        assert!(value["user_id"].is_u64());
        assert!(value.get("given_name").is_some() && value.get("last_seen").is_some());
    }
    let truth = std::fs::read_to_string(dir.path().join("truth.csv")).unwrap();
    let mut truth_lines = truth.lines();
    assert_eq!(truth_lines.next(), Some("source,source_id,entity_id"));
    let rows: Vec<Vec<&str>> = truth_lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), crm.len() - 1 + billing + support.len());
    assert_eq!(rows.len(), summary.records);
    let entities: BTreeSet<&str> = rows.iter().map(|r| r[2]).collect();
    assert_eq!(entities.len(), 200);
    let ids: BTreeSet<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(ids.len(), rows.len(), "ids are unique per source");
    assert!(ids.contains(&("crm", "C0000001")) && ids.contains(&("billing", "B0000001")));
    assert!(ids.contains(&("support", "10001")));
    let per_entity = rows.len() as f64 / 200.0;
    assert!(
        (1.4..2.1).contains(&per_entity),
        "{per_entity} records per entity"
    );
}

#[test]
fn generate_broken_rows_are_written_but_not_in_truth() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(dir.path(), 200, 3, true);
    assert_eq!(summary.broken, 6);
    let crm = lines(&dir.path().join("crm.csv"));
    assert!(
        crm.iter().any(|l| std::str::from_utf8(l).is_err()),
        "invalid UTF-8 row"
    );
    let text: Vec<String> = crm
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert!(text.iter().any(|l| l.starts_with(',')), "empty id row");
    assert!(
        text.iter().any(|l| l.ends_with(",unexpected")),
        "extra column row"
    );
    let dup = text.iter().filter(|l| l.starts_with("C0000001,")).count();
    assert_eq!(dup, 2, "repeated id row");
    let support = lines(&dir.path().join("support.ndjson"));
    let parsed: Vec<Option<serde_json::Value>> = support
        .iter()
        .map(|l| serde_json::from_slice(l).ok())
        .collect();
    assert_eq!(
        parsed.iter().filter(|v| v.is_none()).count(),
        1,
        "one invalid JSON line"
    );
    assert_eq!(
        parsed.iter().flatten().filter(|v| v.is_array()).count(),
        1,
        "one array line"
    );
    let (_, billing) = parquet_rows(&dir.path().join("billing.parquet"));
    let truth = std::fs::read_to_string(dir.path().join("truth.csv")).unwrap();
    let truth_rows = truth.lines().count() - 1;
    assert_eq!(truth_rows, summary.records);
    assert_eq!(
        truth_rows + summary.broken,
        crm.len() - 1 + billing + support.len()
    );
}

#[test]
fn generate_zero_entities_writes_empty_exports() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(dir.path(), 0, 1, false);
    assert_eq!((summary.entities, summary.records), (0, 0));
    assert_eq!(lines(&dir.path().join("crm.csv")).len(), 1);
    assert_eq!(parquet_rows(&dir.path().join("billing.parquet")).1, 0);
}

#[test]
fn generate_without_household_share_reproduces_the_committed_demo_fixtures() {
    // fixtures/demo was written by `golden generate --entities 200 --seed 7 --broken-rows`
    // before --household-share existed: the option's absence must change no random draw.
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), 200, 7, true);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    for file in ["crm.csv", "billing.parquet", "support.ndjson", "truth.csv"] {
        assert!(
            std::fs::read(dir.path().join(file)).unwrap()
                == std::fs::read(fixtures.join(file)).unwrap(),
            "{file} differs from fixtures/demo/{file}"
        );
    }
}

#[test]
fn generate_pipeline_is_untuned_and_names_the_household_share() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), 10, 1, false);
    let text = std::fs::read_to_string(dir.path().join("pipeline.toml")).unwrap();
    assert!(
        !text.contains("[model]") && !text.contains("levels"),
        "{text}"
    );
    assert!(text.contains("[survivorship]"), "{text}");
    assert!(text.starts_with("# Generated by `golden generate --entities 10 --seed 1`;"));
    let opts = GenerateOptions {
        household_share: Some(0.25),
        ..options(dir.path(), 10, 1)
    };
    generate(&opts).unwrap();
    let text = std::fs::read_to_string(dir.path().join("pipeline.toml")).unwrap();
    assert!(text.starts_with(
        "# Generated by `golden generate --entities 10 --seed 1 --household-share 0.25`;"
    ));
    crate::config::load(&dir.path().join("pipeline.toml")).expect("the pipeline loads");
}

#[test]
fn household_share_accepts_only_a_probability() {
    for (text, rate) in [("0", 0.0), ("1", 1.0), ("0.3", 0.3), ("1e-1", 0.1)] {
        assert_eq!(household_share(text), Ok(rate));
    }
    for text in ["1.5", "-0.1", "nan", "inf", "abc", ""] {
        assert_eq!(
            household_share(text),
            Err(format!(
                "`{text}` is not a probability between 0 and 1; give one such as 0.3"
            ))
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let opts = GenerateOptions {
        household_share: Some(f64::NAN),
        ..options(&out, 10, 1)
    };
    let e = generate(&opts).unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "--household-share: `NaN` is not a probability between 0 and 1; give one such as 0.3"
    );
    assert!(!out.exists(), "nothing is written");
}

/// Options without broken rows or household sharing.
fn options(out: &Path, entities: usize, seed: u64) -> GenerateOptions {
    GenerateOptions {
        entities,
        seed,
        out: out.to_path_buf(),
        broken_rows: false,
        household_share: None,
    }
}

/// Shares of base–relative pairs with the same e-mail, phone and address over `families`
/// families drawn with sharing `rate`; asserts every relative differs from the base person
/// in first name or birth date.
fn shared_by_relatives(rate: f64, families: usize) -> [f64; 3] {
    let mut rng = StdRng::seed_from_u64(11);
    let mut people = PeopleGenerator::new(Some(rate));
    let mut shared = [0usize; 3];
    let mut pairs = 0;
    for _ in 0..families {
        let mut family = people.household(&mut rng, 1);
        people.family(&mut rng, &mut family, 4);
        assert!((2..=4).contains(&family.len()), "{} people", family.len());
        let base = &family[0];
        for relative in &family[1..] {
            assert!(relative.first.name != base.first.name || relative.dob != base.dob);
            pairs += 1;
            let (a, b) = (&base.address, &relative.address);
            let same = [
                base.email == relative.email,
                base.phone == relative.phone,
                (a.flat, a.number, a.stem, &a.postcode) == (b.flat, b.number, b.stem, &b.postcode),
            ];
            for (n, s) in shared.iter_mut().zip(same) {
                *n += usize::from(s);
            }
        }
    }
    shared.map(|n| n as f64 / pairs as f64)
}

#[test]
fn household_share_is_the_share_of_relatives_with_each_field_of_the_base_person() {
    for share in shared_by_relatives(0.3, 2000) {
        assert!((0.27..=0.33).contains(&share), "{share}");
    }
    assert_eq!(shared_by_relatives(0.0, 2000), [0.0; 3]);
    assert_eq!(shared_by_relatives(1.0, 500), [1.0; 3]);
}

#[test]
fn household_share_puts_about_30_percent_of_people_in_groups_of_two_to_four() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut people = PeopleGenerator::new(Some(0.3));
    let (mut total, mut grouped) = (0, 0);
    while total < 10_000 {
        let household = people.household(&mut rng, 10_000 - total);
        assert!(household.len() <= 4, "{} people", household.len());
        total += household.len();
        if household.len() > 1 {
            grouped += household.len();
        }
    }
    let share = grouped as f64 / total as f64;
    assert!(
        (0.27..=0.35).contains(&share),
        "{share} of people in a group"
    );
}

/// E-mail addresses in `support.ndjson` written for more than one entity of `truth.csv`.
fn emails_of_several_entities(dir: &Path) -> usize {
    let truth = std::fs::read_to_string(dir.join("truth.csv")).unwrap();
    let entity: HashMap<&str, &str> = truth
        .lines()
        .filter_map(|l| l.strip_prefix("support,")?.split_once(','))
        .collect();
    let mut owners: HashMap<String, BTreeSet<&str>> = Default::default();
    for line in lines(&dir.join("support.ndjson")) {
        let row: serde_json::Value = serde_json::from_slice(&line).unwrap();
        if let Some(email) = row["email_address"].as_str() {
            let id = row["user_id"].to_string();
            owners
                .entry(email.to_lowercase())
                .or_default()
                .insert(entity[id.as_str()]);
        }
    }
    owners.values().filter(|e| e.len() > 1).count()
}

#[test]
fn household_share_writes_shared_emails_for_different_entities() {
    let dir = tempfile::tempdir().unwrap();
    for (rate, shared) in [(0.0, false), (0.3, true)] {
        let opts = GenerateOptions {
            household_share: Some(rate),
            ..options(dir.path(), 3000, 2)
        };
        generate(&opts).unwrap();
        assert_eq!(emails_of_several_entities(dir.path()) > 0, shared, "{rate}");
    }
}
