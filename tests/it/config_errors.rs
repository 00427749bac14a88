//! Pipeline-file errors through the library: every problem, with file:line:col and the fix.

use std::path::Path;

#[test]
fn semantic_problems_are_all_reported_with_positions() {
    let text = r#"name = "x"
[output]
dir = "out"
[[sources]]
name = "crm"
path = "does-not-exist-*.csv"
id = "id"
[sources.fields]
email = "email"
[blocking]
rules = [["email"], ["soundex(surname)"]]
[[comparisons]]
field = "email"
method = "jarowinkler"
[model]
match_threshold = 1.5
[survivorship]
default = "newest"
"#;
    let errs = golden::config::load_str(text, Path::new("/p/x.toml")).unwrap_err();
    let got: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        got,
        vec![
            "/p/x.toml:6:8: sources[0].path: `does-not-exist-*.csv` matches no file (looked in /p)",
            "/p/x.toml:11:22: blocking.rules[1][0]: field `surname` is not mapped by any source; mapped fields: email",
            "/p/x.toml:14:10: comparisons[0].method: unknown method `jarowinkler`; expected one of exact, jaro_winkler, jaro, levenshtein, damerau_levenshtein, date",
            "/p/x.toml:16:19: model.match_threshold: 1.5 is outside (0, 1); use a probability such as 0.95",
            "/p/x.toml:18:11: survivorship.default: unknown rule `newest`; expected one of most_recent, most_frequent, source_priority, longest, first_non_null",
        ]
    );
}
