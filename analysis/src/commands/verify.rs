//! `infoplane verify`: read every file of an archive and list the damaged ones.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use infoplane::archive::{verify, Archive};

use super::Outcome;

/// Flags of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive directory.
    dir: PathBuf,
}

/// Runs `verify`.
pub fn run(a: Args) -> Outcome {
    let archive = Archive::open(&a.dir)?;
    let pb = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("verifying {bar:30} {pos}/{len} epochs {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let r = verify::verify(&archive, &mut |d, t| {
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
    Ok(ExitCode::SUCCESS)
}
