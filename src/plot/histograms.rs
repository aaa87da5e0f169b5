//! Pairwise-distance histograms: one plot per layer, epochs overlaid from dark to bright.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{plot_err, viridis, write_png, DrawResult};
use crate::error::{Error, Result};
use crate::estimator::pairwise::histogram::HistogramBin;
use crate::run::distances::DistanceReport;

/// Draws one histogram plot (PNG and SVG at `stem`), the epochs overlaid; `squared` says
/// the bins are of d²; `marks` are drawn as labelled dashed vertical lines.
fn distance_histograms(
    stem: &Path,
    title: &str,
    epochs: &[(u32, &[HistogramBin])],
    (size, squared): ((u32, u32), bool),
    marks: &[(String, f64)],
) -> Result<Vec<PathBuf>> {
    render!(stem, size, |root| draw_histograms(
        &root,
        title,
        epochs,
        (squared, marks)
    ))
}

/// Density per decade: bins are not equally wide on the log axis, so counts are divided by
/// each bin's width in decades.
fn density(bins: &[HistogramBin], b: &HistogramBin) -> f64 {
    let total = bins.iter().map(|x| x.count).sum::<u64>().max(1) as f64;
    b.count as f64 / total / (b.upper / b.lower).log10()
}

/// The x range: from the 0.1 % quantile (of the epoch reaching lowest) to the largest
/// distance, so that a few near-duplicates do not squeeze the bulk into a corner.
fn x_range(epochs: &[(u32, &[HistogramBin])]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi: f64 = 0.0;
    for (_, bins) in epochs {
        let total = bins.iter().map(|x| x.count).sum::<u64>() as f64;
        let mut seen = 0.0;
        for b in bins.iter().filter(|b| b.upper > 0.0) {
            seen += b.count as f64;
            if seen >= 0.001 * total {
                lo = lo.min(b.lower);
                break;
            }
        }
        if let Some(b) = bins.iter().rev().find(|b| b.upper > 0.0) {
            hi = hi.max(b.upper);
        }
    }
    if lo.is_finite() && hi > lo {
        // A margin of a quarter decade on the right: the last peak is drawn whole.
        (lo, hi * 10f64.powf(0.25))
    } else {
        (1e-3, 1.0)
    }
}

fn draw_histograms<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    epochs: &[(u32, &[HistogramBin])],
    (squared, marks): (bool, &[(String, f64)]),
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (lo, hi) = x_range(epochs);
    // Marks widen the range so that none is hidden (a quarter decade of margin).
    let shown_marks: Vec<&(String, f64)> = marks
        .iter()
        .filter(|m| m.1 > 0.0 && m.1.is_finite())
        .collect();
    let lo = shown_marks
        .iter()
        .fold(lo, |a, m| a.min(m.1 / 10f64.powf(0.25)));
    let hi = shown_marks
        .iter()
        .fold(hi, |a, m| a.max(m.1 * 10f64.powf(0.25)));
    let shown = move |b: &&HistogramBin| b.upper > 0.0 && b.lower >= lo;
    let ymax = epochs
        .iter()
        .flat_map(|(_, bins)| bins.iter().filter(shown).map(move |b| density(bins, b)))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.08;
    let mut chart = ChartBuilder::on(root)
        .caption(
            super::fitted(title, root.dim_in_pixel().0, 22.0),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..ymax)?;
    chart
        .configure_mesh()
        .x_desc(if squared {
            "squared pairwise distance ||z_i - z_j||² (what the σ² rules read), log scale"
        } else {
            "pairwise distance ||z_i - z_j|| (not squared), log scale"
        })
        .y_desc("fraction of pairs per decade of distance")
        .x_label_formatter(&|v| super::axis_label(*v))
        .y_label_formatter(&|v| super::axis_label(*v))
        .label_style(("sans-serif", 14))
        .draw()?;
    let last = epochs.len().saturating_sub(1).max(1) as f64;
    let labelled = |k: usize| epochs.len() <= 8 || k == 0 || k + 1 == epochs.len();
    for (k, (epoch, bins)) in epochs.iter().enumerate() {
        let colour = viridis(k as f64 / last);
        let pts: Vec<(f64, f64)> = bins
            .iter()
            .filter(shown)
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
    for (k, (label, v)) in shown_marks.iter().enumerate() {
        mark(&mut chart, label, *v, (ymax, 0.95 - 0.06 * (k % 6) as f64))?;
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

/// A dashed vertical line at `v` over the height `ymax`, labelled at `frac` of it.
fn mark<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<LogCoord<f64>, plotters::coord::types::RangedCoordf64>,
    >,
    label: &str,
    v: f64,
    (ymax, frac): (f64, f64),
) -> DrawResult<(), DB> {
    let style = BLACK.mix(0.7).stroke_width(1);
    chart.draw_series(DashedLineSeries::new(
        vec![(v, 0.0), (v, ymax)],
        5,
        4,
        style,
    ))?;
    let text = Text::new(
        label.to_string(),
        (v * 1.03, ymax * frac),
        ("sans-serif", 12),
    );
    chart.draw_series(std::iter::once(text))?;
    Ok(())
}

/// Draws one distance-histogram plot per layer into `dir` (`distances-<index>-<layer>.png` and
/// `.svg`), the selected epochs overlaid from dark (early) to bright (late); `layers` are the
/// archive's layer names by index. Returns the files.
pub fn layer_histograms(
    run: &str,
    names: &[String],
    report: &DistanceReport,
    dir: &Path,
    epochs: Option<&[u32]>,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    let mut layers: Vec<usize> = report.histograms.iter().map(|h| h.0).collect();
    layers.dedup();
    for li in layers {
        let name = &names[li];
        let series: Vec<(u32, &[HistogramBin])> = report
            .histograms
            .iter()
            .filter(|h| h.0 == li && epochs.is_none_or(|e| e.contains(&h.1)))
            .map(|h| (h.1, h.2.as_slice()))
            .collect();
        if series.is_empty() {
            continue;
        }
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = dir.join(format!("distances-{li:02}-{safe}"));
        let title = format!(
            "{}: layer {li} '{name}', pairwise {} ({} epochs)",
            run,
            if report.squared {
                "squared distances"
            } else {
                "distances"
            },
            series.len()
        );
        let size = ((900, 560), report.squared);
        let marks: Vec<(String, f64)> = report
            .marks
            .iter()
            .filter(|m| m.0 == li)
            .map(|m| (m.1.clone(), m.2))
            .collect();
        files.extend(distance_histograms(&stem, &title, &series, size, &marks)?);
    }
    Ok(files)
}
