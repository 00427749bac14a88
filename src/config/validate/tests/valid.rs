//! A valid pipeline loads with defaults filled; shape errors and the order of problems.

use super::*;
use crate::config::validate::load;
use crate::config::{BlockKey, Format, KeyTransform, Method, Rule};
use std::collections::BTreeMap;

const VALID: &str = r#"name = "nightly-customers"

[output]
dir = "out/nightly"
keep_runs = 3
decisions = "all"

[[sources]]
name = "crm"
path = "exports/crm.csv"
id = "contact_id"
updated_at = "updated_at"
[sources.fields]
last_name = "surname"
first_name = "given_name"
email = "email"
postcode = "zip"
birth_date = "date_of_birth"
loyalty_tier = "upper(tier)"

[[sources]]
name = "billing"
path = "exports/billing_*.parquet"
id = "account_no"
max_reject_ratio = 0.05
[sources.fields]
full_name = "full_name"
email = "billing_email"

[[sources]]
name = "support"
path = "exports/support.tsv"
id = "ticket_id"
[sources.fields]
phone = "phone"

[standardize]
default_phone_region = "GB"

[blocking]
rules = [
  ["email"],
  ["last_name", "year(birth_date)"],
  ["metaphone(first_name)", "left(postcode, 3)"],
]

[[comparisons]]
field = "first_name"
method = "jaro_winkler"

[[comparisons]]
field = "last_name"
method = "levenshtein"
levels = [0.9, 0.7, 0.5]

[[comparisons]]
field = "email"
method = "exact"

[model]
match_threshold = 0.9
term_frequency = ["last_name"]
seed = 7

[survivorship]
source_priority = ["billing", "crm"]
[survivorship.fields]
email = "most_frequent"
phone = "source_priority"
"#;

#[test]
fn valid_pipeline_loads_with_defaults_filled_and_files_resolved() {
    let dir = dir_with(&[
        "exports/crm.csv",
        "exports/billing_2.parquet",
        "exports/billing_1.parquet",
        "exports/support.tsv",
    ]);
    let d = dir.path();
    let path = d.join("p.toml");
    std::fs::write(&path, VALID).unwrap();
    let p = load(&path).unwrap();

    assert_eq!(p.name, "nightly-customers");
    assert_eq!(p.path, path);
    assert_eq!(p.base_dir, d);
    assert_eq!(p.hash, hex::encode(Sha256::digest(VALID.as_bytes())));
    assert_eq!(p.hash.len(), 64);
    assert_eq!(p.output.dir, d.join("out/nightly"));
    assert_eq!(p.output.keep_runs, Some(3));
    assert_eq!(p.output.decisions, crate::config::Decisions::All);

    let names: Vec<&str> = p.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["crm", "billing", "support"]);
    let crm = &p.sources[0];
    assert_eq!(crm.pattern, "exports/crm.csv");
    assert_eq!(crm.files, [d.join("exports/crm.csv")]);
    assert_eq!(crm.format, Format::Csv);
    assert_eq!(crm.id, "contact_id");
    assert_eq!(crm.updated_at.as_deref(), Some("updated_at"));
    let fields: Vec<(&str, &str)> = crm
        .fields
        .iter()
        .map(|(f, e)| (f.as_str(), e.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("last_name", "surname"),
            ("first_name", "given_name"),
            ("email", "email"),
            ("postcode", "zip"),
            ("birth_date", "date_of_birth"),
            ("loyalty_tier", "upper(tier)"),
        ]
    );
    assert_eq!(crm.max_reject_ratio, 0.01);
    assert_eq!(crm.delimiter, b',');

    let billing = &p.sources[1];
    assert_eq!(
        billing.files,
        [
            d.join("exports/billing_1.parquet"),
            d.join("exports/billing_2.parquet")
        ]
    );
    assert_eq!(billing.format, Format::Parquet);
    assert_eq!(billing.updated_at, None);
    assert_eq!(billing.max_reject_ratio, 0.05);

    let support = &p.sources[2];
    assert_eq!(support.format, Format::Csv);
    assert_eq!(support.delimiter, b'\t');

    assert_eq!(p.standardize.default_phone_region.as_deref(), Some("GB"));

    let texts: Vec<&str> = p.blocking.rules.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "email",
            "last_name & year(birth_date)",
            "metaphone(first_name) & left(postcode, 3)"
        ]
    );
    let key = |field: &str, transform| BlockKey {
        field: field.to_string(),
        transform,
    };
    assert_eq!(
        p.blocking.rules[0].keys,
        [key("email", KeyTransform::Identity)]
    );
    assert_eq!(
        p.blocking.rules[1].keys,
        [
            key("last_name", KeyTransform::Identity),
            key("birth_date", KeyTransform::Year)
        ]
    );
    assert_eq!(
        p.blocking.rules[2].keys,
        [
            key("first_name", KeyTransform::Metaphone),
            key("postcode", KeyTransform::Prefix(3))
        ]
    );
    assert_eq!(p.blocking.max_block_size, 5000);

    let comps: Vec<(&str, Method, Vec<f64>)> = p
        .comparisons
        .iter()
        .map(|c| (c.field.as_str(), c.method, c.levels.clone()))
        .collect();
    assert_eq!(
        comps,
        [
            ("first_name", Method::JaroWinkler, vec![0.92, 0.80]),
            ("last_name", Method::Levenshtein, vec![0.9, 0.7, 0.5]),
            ("email", Method::Exact, vec![]),
        ]
    );

    let m = &p.model;
    assert_eq!(m.match_threshold, Some(0.9));
    assert_eq!(m.review_threshold, None);
    assert_eq!(m.term_frequency, ["last_name"]);
    assert_eq!(m.u_sample_pairs, 1_000_000);
    assert_eq!(m.em_max_iterations, 50);
    assert_eq!(m.em_tolerance, 1e-4);
    assert_eq!(m.seed, 7);
    assert_eq!(m.model_file, None);

    let s = &p.survivorship;
    assert_eq!(s.default, Rule::MostRecent);
    assert_eq!(s.source_priority, ["billing", "crm"]);
    assert_eq!(
        s.fields,
        BTreeMap::from([
            ("email".to_string(), Rule::MostFrequent),
            ("phone".to_string(), Rule::SourcePriority),
        ])
    );
    assert_eq!(p.manual_decisions, None);
    assert_eq!(
        p.fields(),
        [
            "last_name",
            "first_name",
            "email",
            "postcode",
            "birth_date",
            "loyalty_tier",
            "full_name",
            "phone"
        ]
    );
}

#[test]
fn unknown_key_names_the_valid_keys_at_its_level() {
    let dir = dir_with(&[]);
    let text = "name = \"x\"\n\n[output]\ndirr = \"out\"\n";
    assert_eq!(
        errors(dir.path(), text),
        [format!(
            "{}:4:1: output.dirr: unknown key `dirr`; expected one of `dir`, `keep_runs`, `decisions`",
            dir.path().join("p.toml").display()
        )]
    );
}

#[test]
fn an_unknown_decisions_setting_names_the_choices() {
    let rest = "[blocking]\nrules = [[\"email\"]]\n[[comparisons]]\nfield = \"email\"\n\
                method = \"exact\"\n";
    let text =
        super::one_source(rest).replace("dir = \"o\"\n", "dir = \"o\"\ndecisions = \"some\"\n");
    let errs = errors(Path::new("/pipes"), &text);
    let want = "/pipes/p.toml:4:13: output.decisions: unknown value `some`; expected one of \
                above_floor, all";
    assert!(errs.iter().any(|e| e == want), "{errs:?}");
}

#[test]
fn unknown_key_inside_an_array_of_tables_gets_its_index() {
    let text = "name = \"x\"\n[output]\ndir = \"o\"\n[[sources]]\nname = \"a\"\n\
                path = \"a.csv\"\nid = \"i\"\nfields = { email = \"e\" }\n\
                [[sources]]\nname = \"b\"\n  formt = \"csv\"\n";
    assert_eq!(
        errors(Path::new("/pipes"), text),
        [
            "/pipes/p.toml:11:3: sources[1].formt: unknown key `formt`; expected one of \
             `name`, `path`, `format`, `id`, `updated_at`, `fields`, `max_reject_ratio`, \
             `delimiter`"
        ]
    );
}

#[test]
fn shape_errors_point_at_the_spot() {
    let cases = [
        (
            "name = \"x\"\n[output]\nkeep_runs = 2\n",
            "p.toml:2:1: output.dir: missing required key `dir`",
        ),
        (
            "name = \"x\"\n[output]\ndir = \"o\"\n",
            "p.toml:1:1: sources: missing required key `sources`",
        ),
        (
            "name = \"x\"\n[output]\ndir = 5\n",
            "p.toml:3:7: output.dir: invalid type: integer `5`, expected a string",
        ),
        (
            "name = \"x\n",
            "p.toml:1:10: invalid TOML: invalid basic string, expected `\"`",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(errors(Path::new(""), text), [want], "{text}");
    }
}

#[test]
fn semantic_problems_are_all_reported_in_file_order() {
    let dir = dir_with(&["crm.csv"]);
    let d = dir.path();
    let text = r#"name = "x"
[output]
dir = "out"

[[sources]]
name = "crm"
path = "crm.csv"
id = "id"
[sources.fields]
email = "email"
last_name = "surname"

[[sources]]
name = "billing"
path = "exports/billing.csv"
id = "id"
[sources.fields]
phone = "phone"

[blocking]
rules = [["email"], ["soundex(last_name)", "postcode"]]

[[comparisons]]
field = "last_name"
method = "jarowinkler"

[model]
match_threshold = 1.5

[survivorship]
default = "newest"
"#;
    let f = d.join("p.toml");
    let f = f.display();
    assert_eq!(
        errors(d, text),
        [
            format!(
                "{f}:15:8: sources[1].path: `exports/billing.csv` matches no file (looked in {})",
                d.join("exports").display()
            ),
            format!(
                "{f}:21:44: blocking.rules[1][1]: field `postcode` is not mapped by any \
                 source; mapped fields: email, last_name, phone"
            ),
            format!(
                "{f}:25:10: comparisons[0].method: unknown method `jarowinkler`; expected one \
                 of exact, jaro_winkler, jaro, levenshtein, damerau_levenshtein, date"
            ),
            format!(
                "{f}:28:19: model.match_threshold: 1.5 is outside (0, 1); use a probability \
                 such as 0.95"
            ),
            format!(
                "{f}:31:11: survivorship.default: unknown rule `newest`; expected one of \
                 most_recent, most_frequent, source_priority, longest, first_non_null"
            ),
        ]
    );
}

#[test]
fn unreadable_file_names_the_path() {
    let dir = dir_with(&[]);
    let path = dir.path().join("missing.toml");
    let err = load(&path).unwrap_err();
    assert_eq!(
        err.lines(),
        [format!(
            "{p}: cannot read the pipeline file {p}: No such file or directory (os error 2)",
            p = path.display()
        )]
    );
}

#[test]
fn a_finished_runs_pipeline_loads_without_the_files_it_names() {
    let dir = dir_with(&[]);
    let path = dir.path().join("p.toml");
    let text = format!(
        "manual_decisions = \"gone.csv\"\n{}",
        VALID.replace("seed = 7\n", "seed = 7\nmodel_file = \"model.json\"\n")
    );
    let missing = load_str(&text, &path).unwrap_err().lines();
    assert_eq!(
        missing.len(),
        5,
        "three sources, the model and the decisions: {missing:?}"
    );
    let p = load_recorded(&text, &path).unwrap();
    assert_eq!(p.text, text);
    assert_eq!(p.hash, hex::encode(Sha256::digest(text.as_bytes())));
    assert!(p.sources.iter().all(|s| s.files.is_empty()));
    assert_eq!(p.model.model_file, Some(dir.path().join("model.json")));
    assert_eq!(p.manual_decisions, Some(dir.path().join("gone.csv")));
    // Each rule's text, as the manifest records it, reads back as the same keys.
    for rule in &p.blocking.rules {
        let again = parse_rule(&rule.text).unwrap();
        assert_eq!(
            (again.text, again.keys),
            (rule.text.clone(), rule.keys.clone())
        );
    }
    assert_eq!(
        parse_rule("email & nope(x)").unwrap_err(),
        "unknown function `nope`; expected one of metaphone, soundex, nysiis, year, left"
    );
}
