//! Synthetic multi-source customer data with known truth, for tests and benchmarks.
//!
//! [`generate`] writes three exports of the same people — `crm.csv`, `billing.parquet` and
//! `support.ndjson`, each with its own id scheme and formats — plus `truth.csv` (which record
//! belongs to which person) and a `pipeline.toml` that consolidates them. Records carry the
//! corruptions real exports show (typos, nicknames, missing values, moves, marriages, new
//! phones, email spellings, birth-date typos), and about 10% of people belong to hard-negative
//! groups (twins, siblings, spouses, namesakes) that must not be merged; with
//! [`GenerateOptions::household_share`], about 30% live in families whose members share
//! e-mail, phone and address at that rate. The same seed gives byte-identical files.

mod people;
mod pools;
mod sources;
mod variant;
mod write;

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::{Error, Result};
use people::{PeopleGenerator, Person};
use sources::Source;
use write::{Sink, TextSink};

/// People generated, shuffled and written per chunk (bounds memory; ids do not follow truth).
const CHUNK_ENTITIES: usize = 64 * 1024;

/// Per source (in [`Source::ALL`] order): each record's entity number and column values.
type SourceRows = [Vec<(usize, Vec<Option<String>>)>; 3];

/// Options for synthetic data.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Number of true entities (people).
    pub entities: usize,
    /// Seed of every random choice; the same seed gives byte-identical files.
    pub seed: u64,
    /// Output directory, created if missing; existing files of the same names are replaced.
    pub out: PathBuf,
    /// Also write rows a robust reader must reject (not listed in `truth.csv`).
    pub broken_rows: bool,
    /// Chance in [0, 1] that a relative (twin, sibling, spouse, parent, child, junior) shares
    /// each of the base person's e-mail, phone and address, with about 30% of people in
    /// families of two to four. `None`: about 10% of people in hard-negative groups whose
    /// relatives always share address and phone and never an e-mail.
    pub household_share: Option<f64>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSummary {
    /// True entities generated.
    pub entities: usize,
    /// Valid records written over all sources (the rows of `truth.csv`).
    pub records: usize,
    /// Deliberately broken rows written (0 unless `broken_rows`).
    pub broken: usize,
    /// Every file written, in the order written.
    pub files: Vec<PathBuf>,
}

/// Writes `crm.csv`, `billing.parquet`, `support.ndjson`, `truth.csv` and `pipeline.toml`
/// into `opts.out`.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary> {
    if let Some(rate) = opts.household_share {
        household_share(&rate.to_string())
            .map_err(|e| Error::Usage(format!("--household-share: {e}")))?;
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut exports = Exports::create(opts)?;
    let mut people = PeopleGenerator::new(opts.household_share);
    let mut made = 0;
    while made < opts.entities {
        let target = CHUNK_ENTITIES.min(opts.entities - made);
        let mut rows = SourceRows::default();
        let mut in_chunk = 0;
        while in_chunk < target {
            for person in people.household(&mut rng, target - in_chunk) {
                in_chunk += 1;
                records_of(&mut rng, &person, &mut rows);
            }
        }
        made += in_chunk;
        exports.write_chunk(&mut rng, rows)?;
    }
    let (records, broken) = exports.finish()?;
    let pipeline = opts.out.join("pipeline.toml");
    std::fs::write(&pipeline, pipeline_toml(opts)).map_err(|e| Error::io(&pipeline, e))?;
    let mut files: Vec<PathBuf> = Source::ALL
        .iter()
        .map(|s| opts.out.join(s.file()))
        .collect();
    files.extend([opts.out.join("truth.csv"), pipeline]);
    Ok(GenerateSummary {
        entities: made,
        records,
        broken,
        files,
    })
}

/// Parses a `--household-share` rate: a number in [0, 1].
pub fn household_share(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "`{s}` is not a probability between 0 and 1; give one such as 0.3"
        )),
    }
}

/// Names of the files [`generate`] writes into its folder.
pub fn file_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Source::ALL.iter().map(|s| s.file()).collect();
    names.extend(["truth.csv", "pipeline.toml"]);
    names
}

/// Draws which sources hold `person` (at least one, sometimes twice) and appends a formatted
/// record to `rows[source]` for each.
fn records_of(rng: &mut StdRng, person: &Person, rows: &mut SourceRows) {
    let mut present = Source::ALL.map(|s| rng.random_bool(s.coverage()));
    if !present.iter().any(|&p| p) {
        let total: f64 = Source::ALL.iter().map(|s| s.coverage()).sum();
        let mut x = rng.random::<f64>() * total;
        let chosen = Source::ALL.iter().position(|s| {
            x -= s.coverage();
            x < 0.0
        });
        present[chosen.unwrap_or(0)] = true;
    }
    for (i, source) in Source::ALL.into_iter().enumerate() {
        if !present[i] {
            continue;
        }
        let copies = if rng.random_bool(source.duplicate()) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let v = variant::variant(rng, person, &source.missing());
            rows[i].push((person.entity, source.row(rng, v)));
        }
    }
}

/// The open output files and their id counters.
struct Exports {
    sinks: Vec<Sink>,
    truth: TextSink,
    /// Ids handed out per source (valid and broken rows).
    next_id: [usize; 3],
    records: usize,
    /// Whether broken rows are still to be written into the middle of the first chunk.
    broken_pending: bool,
    broken_rows: bool,
    broken: usize,
    first_crm_id: Option<String>,
}

impl Exports {
    fn create(opts: &GenerateOptions) -> Result<Exports> {
        let sinks = Source::ALL
            .iter()
            .map(|s| Sink::create(*s, &opts.out))
            .collect::<Result<_>>()?;
        let mut truth = TextSink::create(opts.out.join("truth.csv"))?;
        truth.csv(["source", "source_id", "entity_id"].map(Some))?;
        Ok(Exports {
            sinks,
            truth,
            next_id: [0; 3],
            records: 0,
            broken_pending: opts.broken_rows,
            broken_rows: opts.broken_rows,
            broken: 0,
            first_crm_id: None,
        })
    }

    fn next_id(&mut self, i: usize) -> String {
        self.next_id[i] += 1;
        Source::ALL[i].id(self.next_id[i])
    }

    /// Shuffles each source's rows, gives them ids and writes them with their truth rows.
    fn write_chunk(&mut self, rng: &mut StdRng, mut rows: SourceRows) -> Result<()> {
        for (i, source_rows) in rows.iter_mut().enumerate() {
            source_rows.shuffle(rng);
            let middle = source_rows.len() / 2;
            for (n, (entity, values)) in source_rows.iter().enumerate() {
                if n == middle && self.broken_pending {
                    self.write_broken_middle(i)?;
                }
                let id = self.next_id(i);
                self.sinks[i].row(&id, values)?;
                let entity = format!("E{entity:07}");
                self.truth.csv([
                    Some(Source::ALL[i].name()),
                    Some(id.as_str()),
                    Some(&entity),
                ])?;
                if i == 0 && self.first_crm_id.is_none() {
                    self.first_crm_id = Some(id);
                }
                self.records += 1;
            }
            if source_rows.is_empty() && self.broken_pending {
                self.write_broken_middle(i)?;
            }
        }
        self.broken_pending = false;
        Ok(())
    }

    /// Broken rows placed amid valid ones: in the CRM, a row with an extra column, one with
    /// invalid UTF-8 and one with an empty id; in support, a line that is not JSON.
    fn write_broken_middle(&mut self, i: usize) -> Result<()> {
        let lines: Vec<Vec<u8>> = match Source::ALL[i] {
            Source::Crm => {
                let extra = self.next_id(i);
                let bad_utf8 = self.next_id(i);
                vec![
                    crm_line(&extra, "Alice,Extra", ",unexpected").into_bytes(),
                    [
                        bad_utf8.as_bytes(),
                        b",Ren\xe9,Lat\xefn",
                        crm_rest().as_bytes(),
                    ]
                    .concat(),
                    crm_line("", "Nobody,Noid", "").into_bytes(),
                ]
            }
            Source::Support => {
                let id = self.next_id(i);
                vec![format!("{{\"user_id\":{id},\"given_name\":\"Trunc").into_bytes()]
            }
            Source::Billing => Vec::new(),
        };
        self.write_raw(i, &lines)
    }

    fn write_raw(&mut self, i: usize, lines: &[Vec<u8>]) -> Result<()> {
        for line in lines {
            self.sinks[i].raw(line)?;
            self.broken += 1;
        }
        Ok(())
    }

    /// Writes the trailing broken rows (a repeated CRM id, a JSON array line) and closes
    /// every file; returns the valid and broken row counts.
    fn finish(mut self) -> Result<(usize, usize)> {
        if self.broken_pending {
            for i in 0..Source::ALL.len() {
                self.write_broken_middle(i)?;
            }
        }
        if self.broken_rows {
            if let Some(id) = self.first_crm_id.take() {
                self.write_raw(0, &[crm_line(&id, "Dup,Licate", "").into_bytes()])?;
            }
            self.write_raw(2, &[b"[\"not\",\"an\",\"object\"]".to_vec()])?;
        }
        for sink in self.sinks {
            sink.finish()?;
        }
        self.truth.finish()?;
        Ok((self.records, self.broken))
    }
}

/// A CRM line with fixed contact details: `id,names,<rest>suffix`.
fn crm_line(id: &str, names: &str, suffix: &str) -> String {
    format!("{id},{names}{}{suffix}", crm_rest())
}

/// The columns after the names of a fixed, plausible CRM row.
fn crm_rest() -> &'static str {
    ",broken.row@example.com,07700 900001,1 Broken Road,London,SW1A 1AA,31/12/1990,2024-01-01 00:00:00"
}

/// The pipeline file for the generated exports (DESIGN §2), untuned as a new user would
/// write it from the README: no `[model]` section, no comparison levels.
fn pipeline_toml(opts: &GenerateOptions) -> String {
    let share = opts
        .household_share
        .map_or(String::new(), |r| format!(" --household-share {r}"));
    format!(
        r#"# Generated by `golden generate --entities {entities} --seed {seed}{share}`; truth is in truth.csv.
name = "generated"

[output]
dir = "out"

[[sources]]
name = "crm"
path = "crm.csv"
format = "csv"
id = "contact_id"
updated_at = "updated_at"
[sources.fields]
first_name = "first_name"
last_name = "last_name"
email = "email"
phone = "phone"
street = "street"
city = "city"
postcode = "postcode"
birth_date = "date_of_birth"

[[sources]]
name = "billing"
path = "billing.parquet"
format = "parquet"
id = "account_no"
updated_at = "modified"
[sources.fields]
full_name = "full_name"
email = "billing_email"
phone = "phone_number"
street = "address_line1"
city = "town"
postcode = "zip"
birth_date = "dob"

[[sources]]
name = "support"
path = "support.ndjson"
format = "ndjson"
id = "user_id"
updated_at = "last_seen"
[sources.fields]
first_name = "given_name"
last_name = "family_name"
email = "email_address"
phone = "tel"
city = "city"
postcode = "post_code"
birth_date = "birthday"

[standardize]
default_phone_region = "GB"

[blocking]
rules = [
  ["email"],
  ["phone"],
  ["last_name", "birth_date"],
  ["metaphone(first_name)", "postcode"],
  ["first_name", "birth_date"],
]

[[comparisons]]
field = "first_name"
method = "jaro_winkler"

[[comparisons]]
field = "last_name"
method = "jaro_winkler"

[[comparisons]]
field = "email"
method = "jaro_winkler"

[[comparisons]]
field = "phone"
method = "exact"

[[comparisons]]
field = "street"
method = "levenshtein"

[[comparisons]]
field = "city"
method = "jaro_winkler"

[[comparisons]]
field = "postcode"
method = "exact"

[[comparisons]]
field = "birth_date"
method = "date"

[survivorship]
default = "most_recent"
source_priority = ["billing", "crm", "support"]
[survivorship.fields]
email = "most_frequent"
phone = "source_priority"
"#,
        entities = opts.entities,
        seed = opts.seed,
    )
}

#[cfg(test)]
mod tests;
