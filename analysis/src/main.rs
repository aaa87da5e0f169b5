//! The `infoplane` command-line interface: parses arguments and calls the library.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use infoplane::archive::{self, Archive, Backend, LayerKind, Overwrite, RunInfo, Summary};
use infoplane::distances;
use infoplane::estimates::{self, EstimateRequest, Estimator};
use infoplane::import::{self, ExportRequest, ImportOptions};
use infoplane::pairwise::sigma::SigmaSpec;
use infoplane::pairwise::{PassOptions, SaturationRule, Stats};
use infoplane::selection::Epochs;

/// Information-plane analysis of recorded neural-network activations.
#[derive(Debug, Parser)]
#[command(name = "infoplane", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an archive from NumPy arrays (.npy / .npz) saved by any framework.
    Import(ImportArgs),
    /// Write one (layer, epoch) matrix, the labels or the inputs of an archive as .npy files.
    Export(ExportArgs),
    /// Describe an archive: format, samples, classes and H(Y), layers, epochs, metrics, size.
    Inspect(InspectArgs),
    /// Copy an archive into the other backend, bit for bit.
    Convert(ConvertArgs),
    /// Estimate I(X;Z) and I(Y;Z) per (layer, epoch, estimator, σ²) with the pairwise KL and
    /// Bhattacharyya bounds; one streaming pass per (layer, epoch) for all σ².
    Estimate(EstimateArgs),
    /// Pairwise-distance distributions per (layer, epoch): percentiles, nearest neighbours,
    /// within/between-class means, and the σ² each rule would pick.
    Distances(DistancesArgs),
}

#[derive(Debug, clap::Args)]
struct EstimateArgs {
    /// Archive directory.
    dir: PathBuf,
    /// Estimators: kl (upper bound), bd (Bhattacharyya lower bound).
    #[arg(long, value_delimiter = ',', default_value = "kl,bd")]
    estimator: Vec<String>,
    /// Noise variances: values (0.001,0.1), log grids (1e-4..1e1:25, or 1e-3..1:x2), per layer
    /// (fc1=0.05), or rules from each representation's squared distances: thesis
    /// (p90(d²)/1000), pQ/DIV, nn or nn*C (C × median squared nearest-neighbour distance).
    #[arg(long, default_value = "0.001,0.01,0.1,1,thesis,nn")]
    sigma2: String,
    /// Layers to estimate (default: all).
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<String>>,
    /// Epochs: all, last, every:K, or a list like 0,5,10..20.
    #[arg(long, default_value = "all")]
    epochs: String,
    /// Unit of the information columns.
    #[arg(long, default_value = "bits")]
    unit: String,
    /// Precision of the distance computation: f32 (fast) or f64.
    #[arg(long, default_value = "f32")]
    precision: String,
    /// Rows per tile of the pairwise pass (memory grows as its square).
    #[arg(long, default_value_t = 1024)]
    tile: usize,
    /// Saturated when I(X;Z) is within this many nats of ln N.
    #[arg(long, default_value_t = 0.1)]
    saturation_margin: f64,
    /// Saturated when N_eff falls below this.
    #[arg(long, default_value_t = 1.5)]
    min_n_eff: f64,
    /// Output table: .csv or .parquet.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct DistancesArgs {
    /// Archive directory.
    dir: PathBuf,
    /// Layers (default: all).
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<String>>,
    /// Epochs: all, last, every:K, or a list like 0,5,10..20.
    #[arg(long, default_value = "all")]
    epochs: String,
    /// Precision of the distance computation: f32 or f64.
    #[arg(long, default_value = "f32")]
    precision: String,
    /// Rows per tile of the pairwise pass.
    #[arg(long, default_value_t = 1024)]
    tile: usize,
    /// Output table (.csv or .parquet); the histograms go beside it as <stem>-histogram.csv.
    #[arg(long)]
    out: PathBuf,
    /// Also draw one histogram plot per layer (PNG and SVG) into this directory.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Epochs to overlay in the plots: all (of those measured), last, every:K, or a list.
    #[arg(long, default_value = "all")]
    plot_epochs: String,
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// Activations: an .npz (one key per layer) or an .npy (one layer). Arrays are N x H,
    /// E x N x H (epochs 0..E-1), or higher-rank maps that are flattened per sample.
    #[arg(long, value_name = "A.npz|A.npy")]
    activations: PathBuf,
    /// Layer name for a single .npy (default: the file stem).
    #[arg(long)]
    layer: Option<String>,
    /// .npz keys to import, in this order (default: all, in file order).
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<String>>,
    /// Kind of each layer, in order: linear, conv, recurrent, graph, output or unknown.
    #[arg(long, value_delimiter = ',')]
    kinds: Option<Vec<String>>,
    /// Integer class ids, length N.
    #[arg(long, value_name = "Y.npy")]
    labels: PathBuf,
    /// Inputs X, N x ... (stored as float32).
    #[arg(long, value_name = "X.npy")]
    inputs: Option<PathBuf>,
    /// Class names, in class-id order (default: 0, 1, ...).
    #[arg(long, value_delimiter = ',')]
    classes: Option<Vec<String>>,
    /// Backend of the new archive.
    #[arg(long, default_value = "parquet", value_parser = parse_backend)]
    format: Backend,
    /// Model name to record in the manifest.
    #[arg(long, default_value = "")]
    model: String,
    /// Dataset name to record in the manifest.
    #[arg(long, default_value = "")]
    dataset: String,
    /// Free-form notes to record in the manifest.
    #[arg(long, default_value = "")]
    notes: String,
    /// Accept NaN and infinite activations.
    #[arg(long)]
    allow_nonfinite: bool,
    /// Replace an existing archive at --out.
    #[arg(long)]
    force: bool,
    /// Output archive directory.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// Archive directory.
    dir: PathBuf,
    /// Layer to export (with --epoch and --out).
    #[arg(long, requires_all = ["epoch", "out"])]
    layer: Option<String>,
    /// Epoch to export.
    #[arg(long)]
    epoch: Option<u32>,
    /// Output .npy for the activations (float32, N x H).
    #[arg(long, value_name = "Z.npy")]
    out: Option<PathBuf>,
    /// Also (or only) write the labels to this .npy (int64).
    #[arg(long, value_name = "Y.npy")]
    labels: Option<PathBuf>,
    /// Also (or only) write the inputs to this .npy (float32).
    #[arg(long, value_name = "X.npy")]
    inputs: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct InspectArgs {
    /// Archive directory.
    dir: PathBuf,
    /// Print JSON (including the per-epoch metrics) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ConvertArgs {
    /// Source archive directory.
    dir: PathBuf,
    /// Backend of the copy.
    #[arg(long, value_parser = parse_backend)]
    to: Backend,
    /// Output archive directory.
    #[arg(long)]
    out: PathBuf,
    /// Replace an existing archive at --out.
    #[arg(long)]
    force: bool,
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse().map_err(|e: infoplane::Error| e.to_string())
}

fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

fn run_import(a: ImportArgs) -> Result<()> {
    let kinds = a
        .kinds
        .map(|ks| {
            ks.iter()
                .map(|k| k.parse::<LayerKind>())
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let report = import::import_numpy(&ImportOptions {
        activations: a.activations,
        layer: a.layer,
        layers: a.layers,
        kinds,
        labels: a.labels,
        inputs: a.inputs,
        classes: a.classes,
        backend: a.format,
        out: a.out,
        overwrite: overwrite(a.force),
        allow_nonfinite: a.allow_nonfinite,
        run: RunInfo {
            model: a.model,
            dataset: a.dataset,
            notes: a.notes,
            ..RunInfo::default()
        },
    })?;
    for src in &report.rounded {
        eprintln!("note: {src}: float64 values were rounded to float32");
    }
    if report.nonfinite > 0 {
        eprintln!(
            "warning: imported {} non-finite activation values (--allow-nonfinite)",
            report.nonfinite
        );
    }
    let layers: Vec<String> = report
        .layers
        .iter()
        .map(|(n, w)| format!("{n} ({w})"))
        .collect();
    println!(
        "wrote {} ({}): N = {}, {} epoch(s), layers {}",
        report.out.display(),
        a.format,
        report.n,
        report.epochs,
        layers.join(", ")
    );
    Ok(())
}

fn run_export(a: ExportArgs) -> Result<()> {
    let activations = match (a.layer, a.epoch, a.out) {
        (Some(l), Some(e), Some(o)) => Some((l, e, o)),
        (None, None, None) => None,
        _ => bail!("--layer, --epoch and --out go together"),
    };
    if activations.is_none() && a.labels.is_none() && a.inputs.is_none() {
        bail!("nothing to export: give --layer/--epoch/--out, --labels or --inputs");
    }
    let archive = Archive::open(&a.dir)?;
    let written = import::export_numpy(
        &archive,
        &ExportRequest {
            activations,
            labels: a.labels,
            inputs: a.inputs,
        },
    )?;
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

fn run_inspect(a: InspectArgs) -> Result<()> {
    let archive = Archive::open(&a.dir)?;
    let summary = Summary::of(&archive)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).context("cannot serialise the summary")?
        );
    } else {
        print!("{summary}");
    }
    Ok(())
}

fn run_convert(a: ConvertArgs) -> Result<()> {
    let src = Archive::open(&a.dir)?;
    if !src.is_complete() {
        eprintln!(
            "note: {} is incomplete; converting its {} committed epochs",
            a.dir.display(),
            src.epochs().len()
        );
    }
    let bar = indicatif::ProgressBar::new(src.epochs().len() as u64).with_style(
        indicatif::ProgressStyle::with_template("converting {bar:30} {pos}/{len} epochs {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let out =
        archive::convert_with_progress(&src, &a.out, a.to, overwrite(a.force), &mut |d, _| {
            bar.set_position(d as u64)
        })?;
    bar.finish_and_clear();
    println!(
        "wrote {} ({}), {} epochs",
        out.display(),
        a.to,
        src.epochs().len()
    );
    Ok(())
}

fn bar(total: usize, what: &str) -> indicatif::ProgressBar {
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{what} {{bar:30}} {{pos}}/{{len}} (layer, epoch) {{elapsed}} eta {{eta}}"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    indicatif::ProgressBar::new(total as u64).with_style(style)
}

fn run_estimate(a: EstimateArgs) -> Result<()> {
    let archive = Archive::open(&a.dir)?;
    let req = EstimateRequest {
        estimators: a
            .estimator
            .iter()
            .map(|e| e.parse())
            .collect::<Result<Vec<Estimator>, _>>()?,
        sigma2: SigmaSpec::parse(&a.sigma2)?,
        layers: a.layers,
        epochs: Epochs::parse(&a.epochs)?,
        unit: a.unit.parse()?,
        precision: a.precision.parse()?,
        pass: PassOptions {
            tile: a.tile,
            stats: Stats::All,
        },
        saturation: SaturationRule {
            margin_nats: a.saturation_margin,
            min_n_eff: a.min_n_eff,
        },
    };
    let pb = bar(0, "estimating");
    let rows = estimates::estimate_archive(&archive, &req, &mut |d, t| {
        pb.set_length(t as u64);
        pb.set_position(d as u64);
    })?;
    pb.finish_and_clear();
    estimates::estimates_table(&rows).write(&a.out)?;
    let saturated = rows.iter().filter(|r| r.saturated).count();
    println!(
        "wrote {} ({} rows; {} saturated)",
        a.out.display(),
        rows.len(),
        saturated
    );
    Ok(())
}

fn run_distances(a: DistancesArgs) -> Result<()> {
    let archive = Archive::open(&a.dir)?;
    let pb = bar(0, "distances");
    let report = distances::distances_archive(
        &archive,
        a.layers.as_deref(),
        &Epochs::parse(&a.epochs)?,
        a.precision.parse()?,
        a.tile,
        &mut |d, t| {
            pb.set_length(t as u64);
            pb.set_position(d as u64);
        },
    )?;
    pb.finish_and_clear();
    distances::distances_table(&report.rows).write(&a.out)?;
    let stem = a
        .out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "distances".into());
    let hist = a.out.with_file_name(format!("{stem}-histogram.csv"));
    distances::histogram_table(&archive, &report).write(&hist)?;
    println!(
        "wrote {} ({} rows) and {}",
        a.out.display(),
        report.rows.len(),
        hist.display()
    );
    if let Some(dir) = &a.plot {
        let epochs = Epochs::parse(&a.plot_epochs)?.resolve(&archive)?;
        let files = distances::plot_histograms(&archive, &report, dir, Some(&epochs))?;
        println!("wrote {} plots in {}", files.len(), dir.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(a) => run_import(a),
        Command::Export(a) => run_export(a),
        Command::Inspect(a) => run_inspect(a),
        Command::Convert(a) => run_convert(a),
        Command::Estimate(a) => run_estimate(a),
        Command::Distances(a) => run_distances(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
