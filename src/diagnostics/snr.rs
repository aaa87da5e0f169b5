//! Gradient signal-to-noise per layer and epoch from the recorded gradient statistics, and the
//! epoch where the high-mean "drift" phase ends (Shwartz-Ziv & Tishby 2017; thesis §3.1.2).
//!
//! For the weights W of a layer (every parameter whose name ends in `weight`; all of the
//! layer's parameters if none does) at epoch e, with Mean and STD the elementwise mean and
//! standard deviation of that epoch's n_B batch gradients:
//! - `mean_over_w` = ||Mean||_F / ||W||_F and `std_over_w` = ||STD||_F / ||W||_F (thesis);
//! - `mean_over_std` = ||Mean||_F / ||STD||_F (Saxe et al. 2018);
//! - `snr_trace` = ||Mean||_F² / tr(Cov) = ||Mean||_F² / Σ STD² (Shwartz-Ziv & Tishby 2017);
//! - `mean_over_spectral`, `std_over_spectral`: the same with the spectral norm ||W||_2 (the
//!   thesis author's later code); each weight tensor is a matrix of its first dimension by the
//!   rest (conv kernels: out x in·k·k); several weight tensors of one layer (an RNN's input and
//!   recurrent weights) are joined side by side when their row counts agree.
//!
//! Frobenius norms over several tensors combine as the root of the summed squares.
//!
//! Transition: the first epoch e ≥ 1 from which `mean_over_std`, smoothed by a running median
//! over a window of 3 recorded epochs centred on e (robust to a single outlying epoch), stays
//! below 1 for 3 consecutive recorded epochs: the normalised mean has fallen below the
//! normalised standard deviation. Validation
//! accuracy stabilises at the first epoch after which it never drops more than 0.02 below its
//! maximum.

use polars::prelude::DataFrame;

use crate::archive::{Archive, EpochMetrics, GradientStats};
use crate::error::{Error, Result};
use crate::table::{frame, Values};

/// One (layer, epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct SnrRow {
    /// Layer.
    pub layer: String,
    /// Epoch.
    pub epoch: u32,
    /// Batches in the epoch.
    pub n_batches: u32,
    /// ||W||_F.
    pub w_norm: f64,
    /// ||W||_2.
    pub w_spectral: f64,
    /// ||Mean||_F.
    pub mean_norm: f64,
    /// ||STD||_F.
    pub std_norm: f64,
    /// ||Mean||_F / ||W||_F.
    pub mean_over_w: f64,
    /// ||STD||_F / ||W||_F.
    pub std_over_w: f64,
    /// ||Mean||_F / ||STD||_F.
    pub mean_over_std: f64,
    /// ||Mean||_F² / tr(Cov).
    pub snr_trace: f64,
    /// ||Mean||_F / ||W||_2.
    pub mean_over_spectral: f64,
    /// ||STD||_F / ||W||_2.
    pub std_over_spectral: f64,
}

/// Per layer: where the drift phase ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// Layer.
    pub layer: String,
    /// Transition epoch, if any.
    pub epoch: Option<u32>,
}

/// The SNR of one archive.
#[derive(Debug, Clone, PartialEq)]
pub struct SnrReport {
    /// Run name.
    pub run: String,
    /// Rows in (layer, epoch) order.
    pub rows: Vec<SnrRow>,
    /// One per layer.
    pub transitions: Vec<Transition>,
    /// First epoch of stable validation accuracy, if metrics have it.
    pub stable_validation_epoch: Option<u32>,
}

/// Largest singular value of the m x n row-major matrix `a` by power iteration on AᵀA
/// (Golub & Van Loan §8.2), 200 iterations or until the estimate changes by < 1e-12 relative.
pub fn spectral_norm(a: &[f64], m: usize, n: usize) -> f64 {
    if m == 0 || n == 0 {
        return 0.0;
    }
    let mut v: Vec<f64> = (0..n)
        .map(|i| 1.0 + (i as f64 * 0.618_033_988_7).fract())
        .collect();
    let mut sigma = 0.0;
    for _ in 0..200 {
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        v.iter_mut().for_each(|x| *x /= norm);
        let u: Vec<f64> = (0..m)
            .map(|i| (0..n).map(|j| a[i * n + j] * v[j]).sum())
            .collect();
        let s = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        let mut w = vec![0.0; n];
        for i in 0..m {
            for j in 0..n {
                w[j] += a[i * n + j] * u[i];
            }
        }
        v = w;
        if (s - sigma).abs() <= 1e-12 * s {
            return s;
        }
        sigma = s;
    }
    sigma
}

fn sq(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
}

/// The SNR row of one layer from its weight tensors' statistics and shapes.
pub fn layer_row(layer: &str, epoch: u32, stats: &[(&GradientStats, &[usize])]) -> SnrRow {
    let w2: f64 = stats.iter().map(|(s, _)| sq(&s.value)).sum();
    let m2: f64 = stats.iter().map(|(s, _)| sq(&s.mean)).sum();
    let s2: f64 = stats.iter().map(|(s, _)| sq(&s.std)).sum();
    // Join the matrices side by side when their row counts agree, else take the largest norm.
    let rows = stats
        .first()
        .map_or(0, |(_, sh)| sh.first().copied().unwrap_or(1));
    let w_spectral = if stats
        .iter()
        .all(|(_, sh)| sh.first().copied().unwrap_or(1) == rows)
    {
        let cols: Vec<usize> = stats
            .iter()
            .map(|(s, _)| s.value.len() / rows.max(1))
            .collect();
        let total: usize = cols.iter().sum();
        let mut a = vec![0.0; rows * total];
        let mut off = 0;
        for ((s, _), &c) in stats.iter().zip(&cols) {
            for i in 0..rows {
                for j in 0..c {
                    a[i * total + off + j] = f64::from(s.value[i * c + j]);
                }
            }
            off += c;
        }
        spectral_norm(&a, rows, total)
    } else {
        stats
            .iter()
            .map(|(s, sh)| {
                let r = sh.first().copied().unwrap_or(1);
                let a: Vec<f64> = s.value.iter().map(|&x| f64::from(x)).collect();
                spectral_norm(&a, r, s.value.len() / r.max(1))
            })
            .fold(0.0, f64::max)
    };
    let (w, m, s) = (w2.sqrt(), m2.sqrt(), s2.sqrt());
    SnrRow {
        layer: layer.to_string(),
        epoch,
        n_batches: stats.first().map_or(0, |(s, _)| s.n_batches),
        w_norm: w,
        w_spectral,
        mean_norm: m,
        std_norm: s,
        mean_over_w: m / w,
        std_over_w: s / w,
        mean_over_std: m / s,
        snr_trace: m2 / s2,
        mean_over_spectral: m / w_spectral,
        std_over_spectral: s / w_spectral,
    }
}

/// The transition epoch of one layer's (epoch, mean_over_std) series (see the module doc).
pub fn transition_epoch(series: &[(u32, f64)]) -> Option<u32> {
    let pts: Vec<(u32, f64)> = series
        .iter()
        .copied()
        .filter(|(e, r)| *e >= 1 && r.is_finite() && *r > 0.0)
        .collect();
    let smooth: Vec<f64> = (0..pts.len())
        .map(|i| {
            let lo = i.saturating_sub(1);
            let hi = (i + 1).min(pts.len() - 1);
            let mut w: Vec<f64> = pts[lo..=hi].iter().map(|p| p.1).collect();
            w.sort_by(f64::total_cmp);
            w[w.len() / 2]
        })
        .collect();
    (0..pts.len())
        .find(|&i| i + 3 <= pts.len() && smooth[i..i + 3].iter().all(|&r| r < 1.0))
        .map(|i| pts[i].0)
}

/// The first epoch after which validation accuracy never drops more than `slack` below its
/// maximum.
pub fn stable_epoch(acc: &[(u32, f64)], slack: f64) -> Option<u32> {
    let best = acc.iter().map(|a| a.1).fold(f64::NEG_INFINITY, f64::max);
    if !best.is_finite() {
        return None;
    }
    let last_bad = acc.iter().rposition(|a| a.1 < best - slack);
    match last_bad {
        None => acc.first().map(|a| a.0),
        Some(i) => acc.get(i + 1).map(|a| a.0),
    }
}

/// Computes the SNR of every layer at every epoch with gradient statistics.
pub fn snr_archive(archive: &Archive) -> Result<SnrReport> {
    let m = archive.manifest();
    if m.parameters.is_empty() {
        return Err(Error::request(
            archive.dir(),
            "the archive has no gradient statistics (record with --grads summary or full)",
        ));
    }
    let mut rows = Vec::new();
    for epoch in archive.epochs() {
        let stats = archive.gradients(epoch)?;
        for layer in &m.layers {
            let mine: Vec<usize> = (0..m.parameters.len())
                .filter(|&i| m.parameters[i].layer.as_deref() == Some(&layer.name))
                .collect();
            let weights: Vec<usize> = mine
                .iter()
                .copied()
                .filter(|&i| m.parameters[i].name.ends_with("weight"))
                .collect();
            let chosen = if weights.is_empty() { mine } else { weights };
            if chosen.is_empty() || stats.is_empty() {
                continue;
            }
            let s: Vec<(&GradientStats, &[usize])> = chosen
                .iter()
                .map(|&i| (&stats[i], m.parameters[i].shape.as_slice()))
                .collect();
            if s[0].0.n_batches == 0 {
                continue;
            }
            rows.push(layer_row(&layer.name, epoch, &s));
        }
    }
    let transitions = m
        .layers
        .iter()
        .filter(|l| rows.iter().any(|r| r.layer == l.name))
        .map(|l| {
            let series: Vec<(u32, f64)> = rows
                .iter()
                .filter(|r| r.layer == l.name)
                .map(|r| (r.epoch, r.mean_over_std))
                .collect();
            Transition {
                layer: l.name.clone(),
                epoch: transition_epoch(&series),
            }
        })
        .collect();
    let acc: Vec<(u32, f64)> = archive
        .metrics()?
        .into_iter()
        .filter_map(|(e, mt): (u32, EpochMetrics)| mt.validation_accuracy.map(|a| (e, a)))
        .collect();
    Ok(SnrReport {
        run: m.run.name.clone(),
        rows,
        transitions,
        stable_validation_epoch: stable_epoch(&acc, 0.02),
    })
}

/// Column names of the SNR table.
pub const SNR_COLUMNS: [&str; 17] = [
    "run",
    "layer",
    "epoch",
    "n_batches",
    "w_norm",
    "w_spectral",
    "mean_norm",
    "std_norm",
    "mean_over_w",
    "std_over_w",
    "mean_over_std",
    "snr_trace",
    "mean_over_spectral",
    "std_over_spectral",
    "transition_epoch",
    "is_transition",
    "stable_validation_epoch",
];

/// The report as a table with [`SNR_COLUMNS`] (transition columns repeated per row).
pub fn snr_table(r: &SnrReport) -> Result<DataFrame> {
    let rows = &r.rows;
    let f = |g: fn(&SnrRow) -> f64| Values::F64(rows.iter().map(g).collect());
    let trans = |l: &str| {
        r.transitions
            .iter()
            .find(|t| t.layer == l)
            .and_then(|t| t.epoch)
    };
    frame(vec![
        ("run", Values::Str(vec![r.run.clone(); rows.len()])),
        (
            "layer",
            Values::Str(rows.iter().map(|x| x.layer.clone()).collect()),
        ),
        (
            "epoch",
            Values::I64(rows.iter().map(|x| i64::from(x.epoch)).collect()),
        ),
        (
            "n_batches",
            Values::I64(rows.iter().map(|x| i64::from(x.n_batches)).collect()),
        ),
        ("w_norm", f(|x| x.w_norm)),
        ("w_spectral", f(|x| x.w_spectral)),
        ("mean_norm", f(|x| x.mean_norm)),
        ("std_norm", f(|x| x.std_norm)),
        ("mean_over_w", f(|x| x.mean_over_w)),
        ("std_over_w", f(|x| x.std_over_w)),
        ("mean_over_std", f(|x| x.mean_over_std)),
        ("snr_trace", f(|x| x.snr_trace)),
        ("mean_over_spectral", f(|x| x.mean_over_spectral)),
        ("std_over_spectral", f(|x| x.std_over_spectral)),
        (
            "transition_epoch",
            Values::I64(
                rows.iter()
                    .map(|x| trans(&x.layer).map_or(-1, i64::from))
                    .collect(),
            ),
        ),
        (
            "is_transition",
            Values::Bool(
                rows.iter()
                    .map(|x| trans(&x.layer) == Some(x.epoch))
                    .collect(),
            ),
        ),
        (
            "stable_validation_epoch",
            Values::I64(vec![
                r.stable_validation_epoch.map_or(-1, i64::from);
                rows.len()
            ]),
        ),
    ])
}
