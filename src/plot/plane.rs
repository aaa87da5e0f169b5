//! Information planes: I(Y;Z) against I(X;Z), one panel per (run, estimator, setting), colour =
//! epoch.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{plot_err, viridis, write_png, DrawResult};
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::table::estimates::{EstimateRow, Unit};

/// One information-plane panel: the rows of one (run, estimator, σ²) group.
#[derive(Debug, Clone)]
pub struct PlanePanel {
    /// Panel title.
    pub title: String,
    /// (epoch, layer index, I(X;Z), I(Y;Z), bracket lo, bracket hi).
    pub points: Vec<(u32, usize, f64, f64, f64, f64)>,
    /// 95 % intervals [x lo, x hi, y lo, y hi] by (epoch, layer index), where the rows have
    /// them (error bars, aggregates over seeds): drawn as translucent boxes.
    pub intervals: BTreeMap<(u32, usize), [f64; 4]>,
    /// H(Y) in the unit.
    pub h_y: f64,
    /// log N in the unit.
    pub log_n: f64,
    /// Unit name.
    pub unit: String,
    /// What the axes hold: I(X;Z) and I(Y;Z), or SI for sliced mutual information.
    pub axes: (&'static str, &'static str),
    /// Layer names by layer index, for the labels (a layer without one is labelled by its
    /// 1-based position).
    pub layers: Vec<String>,
}

/// Information planes, one panel per group in a grid: x = I(X;Z), y = I(Y;Z), colour = epoch
/// (viridis, with a colour bar), each epoch's points joined across layers, layer names at the
/// last epoch, the I(Y;Z) bracket as a vertical bar at the last epoch when
/// `band` is set, 95 % intervals (when the panel has them) as translucent boxes in the epoch's
/// colour, dashed reference lines at H(Y) and log N.
///
/// Points whose I(X;Z) or I(Y;Z) is not finite cannot be placed and are left out; so are
/// infinite bracket ends and reference lines.
pub fn information_plane(stem: &Path, panels: &[PlanePanel], band: bool) -> Result<Vec<PathBuf>> {
    let finite: Vec<PlanePanel> = panels.iter().map(placeable).collect();
    let panels = finite.as_slice();
    let cols = (panels.len() as f64).sqrt().ceil().max(1.0) as usize;
    let rows = panels.len().div_ceil(cols).max(1);
    let size = (560 * cols as u32 + 90, 460 * rows as u32);
    render!(stem, size, |root| draw_planes(
        &root, panels, cols, rows, band
    ))
}

/// The panel without the points that cannot be placed (non-finite I(X;Z) or I(Y;Z)), infinite
/// bracket ends and reference lines as NaN.
fn placeable(p: &PlanePanel) -> PlanePanel {
    let nan_if_infinite = |v: f64| if v.is_finite() { v } else { f64::NAN };
    PlanePanel {
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
    }
}

/// Size of one animation frame.
pub const FRAME: (u32, u32) = (650, 460);

/// One frame of an animated plane: `panel`'s points up to epoch `upto`, on the colours of the
/// whole run (the axes reach log N and H(Y), which bound the estimates); RGB pixels of
/// [`FRAME`].
pub fn frame(panel: &PlanePanel, upto: u32) -> Result<Vec<u8>> {
    let all = placeable(panel);
    let scale = EpochScale::of(std::slice::from_ref(&all));
    let shown = PlanePanel {
        points: all.points.iter().filter(|p| p.0 <= upto).copied().collect(),
        title: format!("{} · epoch {upto}", all.title),
        ..all.clone()
    };
    let mut pixels = vec![0u8; FRAME.0 as usize * FRAME.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, FRAME).into_drawing_area();
        let draw = || -> DrawResult<(), BitMapBackend<'_>> {
            root.fill(&WHITE)?;
            let (main, bar) = root.split_horizontally(FRAME.0 - 90);
            draw_panel(&main, &shown, &scale, false)?;
            draw_colour_bar(&bar, &scale)
        };
        draw().map_err(|e| Error::Invalid(format!("cannot draw the frame: {e}")))?;
        root.present()
            .map_err(|e| Error::Invalid(format!("cannot draw the frame: {e}")))?;
    }
    Ok(pixels)
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
    let scale = EpochScale::of(panels);
    for (panel, area) in panels.iter().zip(main.split_evenly((rows, cols))) {
        draw_panel(&area, panel, &scale, band)?;
    }
    draw_colour_bar(&bar, &scale)
}

/// How epochs map to colours: linearly, or by log(1 + epoch) when they span more than two
/// decades (so that the early epochs, where representations change fastest, are told apart).
struct EpochScale {
    min: u32,
    max: u32,
    log: bool,
}

impl EpochScale {
    fn of(panels: &[PlanePanel]) -> Self {
        let (min, max) = panels
            .iter()
            .flat_map(|p| p.points.iter().map(|q| q.0))
            .fold((u32::MAX, 0), |(a, b), e| (a.min(e), b.max(e)));
        let log = max > 100 && (f64::from(max) + 1.0) / (f64::from(min) + 1.0) > 100.0;
        EpochScale { min, max, log }
    }

    fn at(&self, e: u32) -> f64 {
        if self.log {
            f64::from(e).ln_1p()
        } else {
            f64::from(e)
        }
    }

    /// Position in [0, 1].
    fn fraction(&self, e: u32) -> f64 {
        (self.at(e) - self.at(self.min)) / (self.at(self.max) - self.at(self.min)).max(1e-9)
    }
}

/// The ends of the x and y axes: the largest values with a margin, ln N and H(Y) included.
/// f64::max skips NaN, so a missing reference line does not widen the axes; capped so that a
/// huge value cannot overflow the axis range to infinity.
fn axis_ends(panel: &PlanePanel, band: bool) -> (f64, f64) {
    let xmax =
        (panel.points.iter().map(|p| p.2).fold(panel.log_n, f64::max) * 1.05).min(f64::MAX / 4.0);
    let top = |p: &(u32, usize, f64, f64, f64, f64)| p.3.max(if band { p.5 } else { 0.0 });
    let ymax = (panel.points.iter().map(top).fold(panel.h_y, f64::max) * 1.08).min(f64::MAX / 4.0);
    (xmax, ymax)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &PlanePanel,
    scale: &EpochScale,
    band: bool,
) -> DrawResult<(), DB> {
    let (xmax, ymax) = axis_ends(panel, band);
    let mut chart = ChartBuilder::on(area)
        .caption(
            super::fitted(&panel.title, area.dim_in_pixel().0, 16.0),
            ("sans-serif", 16),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..xmax.max(1e-6), 0.0..ymax.max(1e-6))?;
    chart
        .configure_mesh()
        .x_desc(format!("{} [{}]", panel.axes.0, panel.unit))
        .y_desc(format!("{} [{}]", panel.axes.1, panel.unit))
        .x_label_formatter(&|v| super::axis_label(*v))
        .y_label_formatter(&|v| super::axis_label(*v))
        .label_style(("sans-serif", 12))
        .draw()?;
    let dashed =
        |pts: Vec<(f64, f64)>| DashedLineSeries::new(pts, 6, 4, BLACK.mix(0.6).stroke_width(1));
    let label = |text: &'static str, at: (f64, f64)| {
        std::iter::once(Text::new(text, at, ("sans-serif", 12)))
    };
    if panel.h_y.is_finite() {
        chart.draw_series(dashed(vec![(0.0, panel.h_y), (xmax, panel.h_y)]))?;
        chart.draw_series(label("H(Y)", (xmax * 0.02, panel.h_y)))?;
    }
    if panel.log_n.is_finite() {
        chart.draw_series(dashed(vec![(panel.log_n, 0.0), (panel.log_n, ymax)]))?;
        chart.draw_series(label("log N", (panel.log_n, ymax * 0.04)))?;
    }
    let mut epochs: Vec<u32> = panel.points.iter().map(|p| p.0).collect();
    epochs.sort_unstable();
    epochs.dedup();
    for &e in &epochs {
        let mut pts: Vec<_> = panel.points.iter().filter(|p| p.0 == e).collect();
        pts.sort_by_key(|p| p.1);
        let c = viridis(scale.fraction(e));
        let boxes = pts
            .iter()
            .filter_map(|p| panel.intervals.get(&(p.0, p.1)))
            .filter(|b| b.iter().all(|v| v.is_finite()))
            .map(|b| Rectangle::new([(b[0], b[2]), (b[1], b[3])], c.mix(0.15).filled()));
        chart.draw_series(boxes)?;
        chart.draw_series(LineSeries::new(
            pts.iter().map(|p| (p.2, p.3)),
            c.mix(0.5).stroke_width(1),
        ))?;
        chart.draw_series(pts.iter().map(|p| Circle::new((p.2, p.3), 3, c.filled())))?;
    }
    let last = epochs.last().copied();
    for p in panel.points.iter().filter(|p| Some(p.0) == last) {
        if band && p.4.is_finite() && p.5.is_finite() {
            chart.draw_series(LineSeries::new(
                vec![(p.2, p.4), (p.2, p.5)],
                RED.mix(0.6).stroke_width(2),
            ))?;
        }
        chart.draw_series(std::iter::once(Text::new(
            panel
                .layers
                .get(p.1)
                .filter(|n| !n.is_empty())
                .cloned()
                .unwrap_or_else(|| format!("{}", p.1 + 1)),
            (p.2, p.3),
            ("sans-serif", 14).into_font().color(&BLACK),
        )))?;
    }
    Ok(())
}

fn draw_colour_bar<DB: DrawingBackend>(
    bar: &DrawingArea<DB, Shift>,
    scale: &EpochScale,
) -> DrawResult<(), DB> {
    let (_, bh) = bar.dim_in_pixel();
    let top = 40i32;
    let bottom = bh as i32 - 60;
    for y in top..bottom {
        let t = f64::from(bottom - y) / f64::from(bottom - top);
        bar.draw(&Rectangle::new([(20, y), (44, y + 1)], viridis(t).filled()))?;
    }
    bar.draw(&Text::new(
        if scale.log { "epoch (log)" } else { "epoch" },
        (8, top - 24),
        ("sans-serif", 13),
    ))?;
    let y_of = |e: u32| bottom - (scale.fraction(e) * f64::from(bottom - top)) as i32;
    let mut ticks = vec![scale.min, scale.max];
    if scale.log {
        // Powers of ten below the last epoch; u64, so that epochs near u32::MAX cannot wrap.
        let mut t: u64 = 10;
        while t < u64::from(scale.max) {
            let e = t as u32;
            if e > scale.min && f64::from(scale.max) / f64::from(e) > 1.5 {
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

/// One information-plane panel per (run, estimator, σ² group), in order of appearance.
pub fn plane_panels(rows: &[EstimateRow], unit: Unit) -> Vec<PlanePanel> {
    let mut order: Vec<(String, String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String, String), Vec<&EstimateRow>> = BTreeMap::new();
    for r in rows {
        let k = (r.run.clone(), r.estimator.to_string(), r.setting.clone());
        if !groups.contains_key(&k) {
            order.push(k.clone());
        }
        groups.entry(k).or_default().push(r);
    }
    order
        .into_iter()
        .map(|k| {
            let g = &groups[&k];
            let u = unit.from_nats();
            let quantity = crate::estimator::kind(&k.1).quantity;
            PlanePanel {
                title: if g[0].sigma2.is_nan() {
                    format!("{} · {} · {}", k.0, k.1, k.2)
                } else {
                    format!("{} · {} · σ² = {}", k.0, k.1, k.2)
                },
                points: g
                    .iter()
                    .map(|r| {
                        let (x, y) = (r.i_xz * u, r.i_yz * u);
                        (r.epoch, r.layer_index, x, y, r.i_yz_lo * u, r.i_yz_hi * u)
                    })
                    .collect(),
                intervals: g
                    .iter()
                    .filter(|r| r.i_xz_ci.0.is_finite() || r.i_yz_ci.0.is_finite())
                    .map(|r| {
                        // A missing interval on one axis is drawn as the point itself.
                        let or = |v: f64, d: f64| if v.is_finite() { v } else { d };
                        let (x, y) = (r.i_xz, r.i_yz);
                        let b = [
                            or(r.i_xz_ci.0, x) * u,
                            or(r.i_xz_ci.1, x) * u,
                            or(r.i_yz_ci.0, y) * u,
                            or(r.i_yz_ci.1, y) * u,
                        ];
                        ((r.epoch, r.layer_index), b)
                    })
                    .collect(),
                h_y: g[0].h_y * u,
                // Sliced MI is not bounded by ln N: no reference line (it would set the scale).
                log_n: if quantity.bounded_by_log_n() {
                    g[0].log_n * u
                } else {
                    f64::NAN
                },
                unit: unit.to_string(),
                axes: quantity.axes(),
                layers: {
                    let mut names = Vec::new();
                    for r in g.iter() {
                        if names.len() <= r.layer_index {
                            names.resize(r.layer_index + 1, String::new());
                        }
                        names[r.layer_index].clone_from(&r.layer);
                    }
                    names
                },
            }
        })
        // A panel with no point (I(X;Z) unknown everywhere: Rényi without inputs) says nothing.
        .filter(|p| p.points.iter().any(|q| q.2.is_finite() && q.3.is_finite()))
        .collect()
}
