//! `infoplane report`: everything at once for one or more archives, into a folder with a
//! self-contained `index.html`.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::report::{self, ReportParams};

use super::Outcome;

/// Flags of `report`: the library's report parameters.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive directories.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Report folder (index.html, CSVs and plots).
    #[arg(long)]
    out: PathBuf,
    /// What the report computes.
    #[command(flatten)]
    params: ReportParams,
}

/// Runs `report`.
pub fn run(a: Args) -> Outcome {
    let pb = indicatif::ProgressBar::new_spinner();
    let r = report::write_report(&a.dirs, &a.out, &a.params, &mut |stage| {
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
    Ok(ExitCode::SUCCESS)
}
