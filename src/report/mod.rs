//! Stage "report": a run directory → `report.html`, one self-contained page (no network
//! access; charts as inline SVG drawn by a small inline script from JSON in the page) with tabs
//! for the run summary, the source profile, the model, the review queue (with an export to
//! `decisions/manual.csv`) and the clusters. Built from what the run wrote, read through the
//! run store — except that a run writing its own report passes the crosswalk and the links it
//! still holds ([`index::Known`]) instead of reading millions of keys back — so `golden
//! report` rebuilds the same bytes from the files (tested); values are `***` when redacted.

pub mod clusters;
pub mod index;
pub mod model;
pub mod read;
pub mod records;
pub mod review;
pub mod summary;

use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

use crate::output::Manifest;
use crate::{Error, Result};

/// How a report is built.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    /// Write `***` for every customer value (also when the run's manifest asks for it).
    pub redact: bool,
}

/// The run's header line.
#[derive(Serialize)]
struct RunHead<'a> {
    run_id: &'a str,
    pipeline: &'a str,
    started_at: &'a str,
    golden_version: &'a str,
    mode: &'a str,
}

/// What the inline script draws from: the model, the waterfalls and the cluster graphs.
#[derive(Serialize)]
struct ChartData<'a> {
    run_id: &'a str,
    model: &'a model::ModelView,
    review: &'a review::ReviewView,
    clusters: &'a clusters::ClustersView,
}

/// The report of the run in `dir`, as HTML; `known`: what the run writing it still holds.
pub fn build(dir: &Path, opts: ReportOptions, known: Option<index::Known>) -> Result<String> {
    let clock = std::time::Instant::now();
    let lap = |part: &str| {
        tracing::debug!(
            part,
            seconds = clock.elapsed().as_secs_f64(),
            "report part read"
        )
    };
    let m = read::manifest(dir)?;
    let params = read::model(dir)?;
    let redact = opts.redact || m.report_redact;
    let (match_threshold, _) = model::thresholds(&m, params.as_ref());
    let summary = summary::summary(dir, &m)?;
    lap("summary");
    // Decoding the tables is most of the report's time: golden, crosswalk and decisions side
    // by side, then the profile beside the review queue and the clusters.
    let (golden, xw, links) = index::clusters(dir, known)?;
    let (profile, views) = rayon::join(
        || summary::profile(&m, &golden, &xw),
        || -> Result<_> {
            let review = review::review_view(dir, params.as_ref(), match_threshold)?;
            Ok((review, clusters::clusters_view(&golden, &xw, links)?))
        },
    );
    let (profile, (mut review, mut clusters)) = (profile?, views?);
    drop((golden, xw));
    let model = model::model_view(&m, params.as_ref());
    lap("profile, review and clusters");
    let mut wanted = clusters::wanted(&clusters);
    wanted.extend(
        review
            .pairs
            .iter()
            .flat_map(|p| [p.keys.0.clone(), p.keys.1.clone()]),
    );
    let values = records::read_values(dir, &wanted)?;
    lap("records");
    review::fill_values(&mut review, values.as_ref(), redact);
    clusters::fill_values(&mut clusters, values.as_ref(), redact);
    let data = ChartData {
        run_id: &m.run_id,
        model: &model,
        review: &review,
        clusters: &clusters,
    };
    let context = minijinja::context! {
        run => Value::from(Serde(head(&m))),
        redacted => redact,
        summary => Value::from(Serde(&summary)),
        profile => Value::from(Serde(&profile)),
        model => Value::from(Serde(&model)),
        review => Value::from(Serde(&review)),
        clusters => Value::from(Serde(&clusters)),
        style => Value::from_safe_string(include_str!("templates/style.css").into()),
        script => Value::from_safe_string(include_str!("templates/script.js").into()),
        data => Value::from_safe_string(script_json(&data)?),
    };
    render(context)
}

/// The header fields of manifest `m`.
fn head(m: &Manifest) -> RunHead<'_> {
    RunHead {
        run_id: &m.run_id,
        pipeline: &m.pipeline,
        started_at: &m.started_at,
        golden_version: &m.golden_version,
        mode: &m.mode,
    }
}

/// `data` as JSON that is safe inside a `<script>` element (no `<`, so no `</script>`).
fn script_json(data: &impl Serialize) -> Result<String> {
    let json =
        serde_json::to_string(data).map_err(|e| Error::Internal(format!("report data: {e}")))?;
    Ok(json.replace('<', "\\u003c"))
}

/// The page's templates, each under its file name.
const TEMPLATES: [(&str, &str); 6] = [
    ("report.html", include_str!("templates/report.html")),
    ("summary.html", include_str!("templates/summary.html")),
    ("profile.html", include_str!("templates/profile.html")),
    ("model.html", include_str!("templates/model.html")),
    ("review.html", include_str!("templates/review.html")),
    ("clusters.html", include_str!("templates/clusters.html")),
];

/// Renders the page from `context`.
fn render(context: Value) -> Result<String> {
    let mut env = Environment::new();
    let bug = |e: minijinja::Error| Error::Internal(format!("report template: {e:#}"));
    for (name, source) in TEMPLATES {
        env.add_template(name, source).map_err(bug)?;
    }
    env.get_template("report.html")
        .and_then(|t| t.render(context))
        .map_err(bug)
}

/// Builds the report of run directory `dir` (with what the run writing it holds, `known`) and
/// writes it there as `report.html`.
pub fn write(dir: &Path, opts: ReportOptions, known: Option<index::Known>) -> Result<()> {
    let html = build(dir, opts, known)?;
    crate::run::write_file(&dir.join(crate::run::layout::REPORT), html.as_bytes())
}

/// `golden report`: rebuilds `run/report.html` (atomically; the same bytes as the run wrote,
/// which `golden verify` checks), or writes the report to `out` (checked by
/// [`crate::run::guard_output_file`]). Redacting is only for `out`: the run's own file is
/// checksummed. Returns the file written.
pub fn rebuild(run: &Path, out: Option<&Path>, redact: bool) -> Result<PathBuf> {
    let dir = crate::run::resolve_run(run)?;
    let target = match out {
        Some(out) => crate::run::guard_output_file(out, std::slice::from_ref(&dir))?,
        None if redact => {
            return Err(Error::Usage(
                "--redact needs --out FILE: the run's own report.html is checksummed in its manifest; write the redacted report elsewhere".into(),
            ));
        }
        None => dir.join(crate::run::layout::REPORT),
    };
    let html = build(&dir, ReportOptions { redact }, None)?;
    crate::run::replace_file(&target, |tmp| crate::run::write_file(tmp, html.as_bytes()))?;
    Ok(target)
}
