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

/// Draws `$draw(&root)` into `stem.png` and `stem.svg` (the same drawing code for both
/// backends, rendered in memory and written atomically); evaluates to the files written.
macro_rules! render {
    ($stem:expr, $size:expr, |$root:ident| $draw:expr) => {{
        let stem: &Path = $stem;
        let png = stem.with_extension("png");
        let svg = stem.with_extension("svg");
        if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let (w, h) = $size;
        let mut pixels = vec![0u8; w as usize * h as usize * 3];
        {
            let $root = BitMapBackend::with_buffer(&mut pixels, $size).into_drawing_area();
            $draw.map_err(|e| plot_err(&png, e))?;
            $root.present().map_err(|e| plot_err(&png, e))?;
        }
        write_png(&png, pixels, $size)?;
        let mut text = String::new();
        {
            let $root = SVGBackend::with_string(&mut text, $size).into_drawing_area();
            $draw.map_err(|e| plot_err(&svg, e))?;
            $root.present().map_err(|e| plot_err(&svg, e))?;
        }
        crate::archive::fsutil::write_atomic(&svg, text.as_bytes())?;
        Ok(vec![png, svg])
    }};
}

/// Encodes RGB pixels as PNG and writes them atomically.
fn write_png(path: &Path, pixels: Vec<u8>, (w, h): (u32, u32)) -> Result<()> {
    let image = image::RgbImage::from_raw(w, h, pixels)
        .ok_or_else(|| plot_err(path, "pixel buffer of the wrong size"))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageOutputFormat::Png)
        .map_err(|e| plot_err(path, e))?;
    crate::archive::fsutil::write_atomic(path, bytes.get_ref())
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
    render!(stem, size, |root| draw_histograms(&root, title, epochs))
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

/// One information-plane panel: the rows of one (run, estimator, σ²) group.
#[derive(Debug, Clone)]
pub struct PlanePanel {
    /// Panel title.
    pub title: String,
    /// (epoch, layer index, I(X;Z), I(Y;Z), bracket lo, bracket hi).
    pub points: Vec<(u32, usize, f64, f64, f64, f64)>,
    /// H(Y) in the unit.
    pub h_y: f64,
    /// log N in the unit.
    pub log_n: f64,
    /// Unit name.
    pub unit: String,
}

/// Information planes, one panel per group in a grid: x = I(X;Z), y = I(Y;Z), colour = epoch
/// (viridis, with a colour bar), each epoch's points joined across layers, layer numbers
/// (1-based) at the last epoch, the I(Y;Z) bracket as a vertical bar at the last epoch when
/// `band` is set, dashed reference lines at H(Y) and log N.
///
/// Points whose I(X;Z) or I(Y;Z) is not finite cannot be placed and are left out; so are
/// infinite bracket ends and reference lines.
pub fn information_plane(stem: &Path, panels: &[PlanePanel], band: bool) -> Result<Vec<PathBuf>> {
    let nan_if_infinite = |v: f64| if v.is_finite() { v } else { f64::NAN };
    let finite: Vec<PlanePanel> = panels
        .iter()
        .map(|p| PlanePanel {
            points: p
                .points
                .iter()
                .filter(|q| q.2.is_finite() && q.3.is_finite())
                .map(|q| {
                    (
                        q.0,
                        q.1,
                        q.2,
                        q.3,
                        nan_if_infinite(q.4),
                        nan_if_infinite(q.5),
                    )
                })
                .collect(),
            h_y: nan_if_infinite(p.h_y),
            log_n: nan_if_infinite(p.log_n),
            ..p.clone()
        })
        .collect();
    let panels = finite.as_slice();
    let cols = (panels.len() as f64).sqrt().ceil().max(1.0) as usize;
    let rows = panels.len().div_ceil(cols).max(1);
    let size = (560 * cols as u32 + 90, 460 * rows as u32);
    render!(stem, size, |root| draw_planes(
        &root, panels, cols, rows, band
    ))
}

fn draw_planes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[PlanePanel],
    cols: usize,
    rows: usize,
    band: bool,
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (main, bar) = root.split_horizontally(w - 90);
    let (e_min, e_max) = panels
        .iter()
        .flat_map(|p| p.points.iter().map(|q| q.0))
        .fold((u32::MAX, 0), |(a, b), e| (a.min(e), b.max(e)));
    // Epochs spanning more than two decades are coloured by log(1 + epoch), so that the early
    // epochs, where representations change fastest, are told apart.
    let log_scale = e_max > 100 && (f64::from(e_max) + 1.0) / (f64::from(e_min) + 1.0) > 100.0;
    let scale = |e: u32| {
        if log_scale {
            f64::from(e).ln_1p()
        } else {
            f64::from(e)
        }
    };
    let e_span = (scale(e_max) - scale(e_min)).max(1e-9);
    let colour_of = |e: u32| viridis((scale(e) - scale(e_min)) / e_span);
    for (panel, area) in panels.iter().zip(main.split_evenly((rows, cols))) {
        // f64::max skips NaN: a missing reference line does not widen the axes.
        // (Capped so that a huge value cannot overflow the axis range to infinity.)
        let xmax = (panel.points.iter().map(|p| p.2).fold(panel.log_n, f64::max) * 1.05)
            .min(f64::MAX / 4.0);
        let ymax = (panel
            .points
            .iter()
            .map(|p| p.3.max(if band { p.5 } else { 0.0 }))
            .fold(panel.h_y, f64::max)
            * 1.08)
            .min(f64::MAX / 4.0);
        let mut chart = ChartBuilder::on(&area)
            .caption(&panel.title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..xmax.max(1e-6), 0.0..ymax.max(1e-6))?;
        chart
            .configure_mesh()
            .x_desc(format!("I(X;Z) [{}]", panel.unit))
            .y_desc(format!("I(Y;Z) [{}]", panel.unit))
            .label_style(("sans-serif", 12))
            .draw()?;
        let dashed =
            |pts: Vec<(f64, f64)>| DashedLineSeries::new(pts, 6, 4, BLACK.mix(0.6).stroke_width(1));
        if panel.h_y.is_finite() {
            chart.draw_series(dashed(vec![(0.0, panel.h_y), (xmax, panel.h_y)]))?;
            chart.draw_series(std::iter::once(Text::new(
                "H(Y)",
                (xmax * 0.02, panel.h_y),
                ("sans-serif", 12),
            )))?;
        }
        if panel.log_n.is_finite() {
            chart.draw_series(dashed(vec![(panel.log_n, 0.0), (panel.log_n, ymax)]))?;
            chart.draw_series(std::iter::once(Text::new(
                "log N",
                (panel.log_n, ymax * 0.04),
                ("sans-serif", 12),
            )))?;
        }
        let mut epochs: Vec<u32> = panel.points.iter().map(|p| p.0).collect();
        epochs.sort_unstable();
        epochs.dedup();
        for &e in &epochs {
            let mut pts: Vec<_> = panel.points.iter().filter(|p| p.0 == e).collect();
            pts.sort_by_key(|p| p.1);
            let c = colour_of(e);
            chart.draw_series(LineSeries::new(
                pts.iter().map(|p| (p.2, p.3)),
                c.mix(0.5).stroke_width(1),
            ))?;
            chart.draw_series(pts.iter().map(|p| Circle::new((p.2, p.3), 3, c.filled())))?;
        }
        if let Some(&last) = epochs.last() {
            for p in panel.points.iter().filter(|p| p.0 == last) {
                if band && p.4.is_finite() && p.5.is_finite() {
                    chart.draw_series(LineSeries::new(
                        vec![(p.2, p.4), (p.2, p.5)],
                        RED.mix(0.6).stroke_width(2),
                    ))?;
                }
                chart.draw_series(std::iter::once(Text::new(
                    format!("{}", p.1 + 1),
                    (p.2, p.3),
                    ("sans-serif", 14).into_font().color(&BLACK),
                )))?;
            }
        }
    }
    // Colour bar.
    let (_, bh) = bar.dim_in_pixel();
    let top = 40i32;
    let bottom = bh as i32 - 60;
    for y in top..bottom {
        let t = f64::from(bottom - y) / f64::from(bottom - top);
        bar.draw(&Rectangle::new([(20, y), (44, y + 1)], viridis(t).filled()))?;
    }
    bar.draw(&Text::new(
        if log_scale { "epoch (log)" } else { "epoch" },
        (8, top - 24),
        ("sans-serif", 13),
    ))?;
    let y_of =
        |e: u32| bottom - ((scale(e) - scale(e_min)) / e_span * f64::from(bottom - top)) as i32;
    let mut ticks = vec![e_min, e_max];
    if log_scale {
        // Powers of ten below e_max; u64, so that epochs near u32::MAX cannot wrap to 0.
        let mut t: u64 = 10;
        while t < u64::from(e_max) {
            let e = t as u32;
            if e > e_min && f64::from(e_max) / f64::from(e) > 1.5 {
                ticks.push(e);
            }
            t *= 10;
        }
    }
    for t in ticks {
        bar.draw(&Text::new(
            format!("{t}"),
            (48, y_of(t) - 6),
            ("sans-serif", 12),
        ))?;
    }
    Ok(())
}

/// One line of a line plot: (label, colour index, dashed, points).
pub type Curve = (String, usize, bool, Vec<(f64, f64)>);

/// A line plot of `curves` (colour by index on viridis over `n_colours`), optionally log-log.
pub fn lines(
    stem: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    curves: &[Curve],
    n_colours: usize,
    log: bool,
) -> Result<Vec<PathBuf>> {
    render!(stem, (900, 600), |root| draw_lines(
        &root, title, x_desc, y_desc, curves, n_colours, log
    ))
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    curves: &[Curve],
    n_colours: usize,
    log: bool,
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let ok =
        |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!log || (p.0 > 0.0 && p.1 > 0.0));
    let all: Vec<(f64, f64)> = curves
        .iter()
        .flat_map(|c| c.3.iter().filter(ok).copied())
        .collect();
    let (x0, x1, y0, y1) = all.iter().fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |a, p| (a.0.min(p.0), a.1.max(p.0), a.2.min(p.1), a.3.max(p.1)),
    );
    let (x0, x1, y0, y1) = if all.is_empty() {
        (1.0, 10.0, 1e-3, 1.0)
    } else {
        (x0, x1.max(x0 * 1.001 + 1e-9), y0, y1.max(y0 * 1.001 + 1e-9))
    };
    let colour = |k: usize| {
        viridis(if n_colours > 1 {
            k as f64 / (n_colours - 1) as f64
        } else {
            0.3
        })
        .to_rgba()
    };
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            let tick = |v: &f64| {
                if *v != 0.0 && (v.abs() < 1e-2 || v.abs() >= 1e4) {
                    format!("{v:.0e}")
                } else {
                    format!("{}", (v * 1e4).round() / 1e4)
                }
            };
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc)
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .label_style(("sans-serif", 13))
                .draw()?;
            for (label, k, dashed, pts) in curves {
                let c = colour(*k);
                let pts: Vec<(f64, f64)> = pts.iter().filter(ok).copied().collect();
                let s = if *dashed {
                    chart.draw_series(DashedLineSeries::new(pts, 5, 4, c.stroke_width(2)))?
                } else {
                    chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?
                };
                s.label(label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3))
                });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .draw()?;
        }};
    }
    let builder = |r| {
        let mut b = ChartBuilder::on(r);
        b.caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70);
        b
    };
    if log {
        body!(builder(root)
            .build_cartesian_2d((x0..x1).log_scale(), (y0 * 0.9..y1 * 1.1).log_scale())?);
    } else {
        let pad = (y1 - y0) * 0.05;
        body!(builder(root).build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?);
    }
    Ok(())
}
