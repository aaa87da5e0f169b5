//! `infoplane plot`: one drawing, from an estimates table or an archive.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::plot::draw::{self, Drawing, PlaneFilter};

use super::Outcome;

/// Flags of `plot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A results table (infoplane, movie) or an archive directory (snr, accuracy, distances).
    input: PathBuf,
    /// What to draw.
    #[arg(long, value_enum, default_value_t = Drawing::default())]
    kind: Drawing,
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

/// Runs `plot`.
pub fn run(a: Args) -> Outcome {
    let filter = PlaneFilter {
        band: a.band,
        estimators: a.estimator,
        settings: a.sigma2,
    };
    for f in draw::draw(&a.input, a.kind, &filter, &a.out)? {
        out!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
