//! `infoplane dpi`: data-processing-inequality and bound checks on an estimates table.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::diagnostics::dpi;
use infoplane::table::estimates;
use infoplane::util::fsutil;

use super::Outcome;

/// Exit status of `dpi --fail-on-violation` when a definite violation exists.
const EXIT_VIOLATION: u8 = 3;

/// Flags of `dpi`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Estimates table (.csv or .parquet) written by `infoplane estimate`.
    results: PathBuf,
    /// Differences up to this much (in the table's unit) are not violations.
    #[arg(long, default_value_t = dpi::DEFAULT_TOLERANCE)]
    tolerance: f64,
    /// Exit with status 3 when a definite violation exists.
    #[arg(long)]
    fail_on_violation: bool,
    /// Write the violations table here (.csv or .parquet).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `dpi`.
pub fn run(a: Args) -> Outcome {
    dpi::validate_tolerance(a.tolerance)?;
    if let Some(out) = &a.out {
        fsutil::refuse_same_outputs(&[&a.results, out])?;
    }
    let t = estimates::read(&a.results)?;
    let v = dpi::check(&t.rows, a.tolerance / t.unit.from_nats())?;
    let summary = dpi::summary(&v, &t.rows, t.unit);
    out!("{}", summary.trim_end());
    if let Some(out) = &a.out {
        infoplane::table::write(&mut dpi::violations_table(&v, t.unit)?, out)?;
        out!("wrote {} ({} rows)", out.display(), v.len());
    }
    if a.fail_on_violation && dpi::has_definite(&v) {
        return Ok(ExitCode::from(EXIT_VIOLATION));
    }
    Ok(ExitCode::SUCCESS)
}
