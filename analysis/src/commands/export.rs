//! `infoplane export`: one (layer, epoch) matrix, the labels or the inputs as `.npy` files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use infoplane::archive::import::{self, ExportRequest};
use infoplane::archive::Archive;

use super::Outcome;

/// Flags of `export`.
#[derive(Debug, clap::Args)]
pub struct Args {
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

/// Runs `export`.
pub fn run(a: Args) -> Outcome {
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
    Ok(ExitCode::SUCCESS)
}
