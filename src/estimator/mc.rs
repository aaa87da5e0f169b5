//! Monte-Carlo estimate of the noisy-mixture mutual information that the pairwise bounds
//! bracket (Goldfeld et al., "Estimating information flow in deep neural networks", ICML 2019,
//! sample propagation).
//!
//! With X uniform over the N samples and Z' = z_X + ε, ε ~ N(0, σ² I), the KL and
//! Bhattacharyya bounds bracket I(X;Z') ([`super::pairwise`]). It is also an expectation that
//! can be sampled without bias: for M draws ε_im of every sample i, z' = z_i + ε_im,
//!
//!   I(X;Z') = E[ ln p(z'|i) − ln (1/N) Σ_j p(z'|j) ]
//!           ≈ (1/NM) Σ_im [ −‖ε_im‖²/(2σ²) − ln (1/N) Σ_j exp(−‖z' − z_j‖²/(2σ²)) ],
//!
//! the Gaussian normalisations cancelling; and with p(z'|y) the mixture of class y's samples,
//!
//!   I(Y;Z') ≈ (1/NM) Σ_im [ ln (1/N_y) Σ_{j: y_j = y_i} exp(−‖z' − z_j‖²/(2σ²))
//!                           − ln (1/N) Σ_j exp(−‖z' − z_j‖²/(2σ²)) ].
//!
//! Every sample i is used (not sampled), so the estimate's variance is the noise's only:
//! Var = Σ_i s²_i / (M N²) with s²_i the variance of sample i's M terms (M ≥ 2); with M = 1 it
//! is estimated conservatively from all N terms as if they were independent (the spread
//! between samples included). Cost: M passes of an N x H by H x N product, in f64 (one kl/bd
//! pass is one such product, in f32 by default).

use crate::estimator::registry::{Cost, Entry, Kind, Quantity, Side};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;

use super::pairwise::sigma::{median, SigmaSpec};
use super::pairwise::{exp_neg, setting, LayerReferences, PairwiseParams};
use super::{ArchiveCache, Estimate, Estimator, EstimatorParams, Fit, LayerEpoch, Reference};
use crate::error::{Error, Result};
use crate::util::rng::SplitMix64;

/// Rows of noisy points per product (memory: this many rows of N f64).
const TILE: usize = 256;

/// Parameters of `mc` (its σ² are the pairwise estimators' `--sigma2`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct McParams {
    /// mc: noisy draws per sample (each costs one N x N product; 2 or more give the exact
    /// standard error of the noise).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = McParams::DEFAULT.mc_samples))]
    pub mc_samples: usize,
}

impl McParams {
    /// The defaults.
    pub(crate) const DEFAULT: McParams = McParams { mc_samples: 2 };

    /// The largest number of draws accepted.
    pub(crate) const MAX_SAMPLES: usize = 100_000;

    /// Checks the number of draws.
    pub fn validate(&self) -> Result<()> {
        if !(1..=Self::MAX_SAMPLES).contains(&self.mc_samples) {
            return Err(Error::parameter(
                "mc_samples",
                format!(
                    "must be from 1 to {} (got {})",
                    Self::MAX_SAMPLES,
                    self.mc_samples
                ),
            ));
        }
        Ok(())
    }
}

impl Default for McParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One Monte-Carlo estimate, nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McEstimate {
    /// The noise variance.
    pub sigma2: f64,
    /// I(X;Z + ε).
    pub i_xz: f64,
    /// I(Y;Z + ε).
    pub i_yz: f64,
    /// Standard error of `i_xz`.
    pub i_xz_se: f64,
    /// Standard error of `i_yz`.
    pub i_yz_se: f64,
}

/// ln Σ exp(v) over the values `v` (−∞ for none).
fn log_sum_exp(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// ln (1/N) Σ_j exp(−d²_j/(2v)) over all centres and over those of class `y`, in one pass of
/// one exponential per centre (the class sum falls back to its own pass if it underflows).
fn mixture_logs(row: &[f64], labels: &[u32], y: u32, v: f64, class_log_n: f64) -> (f64, f64) {
    let scale = -1.0 / (2.0 * v);
    let d_min = row.iter().fold(f64::INFINITY, |a, &d| a.min(d.max(0.0)));
    let (mut all, mut own) = (0.0, 0.0);
    for (&d, &l) in row.iter().zip(labels) {
        let e = exp_neg((d.max(0.0) - d_min) * scale);
        all += e;
        own += if l == y { e } else { 0.0 };
    }
    let top = d_min * scale;
    let log_all = top + all.ln() - (labels.len() as f64).ln();
    let log_own = if own > 0.0 {
        top + own.ln()
    } else {
        let mine = row
            .iter()
            .zip(labels)
            .filter(|(_, &l)| l == y)
            .map(|(&d, _)| d.max(0.0) * scale);
        log_sum_exp(mine)
    };
    (log_all, log_own - class_log_n)
}

/// The M terms (I(X;Z'), I(Y;Z')) of sample `i`, from its noise draws and its rows of squared
/// distances to every centre (one row per draw).
fn terms(
    d2: ArrayView2<'_, f64>,
    noise2: &[f64],
    (labels, class_log_n): (&[u32], &[f64]),
    (y, v): (u32, f64),
) -> Vec<(f64, f64)> {
    d2.rows()
        .into_iter()
        .zip(noise2)
        .map(|(row, &e2)| {
            let c = class_log_n[y as usize];
            let (all, class) = match row.as_slice() {
                Some(r) => mixture_logs(r, labels, y, v, c),
                None => mixture_logs(&row.to_vec(), labels, y, v, c),
            };
            (-e2 / (2.0 * v) - all, class - all)
        })
        .collect()
}

/// The Monte-Carlo estimate on Z (N x H) with `labels` below `classes`, at noise variance
/// `sigma2`, from `samples` draws per sample, seeded by `seed` (the same draws whatever the
/// number of threads).
fn estimate(
    z: ArrayView2<'_, f64>,
    (labels, classes): (&[u32], usize),
    sigma2: f64,
    samples: usize,
    seed: u64,
) -> Result<McEstimate> {
    if !(sigma2.is_finite() && sigma2 > 0.0) {
        return Err(Error::Invalid(format!(
            "mc: σ² must be positive and finite (got {sigma2})"
        )));
    }
    let (n, h) = z.dim();
    if n < 2 || labels.len() != n || samples == 0 {
        return Err(Error::Invalid(format!(
            "mc: needs at least 2 samples with one label each and one draw (got {n} rows, {} labels, {samples} draws)",
            labels.len()
        )));
    }
    // Centred: distances do not change, rounding in ‖a‖² + ‖b‖² − 2a·b does.
    let mean = z.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(h));
    let zc = &z - &mean;
    let norms: Array1<f64> = zc.rows().into_iter().map(|r| r.dot(&r)).collect();
    let mut counts = vec![0usize; classes.max(1)];
    for &l in labels {
        counts[l as usize] += 1;
    }
    let class_log_n: Vec<f64> = counts.iter().map(|&c| (c as f64).ln()).collect();
    let pass = Pass {
        zc: zc.view(),
        norms: &norms,
        labels,
        class_log_n: &class_log_n,
        sigma2,
        samples,
        seed,
    };
    let step = TILE.div_ceil(samples).max(1);
    let starts: Vec<usize> = (0..n).step_by(step).collect();
    let per_sample: Vec<Vec<(f64, f64)>> = starts
        .par_iter()
        .flat_map_iter(|&start| pass.tile(start, (start + step).min(n)))
        .collect();
    let (i_xz, i_xz_se) = mean_and_se(&per_sample, |t| t.0);
    let (i_yz, i_yz_se) = mean_and_se(&per_sample, |t| t.1);
    Ok(McEstimate {
        sigma2,
        i_xz,
        i_yz,
        i_xz_se,
        i_yz_se,
    })
}

/// What every tile of one Monte-Carlo pass shares.
struct Pass<'a> {
    /// The centred activations (the mixture's centres).
    zc: ArrayView2<'a, f64>,
    /// Their squared norms.
    norms: &'a Array1<f64>,
    labels: &'a [u32],
    /// ln N_y per class.
    class_log_n: &'a [f64],
    sigma2: f64,
    samples: usize,
    seed: u64,
}

impl Pass<'_> {
    /// The terms of samples `start..end`: their M noisy copies (each draw seeded by its sample
    /// and draw number alone), one product against every centre, the log-mixtures.
    fn tile(&self, start: usize, end: usize) -> Vec<Vec<(f64, f64)>> {
        let (m, h) = (self.samples, self.zc.ncols());
        let rows = (end - start) * m;
        let sd = self.sigma2.sqrt();
        let mut a = Array2::<f64>::zeros((rows, h));
        let mut noise2 = vec![0.0; rows];
        for (k, mut row) in a.rows_mut().into_iter().enumerate() {
            let i = start + k / m;
            let draw = (i * m + k % m) as u64;
            let mut rng = SplitMix64::new(self.seed ^ draw.wrapping_mul(0x2545_f491_4f6c_dd1d));
            let mut e2 = 0.0;
            for (dst, &c) in row.iter_mut().zip(self.zc.row(i)) {
                let e = rng.normal() * sd;
                e2 += e * e;
                *dst = c + e;
            }
            noise2[k] = e2;
        }
        let an: Vec<f64> = a.rows().into_iter().map(|r| r.dot(&r)).collect();
        let mut d2 = a.dot(&self.zc.t());
        for (k, mut row) in d2.rows_mut().into_iter().enumerate() {
            for (d, &b) in row.iter_mut().zip(self.norms) {
                *d = an[k] + b - 2.0 * *d;
            }
        }
        (start..end)
            .map(|i| {
                let k = (i - start) * m;
                terms(
                    d2.slice(ndarray::s![k..k + m, ..]),
                    &noise2[k..k + m],
                    (self.labels, self.class_log_n),
                    (self.labels[i], self.sigma2),
                )
            })
            .collect()
    }
}

/// The mean of every term and its standard error: Σ_i s²_i/(M N²) from the draws of each
/// sample (M ≥ 2), or the spread of all terms over √N (M = 1, conservative).
fn mean_and_se(per_sample: &[Vec<(f64, f64)>], f: impl Fn(&(f64, f64)) -> f64) -> (f64, f64) {
    let n = per_sample.len() as f64;
    let m = per_sample.first().map_or(0, Vec::len);
    let means: Vec<f64> = per_sample
        .iter()
        .map(|t| t.iter().map(&f).sum::<f64>() / m as f64)
        .collect();
    let mean = means.iter().sum::<f64>() / n;
    let se = if m >= 2 {
        let within: f64 = per_sample
            .iter()
            .zip(&means)
            .map(|(t, mu)| t.iter().map(|x| (f(x) - mu).powi(2)).sum::<f64>() / (m - 1) as f64)
            .sum();
        (within / m as f64).sqrt() / n
    } else {
        let var = means.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        (var / n).sqrt()
    };
    (mean, se)
}

/// `mc` as an [`Estimator`]: one estimate per σ² of the `--sigma2` specification (the same
/// values and rules as kl/bd, so its rows sit between theirs).
#[derive(Debug, Clone)]
pub struct Mc {
    pairwise: PairwiseParams,
    params: McParams,
    seed: u64,
}

/// The registry entry of `mc`.
pub const ENTRY: Entry = Entry {
    kinds: &[Kind {
        name: "mc",
        quantity: Quantity::Mutual,
        side: Side::Estimate,
        bracket: false,
        noisy: true,
    }],
    about: "Monte-Carlo I(X;Z+ε), I(Y;Z+ε) inside the kl/bd bracket (Goldfeld et al. 2019)",
    cost: Cost::Pairs,
    build,
};

/// Builds [`Mc`] from the checked parameters.
pub fn build(p: &EstimatorParams, _: &[&str]) -> Result<Box<dyn Estimator>> {
    p.pairwise.validate()?;
    p.mc.validate()?;
    Ok(Box::new(Mc {
        pairwise: p.pairwise.clone(),
        params: p.mc.clone(),
        seed: p.common.seed,
    }))
}

impl Mc {
    /// The estimator with checked parameters `params` and `seed` (its σ² chosen by the
    /// caller of [`Mc::estimate`]; as an [`Estimator`] it takes the pairwise default's).
    pub fn new(params: McParams, seed: u64) -> Result<Self> {
        params.validate()?;
        Ok(Mc {
            pairwise: PairwiseParams::default(),
            params,
            seed,
        })
    }

    /// I(X;Z+ε) and I(Y;Z+ε) with their standard errors, ε ~ N(0, σ² I), on Z (N x H, f64)
    /// with `labels` below `classes`: `mc_samples` seeded draws per sample (the same whatever
    /// the number of threads).
    pub fn estimate(
        &self,
        z: ArrayView2<'_, f64>,
        labels: &[u32],
        classes: usize,
        sigma2: f64,
    ) -> Result<McEstimate> {
        estimate(
            z,
            (labels, classes),
            sigma2,
            self.params.mc_samples,
            self.seed,
        )
    }

    fn spec(&self) -> &SigmaSpec {
        &self.pairwise.sigma2
    }
}

impl Estimator for Mc {
    fn name(&self) -> &'static str {
        "mc"
    }

    fn named_layers(&self) -> Vec<&str> {
        self.spec().named_layers()
    }

    fn references(&self) -> Vec<Reference> {
        self.spec().references()
    }

    fn prepare(
        &self,
        data: &LayerEpoch<'_>,
        at: Reference,
        epoch: u32,
        cache: &mut ArchiveCache,
    ) -> Result<()> {
        LayerReferences::prepare(&self.pairwise, data, (at, epoch), cache);
        Ok(())
    }

    fn fit(&self, data: &LayerEpoch<'_>, cache: &mut ArchiveCache, _: bool) -> Result<Fit> {
        let references = LayerReferences::of(cache, data.layer);
        let own = self
            .spec()
            .needs_own_distances()
            .then(|| super::pairwise::stats(data.z, data.labels, self.pairwise.tile));
        let chosen = self.spec().resolve(data.layer, own.as_ref(), &references);
        let z = data.z.mapv(f64::from);
        let nn = own.as_ref().map_or(f64::NAN, |d| median(&d.nn_d2));
        let m = self.params.mc_samples;
        let mut out = Vec::with_capacity(chosen.len());
        for c in chosen {
            let e = self.estimate(z.view(), data.labels, data.classes, c.sigma2)?;
            let mut row = Estimate::new("mc", setting(c.sigma2, &c.rule));
            row.sigma2 = c.sigma2;
            row.sigma2_rule = c.rule.clone();
            row.sigma2_over_nn = c.sigma2 / nn;
            (row.i_xz, row.i_yz, row.i_xz_se, row.i_yz_se) = (e.i_xz, e.i_yz, e.i_xz_se, e.i_yz_se);
            row.param("mc_samples", m.to_string());
            if let Some(epoch) = c.reference_epoch {
                row.param("sigma2_ref_epoch", epoch.to_string());
            }
            row.warnings.extend(c.warning);
            out.push(row);
        }
        Ok(Fit {
            estimates: out,
            distances: None,
        })
    }
}
