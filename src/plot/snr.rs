//! Gradient signal-to-noise as small multiples: one log-log panel per layer with ‖Mean‖/‖W‖
//! (solid) and ‖STD‖/‖W‖ (dashed), each raw (faint) and smoothed by a running median over 5
//! recorded epochs, the transition epoch marked, curves labelled at their ends (no legend over
//! the data).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{axis_label, plot_err, viridis, write_png, DrawResult};
use crate::diagnostics::snr::SnrReport;
use crate::error::{Error, Result};

/// Running median over `w` neighbours (centred; shorter at the ends).
pub(crate) fn running_median(v: &[f64], w: usize) -> Vec<f64> {
    let h = w / 2;
    (0..v.len())
        .map(|i| {
            let mut win: Vec<f64> = v[i.saturating_sub(h)..(i + h + 1).min(v.len())]
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .collect();
            win.sort_by(f64::total_cmp);
            win.get(win.len() / 2).copied().unwrap_or(f64::NAN)
        })
        .collect()
}

/// One panel's data: (layer, transition epoch, [(epoch, mean/‖W‖, std/‖W‖)]).
type Panel = (String, Option<u32>, Vec<(f64, f64, f64)>);

fn panels(r: &SnrReport) -> Vec<Panel> {
    let mut out: Vec<Panel> = Vec::new();
    for row in &r.rows {
        let p = match out.iter_mut().find(|p| p.0 == row.layer) {
            Some(p) => p,
            None => {
                let t = r.transitions.iter().find(|t| t.layer == row.layer);
                out.push((row.layer.clone(), t.and_then(|t| t.epoch), Vec::new()));
                out.last_mut().expect("just pushed")
            }
        };
        p.2.push((f64::from(row.epoch), row.mean_over_w, row.std_over_w));
    }
    out
}

/// Draws the small multiples into `stem.png` and `stem.svg`.
pub fn plot_snr(r: &SnrReport, stem: &Path) -> Result<Vec<PathBuf>> {
    let panels = panels(r);
    let cols = (panels.len() as f64).sqrt().ceil().max(1.0) as usize;
    let rows = panels.len().div_ceil(cols).max(1);
    let size = (380 * cols as u32, 60 + 300 * rows as u32);
    let title = format!(
        "{}: gradient signal ‖Mean‖/‖W‖ (solid) and noise ‖STD‖/‖W‖ (dashed); faint = raw, strong = running median of 5",
        r.run
    );
    render!(stem, size, |root| draw(
        &root,
        &title,
        &panels,
        (rows, cols)
    ))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel],
    grid: (usize, usize),
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(60);
    top.draw(&Text::new(title, (10, 20), ("sans-serif", 15)))?;
    let n = panels.len().max(2) - 1;
    for (k, (p, area)) in panels.iter().zip(body.split_evenly(grid)).enumerate() {
        draw_panel(&area, p, viridis(k as f64 / n as f64))?;
    }
    Ok(())
}

/// The log axes' ranges of a panel: every positive finite value, with room for the labels.
fn ranges(pts: &[(f64, f64, f64)]) -> ((f64, f64), (f64, f64)) {
    let ok = |x: f64, y: f64| x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite();
    let vals: Vec<(f64, f64)> = pts
        .iter()
        .flat_map(|p| [(p.0, p.1), (p.0, p.2)])
        .filter(|p| ok(p.0, p.1))
        .collect();
    let lo = |g: fn(&(f64, f64)) -> f64| vals.iter().map(g).fold(f64::INFINITY, f64::min);
    let hi = |g: fn(&(f64, f64)) -> f64| vals.iter().map(g).fold(0.0, f64::max);
    let (x0, x1, y0, y1) = (lo(|p| p.0), hi(|p| p.0), lo(|p| p.1), hi(|p| p.1));
    let x = if x0.is_finite() && x1 > x0 {
        (x0, x1 * 1.6)
    } else {
        (1.0, 10.0)
    };
    let y = if y0.is_finite() && y1 > y0 {
        (y0 / 1.5, y1 * 1.5)
    } else {
        (1e-3, 1.0)
    };
    (x, y)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (layer, transition, pts): &Panel,
    colour: RGBColor,
) -> DrawResult<(), DB> {
    let ok = |x: f64, y: f64| x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite();
    let ((x0, x1), (y0, y1)) = ranges(pts);
    let caption = match transition {
        Some(e) => format!("{layer} (transition at epoch {e})"),
        None => format!("{layer} (no transition)"),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(
            super::fitted(&caption, area.dim_in_pixel().0, 14.0),
            ("sans-serif", 14),
        )
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(48)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?;
    chart
        .configure_mesh()
        .x_label_formatter(&|v| axis_label(*v))
        .y_label_formatter(&|v| axis_label(*v))
        .label_style(("sans-serif", 11))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (which, dashed) in [(1usize, false), (2usize, true)] {
        let raw: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (p.0, if which == 1 { p.1 } else { p.2 }))
            .collect();
        let smooth: Vec<f64> = running_median(&raw.iter().map(|p| p.1).collect::<Vec<_>>(), 5);
        let keep = |v: Vec<(f64, f64)>| v.into_iter().filter(|p| ok(p.0, p.1)).collect::<Vec<_>>();
        let raw = keep(raw);
        let smooth = keep(pts.iter().zip(smooth).map(|(p, s)| (p.0, s)).collect());
        let faint = colour.mix(0.25).stroke_width(1);
        let strong = colour.stroke_width(2);
        if dashed {
            chart.draw_series(DashedLineSeries::new(raw, 4, 3, faint))?;
            chart.draw_series(DashedLineSeries::new(smooth.clone(), 6, 4, strong))?;
        } else {
            chart.draw_series(LineSeries::new(raw, faint))?;
            chart.draw_series(LineSeries::new(smooth.clone(), strong))?;
        }
        if let Some(&(x, y)) = smooth.last() {
            let name = if dashed { "std" } else { "mean" };
            chart.draw_series(std::iter::once(Text::new(
                name,
                (x * 1.05, y),
                ("sans-serif", 11),
            )))?;
        }
    }
    if let Some(e) = transition.filter(|&e| f64::from(e) >= x0) {
        let x = f64::from(e).max(x0);
        chart.draw_series(DashedLineSeries::new(
            vec![(x, y0), (x, y1)],
            3,
            3,
            BLACK.mix(0.6).stroke_width(1),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn running_median_by_hand() {
        let m = super::running_median(&[1.0, 9.0, 2.0, 8.0, 3.0, f64::NAN, 4.0], 5);
        assert_eq!(m, [2.0, 8.0, 3.0, 8.0, 4.0, 4.0, 4.0]);
    }
}
