//! One drawing by name, from an estimates table or an archive: what `infoplane plot` and
//! Python's `infoplane.plot` ask for, in one place.

use std::path::{Path, PathBuf};

use crate::archive::Archive;
use crate::diagnostics::snr;
use crate::error::{Error, Result};
use crate::run::distances;
use crate::selection::Epochs;
use crate::table::estimates::{self, EstimateRow, Unit};

/// What to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Drawing {
    /// The information plane, from an estimates table.
    #[default]
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

impl std::str::FromStr for Drawing {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "infoplane" => Drawing::Infoplane,
            "snr" => Drawing::Snr,
            "accuracy" => Drawing::Accuracy,
            "distances" => Drawing::Distances,
            "movie" => Drawing::Movie,
            _ => {
                return Err(Error::parameter(
                    "kind",
                    format!("unknown drawing '{s}' (infoplane, snr, accuracy, distances, movie)"),
                ))
            }
        })
    }
}

/// Which rows of a table a plane or a movie shows, and how.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaneFilter {
    /// Draw the rigorous I(Y;Z) bracket at the last epoch.
    pub band: bool,
    /// Only these estimators (all when `None`).
    pub estimators: Option<Vec<String>>,
    /// Only these σ² groups, values or rule names as in the table's `setting` (all when
    /// `None`).
    pub settings: Option<Vec<String>>,
}

impl PlaneFilter {
    /// The table's rows the filter keeps, with the table's unit.
    fn rows(&self, input: &Path) -> Result<(Vec<EstimateRow>, Unit)> {
        let t = estimates::read(input)?;
        let keep = |r: &EstimateRow| {
            self.estimators
                .as_ref()
                .is_none_or(|e| e.iter().any(|x| *x == r.estimator))
                && self
                    .settings
                    .as_ref()
                    .is_none_or(|s| s.contains(&r.setting))
        };
        Ok((t.rows.into_iter().filter(keep).collect(), t.unit))
    }
}

/// Draws `what` from `input` (an estimates table for the plane and the movie, an archive
/// directory otherwise) at `out` (a path without extension; a directory for distances) and
/// returns the files written.
pub fn draw(input: &Path, what: Drawing, filter: &PlaneFilter, out: &Path) -> Result<Vec<PathBuf>> {
    if input.is_dir() {
        crate::util::fsutil::refuse_output_inside(out, input)?;
    }
    match what {
        Drawing::Infoplane => plane(input, filter, out),
        Drawing::Movie => movie(input, filter, out),
        Drawing::Snr => super::snr::plot_snr(&snr::snr_archive(&Archive::open(input)?)?, out),
        Drawing::Accuracy => {
            let archive = Archive::open(input)?;
            let run = &archive.manifest().run.name;
            super::lines::plot_accuracy(run, &archive.metrics()?, out)
        }
        Drawing::Distances => {
            let archive = Archive::open(input)?;
            let rep = distances::distances_archive(
                &archive,
                None,
                &Epochs::All,
                &distances::DistanceOptions::default(),
                &mut |_, _| {},
            )?;
            let names: Vec<String> = archive.layers().iter().map(|l| l.name.clone()).collect();
            let run = &archive.manifest().run.name;
            super::histograms::layer_histograms(run, &names, &rep, out, None)
        }
    }
}

/// The information plane of a table, filtered.
fn plane(input: &Path, filter: &PlaneFilter, out: &Path) -> Result<Vec<PathBuf>> {
    let (rows, unit) = filter.rows(input)?;
    if rows.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no rows left to plot after the estimator/σ² filters",
            input.display()
        )));
    }
    let panels = super::plane::plane_panels(&rows, unit);
    super::information_plane(out, &panels, filter.band)
}

/// The animated plane of the one (run, estimator, setting) panel left after the filters.
fn movie(input: &Path, filter: &PlaneFilter, out: &Path) -> Result<Vec<PathBuf>> {
    let (rows, unit) = filter.rows(input)?;
    let panels = super::plane::plane_panels(&rows, unit);
    match panels.as_slice() {
        [one] => Ok(vec![super::movie::information_plane_movie(out, one)?]),
        [] => Err(Error::Invalid(format!(
            "{}: no rows left to animate after the estimator/σ² filters",
            input.display()
        ))),
        many => Err(Error::Invalid(format!(
            "{}: a movie shows one run, estimator and σ²; choose them with the estimator and σ² filters (the table has {})",
            input.display(),
            many.iter().map(|p| p.title.as_str()).collect::<Vec<_>>().join("; ")
        ))),
    }
}
