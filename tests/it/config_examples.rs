//! The pipeline files the project shows, loaded through `golden::config`: README's example (in
//! a temporary folder holding the files it names) and every file in `pipelines/`.

use golden::config::{Format, Method, Rule};

use crate::util::{repo, tempdir};

/// The ```toml block under README's "## The pipeline file".
fn readme_example() -> String {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let section = readme
        .split_once("\n## The pipeline file\n")
        .expect("README has a section `## The pipeline file`")
        .1;
    let block = section
        .split_once("\n```toml\n")
        .expect("the section has a ```toml block")
        .1;
    block
        .split_once("\n```")
        .expect("the block is closed")
        .0
        .to_string()
        + "\n"
}

/// A folder holding the files README's example names (empty: loading checks only that they
/// exist), and the example's path in it.
fn readme_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempdir();
    for f in ["exports/crm-2024.csv", "decisions/manual.csv", "model.json"] {
        let path = dir.path().join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "").unwrap();
    }
    let path = dir.path().join("nightly.toml");
    (dir, path)
}

#[test]
fn readme_pipeline_example_is_valid_but_for_its_dangling_names() {
    // The example shows one source and two comparisons of a larger pipeline, so five names in
    // it point at parts it leaves out; everything else in it is valid.
    let (_dir, path) = readme_dir();
    let errs = golden::config::load_str(&readme_example(), &path).unwrap_err();
    let got: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
    let f = path.display();
    assert_eq!(
        got,
        [
            format!(
                "{f}:32:29: blocking.rules[3][1]: field `postcode` is not mapped by any source; \
                 mapped fields: first_name, last_name, email, phone, birth_date"
            ),
            format!(
                "{f}:49:19: model.term_frequency[0]: `last_name` is not compared; \
                 term-frequency adjustment applies to compared fields: first_name, birth_date"
            ),
            format!(
                "{f}:59:26: model.conflict_unless_exact[0]: `email` is not compared; name \
                 compared fields: first_name, birth_date"
            ),
            format!(
                "{f}:63:20: survivorship.source_priority[0]: unknown source `billing`; sources: crm"
            ),
            format!(
                "{f}:63:38: survivorship.source_priority[2]: unknown source `support`; sources: crm"
            ),
        ]
    );
}

#[test]
fn readme_pipeline_example_loads_as_its_comments_say_with_its_parts_filled_in() {
    let (dir, path) = readme_dir();
    let whole = readme_example()
        .replace(
            "birth_date = \"date_of_birth\"\n",
            "birth_date = \"date_of_birth\"\npostcode = \"zip\"\n",
        )
        .replace(
            "[model]\n",
            "[[comparisons]]\nfield = \"last_name\"\nmethod = \"jaro_winkler\"\n\n\
             [[comparisons]]\nfield = \"email\"\nmethod = \"exact\"\n\n[model]\n",
        )
        .replace(r#"["billing", "crm", "support"]"#, r#"["crm"]"#);
    let p = golden::config::load_str(&whole, &path).unwrap();
    assert_eq!(p.name, "nightly-customers");
    assert_eq!(p.output.keep_runs, Some(30));
    let crm = &p.sources[0];
    assert_eq!(crm.files, [dir.path().join("exports/crm-2024.csv")]);
    assert_eq!((crm.format, crm.delimiter), (Format::Csv, b';'));
    assert_eq!(
        crm.fields[1],
        ("last_name".into(), "trim(\"Surname\")".into())
    );
    assert_eq!(p.blocking.rules.len(), 4);
    assert_eq!(p.blocking.rules[3].text, "metaphone(first_name) & postcode");
    assert_eq!(p.blocking.max_block_size, 5000);
    assert_eq!(p.comparisons[0].method, Method::JaroWinkler);
    assert_eq!(p.comparisons[0].levels, [0.92, 0.80]);
    assert_eq!(p.comparisons[1].method, Method::Date);
    let m = &p.model;
    assert_eq!(
        (m.match_threshold, m.review_threshold),
        (Some(0.95), Some(0.60))
    );
    assert_eq!(
        (m.u_sample_pairs, m.em_max_iterations, m.seed),
        (1_000_000, 50, 42)
    );
    assert_eq!(m.model_file, Some(dir.path().join("model.json")));
    assert_eq!(m.conflict_field.as_deref(), Some("first_name"));
    assert_eq!(
        p.manual_decisions,
        Some(dir.path().join("decisions/manual.csv"))
    );
    assert_eq!(p.survivorship.rule_for("email"), Rule::MostFrequent);
    assert_eq!(p.survivorship.rule_for("phone"), Rule::SourcePriority);
    assert_eq!(p.survivorship.rule_for("first_name"), Rule::MostRecent);
    assert_eq!(p.scheduler, None, "[engine] scheduler is commented out");
}

#[test]
fn every_pipeline_in_pipelines_loads() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(repo("pipelines")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let p =
                golden::config::load(&path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
            assert!(
                p.sources.iter().all(|s| !s.files.is_empty()),
                "{}",
                path.display()
            );
            names.push(p.name);
        }
    }
    names.sort();
    assert_eq!(names, ["demo"]);
}
