//! Hostile input (issue 12): what a careless or a hostile user does to golden. Every case
//! checks the documented exit code, that every input row ends in exactly one of crosswalk and
//! rejects, that no customer value reaches stdout or stderr at any log level, that nothing is
//! written outside the output directory, and that `latest` survives a failure.
//!
//! [`Case`] is one scratch directory with its inputs, a pipeline and an output directory;
//! [`Case::golden`] runs the binary there with `RUST_LOG=golden=trace` and checks that no file
//! outside `out/` changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{strings, table};

mod csv;
mod inputs;
mod model;
mod ndjson;
mod nightly;
mod outputs;
mod parquet;
mod placeholders;
mod reader;
mod readers;

/// The comparisons and fixed model shared by every case (`tests/data/tiny/model.json`), so
/// that a case of a few rows needs no training.
pub const MODEL: &str = r#"
[standardize]
default_phone_region = "GB"

[blocking]
rules = [["email"], ["phone"], ["last_name", "birth_date"]]

[[comparisons]]
field = "first_name"
method = "jaro_winkler"
levels = [0.9]

[[comparisons]]
field = "last_name"
method = "jaro_winkler"
levels = [0.9]

[[comparisons]]
field = "email"
method = "exact"

[[comparisons]]
field = "phone"
method = "exact"

[[comparisons]]
field = "postcode"
method = "exact"

[[comparisons]]
field = "birth_date"
method = "date"

[model]
model_file = "model.json"
match_threshold = 0.9
review_threshold = 0.5
"#;

/// One scratch directory: inputs, `pipeline.toml`, `model.json` and `out/`.
pub struct Case {
    dir: tempfile::TempDir,
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Case {
    /// A fresh case with the shared `model.json` in place.
    pub fn new() -> Case {
        let dir = tempfile::tempdir().expect("temp dir");
        let model = crate::util::repo("tests/data/tiny/model.json");
        std::fs::copy(model, dir.path().join("model.json")).expect("model copied");
        Case { dir }
    }

    /// Path of `rel` inside the case.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `bytes` to `rel` (parent folders created).
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("folders");
        }
        std::fs::write(&p, bytes).expect("file written");
        p
    }

    /// Writes `pipeline.toml`: `sources` (TOML `[[sources]]` tables) followed by [`MODEL`].
    pub fn pipeline(&self, sources: &str) -> PathBuf {
        let text = format!("name = \"hostile\"\n[output]\ndir = \"out\"\n\n{sources}\n{MODEL}");
        self.write("pipeline.toml", text)
    }

    /// The output directory.
    pub fn out(&self) -> PathBuf {
        self.path("out")
    }

    /// Where `out/latest` points, if anywhere.
    pub fn latest(&self) -> Option<PathBuf> {
        std::fs::read_link(self.out().join("latest")).ok()
    }

    /// Runs `golden ARGS` in the case's directory at trace level; asserts that no file outside
    /// `out/` was created, changed or removed.
    pub fn golden(&self, args: &[&str]) -> Outcome {
        self.golden_in(".", args)
    }

    /// [`Case::golden`] run from folder `rel` of the case (which must exist).
    pub fn golden_in(&self, rel: &str, args: &[&str]) -> Outcome {
        let before = snapshot(self.dir.path());
        let out = Command::new(env!("CARGO_BIN_EXE_golden"))
            .args(args)
            .current_dir(self.path(rel))
            .env("RUST_LOG", "golden=trace")
            .output()
            .expect("the golden binary runs");
        let after = snapshot(self.dir.path());
        assert_eq!(before, after, "golden {args:?} wrote outside out/");
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `golden run pipeline.toml` with `extra` arguments.
    pub fn run(&self, extra: &[&str]) -> Outcome {
        let mut args = vec!["run", "pipeline.toml"];
        args.extend_from_slice(extra);
        self.golden(&args)
    }
}

impl Outcome {
    /// Asserts the exit code.
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "exit code; stderr:\n{}", self.stderr);
        self
    }

    /// Asserts that none of `values` appears in stdout or stderr.
    pub fn no_values(&self, values: &[&str]) -> &Self {
        for v in values {
            assert!(
                !self.stdout.contains(v) && !self.stderr.contains(v),
                "customer value {v:?} printed:\nstdout:\n{}\nstderr:\n{}",
                self.stdout,
                self.stderr
            );
        }
        self
    }

    /// Asserts that stderr contains `text`.
    pub fn says(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// Every file under `root` except `out/`, with its size and modification time.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u64, Option<std::time::SystemTime>)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p == root.join("out") {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p.clone());
            }
            files.insert(p, (meta.len(), meta.modified().ok()));
        }
    }
    files
}

/// Asserts that run directory `run` accounts for every row of every input file exactly once:
/// `rows` maps (source, file name) to its row count, and the (source, file, row number) keys of
/// crosswalk and rejects together are exactly 1..=n of each file, none twice.
pub fn assert_accounted(run: &Path, rows: &[(&str, &str, u64)]) {
    let mut seen: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for (name, file_col) in [("crosswalk", "source_file"), ("rejects", "file")] {
        let t = table(run, name);
        let sources = strings(&t, "source");
        let files = strings(&t, file_col);
        let numbers = strings(&t, "row_number");
        for ((s, f), n) in sources.into_iter().zip(files).zip(numbers) {
            let f = f.unwrap_or_default();
            let file = Path::new(&f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(f);
            let n: u64 = n.and_then(|n| n.parse().ok()).expect("row number");
            seen.entry((s.unwrap_or_default(), file))
                .or_default()
                .push(n);
        }
    }
    let expected: BTreeSet<(String, String)> = rows
        .iter()
        .map(|(s, f, _)| (s.to_string(), f.to_string()))
        .collect();
    let got: BTreeSet<(String, String)> = seen.keys().cloned().collect();
    assert_eq!(got, expected, "files in crosswalk and rejects");
    for (s, f, n) in rows {
        let mut numbers = seen[&(s.to_string(), f.to_string())].clone();
        numbers.sort_unstable();
        let want: Vec<u64> = (1..=*n).collect();
        assert_eq!(
            numbers, want,
            "rows of {s}/{f}: each once in crosswalk or rejects"
        );
    }
}

/// (row number, reason) of every reject of `source`, in row order.
pub fn rejects_of(run: &Path, source: &str) -> Vec<(u64, String)> {
    let t = table(run, "rejects");
    let mut out: Vec<(u64, String)> = strings(&t, "source")
        .into_iter()
        .zip(strings(&t, "row_number"))
        .zip(strings(&t, "reason"))
        .filter(|((s, _), _)| s.as_deref() == Some(source))
        .map(|((_, n), r)| {
            (
                n.and_then(|n| n.parse().ok()).unwrap_or(0),
                r.unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

/// A `[[sources]]` table for a CSV file `path` with id `contact_id` and the tiny fixture's
/// columns (`first_name`, `last_name`, `email`, `phone`, `postcode`, `dob`).
pub fn crm_source(path: &str) -> String {
    format!(
        r#"[[sources]]
name = "crm"
path = "{path}"
id = "contact_id"
max_reject_ratio = 0.9
[sources.fields]
first_name = "first_name"
last_name = "last_name"
email = "email"
phone = "phone"
postcode = "postcode"
birth_date = "dob"
"#
    )
}

/// The tiny fixture's CSV header.
pub const CRM_HEADER: &str = "contact_id,first_name,last_name,email,phone,postcode,dob\n";

/// Customer values of [`committed`]'s input, which no output may show.
pub const VALUES: &[&str] = &["Zebedee", "Quarmby", "zq@example.com", "900123", "Ottoline"];

/// A case with one committed run of three rows (one of them a reject); returns it with the
/// run's directory.
pub fn committed() -> (Case, PathBuf) {
    let case = Case::new();
    case.write(
        "crm.csv",
        format!(
            "{CRM_HEADER}C1,Zebedee,Quarmby,zq@example.com,07700 900123,SW1A 1AA,03/02/1985\n\
             C2,Ottoline,Quarmby,oq@example.com,07700 900456,SW1A 1AA,04/05/1990\n,,,,,,\n"
        ),
    );
    case.pipeline(&crm_source("crm.csv"));
    case.run(&[]).code(0).no_values(VALUES);
    let run = std::fs::canonicalize(case.out().join("latest")).expect("latest");
    assert_accounted(&run, &[("crm", "crm.csv", 3)]);
    (case, run)
}

#[test]
fn a_clean_case_accounts_for_every_row_and_prints_no_value() {
    let (_case, run) = committed();
    assert_eq!(rejects_of(&run, "crm"), vec![(3, "missing_id".to_string())]);
}
