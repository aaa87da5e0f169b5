//! `infoplane distances`: pairwise-distance distributions per (layer, epoch), with plots.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::archive::Archive;
use infoplane::estimator::pairwise::{PassOptions, Precision};
use infoplane::plot;
use infoplane::run::distances;
use infoplane::selection::Epochs;
use infoplane::sweep::{self, Shard};
use infoplane::util::fsutil;

use super::{bar, beside, parse_epochs, Outcome};

/// Flags of `distances`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive directory.
    dir: PathBuf,
    /// Layers (default: all).
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<String>>,
    /// Epochs: all, last, every:K, or a list like 0,5,10..20.
    #[arg(long, default_value = "all", value_parser = parse_epochs)]
    epochs: Epochs,
    /// Precision of the distance computation: f32 or f64.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    precision: Precision,
    /// Rows per tile of the pairwise pass.
    #[arg(long, default_value_t = PassOptions::DEFAULT_TILE)]
    tile: usize,
    /// Percentiles, histograms and plots of squared distances d², the quantity the σ² rules
    /// read (p90 of d² over 1000 is the thesis rule's σ²).
    #[arg(long)]
    squared: bool,
    /// Output table (.csv or .parquet); the histograms go beside it as <stem>-histogram.csv.
    #[arg(long)]
    out: PathBuf,
    /// Only shard i of n of the (layer, epoch) units (i/n by a stable hash, slice:i/n in
    /// contiguous slices of equal cost), as `estimate --shard`.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Also draw one histogram plot per layer (PNG and SVG) into this directory.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Epochs to overlay in the plots: all (of those measured), last, every:K, or a list.
    #[arg(long, default_value = "all", value_parser = parse_epochs)]
    plot_epochs: Epochs,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    Shard::parse(s).map_err(|e| e.to_string())
}

/// Runs `distances`.
pub fn run(a: Args) -> Outcome {
    PassOptions {
        tile: a.tile,
        stats: infoplane::estimator::pairwise::Stats::All,
    }
    .validate()?;
    for out in std::iter::once(&a.out).chain(&a.plot) {
        fsutil::refuse_output_inside(out, &a.dir)?;
    }
    let archive = Archive::open(&a.dir)?;
    let pb = bar("distances");
    let units = match &a.shard {
        Some(shard) => {
            let mut req = infoplane::run::EstimateRequest::new(&[]);
            req.layers = a.layers.clone();
            req.epochs = a.epochs.clone();
            let all = sweep::units(std::slice::from_ref(&archive), &req)?;
            let mine = sweep::assign(&all, shard);
            Some(
                all.iter()
                    .zip(mine)
                    .filter(|(_, m)| *m)
                    .map(|(u, _)| (u.layer.0, u.epoch))
                    .collect(),
            )
        }
        None => None,
    };
    let opts = distances::DistanceOptions {
        precision: a.precision,
        tile: a.tile,
        squared: a.squared,
        units,
    };
    let report = distances::distances_archive(
        &archive,
        a.layers.as_deref(),
        &a.epochs,
        &opts,
        &mut |d, t| {
            pb.set_length(t as u64);
            pb.set_position(d as u64);
        },
    )?;
    pb.finish_and_clear();
    infoplane::table::write(&mut distances::distances_table(&report)?, &a.out)?;
    let hist = beside(&a.out, "histogram", "distances");
    infoplane::table::write(&mut distances::histogram_table(&archive, &report)?, &hist)?;
    out!(
        "wrote {} ({} rows) and {}",
        a.out.display(),
        report.rows.len(),
        hist.display()
    );
    if let Some(dir) = &a.plot {
        let epochs = a.plot_epochs.resolve(&archive)?;
        let names: Vec<String> = archive.layers().iter().map(|l| l.name.clone()).collect();
        let run = &archive.manifest().run.name;
        let files = plot::histograms::layer_histograms(run, &names, &report, dir, Some(&epochs))?;
        out!("wrote {} plots in {}", files.len(), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
