//! `infoplane snr`: gradient signal-to-noise per layer and epoch, and the transition epochs.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::archive::Archive;
use infoplane::diagnostics::snr;
use infoplane::plot;
use infoplane::util::fsutil;

use super::Outcome;

/// Flags of `snr`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive directory.
    dir: PathBuf,
    /// Output table (.csv or .parquet).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Draw the SNR plot (PNG and SVG) into this directory.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// Runs `snr`.
pub fn run(a: Args) -> Outcome {
    for out in a.out.iter().chain(&a.plot) {
        fsutil::refuse_output_inside(out, &a.dir)?;
    }
    let archive = Archive::open(&a.dir)?;
    let r = snr::snr_archive(&archive)?;
    for t in &r.transitions {
        let at = t.epoch.map_or("no transition".to_string(), |e| {
            format!("transition at epoch {e}")
        });
        out!("{}: {at}", t.layer);
    }
    out!(
        "validation accuracy stable from epoch {}",
        r.stable_validation_epoch
            .map_or("-".to_string(), |e| e.to_string())
    );
    if let Some(out) = &a.out {
        infoplane::table::write(&mut snr::snr_table(&r)?, out)?;
        out!("wrote {} ({} rows)", out.display(), r.rows.len());
    }
    if let Some(dir) = &a.plot {
        let files = plot::snr::plot_snr(&r, &dir.join("snr"))?;
        out!("wrote {} plots in {}", files.len(), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
