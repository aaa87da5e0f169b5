//! Rényi estimates on all N > `--renyi-max-n` samples: f32 Gram matrices built row block by row
//! block (one f64 GEMM per block, in parallel) and entropies by stochastic Lanczos quadrature
//! ([`super::slq`]), each with its standard error.
//!
//! I(X;Z) = S(X) + S(Z) − S(X, Z) and I(Y;Z) = S(Y) + S(Z) − S(Y, Z) as on the exact path;
//! S(Y) is the closed form [`super::label_entropy`]; every other entropy is estimated with its
//! own probes (seeds differ per matrix), so the standard errors add in quadrature. α = 2
//! needs no quadrature: S₂ = −ln Σ A_ij² (standard error 0).

use ndarray::{Array2, ArrayView2, ArrayViewMut1, Axis, Zip};
use rayon::prelude::*;

use super::slq::{self, Slq, SlqEntropy};
use super::{
    centred_rows, distance_block, divisor, label_entropy, RenyiEstimate, RenyiParams, Width,
};
use crate::error::{Error, Result};

/// Rows per block of the distance pass.
const ROWS: usize = 128;

/// Seed offsets of the matrices (mixed into the common seed).
const TAG_X: u64 = 1;
const TAG_Z: u64 = 2;
const TAG_ZY: u64 = 3;
const TAG_ZY_SHUFFLED: u64 = 4;
const TAG_XZ: u64 = 5;

/// A normalised f32 Gram matrix, its entropy and width.
#[derive(Debug, Clone)]
pub struct LargeKernel {
    /// A = K / N.
    pub gram: Array2<f32>,
    /// S_α(A).
    pub entropy: SlqEntropy,
    /// σ.
    pub sigma: f64,
}

impl RenyiParams {
    /// The quadrature's work.
    pub fn slq(&self) -> Slq {
        Slq {
            deflate: self.deflate,
            probes: self.probes,
            steps: self.steps,
        }
    }
}

/// The median pairwise distance (not squared) over all pairs i < j.
fn median_distance(z: ArrayView2<'_, f64>) -> f64 {
    crate::util::blas::single_threaded();
    let (c, norms) = centred_rows(z);
    let starts: Vec<usize> = (0..c.nrows()).step_by(ROWS).collect();
    let mut v: Vec<f32> = starts
        .into_par_iter()
        .flat_map_iter(|r0| {
            let d2 = distance_block(&c, &norms, r0, (r0 + ROWS).min(c.nrows()));
            let mut out = Vec::new();
            for (i, row) in d2.rows().into_iter().enumerate() {
                out.extend(row.iter().skip(r0 + i + 1).map(|&x| x as f32));
            }
            out
        })
        .collect();
    if v.is_empty() {
        return 1.0;
    }
    let mid = v.len() / 2;
    v.select_nth_unstable_by(mid, f32::total_cmp);
    f64::from(v[mid]).sqrt().max(f64::MIN_POSITIVE)
}

/// σ for `width` on `z` without the full distance matrix.
fn width_of(width: Width, z: ArrayView2<'_, f64>) -> f64 {
    let (n, dim) = (z.nrows() as f64, z.ncols() as f64);
    match width {
        Width::Fixed(s) => s,
        Width::Silverman(g) => g * dim.sqrt() * n.powf(-1.0 / (4.0 + dim)),
        Width::Median => median_distance(z),
    }
}

/// A = exp(−d²/`div`) / N in f32, row blocks in parallel (each its own f64 GEMM).
pub fn gram(z: ArrayView2<'_, f64>, div: f64) -> Array2<f32> {
    crate::util::blas::single_threaded();
    let n = z.nrows();
    let (c, norms) = centred_rows(z);
    let mut a = Array2::<f32>::zeros((n, n));
    a.axis_chunks_iter_mut(Axis(0), ROWS)
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut out)| {
            let r0 = b * ROWS;
            let d2 = distance_block(&c, &norms, r0, r0 + out.nrows());
            Zip::from(&mut out)
                .and(&d2)
                .for_each(|o, &d| *o = ((-d / div).exp() / n as f64) as f32);
        });
    a
}

/// S_α of a trace-1 matrix: the closed form at α = 2, else the quadrature.
fn entropy_of(a: ArrayView2<'_, f32>, o: &RenyiParams, tag: u64) -> Result<SlqEntropy> {
    if o.alpha == 2.0 {
        let s = a.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>();
        return Ok(SlqEntropy {
            entropy: -s.ln(),
            se: 0.0,
            deflated: 0,
        });
    }
    let seed = o.seed ^ tag.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    slq::entropy(a, o.alpha, &o.slq(), seed)
}

/// The kernel of `z` under `width`, with its entropy (`tag` picks the probes' seed).
fn kernel(z: ArrayView2<'_, f64>, width: Width, o: &RenyiParams, tag: u64) -> Result<LargeKernel> {
    let z = super::standardized_if(z, o.standardize);
    let z = z.view();
    let sigma = width_of(width, z);
    let gram = gram(z, divisor(width, sigma, o.convention));
    let entropy = entropy_of(gram.view(), o, tag)?;
    Ok(LargeKernel {
        gram,
        entropy,
        sigma,
    })
}

/// The inputs' kernel (the same for every layer and epoch of a run).
pub fn input_kernel(x: ArrayView2<'_, f64>, o: &RenyiParams) -> Result<LargeKernel> {
    kernel(x, o.width_x, o, TAG_X)
}

/// A ∘ B / tr(A ∘ B), with `times(i, row)` multiplying row i of A by row i of B in place.
fn hadamard(a: &Array2<f32>, times: impl Fn(usize, ArrayViewMut1<'_, f32>) + Sync) -> Array2<f32> {
    let mut h = a.clone();
    h.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, row)| times(i, row));
    let tr = slq::trace(h.view());
    h.par_mapv_inplace(|v| (f64::from(v) / tr) as f32);
    h
}

/// S_α(A_Z ∘ A_Y) for the label-equality kernel of `labels`.
fn label_joint(a: &Array2<f32>, labels: &[u32], o: &RenyiParams, tag: u64) -> Result<SlqEntropy> {
    let h = hadamard(a, |i, mut row| {
        for (v, &l) in row.iter_mut().zip(labels) {
            if l != labels[i] {
                *v = 0.0;
            }
        }
    });
    entropy_of(h.view(), o, tag)
}

/// S_α(A_Z ∘ A_X).
fn input_joint(a: &Array2<f32>, x: &Array2<f32>, o: &RenyiParams) -> Result<SlqEntropy> {
    let h = hadamard(a, |i, mut row| row *= &x.row(i));
    entropy_of(h.view(), o, TAG_XZ)
}

/// I(X;Z) and I(Y;Z) of `z` on all samples, with standard errors (see the module docs).
pub fn estimate(
    z: ArrayView2<'_, f64>,
    x: Option<&LargeKernel>,
    labels: &[u32],
    shuffled: &[u32],
    o: &RenyiParams,
) -> Result<RenyiEstimate> {
    let n = z.nrows();
    if n > RenyiParams::SLQ_MAX_N {
        return Err(Error::Invalid(format!(
            "renyi slq keeps N x N f32 matrices and is limited to N ≤ {} (got {n}); use --renyi-large subsets",
            RenyiParams::SLQ_MAX_N
        )));
    }
    let kz = kernel(z, o.width, o, TAG_Z)?;
    let sz = kz.entropy;
    let zy = label_joint(&kz.gram, labels, o, TAG_ZY)?;
    let zys = label_joint(&kz.gram, shuffled, o, TAG_ZY_SHUFFLED)?;
    let (i_xz, i_xz_se, sigma_x) = match x {
        Some(k) => {
            let xz = input_joint(&kz.gram, &k.gram, o)?;
            let se = (k.entropy.se.powi(2) + sz.se.powi(2) + xz.se.powi(2)).sqrt();
            (k.entropy.entropy + sz.entropy - xz.entropy, se, k.sigma)
        }
        None => (f64::NAN, f64::NAN, f64::NAN),
    };
    let i_yz = label_entropy(labels, o.alpha) + sz.entropy - zy.entropy;
    Ok(RenyiEstimate {
        i_xz,
        i_yz,
        i_yz_baseline: label_entropy(shuffled, o.alpha) + sz.entropy - zys.entropy,
        s_z: sz.entropy,
        sigma: kz.sigma,
        sigma_x,
        subsets: 0,
        spread: (0.0, 0.0),
        log_n: (n as f64).ln(),
        se: (i_xz_se, (sz.se.powi(2) + zy.se.powi(2)).sqrt()),
        deflated: sz.deflated,
    })
}
