//! `infoplane plot`: one drawing, from an estimates table or an archive.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use infoplane::archive::Archive;
use infoplane::diagnostics::snr;
use infoplane::fsutil;
use infoplane::plot;
use infoplane::run::distances;
use infoplane::selection::Epochs;
use infoplane::table::estimates;

use super::Outcome;

/// What to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Kind {
    /// The information plane, from an estimates table.
    Infoplane,
    /// Gradient signal and noise per layer, from an archive.
    Snr,
    /// Train and validation accuracy, from an archive.
    Accuracy,
    /// Distance histograms per layer, from an archive.
    Distances,
    /// An animated information plane (APNG) of one estimator and σ² from an estimates table:
    /// the trajectory grows epoch by epoch.
    Movie,
}

/// Flags of `plot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A results table (infoplane) or an archive directory (snr, accuracy, distances).
    input: PathBuf,
    /// What to draw.
    #[arg(long, value_enum, default_value_t = Kind::Infoplane)]
    kind: Kind,
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

/// The table's rows left after --estimator and --sigma2, with its unit.
fn filtered_rows(a: &Args) -> anyhow::Result<(Vec<estimates::EstimateRow>, estimates::Unit)> {
    let t = estimates::read(&a.input)?;
    let keep = |r: &estimates::EstimateRow| {
        a.estimator
            .as_ref()
            .is_none_or(|e| e.contains(&r.estimator))
            && a.sigma2.as_ref().is_none_or(|s| s.contains(&r.setting))
    };
    Ok((t.rows.into_iter().filter(keep).collect(), t.unit))
}

/// The animated plane of the one (run, estimator, setting) panel left after the filters.
fn movie(a: &Args) -> anyhow::Result<Vec<PathBuf>> {
    let (rows, unit) = filtered_rows(a)?;
    let panels = plot::plane::plane_panels(&rows, unit);
    match panels.as_slice() {
        [one] => Ok(vec![plot::movie::information_plane_movie(&a.out, one)?]),
        [] => bail!("{}: no rows left to animate after the --estimator/--sigma2 filters", a.input.display()),
        many => bail!(
            "{}: a movie shows one run, estimator and σ²; choose with --estimator and --sigma2 (the table has {})",
            a.input.display(),
            many.iter().map(|p| p.title.as_str()).collect::<Vec<_>>().join("; ")
        ),
    }
}

/// The information plane of a table, filtered.
fn plane(a: &Args) -> anyhow::Result<Vec<PathBuf>> {
    let (rows, unit) = filtered_rows(a)?;
    if rows.is_empty() {
        bail!(
            "{}: no rows left to plot after the --estimator/--sigma2 filters",
            a.input.display()
        );
    }
    let panels = plot::plane::plane_panels(&rows, unit);
    Ok(plot::information_plane(&a.out, &panels, a.band)?)
}

/// Runs `plot`.
pub fn run(a: Args) -> Outcome {
    if a.input.is_dir() {
        fsutil::refuse_output_inside(&a.out, &a.input)?;
    }
    let files = match a.kind {
        Kind::Infoplane => plane(&a)?,
        Kind::Movie => movie(&a)?,
        Kind::Snr => plot::snr::plot_snr(&snr::snr_archive(&Archive::open(&a.input)?)?, &a.out)?,
        Kind::Accuracy => {
            let archive = Archive::open(&a.input)?;
            let run = &archive.manifest().run.name;
            plot::lines::plot_accuracy(run, &archive.metrics()?, &a.out)?
        }
        Kind::Distances => {
            let archive = Archive::open(&a.input)?;
            let rep = distances::distances_archive(
                &archive,
                None,
                &Epochs::All,
                &distances::DistanceOptions::default(),
                &mut |_, _| {},
            )?;
            let names: Vec<String> = archive.layers().iter().map(|l| l.name.clone()).collect();
            let run = &archive.manifest().run.name;
            plot::histograms::layer_histograms(run, &names, &rep, &a.out, None)?
        }
    };
    for f in &files {
        out!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
