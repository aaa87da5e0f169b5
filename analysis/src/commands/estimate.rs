//! `infoplane estimate`: I(X;Z) and I(Y;Z) per (layer, epoch, estimator, setting) into a table.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::archive::{fsutil, Archive};
use infoplane::estimates::EstimateRequest;
use infoplane::estimator::EstimatorParams;
use infoplane::selection::Epochs;
use infoplane::sweep::{self, Shard};
use infoplane::table::estimates::{self as table, Unit};

use super::{bar, parse_epochs, Outcome};

/// Flags of `estimate`: every estimator's parameters come from the library's registry.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive directories (one table for all; rows in the order given).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Estimators: kl (upper bound), bd (Bhattacharyya lower bound), mc (Monte-Carlo, between
    /// them), bin (binning), renyi (matrix-based Rényi α-entropy), mine (neural, needs stored
    /// inputs).
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
    /// Only shard i of n of the (archive, layer, epoch) units: i/n deals them by a stable hash,
    /// slice:i/n in contiguous slices of equal cost N²·H (1 ≤ i ≤ n).
    #[arg(long, value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Skip the units already in these tables (files, or folders of parts): a failed shard's
    /// units are estimated again, and nothing else.
    #[arg(long, num_args = 1..)]
    only_missing: Vec<PathBuf>,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    Shard::parse(s).map_err(|e| e.to_string())
}

/// Runs `estimate`.
pub fn run(a: Args) -> Outcome {
    let req = EstimateRequest {
        estimators: a.estimator,
        params: a.params,
        layers: a.layers,
        epochs: a.epochs,
        units: None,
    };
    req.build()?;
    for dir in &a.dirs {
        fsutil::refuse_output_inside(&a.out, dir)?;
    }
    let archives = a
        .dirs
        .iter()
        .map(|d| Archive::open(d))
        .collect::<Result<Vec<_>, _>>()?;
    let present = sweep::present_units(&a.only_missing)?;
    let pb = bar("estimating");
    let rows = sweep::estimate_units(&archives, &req, a.shard.as_ref(), &present, &mut |d, t| {
        pb.set_length(t as u64);
        pb.set_position(d as u64);
    })?;
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
