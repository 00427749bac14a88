//! The problems of each part of a pipeline: sources, blocking, comparisons, model, survivorship.

use super::*;
use crate::config::{BlockKey, KeyTransform};

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
            format!(
                "{f}:15:18: blocking.max_block_size: must be between 1 and 65536, got 0 (a block of 65536 records already holds two billion pairs)"
            ),
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
fn report_section_takes_redact_and_refuses_unknown_keys() {
    let dir = dir_with(&["crm.csv"]);
    let base = "[blocking]\nrules = [[\"email\"]]\n[[comparisons]]\nfield = \"email\"\n\
                method = \"exact\"\n[report]\n";
    let ok = one_source(&format!("{base}redact = true\n"));
    let p = load_str(&ok, &dir.path().join("p.toml")).unwrap();
    assert!(p.report.redact);
    let plain = load_str(&one_source(base), &dir.path().join("p.toml")).unwrap();
    assert!(!plain.report.redact);
    let bad = one_source(&format!("{base}redacted = true\n"));
    let errs = errors(dir.path(), &bad);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let want = format!(
        "{}:17:1: report.redacted: unknown key `redacted`; expected one of `redact`",
        dir.path().join("p.toml").display()
    );
    assert_eq!(errs[0], want);
}

#[test]
fn engine_scheduler_names_a_cluster_and_is_refused_where_golden_cannot_reach_one() {
    let dir = dir_with(&["crm.csv"]);
    let path = dir.path().join("p.toml");
    let base = "[blocking]\nrules = [[\"email\"]]\n[[comparisons]]\nfield = \"email\"\n\
                method = \"exact\"\n[engine]\n";
    let bad = one_source(&format!("{base}scheduler = \"localhost:50050\"\n"));
    let errs = errors(dir.path(), &bad);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let want = "p.toml:17:13: engine.scheduler: `localhost:50050` is not a scheduler: write \
                df://HOST:PORT (e.g. df://localhost:50050) or standalone";
    assert!(errs[0].ends_with(want), "{}", errs[0]);
    let url = one_source(&format!("{base}scheduler = \"df://localhost:50050\"\n"));
    // A finished run's copy is read by any build.
    let recorded = crate::config::load_recorded(&url, &path).unwrap();
    assert_eq!(recorded.scheduler.as_deref(), Some("df://localhost:50050"));
    if cfg!(feature = "distributed") {
        let p = load_str(&url, &path).unwrap();
        assert_eq!(p.scheduler.as_deref(), Some("df://localhost:50050"));
    } else {
        let errs = errors(dir.path(), &url);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].contains(
                "17:13: engine.scheduler: needs a golden built with the `distributed` feature"
            ),
            "{}",
            errs[0]
        );
    }
    let here = load_str(&one_source(base), &path).unwrap();
    assert_eq!(here.scheduler, None);
}
