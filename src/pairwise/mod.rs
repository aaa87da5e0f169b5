//! Pairwise-distance estimators of mutual information: the KL upper and Bhattacharyya lower bounds.
//!
//! Kolchinsky & Tracey, "Estimating mixture entropy with pairwise distances" (Entropy 2017,
//! arXiv:1706.02419); Kolchinsky, Tracey & Wolpert, "Nonlinear information bottleneck"
//! (arXiv:1705.02436). Each sample's representation z_i is the mean of a Gaussian N(z_i, σ² I)
//! and X is uniform over the N samples; the bounds are on the mutual information of that
//! empirical mixture (background §3.1).
//!
//! [`pairwise_estimates`] runs one streaming pass ([`kernel`]) for any number of σ² values and
//! turns the kernel sums into estimates ([`estimate`]); the same pass yields the distance
//! statistics ([`histogram`], [`kernel::DistanceStats`]).

pub mod estimate;
pub mod histogram;
pub mod kernel;
pub mod sigma;

use ndarray::ArrayView2;

pub use estimate::{estimate, Bound, PairwiseEstimate, SaturationRule};
pub use kernel::{
    exp_neg, exp_neg_f32, pairwise_pass, DistanceStats, Element, KernelSums, PassOptions,
    PassOutput, Stats,
};

/// Estimates at every σ² and the distance statistics of one representation.
#[derive(Debug, Clone)]
pub struct PairwiseResult {
    /// One estimate per σ², in the order given.
    pub estimates: Vec<PairwiseEstimate>,
    /// Distance statistics from the same pass.
    pub distances: DistanceStats,
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
    PairwiseResult {
        estimates,
        distances: out.distances,
    }
}
