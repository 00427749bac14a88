//! `golden runs OUTPUT_DIR`.

use std::path::Path;

use crate::Result;
use crate::output::runs::{RunInfo, list_runs};
use crate::run::{Liveness, LockHolder};

/// Prints one line per run directory, newest first, and who holds the lock if anyone does.
pub fn runs(output_dir: &Path) -> Result<()> {
    let runs = list_runs(output_dir)?;
    let mut text = if runs.is_empty() {
        format!("no runs in {}\n", output_dir.display())
    } else {
        table(&runs)
    };
    if let Some(h) = LockHolder::read(&output_dir.join(crate::run::layout::LOCK)) {
        let state = match h.liveness() {
            Liveness::Alive => "running",
            Liveness::Stale => "stale: its run is gone; the next `golden run` takes it over",
            Liveness::Unknown => {
                "cannot tell whether its run is alive; `golden run --break-lock` removes it once that run is gone"
            }
        };
        text.push_str(&format!("lock: {} ({state})\n", h.text));
    }
    super::print::stdout(&text)
}

/// The listing as aligned text columns.
fn table(runs: &[RunInfo]) -> String {
    let num = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
    let mut rows = vec![[
        String::new(),
        "RUN".to_string(),
        "STATE".to_string(),
        "STATUS".to_string(),
        "GOLDEN".to_string(),
        "READ".to_string(),
        "REJECTED".to_string(),
        "DURATION".to_string(),
    ]];
    for r in runs {
        rows.push([
            if r.latest { "*" } else { "" }.to_string(),
            r.run_id.clone(),
            r.state.as_str().to_string(),
            r.status(),
            num(r.golden_records()),
            num(r.rows_read()),
            num(r.rows_rejected()),
            r.duration_s().map_or("-".into(), |s| format!("{s:.1}s")),
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
