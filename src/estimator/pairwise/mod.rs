//! Pairwise-distance estimators of mutual information: the KL upper and Bhattacharyya lower bounds.
//!
//! Kolchinsky & Tracey, "Estimating mixture entropy with pairwise distances" (Entropy 2017,
//! arXiv:1706.02419); Kolchinsky, Tracey & Wolpert, "Nonlinear information bottleneck"
//! (arXiv:1705.02436). Each sample's representation z_i is the mean of a Gaussian N(z_i, σ² I)
//! and X is uniform over the N samples; the bounds are on the mutual information of that
//! empirical mixture (Kolchinsky & Tracey 2017; docs/estimators.md).
//!
//! [`pairwise_estimates`] runs one streaming pass ([`kernel`]) for any number of σ² values and
//! turns the kernel sums into estimates ([`estimate`]); the same pass yields the distance
//! statistics ([`histogram`], [`kernel::DistanceStats`]). [`Pairwise`] is the [`Estimator`]:
//! both bounds at every σ² of a [`sigma::SigmaSpec`], from one pass per (layer, epoch).

pub mod distances;
pub mod estimate;
pub mod exp;
/// The Gram kernels (public for `benches/gram.rs` only).
#[doc(hidden)]
pub mod gram;
pub mod histogram;
pub mod kernel;
/// The fused AVX-512 loop (public for benchmarks and tests only).
#[doc(hidden)]
pub mod kernel_rows;
mod loops;
mod plan;
pub mod sigma;
mod stripes;

use crate::estimator::registry::{Cost, Entry, Kind, Quantity, Side};
use ndarray::ArrayView2;

pub(crate) use distances::with_matrix;
pub use distances::Precision;
pub use estimate::{estimate, Bound, PairwiseEstimate, SaturationRule};
pub use exp::{exp_neg, exp_neg_f32, Element, KernelValue};
pub(crate) use kernel::{pairwise_pass, stats_in};
pub use kernel::{stats, DistanceStats, KernelSums, PassOptions, PassOutput, Stats};

use super::{ArchiveCache, Estimate, Estimator, EstimatorParams, Fit, LayerEpoch, Reference};
use crate::error::Result;
use sigma::{median, ChosenSigma, ReferenceStats, SigmaSpec};

/// Estimates at every σ² and the distance statistics of one representation.
#[derive(Debug, Clone)]
pub struct PairwiseResult {
    /// One estimate per σ², in the order given.
    pub estimates: Vec<PairwiseEstimate>,
    /// Distance statistics from the same pass.
    pub distances: DistanceStats,
    /// Per σ², an estimate of how far (nats) rounding in the pass's precision can move the
    /// estimates ([`rounding_bound`]).
    pub rounding: Vec<f64>,
}

/// How far, in nats, rounding in a pass of precision `eps` moves I_KL at kernel variance v
/// (and I_BD, whose variance 4v is wider), estimated: the centred Gram matrix gives a squared
/// distance d² = ‖z_i‖² + ‖z_j‖² - 2 z_i·z_j with a rounding error of about eps·M (half an ulp
/// of each norm term, M the largest centred squared norm), so each kernel value's exponent is
/// off by about eps·M/(2v); a squaring chain adds 2^MAX_SQUARINGS·eps/2. Both move ln S_i by
/// that times the off-diagonal share (S_i - 1)/S_i of row i's kernel sum, averaged over the
/// rows. Near-duplicate rows (share near 1 at small σ²) and large-norm layers (logits) make it
/// large. An estimate, not a rigorous bound; with the 2e-6 nats tolerance of
/// [`Pairwise::ROUNDING_TOLERANCE`] the default stays within 2.5e-6 nats of a naive f64
/// reference on saturated tanh layers from σ² = 1e-6 to 10 (test
/// `f32_sweeps_stay_within_1e5_nats_of_f64_on_saturated_tanh`), where pure f32 was off by up
/// to 2.5e-2; on the benchmark's clusters pure f32 was within 1.5e-7 nats of f64 at all 64 σ²
/// and no σ² is recomputed.
pub fn rounding_bound<T: Element>(max_norm2: f64, v: f64, total: &[f64]) -> f64 {
    let share = total.iter().map(|s| 1.0 - 1.0 / s).sum::<f64>() / total.len().max(1) as f64;
    // The exponential is good to about half an ulp, and each squaring doubles that.
    let chain = f64::from(1u32 << T::MAX_SQUARINGS.min(30)) * T::EPSILON / 2.0;
    share * (T::EPSILON * max_norm2 / (2.0 * v) + chain)
}

/// Runs one pass over Z (N x H) for all `sigma2s` (kernel variances σ² and 4σ²) and returns
/// the KL and Bhattacharyya estimates with the I(Y;Z) bracket.
pub fn pairwise_estimates<T: Element>(
    z: ArrayView2<'_, T>,
    labels: &[u32],
    sigma2s: &[f64],
    opts: &PassOptions,
    rule: &SaturationRule,
) -> PairwiseResult {
    // Kernel variances: σ² (KL) and 4σ² (BD), shared where they coincide.
    let mut variances: Vec<f64> = Vec::with_capacity(2 * sigma2s.len());
    let index = |v: f64, vs: &mut Vec<f64>| -> usize {
        match vs.iter().position(|&w| (w / v - 1.0).abs() < 1e-12) {
            Some(p) => p,
            None => {
                vs.push(v);
                vs.len() - 1
            }
        }
    };
    let pairs: Vec<(usize, usize)> = sigma2s
        .iter()
        .map(|&s| (index(s, &mut variances), index(4.0 * s, &mut variances)))
        .collect();
    let out = pairwise_pass(z, labels, &variances, opts);
    let estimates = sigma2s
        .iter()
        .zip(&pairs)
        .map(|(&s, &(k, b))| estimate(s, &out.sums[k], &out.sums[b], labels, rule))
        .collect();
    let m = out.max_norm2;
    let rounding = sigma2s
        .iter()
        .zip(&pairs)
        .map(|(&s, &(k, _))| rounding_bound::<T>(m, s, &out.sums[k].total))
        .collect();
    PairwiseResult {
        estimates,
        distances: out.distances,
        rounding,
    }
}

/// The default `--sigma2` of `estimate`.
pub(crate) const DEFAULT_SIGMA2: &str = "0.001,0.01,0.1,1,thesis,nn";

#[cfg(feature = "cli")]
fn parse_sigma2(s: &str) -> std::result::Result<SigmaSpec, String> {
    SigmaSpec::parse(s).map_err(|e| e.to_string())
}

/// Parameters of the pairwise bounds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct PairwiseParams {
    /// Noise variances: values (0.001,0.1), log grids (1e-4..1e1:25, or 1e-3..1:x2), per layer
    /// (fc1=0.05), or rules, one σ² per layer from its last epoch's distances: thesis
    /// (p90(d²)/1000), pQ/DIV (squared), pQ(d)/DIV (plain), nn or nn*C (C × median squared
    /// nearest-neighbour distance); RULE@first, RULE@EPOCH pick another reference epoch and
    /// RULE@each reads every epoch's own distances (scale-relative).
    #[cfg_attr(feature = "cli", arg(long, default_value = DEFAULT_SIGMA2, value_parser = parse_sigma2))]
    #[serde(with = "crate::estimator::params::text")]
    pub sigma2: SigmaSpec,
    /// Precision of the distance computation: f32 (fast) or f64.
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = Precision::F32))]
    #[serde(with = "crate::estimator::params::text")]
    pub precision: Precision,
    /// Rows per tile of the pairwise pass (memory grows as its square).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = PassOptions::DEFAULT_TILE))]
    pub tile: usize,
}

impl Default for PairwiseParams {
    fn default() -> Self {
        PairwiseParams {
            sigma2: SigmaSpec::parse(DEFAULT_SIGMA2).expect("the default σ² specification parses"),
            precision: Precision::F32,
            tile: PassOptions::DEFAULT_TILE,
        }
    }
}

impl PairwiseParams {
    /// Checks the tile size (the σ² specification is checked when parsed).
    pub fn validate(&self) -> Result<()> {
        PassOptions {
            tile: self.tile,
            stats: Stats::Nearest,
        }
        .validate()
    }
}

/// The pairwise KL and/or Bhattacharyya bounds as an [`Estimator`].
#[derive(Debug, Clone)]
pub struct Pairwise {
    /// `kl` and/or `bd`, in the order their rows are written.
    bounds: Vec<&'static str>,
    params: PairwiseParams,
    saturation: SaturationRule,
}

/// The pairwise bounds' registry entry: `kl` and `bd` share one pass (and carry the I(Y;Z) bracket).
pub const ENTRY: Entry = Entry {
    kinds: &[
        Kind {
            name: "kl",
            quantity: Quantity::Mutual,
            side: Side::Upper { lower: "bd" },
            bracket: true,
            noisy: true,
        },
        Kind {
            name: "bd",
            quantity: Quantity::Mutual,
            side: Side::Lower { upper: "kl" },
            bracket: true,
            noisy: true,
        },
    ],
    about: "pairwise KL upper / Bhattacharyya lower bounds (Kolchinsky & Tracey 2017)",
    cost: Cost::Pairs,
    build,
};

/// Builds [`Pairwise`] for the requested bounds (`kl`, `bd`).
pub fn build(p: &EstimatorParams, names: &[&str]) -> Result<Box<dyn Estimator>> {
    p.pairwise.validate()?;
    let bounds = names
        .iter()
        .map(|n| if *n == "kl" { "kl" } else { "bd" })
        .collect();
    Ok(Box::new(Pairwise {
        bounds,
        params: p.pairwise.clone(),
        saturation: SaturationRule {
            margin_nats: p.common.saturation_margin,
        },
    }))
}

/// The group a σ² belongs to across layers: the value (six significant digits, so that grid
/// values read 0.01, not 0.010000000000000002) for fixed values and grids, the rule's label
/// for per-(layer, epoch) rules and per-layer values.
pub fn setting(sigma2: f64, rule: &str) -> String {
    if matches!(rule, "fixed" | "grid" | "" | "none") || sigma2.is_nan() {
        let short: f64 = format!("{sigma2:.5e}").parse().unwrap_or(sigma2);
        format!("{short}")
    } else {
        rule.to_string()
    }
}

/// Distance statistics of the layer being estimated at each reference epoch its σ² rules
/// read (kept in the [`ArchiveCache`] while that layer's epochs are estimated).
#[derive(Debug, Default)]
pub(crate) struct LayerReferences {
    layer: String,
    stats: Vec<(Reference, u32, DistanceStats)>,
}

impl LayerReferences {
    /// Keeps the distance statistics of `data` (the layer at the reference epoch `at`,
    /// resolved to `epoch`) for the σ² rules of every estimator that reads them (kl/bd, mc);
    /// a pass is made only when no estimator kept them already.
    pub(crate) fn prepare(
        p: &PairwiseParams,
        data: &LayerEpoch<'_>,
        (at, epoch): (Reference, u32),
        cache: &mut ArchiveCache,
    ) {
        let refs = cache.get_or_default_mut::<LayerReferences>();
        if refs.layer != data.layer {
            (refs.layer, refs.stats) = (data.layer.to_string(), Vec::new());
        }
        if refs.stats.iter().any(|(r, e, _)| *r == at && *e == epoch) {
            return;
        }
        let d = stats_in(data.z, data.labels, p.precision, p.tile);
        refs.stats.retain(|(r, ..)| *r != at);
        refs.stats.push((at, epoch, d));
    }

    /// The statistics kept for `layer`, as the σ² rules read them.
    pub fn of<'a>(cache: &'a ArchiveCache, layer: &str) -> Vec<ReferenceStats<'a>> {
        cache
            .get::<LayerReferences>()
            .filter(|r| r.layer == layer)
            .map(|r| r.stats.iter().map(|(a, e, d)| (*a, *e, d)).collect())
            .unwrap_or_default()
    }
}

impl Pairwise {
    /// One (layer, epoch): the σ² values (rules read their reference epoch's statistics, or
    /// for `@each` a first, distance-only pass over this epoch) and one pass for all of them.
    /// Returns the estimates with their σ² choices and the distance statistics (all of them
    /// when `all_stats`, else the nearest neighbours at least).
    fn run<T: Element>(
        &self,
        z: ArrayView2<'_, T>,
        data: &LayerEpoch<'_>,
        references: &[ReferenceStats<'_>],
        all_stats: bool,
    ) -> (Vec<(PairwiseEstimate, ChosenSigma)>, DistanceStats) {
        let spec = &self.params.sigma2;
        let first = spec
            .needs_own_distances()
            .then(|| stats(z, data.labels, self.params.tile));
        let chosen = spec.resolve(data.layer, first.as_ref(), references);
        let sigma2s: Vec<f64> = chosen.iter().map(|c| c.sigma2).collect();
        let opts = PassOptions {
            tile: self.params.tile,
            stats: if all_stats && first.is_none() {
                Stats::All
            } else {
                Stats::Nearest
            },
        };
        let mut r = pairwise_estimates(z, data.labels, &sigma2s, &opts, &self.saturation);
        let mut chosen = chosen;
        self.redo_in_f64(z, data.labels, &mut r, &mut chosen);
        let stats = first.unwrap_or(r.distances);
        (r.estimates.into_iter().zip(chosen).collect(), stats)
    }

    /// Estimates whose rounding bound exceeds [`Self::ROUNDING_TOLERANCE`] (f32 passes at
    /// small σ² on near-duplicate rows, or on large-norm layers) are computed again from the
    /// activations widened to f64; their rows say `precision=f64` with the f32 bound.
    fn redo_in_f64<T: Element>(
        &self,
        z: ArrayView2<'_, T>,
        labels: &[u32],
        r: &mut PairwiseResult,
        chosen: &mut [ChosenSigma],
    ) {
        let redo: Vec<usize> = (0..r.rounding.len())
            .filter(|&k| r.rounding[k] > Self::ROUNDING_TOLERANCE)
            .collect();
        if redo.is_empty() || T::EPSILON < f64::from(f32::EPSILON) / 2.0 {
            return;
        }
        let wide: ndarray::Array2<f64> = z.mapv(Into::into);
        let sigma2s: Vec<f64> = redo.iter().map(|&k| r.estimates[k].sigma2).collect();
        let opts = PassOptions {
            tile: self.params.tile,
            stats: Stats::Nearest,
        };
        let again = pairwise_estimates(wide.view(), labels, &sigma2s, &opts, &self.saturation);
        for (&k, e) in redo.iter().zip(again.estimates) {
            chosen[k].precision = Some(r.rounding[k]);
            r.estimates[k] = e;
        }
    }
}

impl Pairwise {
    /// The largest rounding bound (nats) an f32 estimate may have before it is computed again
    /// in f64.
    pub const ROUNDING_TOLERANCE: f64 = 2e-6;
}

/// One row of a bound at one σ².
fn bound_row(name: &'static str, e: &PairwiseEstimate, chosen: &ChosenSigma, nn: f64) -> Estimate {
    let b = if name == "kl" { e.kl } else { e.bd };
    let mut row = Estimate::new(name, setting(e.sigma2, &chosen.rule));
    row.sigma2 = e.sigma2;
    row.sigma2_rule = chosen.rule.clone();
    row.sigma2_over_nn = e.sigma2 / nn;
    (row.i_xz, row.i_yz, row.n_eff) = (b.i_xz, b.i_yz, b.n_eff);
    (row.i_yz_lo, row.i_yz_hi) = (e.i_yz_lo, e.i_yz_hi);
    row.saturated = Some(b.saturated);
    if let Some(epoch) = chosen.reference_epoch {
        row.param("sigma2_ref_epoch", epoch.to_string());
    }
    if !chosen.distance.is_nan() {
        row.param("sigma2_ref_distance", format!("{:.6e}", chosen.distance));
    }
    if let Some(bound) = chosen.precision {
        row.param("precision", "f64");
        row.param("f32_rounding_bound", format!("{bound:.1e}"));
    }
    row.warnings.extend(chosen.warning.clone());
    row
}

impl Estimator for Pairwise {
    fn name(&self) -> &'static str {
        "kl/bd"
    }

    fn named_layers(&self) -> Vec<&str> {
        self.params.sigma2.named_layers()
    }

    fn references(&self) -> Vec<Reference> {
        self.params.sigma2.references()
    }

    fn prepare(
        &self,
        data: &LayerEpoch<'_>,
        at: Reference,
        epoch: u32,
        cache: &mut ArchiveCache,
    ) -> Result<()> {
        LayerReferences::prepare(&self.params, data, (at, epoch), cache);
        Ok(())
    }

    fn fit(&self, data: &LayerEpoch<'_>, cache: &mut ArchiveCache, want: bool) -> Result<Fit> {
        let references = LayerReferences::of(cache, data.layer);
        let (estimates, stats) = with_matrix(
            data.z,
            self.params.precision,
            |z| self.run(z, data, &references, want),
            |z| self.run(z, data, &references, want),
        );
        let nn_median = median(&stats.nn_d2);
        let mut out = Vec::with_capacity(estimates.len() * self.bounds.len());
        for (e, chosen) in &estimates {
            for &name in &self.bounds {
                out.push(bound_row(name, e, chosen, nn_median));
            }
        }
        Ok(Fit {
            estimates: out,
            distances: want.then_some(stats),
        })
    }
}
