//! `infoplane import`: NumPy arrays from any framework into a new archive.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::archive::import::{self, ImportOptions};
use infoplane::archive::{Backend, LayerKind, RunInfo};
use infoplane::util::notice::notice;

use super::{overwrite, parse_backend, Outcome};

/// Flags of `import`.
#[derive(Debug, clap::Args)]
pub struct Args {
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
    kinds: Option<Vec<LayerKind>>,
    /// Integer class ids, length N.
    #[arg(long, value_name = "Y.npy")]
    labels: PathBuf,
    /// The name of --labels (default: class).
    #[arg(long)]
    label_name: Option<String>,
    /// A further label set of the same samples, NAME=Y.npy (repeatable); `estimate --labels
    /// NAME` picks it.
    #[arg(long, value_name = "NAME=Y.npy", value_parser = parse_label_set)]
    label_set: Vec<(String, PathBuf)>,
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
    /// Accept NaN and infinite activations and inputs.
    #[arg(long)]
    allow_nonfinite: bool,
    /// Replace an existing archive at --out.
    #[arg(long)]
    force: bool,
    /// Output archive directory.
    #[arg(long)]
    out: PathBuf,
}

fn parse_label_set(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_string(), PathBuf::from(path)))
        }
        _ => Err(format!("'{s}': give it as NAME=Y.npy")),
    }
}

/// Runs `import`.
pub fn run(a: Args) -> Outcome {
    let report = import::import_numpy(&ImportOptions {
        activations: a.activations,
        layer: a.layer,
        layers: a.layers,
        kinds: a.kinds,
        labels: a.labels,
        label_name: a.label_name,
        label_sets: a.label_set,
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
        notice(&format!("{src}: float64 values were rounded to float32"));
    }
    if report.nonfinite > 0 {
        notice(&format!(
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
    Ok(ExitCode::SUCCESS)
}
