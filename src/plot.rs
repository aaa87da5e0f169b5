//! Plots (PNG and SVG through plotters): pairwise-distance histograms per layer, epochs overlaid.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::pairwise::histogram::HistogramBin;

/// Perceptually uniform colour for t in [0, 1] (viridis).
pub fn viridis(t: f64) -> RGBColor {
    use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
    ViridisRGB.get_color(t.clamp(0.0, 1.0))
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::format(path, format!("cannot draw the plot: {e}"))
}

/// Draws one layer's distance histograms, one line per epoch (fraction of pairs per bin against
/// the distance on a log axis, colour from early = dark to late = bright), into `stem.png` and
/// `stem.svg`. Returns the files written.
pub fn distance_histograms(
    stem: &Path,
    title: &str,
    epochs: &[(u32, &[HistogramBin])],
    size: (u32, u32),
) -> Result<Vec<PathBuf>> {
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw_histograms(&root, title, epochs).map_err(|e| plot_err(&png, e))?;
        root.present().map_err(|e| plot_err(&png, e))?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw_histograms(&root, title, epochs).map_err(|e| plot_err(&svg, e))?;
        root.present().map_err(|e| plot_err(&svg, e))?;
    }
    Ok(vec![png, svg])
}

type DrawResult<T, DB> =
    std::result::Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_histograms<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    epochs: &[(u32, &[HistogramBin])],
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let positive = |b: &&HistogramBin| b.upper > 0.0;
    // Density per decade: bins are not equally wide on the log axis, so counts are divided by
    // each bin's width in decades.
    let density = |bins: &[HistogramBin], b: &HistogramBin| {
        let total = bins.iter().map(|x| x.count).sum::<u64>().max(1) as f64;
        b.count as f64 / total / (b.upper / b.lower).log10()
    };
    // x range: from the 0.1 % quantile (of the epoch reaching lowest) to the largest distance,
    // so that a few near-duplicates do not squeeze the bulk into a corner.
    let mut lo = f64::INFINITY;
    let mut hi: f64 = 0.0;
    for (_, bins) in epochs {
        let total = bins.iter().map(|x| x.count).sum::<u64>() as f64;
        let mut seen = 0.0;
        for b in bins.iter().filter(positive) {
            seen += b.count as f64;
            if seen >= 0.001 * total {
                lo = lo.min(b.lower);
                break;
            }
        }
        if let Some(b) = bins.iter().rev().find(positive) {
            hi = hi.max(b.upper);
        }
    }
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (1e-3, 1.0)
    };
    let ymax = epochs
        .iter()
        .flat_map(|(_, bins)| {
            bins.iter()
                .filter(positive)
                .filter(move |b| b.lower >= lo)
                .map(move |b| density(bins, b))
        })
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.08;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..ymax)?;
    chart
        .configure_mesh()
        .x_desc("pairwise distance ||z_i - z_j|| (not squared), log scale")
        .y_desc("fraction of pairs per decade of distance")
        .label_style(("sans-serif", 14))
        .draw()?;
    let last = epochs.len().saturating_sub(1).max(1) as f64;
    let labelled = |k: usize| epochs.len() <= 8 || k == 0 || k + 1 == epochs.len();
    for (k, (epoch, bins)) in epochs.iter().enumerate() {
        let colour = viridis(k as f64 / last);
        let pts: Vec<(f64, f64)> = bins
            .iter()
            .filter(positive)
            .filter(|b| b.lower >= lo)
            .map(|b| ((b.lower * b.upper).sqrt(), density(bins, b)))
            .collect();
        let series = chart.draw_series(LineSeries::new(pts, colour.stroke_width(2)))?;
        if labelled(k) {
            series
                .label(format!("epoch {epoch}"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
                });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}
