//! `infoplane estimate`: I(X;Z) and I(Y;Z) per (layer, epoch, estimator, setting) into a table.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::archive::Archive;
use infoplane::estimator::{registry, EstimatorParams};
use infoplane::run::EstimateRequest;
use infoplane::selection::Epochs;
use infoplane::sweep::{self, Shard};
use infoplane::table::estimates::{self as table, Unit};
use infoplane::util::fsutil;

use super::{bar, parse_epochs, Outcome};

/// Flags of `estimate`: every estimator's parameters come from the library's registry.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive directories (one table for all; rows in the order given).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    #[arg(
        long,
        value_delimiter = ',',
        default_value = registry::DEFAULT_ESTIMATORS_TEXT,
        help = registry::help()
    )]
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
    /// The archive's label set that Y is, by name (default: its first; `infoplane inspect`
    /// lists them). Rows of another set than the first say `labels=NAME` in their setting.
    #[arg(long)]
    labels: Option<String>,
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
        labels: a.labels,
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
    let saturated = rows.iter().filter(|r| r.is_saturated()).count();
    out!(
        "wrote {} ({} rows; {} saturated)",
        a.out.display(),
        rows.len(),
        saturated
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use infoplane::estimator::{params, EstimatorParams};
    use infoplane::report::ReportParams;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        estimator: EstimatorParams,
    }

    #[derive(Debug, Parser)]
    struct Report {
        #[command(flatten)]
        report: ReportParams,
    }

    #[test]
    fn the_command_line_defaults_are_the_library_defaults() {
        // No flag given: every value is the library's Default, which Python's defaults are too
        // (params::from_json of nothing).
        let f = Flags::try_parse_from(["infoplane"]).unwrap();
        assert_eq!(f.estimator, EstimatorParams::default());
        assert_eq!(f.estimator, params::from_json("{}").unwrap());
        let r = Report::try_parse_from(["infoplane"]).unwrap();
        assert_eq!(r.report, ReportParams::default());
    }

    #[test]
    fn every_flag_is_a_parameter_name_and_back() {
        // Each library parameter is the flag of the same name (underscores for dashes), and
        // setting it from either front end gives one value.
        let f = Flags::try_parse_from([
            "infoplane",
            "--sigma2",
            "0.01,1.0,nn*4",
            "--renyi-width",
            "silverman:1.2",
            "--mine-hidden",
            "16,8",
            "--renyi-large",
            "subsets",
        ])
        .unwrap();
        let p = params::from_json(
            r#"{"sigma2": [0.01, 1, "nn*4"], "renyi_width": "silverman:1.2",
                "mine_hidden": [16, 8], "renyi_large": "subsets"}"#,
        )
        .unwrap();
        assert_eq!(f.estimator, p);
        let flags: Vec<String> = <Flags as clap::CommandFactory>::command()
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| l.replace('-', "_")))
            .collect();
        for name in params::defaults().keys() {
            assert!(flags.contains(name), "no flag --{name}");
        }
    }
}
