//! The checker's tests: [`valid`] a whole pipeline, its shape errors and the order of its
//! problems; [`parts`] the problems of each part; [`design`] DESIGN §2's example.

mod design;
mod parts;
mod valid;

use super::*;

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

/// A pipeline with one source `crm` mapping `email` and `full_name`, then `rest`.
fn one_source(rest: &str) -> String {
    format!(
        "name = \"x\"\n[output]\ndir = \"o\"\n[[sources]]\nname = \"crm\"\npath = \"crm.csv\"\n\
         id = \"id\"\n[sources.fields]\nemail = \"e\"\nfull_name = \"n\"\n{rest}"
    )
}
