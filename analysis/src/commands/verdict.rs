//! `infoplane verdict`: per layer, whether a fitting and a compression phase show, and under
//! which estimators, σ² and runs that conclusion holds.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::diagnostics::verdict;
use infoplane::table::estimates;
use infoplane::util::fsutil;

use super::Outcome;

/// Flags of `verdict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Estimates tables (.csv or .parquet) of one or more runs.
    #[arg(required = true)]
    tables: Vec<PathBuf>,
    /// A rise or fall smaller than this (in the tables' unit), or than twice the combined
    /// standard error where rows have one, is no trend.
    #[arg(long, default_value_t = verdict::DEFAULT_TOLERANCE)]
    tolerance: f64,
    /// Write the per-setting verdict table here (.csv or .parquet).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `verdict`.
pub fn run(a: Args) -> Outcome {
    let mut paths: Vec<&std::path::Path> = a.tables.iter().map(PathBuf::as_path).collect();
    if let Some(out) = &a.out {
        paths.push(out);
    }
    fsutil::refuse_same_outputs(&paths)?;
    let t = estimates::read_all(&a.tables)?;
    let (rows, unit) = (t.rows, t.unit);
    let v = verdict::verdict(&rows, a.tolerance / unit.from_nats())?;
    if let Some(n) = &v.note {
        out!("note: {n}");
    }
    for l in &v.layers {
        out!("{l}");
    }
    for d in &v.dpi {
        out!("DPI {d}");
    }
    if let Some(out) = &a.out {
        infoplane::table::write(&mut verdict::verdict_table(&v)?, out)?;
        out!("wrote {} ({} rows)", out.display(), v.settings.len());
    }
    Ok(ExitCode::SUCCESS)
}
