//! `infoplane inspect`: what an archive holds (text or JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use infoplane::archive::{Archive, Summary};

use super::Outcome;

/// Flags of `inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive directory.
    dir: PathBuf,
    /// Print JSON (including the per-epoch metrics) instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `inspect`.
pub fn run(a: Args) -> Outcome {
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
    Ok(ExitCode::SUCCESS)
}
