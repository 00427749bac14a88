use super::super::{BlockKey, Format, KeyTransform, Method, Rule};
use super::*;
use std::collections::BTreeMap;

/// A directory holding `files` (empty), for sources to match.
fn dir_with(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "id\n1\n").unwrap();
    }
    dir
}

/// Loads `text` as if it were `dir/p.toml`; returns the rendered errors.
fn errors(dir: &Path, text: &str) -> Vec<String> {
    match load_str(text, &dir.join("p.toml")) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.lines(),
    }
}

const VALID: &str = r#"name = "nightly-customers"

[output]
dir = "out/nightly"
keep_runs = 3

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
            "{}:4:1: output.dirr: unknown key `dirr`; expected one of `dir`, `keep_runs`",
            dir.path().join("p.toml").display()
        )]
    );
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

/// A pipeline with one source `crm` mapping `email` and `full_name`, then `rest`.
fn one_source(rest: &str) -> String {
    format!(
        "name = \"x\"\n[output]\ndir = \"o\"\n[[sources]]\nname = \"crm\"\npath = \"crm.csv\"\n\
         id = \"id\"\n[sources.fields]\nemail = \"e\"\nfull_name = \"n\"\n{rest}"
    )
}

#[test]
fn source_level_problems() {
    let dir = dir_with(&["crm.csv", "a.txt"]);
    let text = one_source(
        "[[sources]]\nname = \"crm\"\npath = \"a.txt\"\nid = \"\"\ndelimiter = \";;\"\n\
         max_reject_ratio = 2\n[sources.fields]\n\"First Name\" = \"fn\"\n\
         [[sources]]\nname = \"Bad-Name\"\npath = \"crm.csv\"\nformat = \"xlsx\"\nid = \"id\"\n\
         fields = {}\n\
         [blocking]\nrules = [[\"email\"]]\n[[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\n",
    );
    let f = dir.path().join("p.toml");
    let f = f.display();
    assert_eq!(
        errors(dir.path(), &text),
        [
            format!(
                "{f}:12:8: sources[1].name: duplicate source name `crm` (first used on line \
                 5); give each source its own name"
            ),
            format!(
                "{f}:13:8: sources[1].path: cannot infer the format of `a.txt` from its \
                 extension; set `format` to one of csv, ndjson, parquet"
            ),
            format!(
                "{f}:14:6: sources[1].id: must not be empty; give the column or SQL \
                 expression that identifies a record"
            ),
            format!(
                "{f}:15:13: sources[1].delimiter: must be a single ASCII character such as \
                 \",\" or \";\", got \";;\""
            ),
            format!(
                "{f}:16:20: sources[1].max_reject_ratio: 2 is outside [0, 1]; give a share of \
                 rows such as 0.01"
            ),
            format!(
                "{f}:18:1: sources[1].fields.\"First Name\": invalid field name `First Name`; \
                 use lowercase letters, digits and `_`, not starting with a digit, such as \
                 `first_name`"
            ),
            format!(
                "{f}:20:8: sources[2].name: invalid source name `Bad-Name`; use lowercase \
                 letters, digits and `_` only"
            ),
            format!(
                "{f}:22:10: sources[2].format: unknown format `xlsx`; expected one of csv, \
                 ndjson, parquet"
            ),
            format!(
                "{f}:24:10: sources[2].fields: no fields mapped; map at least one field, such \
                 as email = \"email_address\""
            ),
        ]
    );
}

#[test]
fn blocking_comparison_model_and_survivorship_problems() {
    let dir = dir_with(&["crm.csv"]);
    let text = one_source(
        "[standardize]\ndefault_phone_region = \"gb\"\n\
         [blocking]\nrules = [[\"caverphone(email)\", \"left(email)\"], []]\nmax_block_size = 0\n\
         [[comparisons]]\nfield = \"first_name\"\nmethod = \"jaro\"\nlevels = [0.8, 0.9, 1.0]\n\
         [[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\nlevels = [0.5]\n\
         [[comparisons]]\nfield = \"email\"\nmethod = \"jaro\"\n\
         [model]\nmatch_threshold = 0.95\nreview_threshold = 0.97\nterm_frequency = [\"city\"]\nu_sample_pairs = 10\n\
         em_max_iterations = 0\nmodel_file = \"model.json\"\n\
         [survivorship]\nsource_priority = [\"crmm\"]\n[survivorship.fields]\nphone = \"longest\"\n",
    );
    let f = dir.path().join("p.toml");
    let f = f.display();
    let model = dir.path().join("model.json");
    assert_eq!(
        errors(dir.path(), &text),
        [
            format!(
                "{f}:12:24: standardize.default_phone_region: unknown region `gb`; write it \
                 in capitals: \"GB\""
            ),
            format!(
                "{f}:14:11: blocking.rules[0][0]: unknown function `caverphone`; expected one \
                 of metaphone, soundex, nysiis, year, left"
            ),
            format!(
                "{f}:14:32: blocking.rules[0][1]: `left` takes a field and a length, as in \
                 `left(postcode, 3)`"
            ),
            format!(
                "{f}:14:48: blocking.rules[1]: empty rule; list at least one key, such as \
                 [\"email\"]"
            ),
            format!("{f}:15:18: blocking.max_block_size: must be at least 1, got 0"),
            format!(
                "{f}:19:16: comparisons[0].levels[1]: 0.9 is not below 0.8; list levels \
                 strictly decreasing, best first"
            ),
            format!(
                "{f}:19:21: comparisons[0].levels[2]: 1 is outside (0, 1); levels are \
                 similarity thresholds such as 0.92"
            ),
            format!("{f}:23:10: comparisons[1].levels: `exact` takes no levels; remove `levels`"),
            format!(
                "{f}:25:9: comparisons[2].field: `email` is already compared (line 21); \
                 compare each field once"
            ),
            format!(
                "{f}:29:20: model.review_threshold: review_threshold 0.97 is above \
                 match_threshold 0.95; set review_threshold at or below match_threshold"
            ),
            format!(
                "{f}:30:19: model.term_frequency[0]: `city` is not compared; term-frequency \
                 adjustment applies to compared fields: first_name, email"
            ),
            format!(
                "{f}:31:18: model.u_sample_pairs: 10 is too few; sample at least 1000 pairs \
                 (default 1000000)"
            ),
            format!("{f}:32:21: model.em_max_iterations: must be at least 1, got 0 (default 50)"),
            format!(
                "{f}:33:14: model.model_file: `model.json` does not exist (looked for {})",
                model.display()
            ),
            format!(
                "{f}:35:20: survivorship.source_priority[0]: unknown source `crmm`; sources: \
                 crm"
            ),
            format!(
                "{f}:37:1: survivorship.fields.phone: field `phone` is not mapped by any \
                 source; mapped fields: email, first_name, last_name, full_name"
            ),
        ]
    );
}

#[test]
fn reserved_field_names_and_a_compared_match_are_refused() {
    let dir = dir_with(&["crm.csv"]);
    let text = one_source(
        "source_id = \"id\"\n__row = \"id\"\nrecord_count = \"id\"\nphone__match = \"id\"\n\
         match = \"id\"\n\
         [blocking]\nrules = [[\"email\"]]\n\
         [[comparisons]]\nfield = \"match\"\nmethod = \"exact\"\n",
    );
    let f = dir.path().join("p.toml");
    let f = f.display();
    let list = crate::schema::reserved_list();
    let reserved = |line: usize, name: &str| {
        format!(
            "{f}:{line}:1: sources[0].fields.{name}: `{name}` is reserved: the run's tables \
             use it for a column of their own; rename the field (reserved names: {list})"
        )
    };
    assert_eq!(
        errors(dir.path(), &text),
        [
            reserved(11, "source_id"),
            reserved(12, "__row"),
            reserved(13, "record_count"),
            reserved(14, "phone__match"),
            format!(
                "{f}:19:9: comparisons[0].field: a compared field named `match` makes \
                 decisions.parquet's column `match_weight` twice; rename the field"
            ),
        ]
    );
    assert!(list.starts_with("golden_id, source, source_id, record_idx, row_number"));
}

#[test]
fn em_iterations_are_capped_and_the_tolerance_must_be_finite() {
    let dir = dir_with(&["crm.csv"]);
    let text = one_source(
        "[blocking]\nrules = [[\"email\"]]\n\
         [[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\n\
         [model]\nem_max_iterations = 1001\nem_tolerance = nan\n",
    );
    let f = dir.path().join("p.toml");
    let f = f.display();
    assert_eq!(
        errors(dir.path(), &text),
        [
            format!(
                "{f}:17:21: model.em_max_iterations: must be at most 1000, got 1001 (default \
                 50); EM converges in far fewer iterations, raise em_tolerance instead"
            ),
            format!(
                "{f}:18:16: model.em_tolerance: must be a finite number greater than 0, got \
                 NaN (default 0.0001)"
            ),
        ]
    );
    let ok = one_source(
        "[blocking]\nrules = [[\"email\"]]\n\
         [[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\n\
         [model]\nem_max_iterations = 1000\n",
    );
    let p = load_str(&ok, &dir.path().join("p.toml")).unwrap();
    assert_eq!(p.model.em_max_iterations, 1000);
}

#[test]
fn source_priority_rule_needs_a_source_order() {
    let dir = dir_with(&["crm.csv"]);
    let text = one_source(
        "[blocking]\nrules = [[\"email\"]]\n[[comparisons]]\nfield = \"email\"\n\
         method = \"exact\"\n[survivorship]\n[survivorship.fields]\nemail = \"source_priority\"\n",
    );
    assert_eq!(
        errors(dir.path(), &text),
        [format!(
            "{}:18:9: survivorship.fields.email: rule `source_priority` needs an order of \
             sources; add source_priority = [\"crm\"] to [survivorship], most trusted first",
            dir.path().join("p.toml").display()
        )]
    );
}

/// The example of DESIGN §2, verbatim.
const DESIGN_EXAMPLE: &str = r#"name = "nightly-customers"

[output]
dir = "out/nightly-customers"        # run directories are created under here

[[sources]]
name = "crm"
path = "exports/crm.csv"             # a file or a glob
format = "csv"                       # csv | ndjson | parquet; inferred from the extension if absent
id = "contact_id"                    # unique id of a record within its source (column or SQL expression)
updated_at = "updated_at"            # optional: when the record last changed (recency for survivorship)
[sources.fields]                     # canonical field = SQL expression over this source's columns
first_name = "first_name"
last_name  = "last_name"
email      = "email"
phone      = "phone"
street     = "street"
city       = "city"
postcode   = "postcode"
birth_date = "date_of_birth"

[[sources]]
name = "billing"
path = "exports/billing.parquet"
id = "account_no"
[sources.fields]
full_name = "full_name"              # "Last, First" or "First Last": split by the standardizer
email     = "billing_email"
phone     = "phone_number"
street    = "address_line1"
city      = "town"
postcode  = "zip"

[standardize]
default_phone_region = "GB"

[blocking]                           # each rule is a list of keys; a pair that agrees on all keys of any rule is a candidate
rules = [
  ["email"],
  ["phone"],
  ["last_name", "birth_date"],
  ["metaphone(first_name)", "postcode"],
]

[[comparisons]]
field = "first_name"
method = "jaro_winkler"              # exact | jaro_winkler | jaro | levenshtein | damerau_levenshtein | date | ...
levels = [0.92, 0.80]                # similarity thresholds, best first; exact match and null are always levels

[[comparisons]]
field = "email"
method = "exact"

[model]
match_threshold = 0.95               # posterior match probability at or above which a pair links
review_threshold = 0.60              # pairs between review and match go to the review queue
term_frequency = ["last_name", "city"]

[survivorship]
default = "most_recent"              # most_recent | most_frequent | source_priority | longest | first_non_null
source_priority = ["billing", "crm", "support"]
[survivorship.fields]
email = "most_frequent"
phone = "source_priority"
"#;

#[test]
fn design_example_is_reported_for_its_dangling_names() {
    // The example names a `support` source it does not define and adjusts `last_name` and
    // `city` by term frequency without comparing them; everything else in it is valid.
    let dir = dir_with(&["exports/crm.csv", "exports/billing.parquet"]);
    let f = dir.path().join("p.toml");
    let f = f.display();
    assert_eq!(
        errors(dir.path(), DESIGN_EXAMPLE),
        [
            format!(
                "{f}:57:19: model.term_frequency[0]: `last_name` is not compared; \
                 term-frequency adjustment applies to compared fields: first_name, email"
            ),
            format!(
                "{f}:57:32: model.term_frequency[1]: `city` is not compared; term-frequency \
                 adjustment applies to compared fields: first_name, email"
            ),
            format!(
                "{f}:61:38: survivorship.source_priority[2]: unknown source `support`; \
                 sources: crm, billing"
            ),
        ]
    );
    let fixed = DESIGN_EXAMPLE
        .replace(r#"term_frequency = ["last_name", "city"]"#, "")
        .replace(r#", "support"]"#, "]");
    let p = load_str(&fixed, &dir.path().join("p.toml")).unwrap();
    assert_eq!(p.sources[1].format, Format::Parquet);
    assert_eq!(p.blocking.rules[3].text, "metaphone(first_name) & postcode");
    assert_eq!(p.survivorship.rule_for("phone"), Rule::SourcePriority);
    assert_eq!(p.survivorship.rule_for("city"), Rule::MostRecent);
}

#[test]
fn delimiter_applies_to_csv_only() {
    let dir = dir_with(&["crm.csv", "b.parquet"]);
    let text = one_source(
        "delimiter = \";\"\n[[sources]]\nname = \"b\"\npath = \"b.parquet\"\nid = \"id\"\n\
         delimiter = \"|\"\nfields = { email = \"e\" }\n\
         [blocking]\nrules = [[\"email\"]]\n[[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\n",
    );
    assert_eq!(
        errors(dir.path(), &text),
        [format!(
            "{}:16:13: sources[1].delimiter: applies to csv sources only; remove it or set \
             format = \"csv\"",
            dir.path().join("p.toml").display()
        )]
    );
}

#[test]
fn block_keys_parse() {
    let ok = |s: &str, field: &str, transform| {
        assert_eq!(
            parse_block_key(s),
            Ok(BlockKey {
                field: field.to_string(),
                transform
            }),
            "{s}"
        )
    };
    ok("email", "email", KeyTransform::Identity);
    ok(" nysiis( last_name ) ", "last_name", KeyTransform::Nysiis);
    ok("soundex(last_name)", "last_name", KeyTransform::Soundex);
    ok("left(postcode,2)", "postcode", KeyTransform::Prefix(2));
    assert_eq!(
        parse_block_key("left(postcode, 0)"),
        Err("`left` needs a length of at least 1, got `0`, as in `left(postcode, 3)`".into())
    );
    assert_eq!(
        parse_block_key("metaphone(first_name"),
        Err(
            "invalid key `metaphone(first_name`; write `field` or `function(field)`, such as \
             `metaphone(first_name)` or `left(postcode, 3)`"
                .into()
        )
    );
    assert_eq!(
        parse_block_key("year(a, b)"),
        Err("`year` takes one field, as in `year(first_name)`".into())
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
