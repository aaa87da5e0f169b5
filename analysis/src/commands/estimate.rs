//! `infoplane estimate`: I(X;Z) and I(Y;Z) per (layer, epoch, estimator, setting) into a table.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::archive::{fsutil, Archive};
use infoplane::estimates::{self, EstimateRequest};
use infoplane::estimator::EstimatorParams;
use infoplane::selection::Epochs;
use infoplane::table::estimates::{self as table, Unit};

use super::{bar, parse_epochs, Outcome};

/// Flags of `estimate`: every estimator's parameters come from the library's registry.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive directory.
    dir: PathBuf,
    /// Estimators: kl (upper bound), bd (Bhattacharyya lower bound), bin (binning), renyi
    /// (matrix-based Rényi α-entropy), mine (neural, needs stored inputs).
    #[arg(long, value_delimiter = ',', default_value = "kl,bd")]
    estimator: Vec<String>,
    /// Every estimator's parameters.
    #[command(flatten)]
    params: EstimatorParams,
    /// Layers to estimate (default: all).
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<String>>,
    /// Epochs: all, last, every:K, or a list like 0,5,10..20.
    #[arg(long, default_value = "all", value_parser = parse_epochs)]
    epochs: Epochs,
    /// Unit of the information columns.
    #[arg(long, value_enum, default_value_t = Unit::Bits)]
    unit: Unit,
    /// Output table: .csv or .parquet.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `estimate`.
pub fn run(a: Args) -> Outcome {
    let req = EstimateRequest {
        estimators: a.estimator,
        params: a.params,
        layers: a.layers,
        epochs: a.epochs,
    };
    req.build()?;
    fsutil::refuse_output_inside(&a.out, &a.dir)?;
    let archive = Archive::open(&a.dir)?;
    let pb = bar("estimating");
    let rows = estimates::estimate_archive(
        &archive,
        &req,
        &mut |d, t| {
            pb.set_length(t as u64);
            pb.set_position(d as u64);
        },
        None,
    )?;
    pb.finish_and_clear();
    table::write(&rows, a.unit, &a.out)?;
    let saturated = rows.iter().filter(|r| r.saturated).count();
    out!(
        "wrote {} ({} rows; {} saturated)",
        a.out.display(),
        rows.len(),
        saturated
    );
    Ok(ExitCode::SUCCESS)
}
