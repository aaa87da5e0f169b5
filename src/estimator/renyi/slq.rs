//! Stochastic Lanczos quadrature for the Rényi entropy of a large normalised Gram matrix, with
//! deflation and control variates, and its standard error.
//!
//! For A (N x N, symmetric positive semi-definite, tr A = 1) and f(λ) = λ^α − λ (α ≠ 1) or
//! f(λ) = −λ ln λ (α = 1), S_α(A) = ln(tr A + tr f(A)) / (1 − α), or tr f(A) itself at α = 1.
//! The entropy is estimated through ε = tr f(A) = tr(A^α − A), not through tr(A^α): at
//! α = 1.01, S = −100 ln tr(A^α), so an absolute error δ in tr(A^α) ≈ 1 costs 100δ nats,
//! while ε ≈ −(α − 1) S is small and is estimated to a relative accuracy (Ubaru, Chen & Saad
//! 2017 for quadrature of tr f(A); Meyer, Musco, Musco & Woodruff 2021, Hutch++, for
//! deflation).
//!
//! 1. Deflation: a randomised subspace iteration (Halko, Martinsson & Tropp 2011) with
//!    [`POWER_ITERATIONS`] passes over k + [`OVERSAMPLE`] vectors; the top k Ritz vectors give
//!    an orthonormal Q (N x k) spanning approximately the k largest eigenvectors, and their
//!    Ritz values θ (of T = QᵀAQ) count as Σ f(θ).
//! 2. The rest, tr f(PAP) with P = I − QQᵀ, by Hutchinson's estimator with Rademacher probes
//!    g projected by P: each gᵀ f(PAP) g is the Gauss quadrature of Lanczos on PAP started at
//!    Pg (`steps` steps, full reorthogonalisation), ‖g‖² Σ_j u_{1j}² f(θ_j).
//! 3. Control variates: tr(PAP) = tr A − Σθ and tr((PAP)²) = ‖A‖²_F − 2‖AQ‖²_F + ‖T‖²_F are
//!    known exactly, and each probe's quadrature gives gᵀ(PAP)g and gᵀ(PAP)²g exactly; with
//!    c₁λ + c₂λ² fitted to f on the quadrature nodes (weighted least squares), the estimate is
//!    mean_g(q_f − c₁q₁ − c₂q₂) + c₁ tr(PAP) + c₂ tr((PAP)²). This removes most of the probe
//!    variance when the spectrum's tail is flat.
//!
//! The standard error is the probes' standard deviation over √probes (of the control-variate
//! values), carried to S by the derivative; the deflation split tr f(QᵀAQ) + tr f(PAP) ≠
//! tr f(A) when Q is not exactly invariant adds a bias that it does not include (measured in
//! `benches/renyi_slq.rs` and docs/estimators.md). The matrix is f32 (half the memory and twice
//! the GEMM speed of f64); AQ, from which the exact traces come, is computed in f64.

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, Axis};
use ndarray_linalg::{Eigh, QR, UPLO};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::util::rng::SplitMix64;

/// Subspace iterations of the deflation after the first product A·Ω.
pub const POWER_ITERATIONS: usize = 2;

/// Extra vectors of the subspace iteration, not deflated.
pub const OVERSAMPLE: usize = 16;

/// Partial sums per row of [`squared_sum`].
const LANES: usize = 8;

/// Rows per block when AQ is computed in f64.
const ROW_BLOCK: usize = 256;

/// How much work the quadrature does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slq {
    /// Eigenvectors deflated (at most (N − 1) / 2 are used).
    pub deflate: usize,
    /// Rademacher probes (at least 2).
    pub probes: usize,
    /// Lanczos steps per probe.
    pub steps: usize,
}

/// An entropy from [`entropy`], in nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlqEntropy {
    /// S_α(A).
    pub entropy: f64,
    /// Standard error of `entropy` from the probes.
    pub se: f64,
    /// Eigenvectors deflated.
    pub deflated: usize,
}

/// f(λ) of the trace: λ^α − λ, or −λ ln λ at α = 1 (negative λ from rounding count as 0).
pub fn f(l: f64, alpha: f64) -> f64 {
    let l = l.max(0.0);
    if alpha != 1.0 {
        l.powf(alpha) - l
    } else if l > 0.0 {
        -l * l.ln()
    } else {
        0.0
    }
}

fn linalg(what: &str) -> impl Fn(ndarray_linalg::error::LinalgError) -> Error + '_ {
    move |e| Error::Invalid(format!("renyi slq: {what} failed: {e}"))
}

/// A·V with V rounded to f32 and the product widened to f64.
fn product(a: ArrayView2<'_, f32>, v: ArrayView2<'_, f64>) -> Array2<f64> {
    a.dot(&v.mapv(|x| x as f32)).mapv(f64::from)
}

/// A·V in f64, A widened block by block.
fn product_f64(a: ArrayView2<'_, f32>, v: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut out = Array2::zeros((a.nrows(), v.ncols()));
    for (rows, mut o) in a
        .axis_chunks_iter(Axis(0), ROW_BLOCK)
        .zip(out.axis_chunks_iter_mut(Axis(0), ROW_BLOCK))
    {
        o.assign(&rows.mapv(f64::from).dot(&v));
    }
    out
}

/// The deflated part: an orthonormal basis, its Ritz values and the exact traces of the rest.
struct Deflation {
    /// Q (N x k), rotated to the Ritz vectors.
    q: Array2<f64>,
    /// Ritz values θ.
    theta: Array1<f64>,
    /// tr(PAP).
    tr1: f64,
    /// tr((PAP)²).
    tr2: f64,
}

/// Randomised subspace iteration on k + [`OVERSAMPLE`] vectors; the top `k` Ritz vectors are
/// deflated (better converged than the last ones, so less coupled to the rest), with the exact
/// traces of PAP.
fn deflate(a: ArrayView2<'_, f32>, k: usize, rng: &mut SplitMix64) -> Result<Deflation> {
    let n = a.nrows();
    let (tr_a, fro2) = (trace(a), squared_sum(a));
    if k == 0 {
        return Ok(Deflation {
            q: Array2::zeros((n, 0)),
            theta: Array1::zeros(0),
            tr1: tr_a,
            tr2: fro2,
        });
    }
    let width = (k + OVERSAMPLE).min(n);
    let omega = Array2::from_shape_fn((n, width), |_| rng.normal());
    let mut y = product(a, omega.view());
    for _ in 0..POWER_ITERATIONS {
        let q = orthonormal(y)?;
        y = product(a, q.view());
    }
    let q = orthonormal(y)?;
    let aq = product_f64(a, q.view());
    let t = q.t().dot(&aq);
    let (theta, u) = ((&t + &t.t()) * 0.5)
        .eigh(UPLO::Lower)
        .map_err(linalg("eigh"))?;
    // eigh sorts ascending: the top k are the last k.
    let top = u.slice(s![.., width - k..]);
    let (q, aq, theta) = (
        q.dot(&top),
        aq.dot(&top),
        theta.slice(s![width - k..]).to_owned(),
    );
    let t = q.t().dot(&aq);
    let sq = |m: &Array2<f64>| m.iter().map(|x| x * x).sum::<f64>();
    Ok(Deflation {
        tr1: tr_a - theta.sum(),
        tr2: fro2 - 2.0 * sq(&aq) + sq(&t),
        q,
        theta,
    })
}

/// Q of the thin QR decomposition of `y` (N x k) by LAPACK, on a column-major copy: 28 ms
/// instead of 165 ms for the row-major matrix at N = 10000, k = 144.
fn orthonormal(y: Array2<f64>) -> Result<Array2<f64>> {
    let column_major = y
        .reversed_axes()
        .as_standard_layout()
        .reversed_axes()
        .into_owned();
    Ok(column_major.qr().map_err(linalg("QR"))?.0)
}

/// W − Q(QᵀW).
fn project_out(q: &Array2<f64>, w: &mut Array2<f64>) {
    if q.ncols() > 0 {
        let c = q.t().dot(&*w);
        *w -= &q.dot(&c);
    }
}

/// One probe's Gauss quadrature: nodes θ_j and weights ‖g‖² u_{1j}².
#[derive(Debug, Clone, Default)]
struct Quadrature {
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl Quadrature {
    /// Σ_j w_j h(θ_j).
    fn apply(&self, h: impl Fn(f64) -> f64) -> f64 {
        self.nodes
            .iter()
            .zip(&self.weights)
            .map(|(&t, &w)| w * h(t))
            .sum()
    }
}

/// Gauss quadrature of the tridiagonal matrix with diagonal `alpha` and off-diagonal `beta`.
fn gauss(alpha: &[f64], beta: &[f64], norm2: f64) -> Result<Quadrature> {
    let l = alpha.len();
    let t = Array2::from_shape_fn((l, l), |(i, j)| match i.abs_diff(j) {
        0 => alpha[i],
        1 => beta[i.min(j)],
        _ => 0.0,
    });
    let (nodes, u) = t.eigh(UPLO::Lower).map_err(linalg("tridiagonal eigh"))?;
    Ok(Quadrature {
        nodes: nodes.to_vec(),
        weights: u.row(0).iter().map(|x| norm2 * x * x).collect(),
    })
}

/// One Lanczos process: its orthonormal basis (rows) and recurrence coefficients.
struct Process {
    basis: Array2<f64>,
    alpha: Vec<f64>,
    beta: Vec<f64>,
    norm2: f64,
    done: bool,
}

impl Process {
    /// α_j = wᵀv_j for w = PAPv_j; false at the last step (the process ends there).
    fn record_alpha(&mut self, w: ArrayView1<'_, f64>, last: bool) -> bool {
        let j = self.alpha.len();
        self.alpha.push(w.dot(&self.basis.row(j)));
        self.done = last;
        !last
    }

    /// w − VVᵀw against the basis v_0..v_j.
    fn reorthogonalise(&self, mut w: ArrayViewMut1<'_, f64>) {
        let b = self.basis.slice(s![..self.alpha.len(), ..]);
        let c = b.dot(&w);
        w -= &b.t().dot(&c);
    }

    /// β_j = ‖w‖ and v_{j+1} = w / β_j, or the end at breakdown (an invariant subspace).
    fn advance(&mut self, w: ArrayView1<'_, f64>) {
        let j = self.alpha.len() - 1;
        let beta = w.dot(&w).sqrt();
        let scale = self.alpha[j].abs() + self.beta.last().copied().unwrap_or(0.0);
        if beta.is_nan() || beta <= 1e-10 * scale {
            self.done = true;
            return;
        }
        self.beta.push(beta);
        self.basis.row_mut(j + 1).assign(&(&w / beta));
    }
}

/// W − (WQ)Qᵀ for W with one vector per row.
fn project_rows(q: &Array2<f64>, w: &mut Array2<f64>) {
    if q.ncols() > 0 {
        let c = w.dot(q);
        *w -= &c.dot(&q.t());
    }
}

/// Lanczos on PAP from each column of `g` (already projected), all columns advanced by one
/// GEMM per step; the projections against Q are block products, the reorthogonalisation
/// against each process's own basis (twice, full) is per process.
fn lanczos(
    a: ArrayView2<'_, f32>,
    q: &Array2<f64>,
    g: &Array2<f64>,
    steps: usize,
) -> Result<Vec<Quadrature>> {
    let n = a.nrows();
    let mut procs: Vec<Process> = g
        .columns()
        .into_iter()
        .map(|c| {
            let norm2 = c.dot(&c);
            let mut basis = Array2::zeros((steps + 1, n));
            basis.row_mut(0).assign(&(&c / norm2.sqrt()));
            Process {
                basis,
                alpha: Vec::new(),
                beta: Vec::new(),
                norm2,
                done: norm2 == 0.0,
            }
        })
        .collect();
    for j in 0..steps {
        let active: Vec<usize> = (0..procs.len()).filter(|&i| !procs[i].done).collect();
        if active.is_empty() {
            break;
        }
        let v = Array2::from_shape_fn((n, active.len()), |(r, c)| procs[active[c]].basis[[j, r]]);
        // One row per process.
        let mut w = product(a, v.view())
            .reversed_axes()
            .as_standard_layout()
            .into_owned();
        project_rows(q, &mut w);
        let last = j + 1 == steps;
        for (c, &i) in active.iter().enumerate() {
            procs[i].record_alpha(w.row(c), last);
        }
        if last {
            break;
        }
        for _ in 0..2 {
            for (c, &i) in active.iter().enumerate() {
                procs[i].reorthogonalise(w.row_mut(c));
            }
            project_rows(q, &mut w);
        }
        for (c, &i) in active.iter().enumerate() {
            procs[i].advance(w.row(c));
        }
    }
    procs
        .iter()
        .map(|p| gauss(&p.alpha, &p.beta, p.norm2))
        .collect()
}

/// c₁, c₂ of the weighted least-squares fit c₁λ + c₂λ² ≈ f(λ) on the pooled quadrature
/// nodes (c₂ = 0 when the nodes do not determine it).
fn fit_control(quads: &[Quadrature], alpha: f64) -> (f64, f64) {
    let scale = quads
        .iter()
        .flat_map(|q| q.nodes.iter())
        .fold(0.0f64, |m, &t| m.max(t.abs()));
    if scale <= 0.0 {
        return (0.0, 0.0);
    }
    let (mut m11, mut m12, mut m22, mut r1, mut r2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for q in quads {
        for (&t, &w) in q.nodes.iter().zip(&q.weights) {
            let (x, y) = (t / scale, f(t, alpha));
            m11 += w * x * x;
            m12 += w * x * x * x;
            m22 += w * x * x * x * x;
            r1 += w * x * y;
            r2 += w * x * x * y;
        }
    }
    let det = m11 * m22 - m12 * m12;
    if det.is_nan() || det.abs() <= 1e-9 * m11 * m22 {
        // One distinct node (a flat tail): c₁λ alone.
        return if m11 > 0.0 {
            (r1 / m11 / scale, 0.0)
        } else {
            (0.0, 0.0)
        };
    }
    let d1 = (r1 * m22 - r2 * m12) / det;
    let d2 = (m11 * r2 - m12 * r1) / det;
    (d1 / scale, d2 / (scale * scale))
}

/// tr f(PAP) and its standard error from the probes' quadratures and the exact traces.
fn tail(quads: &[Quadrature], d: &Deflation, alpha: f64) -> (f64, f64) {
    let (c1, c2) = fit_control(quads, alpha);
    let v: Vec<f64> = quads
        .iter()
        .map(|q| q.apply(|t| f(t, alpha)) - c1 * q.apply(|t| t) - c2 * q.apply(|t| t * t))
        .collect();
    let m = v.len() as f64;
    let mean = v.iter().sum::<f64>() / m;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0).max(1.0);
    (mean + c1 * d.tr1 + c2 * d.tr2, (var / m).sqrt())
}

/// S_α(A) in nats by deflated, control-variate stochastic Lanczos quadrature (see the module
/// documentation); `a` must have trace 1. Runs OpenBLAS on every core rayon has.
pub fn entropy(a: ArrayView2<'_, f32>, alpha: f64, p: &Slq, seed: u64) -> Result<SlqEntropy> {
    let n = a.nrows();
    if n < 2 || a.ncols() != n || p.probes < 2 || p.steps < 1 {
        return Err(Error::Invalid(format!(
            "renyi slq needs a square matrix of N ≥ 2, at least 2 probes and 1 step (N = {n}, {} probes, {} steps)",
            p.probes, p.steps
        )));
    }
    let k = p.deflate.min((n - 1) / 2);
    let steps = p.steps.min(n - k);
    let mut rng = SplitMix64::new(seed);
    let (d, quads) =
        crate::util::blas::with_threads(rayon::current_num_threads(), || -> Result<_> {
            let d = deflate(a, k, &mut rng)?;
            let mut g = Array2::from_shape_fn((n, p.probes), |_| {
                if rng.next_u64() >> 63 == 0 {
                    -1.0
                } else {
                    1.0
                }
            });
            project_out(&d.q, &mut g);
            let quads = lanczos(a, &d.q, &g, steps)?;
            Ok((d, quads))
        })?;
    let top: f64 = d.theta.iter().map(|&t| f(t, alpha)).sum();
    let (rest, se) = tail(&quads, &d, alpha);
    let eps = top + rest;
    let (entropy, se) = to_entropy(trace(a), eps, se, alpha)?;
    Ok(SlqEntropy {
        entropy,
        se,
        deflated: k,
    })
}

/// S_α from tr A and ε = tr f(A), with the standard error carried by the derivative.
fn to_entropy(tr_a: f64, eps: f64, se: f64, alpha: f64) -> Result<(f64, f64)> {
    if alpha == 1.0 {
        return Ok((eps, se));
    }
    let tr_pow = tr_a + eps;
    if !(tr_pow.is_finite() && tr_pow > 0.0) {
        return Err(Error::Invalid(format!(
            "renyi slq: the estimate of tr(A^α) is {tr_pow} (not positive); use more --renyi-probes or the exact path (--renyi-max-n)"
        )));
    }
    Ok((
        tr_pow.ln() / (1.0 - alpha),
        se / (tr_pow * (1.0 - alpha).abs()),
    ))
}

/// Σ A_ij² in f64: each row in [`LANES`] partial sums, rows in parallel, the row sums added
/// in order (the same result whatever the thread count).
fn squared_sum(a: ArrayView2<'_, f32>) -> f64 {
    let rows: Vec<f64> = a
        .axis_iter(Axis(0))
        .into_par_iter()
        .map(|row| match row.as_slice() {
            Some(r) => {
                let mut lanes = [0.0f64; LANES];
                let mut chunks = r.chunks_exact(LANES);
                for c in &mut chunks {
                    for l in 0..LANES {
                        lanes[l] += f64::from(c[l]) * f64::from(c[l]);
                    }
                }
                let rest = chunks.remainder().iter().map(|&x| f64::from(x).powi(2));
                lanes.iter().sum::<f64>() + rest.sum::<f64>()
            }
            None => row.iter().map(|&x| f64::from(x).powi(2)).sum(),
        })
        .collect();
    rows.iter().sum()
}

/// tr A of an f32 matrix, summed in f64.
pub fn trace(a: ArrayView2<'_, f32>) -> f64 {
    a.diag().iter().map(|&x| f64::from(x)).sum()
}
