//! `infoplane aggregate`: estimates tables of several runs (seeds) of one configuration into
//! means, spreads and 95 % t-intervals per (layer, epoch, estimator, setting).

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::diagnostics::aggregate::{self, By};
use infoplane::table::estimates;
use infoplane::util::fsutil;

use super::Outcome;

/// Flags of `aggregate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Estimates tables (.csv or .parquet), one or more runs each.
    #[arg(required = true)]
    tables: Vec<PathBuf>,
    /// What tells the runs apart: the recording seed, or the run name.
    #[arg(long, value_enum, default_value_t = By::Seed)]
    by: By,
    /// Aggregate table (.csv or .parquet); it reads back as an estimates table (means), so
    /// that `plot --kind infoplane` draws it with interval bands.
    #[arg(long, default_value = "aggregate.csv")]
    out: PathBuf,
}

/// Runs `aggregate`.
pub fn run(a: Args) -> Outcome {
    let mut paths: Vec<&std::path::Path> = a.tables.iter().map(PathBuf::as_path).collect();
    paths.push(&a.out);
    fsutil::refuse_same_outputs(&paths)?;
    let tables = a
        .tables
        .iter()
        .map(|p| Ok((p.clone(), estimates::read(p)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let agg = aggregate::aggregate(&tables, a.by)?;
    for n in &agg.notes {
        out!("note: {n}");
    }
    infoplane::table::write(&mut aggregate::aggregate_table(&agg, agg.unit)?, &a.out)?;
    let runs = agg.extra.iter().map(|e| e.runs).max().unwrap_or(0);
    out!(
        "wrote {} ({} rows, {runs} runs each at most)",
        a.out.display(),
        agg.rows.len()
    );
    Ok(ExitCode::SUCCESS)
}
