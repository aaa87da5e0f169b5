//! The `infoplane` command-line interface: dispatch only. Each command's flags and the
//! library call it makes live in `commands/`.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Prints to stdout with control characters escaped (names from files never reach the
/// terminal as escape sequences), ignoring a closed pipe (`infoplane dpi ... | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(infoplane::util::text::escape(&text, true).as_bytes());
        let _ = stdout.write_all(b"\n");
    }};
}

mod commands;

use commands::*;

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
    Import(import::Args),
    /// Write one (layer, epoch) matrix, the labels or the inputs of an archive as .npy files.
    Export(export::Args),
    /// Describe an archive: format, samples, classes and H(Y), layers, epochs, metrics, size.
    Inspect(inspect::Args),
    /// Read every file of an archive and check it: shapes, stored types, labels, epoch
    /// records. Lists each problem with its file; exit status 1 when there is one.
    Verify(verify::Args),
    /// Copy an archive into the other backend, bit for bit.
    Convert(convert::Args),
    /// Estimate I(X;Z) and I(Y;Z) per (layer, epoch, estimator, parameters): the pairwise KL and
    /// Bhattacharyya bounds (one streaming pass per (layer, epoch) for all σ²), binning,
    /// matrix-based Rényi entropy and MINE.
    Estimate(Box<estimate::Args>),
    /// Pairwise-distance distributions per (layer, epoch): percentiles, nearest neighbours,
    /// within/between-class means, and the σ² each rule would pick.
    Distances(distances::Args),
    /// Check an estimates table for data-processing-inequality and bound violations, each
    /// classified as definite, within the estimator's gap, or not applicable.
    Dpi(dpi::Args),
    /// Gradient signal-to-noise per layer and epoch from an archive's gradient statistics, with
    /// the drift-to-diffusion transition epoch.
    Snr(snr::Args),
    /// Join estimate tables on (layer, epoch) and report differences between estimators, runs
    /// or σ² values.
    Compare(compare::Args),
    /// Merge the parts of a sharded sweep (`estimate --shard`) into one table: refuses
    /// duplicated units, parts of other versions or requests, and (with --expect) missing units,
    /// naming them and their shard.
    Merge(merge::Args),
    /// Aggregate estimates tables of several runs (seeds) of one configuration: n, mean, sd,
    /// standard error and 95 % t-interval per (layer, epoch, estimator, setting).
    Aggregate(aggregate::Args),
    /// Per layer: is there a fitting and a compression phase, and under which estimators, σ²
    /// and runs does that hold?
    Verdict(verdict::Args),
    /// Draw one plot: information plane (from a results table), or SNR, accuracy or distance
    /// histograms (from an archive).
    Plot(plot::Args),
    /// Estimate, measure distances, check the DPI, compute the SNR and compare, for one or more
    /// archives, into CSVs, plots and a self-contained index.html.
    Report(report::Args),
}

fn main() -> ExitCode {
    // Before any BLAS work: OpenBLAS's idle pool would otherwise spin through the first 0.1 s.
    infoplane::util::blas::stop_idle_threads();
    let result = match Cli::parse().command {
        Command::Import(a) => import::run(a),
        Command::Export(a) => export::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Estimate(a) => estimate::run(*a),
        Command::Distances(a) => distances::run(a),
        Command::Dpi(a) => dpi::run(a),
        Command::Snr(a) => snr::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Aggregate(a) => aggregate::run(a),
        Command::Verdict(a) => verdict::run(a),
        Command::Plot(a) => plot::run(a),
        Command::Report(a) => report::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // The library names a refused parameter by its name; here it is a flag.
            let message = match e.downcast_ref::<infoplane::Error>() {
                Some(infoplane::Error::Parameter { name, problem }) => {
                    format!("--{} {problem}", name.replace('_', "-"))
                }
                _ => format!("{e:#}"),
            };
            eprintln!(
                "error: {}",
                infoplane::util::text::escape_controls(&message)
            );
            ExitCode::FAILURE
        }
    }
}
