//! The Rényi estimator under the linear and cosine kernels, through the H x H dual: exact at
//! any N for O(N·H² + H³) instead of O(N³).
//!
//! For the linear kernel K = Z Zᵀ (cosine: the rows of Z scaled to unit length first), the
//! nonzero eigenvalues of A = K / tr K are those of the H x H matrix Zᵀ Z / tr K, since Z Zᵀ
//! and Zᵀ Z share their nonzero spectrum (Skean et al., "Layer by Layer", ICML 2025, compute
//! their matrix entropies this way). The joint kernel with the labels' equality kernel is
//! block-diagonal after sorting by class, K ∘ K_Y = diag(Z_c Z_cᵀ), with the same trace as K,
//! so its spectrum is the union of the classes' spectra, each through the smaller of
//! Z_cᵀ Z_c (H x H) and Z_c Z_cᵀ (N_c x N_c); large label alphabets (many small classes) cost
//! Σ_c min(N_c, H)³. With the inputs X under the same kernel, K_X ∘ K_Z = Φ Φᵀ with the row-wise
//! Kronecker product Φ_i = x_i ⊗ z_i (D·H features): through its dual when D·H ≤
//! [`MAX_JOINT_FEATURES`], else through the N x N matrix when N ≤ `max_n`; otherwise I(X;Z) is
//! not computed (NaN, and the row says why).
//!
//! Entropies are S_α(A) = 1/(1-α) ln Σ λ^α (α = 1: -Σ λ ln λ), as for the Gaussian kernels.

use ndarray::{Array2, ArrayView2, Axis};

use super::{eigenvalues, label_entropy, power_sum, PipeAlpha, RenyiEstimate, RenyiParams};
use crate::error::Result;

/// The largest D·H for which I(X;Z) goes through the dual of the row-wise Kronecker product.
pub const MAX_JOINT_FEATURES: usize = 2048;

/// The nonzero spectrum of R Rᵀ / `trace` (R: n x f), through the smaller Gram matrix.
fn spectrum(r: ArrayView2<'_, f64>, trace: f64) -> Result<Vec<f64>> {
    if r.nrows() == 0 {
        return Ok(Vec::new());
    }
    let g = if r.ncols() <= r.nrows() {
        r.t().dot(&r)
    } else {
        r.dot(&r.t())
    };
    eigenvalues(&(g / trace))
}

/// The rows as the kernel sees them: as recorded (linear) or scaled to unit length (cosine;
/// zero rows stay zero).
pub fn kernel_rows(z: ArrayView2<'_, f64>, cosine: bool) -> Array2<f64> {
    let mut out = z.to_owned();
    if cosine {
        for mut row in out.rows_mut() {
            let norm = row.dot(&row).sqrt();
            if norm > 0.0 {
                row /= norm;
            }
        }
    }
    out
}

/// S_α(A), A = Z Zᵀ / tr(Z Zᵀ), through Zᵀ Z.
pub fn entropy(z: ArrayView2<'_, f64>, alpha: f64) -> Result<f64> {
    let trace = z.iter().map(|v| v * v).sum::<f64>();
    Ok(power_sum(&spectrum(z, trace)?, alpha).pipe_alpha(alpha))
}

/// S_α of the joint of Z with the labels' equality kernel: the union of the classes' spectra.
pub fn joint_label_entropy(z: ArrayView2<'_, f64>, labels: &[u32], alpha: f64) -> Result<f64> {
    let trace = z.iter().map(|v| v * v).sum::<f64>();
    let mut members: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (i, &l) in labels.iter().enumerate() {
        members.entry(l).or_default().push(i);
    }
    let mut sum = 0.0;
    for idx in members.values() {
        let zc = z.select(Axis(0), idx);
        sum += power_sum(&spectrum(zc.view(), trace)?, alpha);
    }
    Ok(sum.pipe_alpha(alpha))
}

/// The row-wise Kronecker product Φ_i = x_i ⊗ z_i (N x D·H).
fn row_kronecker(x: ArrayView2<'_, f64>, z: ArrayView2<'_, f64>) -> Array2<f64> {
    let (d, h) = (x.ncols(), z.ncols());
    let mut phi = Array2::zeros((x.nrows(), d * h));
    for ((xi, zi), mut out) in x.rows().into_iter().zip(z.rows()).zip(phi.rows_mut()) {
        for (a, &xa) in xi.iter().enumerate() {
            for (b, &zb) in zi.iter().enumerate() {
                out[a * h + b] = xa * zb;
            }
        }
    }
    phi
}

/// S_α of the joint of X and Z under the linear kernel, or `None` when D·H exceeds
/// [`MAX_JOINT_FEATURES`] and N exceeds `max_n`.
pub fn joint_input_entropy(
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    alpha: f64,
    max_n: usize,
) -> Result<Option<f64>> {
    if x.ncols() * z.ncols() <= MAX_JOINT_FEATURES {
        return entropy(row_kronecker(x, z).view(), alpha).map(Some);
    }
    if z.nrows() > max_n {
        return Ok(None);
    }
    let mut h = x.dot(&x.t()) * z.dot(&z.t());
    let trace = h.diag().sum();
    h /= trace;
    Ok(Some(power_sum(&eigenvalues(&h)?, alpha).pipe_alpha(alpha)))
}

/// I(X;Z), I(Y;Z) and the shuffled-label baseline under the linear (or cosine) kernel, exact
/// at every N. I(X;Z) is NaN without inputs or when [`joint_input_entropy`] cannot compute it.
pub fn estimate(
    z: ArrayView2<'_, f64>,
    x: Option<ArrayView2<'_, f64>>,
    labels: &[u32],
    shuffled: &[u32],
    o: &RenyiParams,
) -> Result<RenyiEstimate> {
    let cosine = o.convention == super::Convention::Cosine;
    let prepared = |a: ArrayView2<'_, f64>| {
        kernel_rows(super::standardized_if(a, o.standardize).view(), cosine)
    };
    let z = prepared(z);
    let s_z = entropy(z.view(), o.alpha)?;
    let i_yz =
        label_entropy(labels, o.alpha) + s_z - joint_label_entropy(z.view(), labels, o.alpha)?;
    let i_yz_baseline =
        label_entropy(shuffled, o.alpha) + s_z - joint_label_entropy(z.view(), shuffled, o.alpha)?;
    let i_xz = match x {
        Some(x) => {
            let x = prepared(x);
            match joint_input_entropy(x.view(), z.view(), o.alpha, o.max_n)? {
                Some(joint) => entropy(x.view(), o.alpha)? + s_z - joint,
                None => f64::NAN,
            }
        }
        None => f64::NAN,
    };
    Ok(RenyiEstimate {
        i_xz,
        i_yz,
        i_yz_baseline,
        s_z,
        sigma: f64::NAN,
        sigma_x: f64::NAN,
        subsets: 0,
        spread: (0.0, 0.0),
        log_n: (z.nrows() as f64).ln(),
        se: (f64::NAN, f64::NAN),
        deflated: 0,
    })
}
