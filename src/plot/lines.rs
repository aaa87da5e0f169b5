//! Line plots (accuracy, comparisons) with a legend.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{plot_err, viridis, write_png, DrawResult};
use crate::archive::EpochMetrics;
use crate::error::{Error, Result};
use crate::table::estimates::EstimateRow;

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

/// The axes' ranges that show every plottable point (x0, x1, y0, y1).
fn bounds(curves: &[Curve], ok: impl Fn(&&(f64, f64)) -> bool) -> (f64, f64, f64, f64) {
    let all: Vec<(f64, f64)> = curves
        .iter()
        .flat_map(|c| c.3.iter().filter(|p| ok(p)).copied())
        .collect();
    if all.is_empty() {
        return (1.0, 10.0, 1e-3, 1.0);
    }
    let inf = f64::INFINITY;
    let (x0, x1, y0, y1) = all.iter().fold((inf, -inf, inf, -inf), |a, p| {
        (a.0.min(p.0), a.1.max(p.0), a.2.min(p.1), a.3.max(p.1))
    });
    (x0, x1.max(x0 * 1.001 + 1e-9), y0, y1.max(y0 * 1.001 + 1e-9))
}

/// Draws the mesh, every curve and the legend on `$chart` (a chart of either axis type).
macro_rules! draw_curves {
    ($chart:expr, $x_desc:expr, $y_desc:expr, $curves:expr, $colour:expr, $ok:expr) => {{
        let mut chart = $chart;
        let tick = |v: &f64| super::axis_label(*v);
        chart
            .configure_mesh()
            .x_desc($x_desc)
            .y_desc($y_desc)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style(("sans-serif", 13))
            .draw()?;
        for (label, k, dashed, pts) in $curves {
            let c = $colour(*k);
            let pts: Vec<(f64, f64)> = pts.iter().filter($ok).copied().collect();
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
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()?;
    }};
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
    let (x0, x1, y0, y1) = bounds(curves, ok);
    let colour = |k: usize| {
        viridis(if n_colours > 1 {
            k as f64 / (n_colours - 1) as f64
        } else {
            0.3
        })
        .to_rgba()
    };
    let builder = |r| {
        let mut b = ChartBuilder::on(r);
        b.caption(
            super::fitted(title, r.dim_in_pixel().0, 20.0),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70);
        b
    };
    if log {
        let c = builder(root)
            .build_cartesian_2d((x0..x1).log_scale(), (y0 * 0.9..y1 * 1.1).log_scale())?;
        draw_curves!(c, x_desc, y_desc, curves, colour, ok);
    } else {
        let pad = (y1 - y0) * 0.05;
        let c = builder(root).build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
        draw_curves!(c, x_desc, y_desc, curves, colour, ok);
    }
    Ok(())
}

/// Train (solid) and validation (dashed) accuracy against the epoch.
pub(crate) fn plot_accuracy(
    run: &str,
    m: &[(u32, EpochMetrics)],
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    let series = |f: fn(&EpochMetrics) -> Option<f64>| {
        m.iter()
            .filter_map(|(e, x)| f(x).map(|v| (f64::from(*e), v)))
            .collect::<Vec<_>>()
    };
    let curves: Vec<Curve> = vec![
        (
            "train accuracy".into(),
            0,
            false,
            series(|x| x.train_accuracy),
        ),
        (
            "validation accuracy".into(),
            1,
            true,
            series(|x| x.validation_accuracy),
        ),
    ];
    lines(
        stem,
        &format!("{run}: accuracy"),
        "epoch",
        "accuracy",
        &curves,
        3,
        false,
    )
}

/// The compression ratio I(Y;Z) / I(X;Z) of each layer against the epoch (or checkpoint): one
/// chart per estimator and label set (its first setting; `{stem}-{estimator}.png`, then
/// `{stem}-{estimator}-{labels}.png` for label sets after the rows' first), one curve per
/// layer; nothing for estimators without both quantities.
pub fn plot_ratio(run: &str, rows: &[EstimateRow], stem: &Path) -> Result<Vec<PathBuf>> {
    type Curves = std::collections::BTreeMap<usize, Vec<(f64, f64)>>;
    // (file suffix, estimator, setting, curves)
    let mut charts: Vec<(String, String, String, Curves)> = Vec::new();
    let first_labels = rows.first().map_or("", |r| r.labels.as_str());
    for r in rows.iter().filter(|r| r.ratio().is_finite()) {
        let key = match r.labels.as_str() {
            l if l == first_labels => r.estimator.to_string(),
            l => format!("{}-{l}", r.estimator),
        };
        let at = match charts.iter().position(|c| c.0 == key) {
            Some(at) => at,
            None => {
                let est = r.estimator.to_string();
                charts.push((key, est, r.setting.clone(), Curves::new()));
                charts.len() - 1
            }
        };
        if charts[at].2 == r.setting {
            let pts = charts[at].3.entry(r.layer_index).or_default();
            pts.push((f64::from(r.epoch), r.ratio()));
        }
    }
    let names: std::collections::BTreeMap<usize, &str> = rows
        .iter()
        .map(|r| (r.layer_index, r.layer.as_str()))
        .collect();
    let mut files = Vec::new();
    for (key, estimator, setting, curves) in charts {
        let curves: Vec<Curve> = curves
            .into_iter()
            .map(|(l, mut pts)| {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let name = names.get(&l).copied().unwrap_or("?").to_string();
                (name, l, false, pts)
            })
            .collect();
        let file = stem.with_file_name(format!(
            "{}-{key}",
            stem.file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned())
        ));
        files.extend(lines(
            &file,
            &format!("{run}: I(Y;Z) / I(X;Z), {estimator} {setting}"),
            "epoch",
            "I(Y;Z) / I(X;Z)",
            &curves,
            names.len().max(2),
            false,
        )?);
    }
    Ok(files)
}
