//! From kernel sums to estimates: I_KL, I_BD, the two I(Y;Z) differences, the rigorous I(Y;Z)
//! bracket, N_eff and saturation flags.
//!
//! With S_i(v) = Σ_j exp(-||z_i - z_j||² / (2v)) and S^c_i(v) the same over the samples of
//! i's class (Kolchinsky & Tracey 2017, eqs. 7, 10):
//!
//! * I(X;Z)(v) = -(1/N) Σ_i ln(S_i(v) / N), in [0, ln N];
//! * KL upper bound: v = σ²; Bhattacharyya lower bound: v = 4σ² (exp(-d/(8σ²))), so that
//!   I_BD(σ²) = I_KL(4σ²);
//! * per class c, I(X;Z|c)(v) = -(1/N_c) Σ_{i∈c} ln(S^c_i(v) / N_c);
//! * I(Y;Z) difference: I(X;Z)(v) - Σ_c p_c I(X;Z|c)(v)
//!   = (1/N) Σ_i [ln(S^c_i / N_{y_i}) - ln(S_i / N)] (what earlier tools plot; not a bound);
//! * bracket: [I_BD(X;Z) - Σ_c p_c I_KL(X;Z|c), I_KL(X;Z) - Σ_c p_c I_BD(X;Z|c)], clipped to
//!   [0, H(Y)], which contains the I(Y;Z) of the Gaussian mixture;
//! * N_eff = exp((1/N) Σ_i ln S_i), so that I(X;Z) = ln(N / N_eff).
//!
//! All values are in nats.

use serde::Serialize;

use super::kernel::KernelSums;
use crate::labels::{class_counts, entropy_nats};

/// When an estimate counts as saturated: I_KL = ln(N / N_eff) within the margin of ln N.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SaturationRule {
    /// Saturated when I(X;Z) > ln N - margin (nats), i.e. N_eff < e^margin. Default 0.1.
    pub margin_nats: f64,
}

impl SaturationRule {
    /// Checks the margin: finite and not negative.
    pub fn validate(&self) -> crate::Result<()> {
        let v = self.margin_nats;
        if !(v.is_finite() && v >= 0.0) {
            return Err(crate::Error::parameter(
                "saturation_margin",
                format!("must be a finite number of 0 or more (got {v})"),
            ));
        }
        Ok(())
    }
}

impl Default for SaturationRule {
    fn default() -> Self {
        SaturationRule { margin_nats: 0.1 }
    }
}

/// One bound (KL or Bhattacharyya) at one σ².
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bound {
    /// I(X;Z) in nats.
    pub i_xz: f64,
    /// I(Y;Z) as the difference of the same bound (nats); not itself a bound.
    pub i_yz: f64,
    /// exp(mean ln S_i).
    pub n_eff: f64,
    /// Within the margin of ln N (the rule every estimator uses).
    pub saturated: bool,
}

/// Both bounds and the I(Y;Z) bracket at one σ².
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairwiseEstimate {
    /// Noise variance σ².
    pub sigma2: f64,
    /// Upper bound (kernel variance σ²).
    pub kl: Bound,
    /// Lower bound (kernel variance 4σ²).
    pub bd: Bound,
    /// Lower end of the I(Y;Z) bracket (nats).
    pub i_yz_lo: f64,
    /// Upper end of the I(Y;Z) bracket (nats).
    pub i_yz_hi: f64,
    /// H(Y) of the empirical labels (nats).
    pub h_y: f64,
    /// ln N.
    pub log_n: f64,
}

/// The three averages every estimate is made of, for one kernel variance.
struct Terms {
    /// (1/N) Σ ln S_i
    mean_ln_total: f64,
    /// (1/N) Σ_i ln(S^c_i / N_{y_i})
    mean_ln_same_per_class: f64,
}

fn terms(s: &KernelSums, labels: &[u32], counts: &[usize]) -> Terms {
    let n = labels.len() as f64;
    let mut lt = 0.0;
    let mut ls = 0.0;
    for ((t, c), &y) in s.total.iter().zip(&s.same).zip(labels) {
        lt += t.ln();
        ls += (c / counts[y as usize] as f64).ln();
    }
    Terms {
        mean_ln_total: lt / n,
        mean_ln_same_per_class: ls / n,
    }
}

/// Combines kernel sums at σ² (`kl`) and 4σ² (`bd`) into an estimate.
///
/// `labels` are the class indices of the rows the sums were computed on.
pub fn estimate(
    sigma2: f64,
    kl: &KernelSums,
    bd: &KernelSums,
    labels: &[u32],
    rule: &SaturationRule,
) -> PairwiseEstimate {
    let n = labels.len();
    let classes = crate::labels::classes_in(labels);
    let counts = class_counts(labels, classes);
    let log_n = (n as f64).ln();
    let h_y = entropy_nats(&counts);
    let tk = terms(kl, labels, &counts);
    let tb = terms(bd, labels, &counts);
    // I(X;Z) = ln N - mean ln S; Σ_c p_c I(X;Z|c) = -(mean ln(S^c / N_y)).
    let bound = |t: &Terms| {
        let i_xz = log_n - t.mean_ln_total;
        let n_eff = t.mean_ln_total.exp();
        Bound {
            i_xz,
            i_yz: t.mean_ln_same_per_class - (t.mean_ln_total - log_n),
            n_eff,
            saturated: crate::estimator::saturated_near_log_n(i_xz, n, rule.margin_nats),
        }
    };
    let kl_b = bound(&tk);
    let bd_b = bound(&tb);
    let cond_kl = -tk.mean_ln_same_per_class;
    let cond_bd = -tb.mean_ln_same_per_class;
    let clip = |v: f64| v.clamp(0.0, h_y);
    PairwiseEstimate {
        sigma2,
        kl: kl_b,
        bd: bd_b,
        i_yz_lo: clip(bd_b.i_xz - cond_kl),
        i_yz_hi: clip(kl_b.i_xz - cond_bd),
        h_y,
        log_n,
    }
}
