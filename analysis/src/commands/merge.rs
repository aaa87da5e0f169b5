//! `infoplane merge`: the parts of a sharded sweep into one table, checked.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::archive::Archive;
use infoplane::run::EstimateRequest;
use infoplane::selection::Epochs;
use infoplane::sweep;
use infoplane::util::fsutil;

use super::{parse_epochs, Outcome};

/// Flags of `merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Parts (.parquet or .csv written by `estimate --shard`), or folders of them.
    #[arg(required = true)]
    parts: Vec<PathBuf>,
    /// Merged table (.parquet or .csv).
    #[arg(long)]
    out: PathBuf,
    /// The sweep's archives: every one of their units (under --layers and --epochs) must be
    /// in the parts, and nothing else; the merged rows follow their order.
    #[arg(long, num_args = 1..)]
    expect: Vec<PathBuf>,
    /// Layers of the sweep, for --expect (default: all).
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<String>>,
    /// Epochs of the sweep, for --expect.
    #[arg(long, default_value = "all", value_parser = parse_epochs)]
    epochs: Epochs,
    /// Merge parts of other infoplane versions or requests too.
    #[arg(long)]
    force: bool,
}

/// Runs `merge`.
pub fn run(a: Args) -> Outcome {
    fsutil::refuse_output_among_inputs(&a.out, &a.parts)?;
    for p in a.parts.iter().filter(|p| p.is_dir()) {
        fsutil::refuse_output_inside(&a.out, p)?;
    }
    let expect = if a.expect.is_empty() {
        None
    } else {
        let archives = a
            .expect
            .iter()
            .map(|d| Archive::open(d))
            .collect::<Result<Vec<_>, _>>()?;
        let mut req = EstimateRequest::new(&[]);
        req.layers = a.layers.clone();
        req.epochs = a.epochs.clone();
        Some(sweep::units(&archives, &req)?)
    };
    let mut m = sweep::merge(&a.parts, expect.as_deref(), a.force)?;
    infoplane::table::write(&mut m.df, &a.out)?;
    out!(
        "wrote {} ({} rows, {} units from {} parts)",
        a.out.display(),
        m.df.height(),
        m.units,
        m.parts
    );
    Ok(ExitCode::SUCCESS)
}
