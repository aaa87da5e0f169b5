//! The `infoplane` command-line interface: parses arguments and calls the library.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use infoplane::archive::fsutil;
use infoplane::archive::{self, Archive, Backend, LayerKind, Overwrite, RunInfo, Summary};
use infoplane::binning::Binning;
use infoplane::estimates::{self, EstimateRequest, Estimator};
use infoplane::import::{self, ExportRequest, ImportOptions};
use infoplane::mine::MineOptions;
use infoplane::pairwise::sigma::SigmaSpec;
use infoplane::pairwise::{PassOptions, SaturationRule, Stats};
use infoplane::renyi::RenyiOptions;
use infoplane::selection::Epochs;
use infoplane::{compare, distances, dpi, plot, report, results, snr};

/// Prints to stdout with control characters escaped (names from files never reach the
/// terminal as escape sequences), ignoring a closed pipe (`infoplane dpi ... | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(infoplane::text::escape(&text, true).as_bytes());
        let _ = stdout.write_all(b"\n");
    }};
}

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
    /// Read every file of an archive and check it: shapes, stored types, labels, epoch
    /// records. Lists each problem with its file; exit status 1 when there is one.
    Verify(VerifyArgs),
    /// Copy an archive into the other backend, bit for bit.
    Convert(ConvertArgs),
    /// Estimate I(X;Z) and I(Y;Z) per (layer, epoch, estimator, parameters): the pairwise KL and
    /// Bhattacharyya bounds (one streaming pass per (layer, epoch) for all σ²), binning,
    /// matrix-based Rényi entropy and MINE.
    Estimate(Box<EstimateArgs>),
    /// Pairwise-distance distributions per (layer, epoch): percentiles, nearest neighbours,
    /// within/between-class means, and the σ² each rule would pick.
    Distances(DistancesArgs),
    /// Check an estimates table for data-processing-inequality and bound violations, each
    /// classified as definite, within the estimator's gap, or not applicable.
    Dpi(DpiArgs),
    /// Gradient signal-to-noise per layer and epoch from an archive's gradient statistics, with
    /// the drift-to-diffusion transition epoch.
    Snr(SnrArgs),
    /// Join estimate tables on (layer, epoch) and report differences between estimators, runs
    /// or σ² values.
    Compare(CompareArgs),
    /// Draw one plot: information plane (from a results table), or SNR, accuracy or distance
    /// histograms (from an archive).
    Plot(PlotArgs),
    /// Estimate, measure distances, check the DPI, compute the SNR and compare, for one or more
    /// archives, into CSVs, plots and a self-contained index.html.
    Report(ReportArgs),
}

#[derive(Debug, clap::Args)]
struct DpiArgs {
    /// Estimates table (.csv or .parquet) written by `infoplane estimate`.
    results: PathBuf,
    /// Differences up to this much (in the table's unit) are not violations.
    #[arg(long, default_value_t = 1e-3)]
    tolerance: f64,
    /// Exit with status 3 when a definite violation exists.
    #[arg(long)]
    fail_on_violation: bool,
    /// Write the violations table here (.csv or .parquet).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct SnrArgs {
    /// Archive directory.
    dir: PathBuf,
    /// Output table (.csv or .parquet).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Draw the SNR plot (PNG and SVG) into this directory.
    #[arg(long)]
    plot: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// Estimates tables (one or more).
    #[arg(required = true)]
    results: Vec<PathBuf>,
    /// What differs between the compared groups: estimator, run or sigma2.
    #[arg(long, default_value = "estimator")]
    by: String,
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

#[derive(Debug, clap::Args)]
struct PlotArgs {
    /// A results table (infoplane) or an archive directory (snr, accuracy, distances).
    input: PathBuf,
    /// infoplane, snr, accuracy or distances.
    #[arg(long, default_value = "infoplane")]
    kind: String,
    /// Output path without extension (PNG and SVG are written); a directory for distances.
    #[arg(long)]
    out: PathBuf,
    /// Information plane: draw the rigorous I(Y;Z) bracket at the last epoch.
    #[arg(long)]
    band: bool,
    /// Information plane: only these estimators.
    #[arg(long, value_delimiter = ',')]
    estimator: Option<Vec<String>>,
    /// Information plane: only these σ² groups (values or rule names as in the table).
    #[arg(long, value_delimiter = ',')]
    sigma2: Option<Vec<String>>,
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// Archive directories.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Report folder (index.html, CSVs and plots).
    #[arg(long)]
    out: PathBuf,
    /// Noise variances (as for estimate).
    #[arg(long, default_value = "0.001,0.1,thesis,nn")]
    sigma2: String,
    /// Estimators.
    #[arg(long, value_delimiter = ',', default_value = "kl,bd")]
    estimator: Vec<String>,
    /// Epochs to estimate.
    #[arg(long, default_value = "all")]
    epochs: String,
    /// Unit.
    #[arg(long, default_value = "bits")]
    unit: String,
    /// DPI tolerance in the unit.
    #[arg(long, default_value_t = 1e-3)]
    tolerance: f64,
}

#[derive(Debug, clap::Args)]
struct EstimateArgs {
    /// Archive directory.
    dir: PathBuf,
    /// Estimators: kl (upper bound), bd (Bhattacharyya lower bound), bin (binning), renyi
    /// (matrix-based Rényi α-entropy), mine (neural, needs stored inputs).
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
    /// bin: bin sizes, floor(z / size) (Saxe: 0.07, 0.5); a list sweeps them in one pass over the data.
    #[arg(long, value_delimiter = ',')]
    bin_size: Option<Vec<f64>>,
    /// bin: numbers of equal bins on --bin-range (Tishby: 30 on -1,1, the default of bin).
    #[arg(long, value_delimiter = ',')]
    bins: Option<Vec<usize>>,
    /// bin: the range LO,HI of --bins.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        default_value = "-1,1"
    )]
    bin_range: Vec<f64>,
    /// bin: numbers of equal bins between each matrix's own min and max (for ReLU layers).
    #[arg(long, value_delimiter = ',')]
    bin_adaptive: Option<Vec<usize>>,
    /// renyi: α (2 needs no eigenvalues).
    #[arg(long, default_value_t = 1.01)]
    renyi_alpha: f64,
    /// renyi: kernel width σ for Z: a number, silverman, silverman:GAMMA or median.
    #[arg(long, default_value = "silverman")]
    renyi_width: String,
    /// renyi: kernel width σ for the inputs X.
    #[arg(long, default_value = "silverman")]
    renyi_width_x: String,
    /// renyi: kernel exponent: 2s2 = exp(-d²/(2σ²)), s2 = exp(-d²/σ²), s = exp(-d²/σ).
    #[arg(long, default_value = "2s2")]
    renyi_kernel: String,
    /// renyi: largest N computed exactly; above it, the mean over random subsets of this size.
    #[arg(long, default_value_t = 5000)]
    renyi_max_n: usize,
    /// renyi: number of subsets above --renyi-max-n.
    #[arg(long, default_value_t = 5)]
    renyi_subsamples: usize,
    /// mine: dv (Donsker-Varadhan, bias-corrected), nwj, infonce or smile.
    #[arg(long, default_value = "dv")]
    mine_variant: String,
    /// mine: maximum training steps.
    #[arg(long, default_value_t = 6000)]
    mine_steps: usize,
    /// mine: hidden widths of the statistics network.
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    mine_hidden: Vec<usize>,
    /// mine: batch size (infonce: at most 64).
    #[arg(long, default_value_t = 256)]
    mine_batch: usize,
    /// mine: Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    mine_lr: f64,
    /// Seed of renyi's subsets and label shuffle and of mine.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output table: .csv or .parquet.
    #[arg(long)]
    out: PathBuf,
}

/// The bin, renyi and mine options of `estimate`.
fn other_options(a: &EstimateArgs) -> Result<(Vec<Binning>, RenyiOptions, MineOptions)> {
    let mut binnings = Vec::new();
    for &s in a.bin_size.iter().flatten() {
        binnings.push(Binning::Size(s));
    }
    if a.bin_range.len() != 2 {
        bail!("--bin-range needs two numbers LO,HI");
    }
    for &b in a.bins.iter().flatten() {
        binnings.push(Binning::Fixed {
            lo: a.bin_range[0],
            hi: a.bin_range[1],
            bins: b,
        });
    }
    for &b in a.bin_adaptive.iter().flatten() {
        binnings.push(Binning::Adaptive(b));
    }
    if binnings.is_empty() {
        binnings.push(Binning::Fixed {
            lo: a.bin_range[0],
            hi: a.bin_range[1],
            bins: 30,
        });
    }
    for b in &binnings {
        b.validate()?;
    }
    let renyi = RenyiOptions {
        alpha: a.renyi_alpha,
        convention: a.renyi_kernel.parse()?,
        width: a.renyi_width.parse()?,
        width_x: a.renyi_width_x.parse()?,
        max_n: a.renyi_max_n,
        subsamples: a.renyi_subsamples,
        seed: a.seed,
    };
    renyi.validate()?;
    let mine = MineOptions {
        variant: a.mine_variant.parse()?,
        hidden: a.mine_hidden.clone(),
        steps: a.mine_steps,
        batch: a.mine_batch,
        lr: a.mine_lr,
        seed: a.seed,
        ..MineOptions::default()
    };
    Ok((binnings, renyi, mine))
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
struct VerifyArgs {
    /// Archive directory.
    dir: PathBuf,
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
        infoplane::notice::notice(&format!("{src}: float64 values were rounded to float32"));
    }
    if report.nonfinite > 0 {
        infoplane::notice::notice(&format!(
            "imported {} non-finite values (--allow-nonfinite)",
            report.nonfinite
        ));
    }
    let layers: Vec<String> = report
        .layers
        .iter()
        .map(|(n, w)| format!("{n} ({w})"))
        .collect();
    out!(
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
        out!("wrote {}", p.display());
    }
    Ok(())
}

fn run_inspect(a: InspectArgs) -> Result<()> {
    let archive = Archive::open(&a.dir)?;
    let summary = Summary::of(&archive)?;
    if a.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&summary).context("cannot serialise the summary")?
        );
    } else {
        let text = summary.to_string();
        out!("{}", text.trim_end());
    }
    Ok(())
}

fn run_verify(a: VerifyArgs) -> Result<()> {
    let archive = Archive::open(&a.dir)?;
    let pb = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("verifying {bar:30} {pos}/{len} epochs {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let r = archive::verify::verify(&archive, &mut |d, t| {
        pb.set_length(t as u64);
        pb.set_position(d as u64);
    });
    pb.finish_and_clear();
    for n in &r.notes {
        out!("note: {n}");
    }
    for p in &r.problems {
        out!("problem: {p}");
    }
    out!(
        "read {} epochs: {} activation matrices, {} gradient records; {} non-finite values",
        r.epochs,
        r.matrices,
        r.gradient_records,
        r.nonfinite
    );
    if !r.problems.is_empty() {
        bail!(
            "{}: {} problem{} found (listed above)",
            a.dir.display(),
            r.problems.len(),
            if r.problems.len() == 1 { "" } else { "s" }
        );
    }
    out!("{}: ok", a.dir.display());
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
    out!(
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

/// The `--estimator` list.
fn parse_estimators(list: &[String]) -> Result<Vec<Estimator>> {
    Ok(list
        .iter()
        .map(|e| e.parse())
        .collect::<Result<Vec<Estimator>, _>>()?)
}

fn run_estimate(a: EstimateArgs) -> Result<()> {
    let (binnings, renyi, mine) = other_options(&a)?;
    fsutil::refuse_output_inside(&a.out, &a.dir)?;
    let archive = Archive::open(&a.dir)?;
    let req = EstimateRequest {
        estimators: parse_estimators(&a.estimator)?,
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
        binnings,
        renyi,
        mine,
    };
    let pb = bar(0, "estimating");
    let rows = estimates::estimate_archive(&archive, &req, &mut |d, t| {
        pb.set_length(t as u64);
        pb.set_position(d as u64);
    })?;
    pb.finish_and_clear();
    estimates::estimates_table(&rows).write(&a.out)?;
    let saturated = rows.iter().filter(|r| r.saturated).count();
    out!(
        "wrote {} ({} rows; {} saturated)",
        a.out.display(),
        rows.len(),
        saturated
    );
    Ok(())
}

fn run_distances(a: DistancesArgs) -> Result<()> {
    for out in std::iter::once(&a.out).chain(&a.plot) {
        fsutil::refuse_output_inside(out, &a.dir)?;
    }
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
    out!(
        "wrote {} ({} rows) and {}",
        a.out.display(),
        report.rows.len(),
        hist.display()
    );
    if let Some(dir) = &a.plot {
        let epochs = Epochs::parse(&a.plot_epochs)?.resolve(&archive)?;
        let files = distances::plot_histograms(&archive, &report, dir, Some(&epochs))?;
        out!("wrote {} plots in {}", files.len(), dir.display());
    }
    Ok(())
}

/// Exit status of `dpi --fail-on-violation` when a definite violation exists.
const EXIT_VIOLATION: u8 = 3;

fn run_dpi(a: DpiArgs) -> Result<ExitCode> {
    dpi::validate_tolerance(a.tolerance)?;
    if let Some(out) = &a.out {
        fsutil::refuse_same_outputs(&[&a.results, out])?;
    }
    let rows = results::read_results(&a.results)?;
    let v = dpi::check(&rows, a.tolerance);
    let summary = dpi::summary(&v, &rows);
    out!("{}", summary.trim_end());
    if let Some(out) = &a.out {
        dpi::violations_table(&v).write(out)?;
        out!("wrote {} ({} rows)", out.display(), v.len());
    }
    if a.fail_on_violation && dpi::has_definite(&v) {
        return Ok(ExitCode::from(EXIT_VIOLATION));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_snr(a: SnrArgs) -> Result<()> {
    for out in a.out.iter().chain(&a.plot) {
        fsutil::refuse_output_inside(out, &a.dir)?;
    }
    let archive = Archive::open(&a.dir)?;
    let r = snr::snr_archive(&archive)?;
    for t in &r.transitions {
        out!(
            "{}: {}",
            t.layer,
            t.epoch.map_or("no transition".to_string(), |e| format!(
                "transition at epoch {e}"
            ))
        );
    }
    out!(
        "validation accuracy stable from epoch {}",
        r.stable_validation_epoch
            .map_or("-".to_string(), |e| e.to_string())
    );
    if let Some(out) = &a.out {
        snr::snr_table(&r).write(out)?;
        out!("wrote {} ({} rows)", out.display(), r.rows.len());
    }
    if let Some(dir) = &a.plot {
        let files = report::plot_snr(&r, &dir.join("snr"))?;
        out!("wrote {} plots in {}", files.len(), dir.display());
    }
    Ok(())
}

fn run_compare(a: CompareArgs) -> Result<()> {
    for input in &a.results {
        fsutil::refuse_same_outputs(&[input, &a.out])?;
    }
    let mut rows = Vec::new();
    for p in &a.results {
        rows.extend(results::read_results(p)?);
    }
    let c = compare::compare(&rows, a.by.parse()?, a.force)?;
    compare::diff_table(&c).write(&a.out)?;
    let stem = a
        .out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "compare".into());
    let ranks = a.out.with_file_name(format!("{stem}-ranks.csv"));
    compare::rank_table(&c).write(&ranks)?;
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
        let files = plot::information_plane(p, &report::plane_panels(&rows), false)?;
        out!("wrote {} plots", files.len());
    }
    Ok(())
}

fn run_plot(a: PlotArgs) -> Result<()> {
    if a.input.is_dir() {
        fsutil::refuse_output_inside(&a.out, &a.input)?;
    }
    let files = match a.kind.as_str() {
        "infoplane" => {
            let rows: Vec<_> = results::read_results(&a.input)?
                .into_iter()
                .filter(|r| {
                    a.estimator
                        .as_ref()
                        .is_none_or(|e| e.contains(&r.estimator))
                })
                .filter(|r| {
                    a.sigma2
                        .as_ref()
                        .is_none_or(|s| s.contains(&r.sigma2_key()))
                })
                .collect();
            if rows.is_empty() {
                bail!(
                    "{}: no rows left to plot after the --estimator/--sigma2 filters",
                    a.input.display()
                );
            }
            plot::information_plane(&a.out, &report::plane_panels(&rows), a.band)?
        }
        "snr" => report::plot_snr(&snr::snr_archive(&Archive::open(&a.input)?)?, &a.out)?,
        "accuracy" => report::plot_accuracy(&Archive::open(&a.input)?, &a.out)?,
        "distances" => {
            let archive = Archive::open(&a.input)?;
            let rep = distances::distances_archive(
                &archive,
                None,
                &Epochs::parse("all")?,
                "f32".parse()?,
                1024,
                &mut |_, _| {},
            )?;
            distances::plot_histograms(&archive, &rep, &a.out, None)?
        }
        other => {
            bail!("unknown plot kind '{other}' (expected infoplane, snr, accuracy or distances)")
        }
    };
    for f in &files {
        out!("wrote {}", f.display());
    }
    Ok(())
}

fn run_report(a: ReportArgs) -> Result<()> {
    let opts = report::ReportOptions {
        estimate: EstimateRequest {
            epochs: Epochs::parse(&a.epochs)?,
            unit: a.unit.parse()?,
            ..EstimateRequest::new(
                parse_estimators(&a.estimator)?,
                SigmaSpec::parse(&a.sigma2)?,
            )
        },
        tolerance: a.tolerance,
    };
    let pb = indicatif::ProgressBar::new_spinner();
    let r = report::write_report(&a.dirs, &a.out, &opts, &mut |stage| {
        pb.set_message(stage.to_string())
    })?;
    pb.finish_and_clear();
    for f in &r.findings {
        out!("{f}");
    }
    out!(
        "wrote {} files; open {}",
        r.files.len(),
        a.out.join("index.html").display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ok = |r: Result<()>| r.map(|()| ExitCode::SUCCESS);
    let result = match cli.command {
        Command::Import(a) => ok(run_import(a)),
        Command::Export(a) => ok(run_export(a)),
        Command::Inspect(a) => ok(run_inspect(a)),
        Command::Verify(a) => ok(run_verify(a)),
        Command::Convert(a) => ok(run_convert(a)),
        Command::Estimate(a) => ok(run_estimate(*a)),
        Command::Distances(a) => ok(run_distances(a)),
        Command::Dpi(a) => run_dpi(a),
        Command::Snr(a) => ok(run_snr(a)),
        Command::Compare(a) => ok(run_compare(a)),
        Command::Plot(a) => ok(run_plot(a)),
        Command::Report(a) => ok(run_report(a)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!("error: {}", infoplane::text::escape_controls(&message));
            ExitCode::FAILURE
        }
    }
}
