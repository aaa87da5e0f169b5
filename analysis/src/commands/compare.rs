//! `infoplane compare`: estimate tables joined on (layer, epoch), by estimator, run or σ².

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::diagnostics::compare::{self, By};
use infoplane::plot;
use infoplane::table::estimates;
use infoplane::util::fsutil;

use super::{beside, Outcome};

/// Flags of `compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Estimates tables (one or more).
    #[arg(required = true)]
    results: Vec<PathBuf>,
    /// What differs between the compared groups: estimator, run or sigma2.
    #[arg(long, value_enum, default_value_t = By::Estimator)]
    by: By,
    /// Compare runs even when their analysis sets differ.
    #[arg(long)]
    force: bool,
    /// Output diff table (.csv or .parquet); the rank agreement goes beside it as <stem>-ranks.csv.
    #[arg(long)]
    out: PathBuf,
    /// Draw side-by-side information planes (PNG and SVG) at this path (extension ignored).
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// Runs `compare`.
pub fn run(a: Args) -> Outcome {
    for input in &a.results {
        fsutil::refuse_same_outputs(&[input, &a.out])?;
    }
    let mut rows = Vec::new();
    let mut unit = None;
    for p in &a.results {
        let t = estimates::read(p)?;
        unit.get_or_insert(t.unit);
        rows.extend(t.rows);
    }
    let unit = unit.unwrap_or_default();
    let c = compare::compare(&rows, a.by, a.force)?;
    infoplane::table::write(&mut compare::diff_table(&c, unit)?, &a.out)?;
    let ranks = beside(&a.out, "ranks", "compare");
    infoplane::table::write(&mut compare::rank_table(&c)?, &ranks)?;
    let flips = c.ranks.iter().filter(|r| !r.flips.is_empty()).count();
    out!(
        "{} vs {}: {} joined rows; layer orderings differ at {flips} of {} (epoch, quantity) pairs",
        c.groups[0],
        c.groups[1..].join(", "),
        c.diffs.len(),
        c.ranks.len()
    );
    out!("wrote {} and {}", a.out.display(), ranks.display());
    if let Some(p) = &a.plot {
        let files = plot::information_plane(p, &plot::plane::plane_panels(&rows, unit), false)?;
        out!("wrote {} plots", files.len());
    }
    Ok(ExitCode::SUCCESS)
}
