//! DESIGN §2's example: valid but for the names it leaves dangling.

use super::*;
use crate::config::{Format, Rule};

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
