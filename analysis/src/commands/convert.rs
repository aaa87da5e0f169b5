//! `infoplane convert`: an archive copied into the other backend, bit for bit.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::archive::{self, Archive, Backend};
use infoplane::util::notice::notice;

use super::{overwrite, parse_backend, Outcome};

/// Flags of `convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
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

/// Runs `convert`.
pub fn run(a: Args) -> Outcome {
    let src = Archive::open(&a.dir)?;
    if !src.is_complete() {
        notice(&format!(
            "{} is incomplete; converting its {} committed epochs",
            a.dir.display(),
            src.epochs().len()
        ));
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
    Ok(ExitCode::SUCCESS)
}
