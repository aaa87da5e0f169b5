//! `infoplane report`: everything at once for one or more archives, into a folder with a
//! self-contained `index.html`.

use std::path::PathBuf;
use std::process::ExitCode;

use infoplane::report::{self, ReportParams};

use super::Outcome;

/// Flags of `report`: the library's report parameters.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive directories: estimated, or with --table only read for their summary, accuracy
    /// and gradient SNR.
    #[arg(required_unless_present = "table")]
    dirs: Vec<PathBuf>,
    /// Report this estimates table (CSV or Parquet) as it is, estimating nothing; the
    /// estimation flags (--sigma2, --estimator, --epochs) are then not used.
    #[arg(long)]
    table: Option<PathBuf>,
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
    let mut progress = |stage: &str| pb.set_message(stage.to_string());
    let r = match &a.table {
        Some(t) => report::write_report_from_table(t, &a.dirs, &a.out, &a.params, &mut progress)?,
        None => report::write_report(&a.dirs, &a.out, &a.params, &mut progress)?,
    };
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
