//! Matrix-based Rényi α-entropy estimators of I(X;Z) and I(Y;Z) (Giraldo, Rao & Príncipe 2015;
//! Yu et al. 2019, 2021).
//!
//! For a representation Z (N x d) and a kernel κ, the Gram matrix K_ij = κ(Z_i, Z_j) is
//! normalised to A = K / tr(K) (= K / N for the Gaussian kernels here). With λ_i its
//! eigenvalues, S_α(A) = 1/(1-α) ln Σ_i λ_i^α, in [0, ln N] (nats, like every estimator; the
//! literature often quotes bits, log2); for α = 2 this is -ln Σ_ij A_ij² and needs no
//! eigen-decomposition; α = 1 is its limit, the von Neumann entropy -Σ_i λ_i ln λ_i
//! (Wickstrøm et al. 2019). The joint entropy of two variables is
//! S_α(A ∘ B / tr(A ∘ B)) (Hadamard product), and I = S(A) + S(B) - S(A, B).
//!
//! Kernels ([`Convention`], written into every result row): exp(-d²/(2σ²)) (Tapia & Estévez;
//! the default), exp(-d²/σ²) (Wickstrøm), exp(-d²/σ) (Yu). Widths σ ([`Width`]): a fixed
//! value, Silverman-style γ √d N^(-1/(4+d)) (γ = 0.8 by default), or the median pairwise
//! distance of that matrix. The rules give a **length** σ, which every convention uses as a
//! length: exp(-d²/(2σ²)), exp(-d²/σ²), and for exp(-d²/σ) the parameter is σ² (the rule's
//! length squared, so that the kernel's reach is the same length); a fixed number is the
//! convention's own parameter as written. With `--renyi-standardize` every column of Z and X
//! is scaled to mean 0 and standard deviation 1 first (Tapia & Estévez), which the Silverman
//! rule, derived for unit-variance data, assumes. X uses its own width; labels use the label-equality kernel
//! K_ij = [y_i = y_j] (a one-hot kernel in the limit of a small width). Because even independent
//! labels give a positive I(Y;Z) at finite N (about 0.5 bits at N = 1000), a
//! shuffled-label baseline (same kernel, labels permuted with the seed) is reported beside it.
//!
//! Eigenvalues are exact (LAPACK `dsyev` without eigenvectors, through ndarray-linalg's `lax`,
//! f64) up to `max_n` samples. Above it (`--renyi-large`): by default every entropy of all N
//! samples comes from stochastic Lanczos quadrature on f32 Gram matrices ([`slq`], [`large`]),
//! with a standard error in the row's `i_xz_se`/`i_yz_se`; or (`subsets`) the estimate is the
//! mean over `subsamples` random subsets of `max_n` samples, and the row says so and gives
//! their standard deviation.

pub mod large;
pub mod linear;
pub mod slq;
mod width;

pub use width::{Convention, Width};

use crate::estimator::registry::{Cost, Entry, Kind, Quantity, Side};
use ndarray::{Array2, ArrayView2, Axis, CowArray, Ix2};
use ndarray_linalg::{AllocatedArray, AllocatedArrayMut, Lapack, UPLO};

use super::{ArchiveCache, Estimate, Estimator, EstimatorParams, Fit, Inputs, LayerEpoch};
use crate::error::{Error, Result};
use crate::util::rng::SplitMix64;

/// How N > `--renyi-max-n` samples are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Large {
    /// Stochastic Lanczos quadrature on all samples, with a standard error.
    Slq,
    /// The mean of exact estimates on random subsets of `--renyi-max-n` samples.
    Subsets,
}

/// Parameters of the Rényi estimator.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct RenyiParams {
    /// renyi: α (> 0; 1 is the von Neumann entropy; 2 needs no eigenvalues).
    #[cfg_attr(feature = "cli", arg(long = "renyi-alpha", default_value_t = 1.01))]
    #[serde(rename = "renyi_alpha")]
    pub alpha: f64,
    /// renyi: kernel: 2s2 = exp(-d²/(2σ²)), s2 = exp(-d²/σ²), s = exp(-d²/σ), linear = z·z'
    /// or cosine (no width; exact at any N through the H x H dual).
    #[cfg_attr(feature = "cli", arg(long = "renyi-kernel", default_value = "2s2"))]
    #[serde(rename = "renyi_kernel", with = "crate::estimator::params::text")]
    pub convention: Convention,
    /// renyi: kernel width σ for Z: a number, silverman, silverman:GAMMA or median.
    #[cfg_attr(
        feature = "cli",
        arg(long = "renyi-width", default_value = "silverman")
    )]
    #[serde(rename = "renyi_width", with = "crate::estimator::params::text")]
    pub width: Width,
    /// renyi: kernel width σ for the inputs X.
    #[cfg_attr(
        feature = "cli",
        arg(long = "renyi-width-x", default_value = "silverman")
    )]
    #[serde(rename = "renyi_width_x", with = "crate::estimator::params::text")]
    pub width_x: Width,
    /// renyi: largest N computed exactly; above it, the mean over random subsets of this size.
    #[cfg_attr(feature = "cli", arg(long = "renyi-max-n", default_value_t = RenyiParams::DEFAULT_MAX_N))]
    #[serde(rename = "renyi_max_n")]
    pub max_n: usize,
    /// renyi: above --renyi-max-n, slq (stochastic Lanczos quadrature on all samples, with a
    /// standard error) or subsets (the mean of exact estimates on random subsets).
    #[cfg_attr(feature = "cli", arg(long = "renyi-large", id = "renyi_large", value_enum, default_value_t = Large::Slq))]
    #[serde(rename = "renyi_large")]
    pub large: Large,
    /// renyi: number of subsets for --renyi-large subsets.
    #[cfg_attr(feature = "cli", arg(long = "renyi-subsamples", default_value_t = 5))]
    #[serde(rename = "renyi_subsamples")]
    pub subsamples: usize,
    /// renyi slq: Rademacher probes per entropy (the standard error falls as 1/√probes).
    #[cfg_attr(
        feature = "cli",
        arg(long = "renyi-probes", id = "renyi_probes", default_value_t = 16)
    )]
    #[serde(rename = "renyi_probes")]
    pub probes: usize,
    /// renyi slq: Lanczos steps per probe.
    #[cfg_attr(
        feature = "cli",
        arg(
            long = "renyi-lanczos-steps",
            id = "renyi_lanczos_steps",
            default_value_t = 20
        )
    )]
    #[serde(rename = "renyi_lanczos_steps")]
    pub steps: usize,
    /// renyi slq: largest eigenvectors deflated (computed by subspace iteration, counted exactly).
    #[cfg_attr(
        feature = "cli",
        arg(long = "renyi-deflate", id = "renyi_deflate", default_value_t = 128)
    )]
    #[serde(rename = "renyi_deflate")]
    pub deflate: usize,
    /// Seed of the subsets and of the label shuffle (the common `--seed`).
    #[cfg_attr(feature = "cli", arg(skip = 0u64))]
    #[serde(skip)]
    pub seed: u64,
    /// renyi: scale every column of Z and X to mean 0 and standard deviation 1 first.
    #[cfg_attr(
        feature = "cli",
        arg(long = "renyi-standardize", id = "renyi_standardize")
    )]
    #[serde(rename = "renyi_standardize")]
    pub standardize: bool,
}

impl Default for RenyiParams {
    fn default() -> Self {
        RenyiParams {
            alpha: 1.01,
            convention: Convention::TwoSigma2,
            width: Width::Silverman(0.8),
            width_x: Width::Silverman(0.8),
            max_n: Self::DEFAULT_MAX_N,
            large: Large::Slq,
            subsamples: 5,
            probes: 16,
            steps: 20,
            deflate: 128,
            seed: 0,
            standardize: false,
        }
    }
}

impl RenyiParams {
    /// The largest N computed exactly (a 20000 x 20000 f64 matrix is 3.2 GB).
    pub(crate) const MAX_N: usize = 20_000;

    /// The default largest N computed exactly (one default for `estimate` and `report`).
    pub(crate) const DEFAULT_MAX_N: usize = 5000;

    /// The largest N of the quadrature path (three N x N f32 matrices: 10.8 GB at 30000).
    pub(crate) const SLQ_MAX_N: usize = 30_000;

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha.is_finite()) {
            return Err(Error::parameter(
                "renyi_alpha",
                format!("must be a positive number (got {})", self.alpha),
            ));
        }
        let ranges: [(&'static str, usize, usize, usize, &str); 5] = [
            (
                "renyi_max_n",
                self.max_n,
                2,
                Self::MAX_N,
                " (an N x N matrix in f64 each)",
            ),
            ("renyi_subsamples", self.subsamples, 1, 1000, ""),
            ("renyi_probes", self.probes, 2, 1000, ""),
            ("renyi_lanczos_steps", self.steps, 1, 1000, ""),
            ("renyi_deflate", self.deflate, 0, 4096, ""),
        ];
        for (name, v, lo, hi, why) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(Error::parameter(
                    name,
                    format!("must be between {lo} and {hi}{why} (got {v})"),
                ));
            }
        }
        Ok(())
    }
}

/// Squared pairwise distances of the rows of `z` (centred first; negatives clamped, diagonal 0).
pub fn squared_distances(z: ArrayView2<'_, f64>) -> Array2<f64> {
    let (c, norms) = centred_rows(z);
    distance_block(&c, &norms, 0, z.nrows())
}

/// The rows of `z` minus the column means, and their squared norms (the pairwise engine's
/// centring, rows in their own order).
pub fn centred_rows(z: ArrayView2<'_, f64>) -> (Array2<f64>, Vec<f64>) {
    let order: Vec<usize> = (0..z.nrows()).collect();
    crate::estimator::pairwise::distances::centred(z, &order)
}

/// Squared distances of rows `r0..r1` of the centred `c` (squared norms `norms`) to every
/// row, ‖c_i‖² + ‖c_j‖² − 2 c_i·c_j by one GEMM (diagonal 0, negatives clamped).
pub(crate) fn distance_block(c: &Array2<f64>, norms: &[f64], r0: usize, r1: usize) -> Array2<f64> {
    let mut d2 = c.slice(ndarray::s![r0..r1, ..]).dot(&c.t());
    for (i, mut row) in d2.rows_mut().into_iter().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = if r0 + i == j {
                0.0
            } else {
                (norms[r0 + i] + norms[j] - 2.0 * *v).max(0.0)
            };
        }
    }
    d2
}

/// σ for `width` on a matrix with squared distances `d2` and `dim` features.
pub fn resolve_width(width: Width, d2: &Array2<f64>, dim: usize) -> f64 {
    let n = d2.nrows() as f64;
    match width {
        Width::Fixed(s) => s,
        Width::Silverman(g) => g * (dim as f64).sqrt() * n.powf(-1.0 / (4.0 + dim as f64)),
        Width::Median => {
            let mut v: Vec<f64> = Vec::with_capacity(d2.len() / 2);
            for i in 0..d2.nrows() {
                for j in i + 1..d2.nrows() {
                    v.push(d2[[i, j]]);
                }
            }
            if v.is_empty() {
                return 1.0;
            }
            let mid = v.len() / 2;
            v.select_nth_unstable_by(mid, f64::total_cmp);
            v[mid].sqrt().max(f64::MIN_POSITIVE)
        }
    }
}

/// The divisor of d² for `width` resolved to `sigma`: a rule's σ is a length (for exp(-d²/σ)
/// the parameter is σ²); a fixed number is the convention's parameter as written.
pub fn divisor(width: Width, sigma: f64, convention: Convention) -> f64 {
    match (width, convention) {
        (Width::Fixed(_), c) => c.divisor(sigma),
        (_, Convention::Sigma) => sigma * sigma,
        (_, c) => c.divisor(sigma),
    }
}

/// A = K / tr(K) for the Gaussian kernel exp(-d²/`div`) with squared distances `d2`.
pub fn normalized_gram(d2: &Array2<f64>, div: f64) -> Array2<f64> {
    let n = d2.nrows() as f64;
    d2.mapv(|d| (-d / div).exp() / n)
}

/// A = K / tr(K) for the label-equality kernel.
pub fn label_gram(labels: &[u32]) -> Array2<f64> {
    let n = labels.len();
    Array2::from_shape_fn((n, n), |(i, j)| {
        if labels[i] == labels[j] {
            1.0 / n as f64
        } else {
            0.0
        }
    })
}

/// S_α of the label-equality Gram matrix in closed form: A_Y = K_Y / N is block-constant with
/// eigenvalues N_c / N (one per class) and zeros, so S_α = 1/(1-α) ln Σ_c p_c^α.
pub fn label_entropy(labels: &[u32], alpha: f64) -> f64 {
    let classes = crate::labels::classes_in(labels);
    let n = labels.len() as f64;
    let p: Vec<f64> = crate::labels::class_counts(labels, classes)
        .into_iter()
        .filter(|&c| c > 0)
        .map(|c| c as f64 / n)
        .collect();
    power_sum(&p, alpha).pipe_alpha(alpha)
}

/// The last step of S_α from Σ λ^α (or, for α = 1, from -Σ λ ln λ itself).
trait PipeAlpha {
    fn pipe_alpha(self, alpha: f64) -> f64;
}

impl PipeAlpha for f64 {
    fn pipe_alpha(self, alpha: f64) -> f64 {
        if alpha == 1.0 {
            self
        } else {
            self.ln() / (1.0 - alpha)
        }
    }
}

/// Eigenvalues of a symmetric matrix: LAPACK's `dsyev` without eigenvectors, with OpenBLAS on
/// as many threads as rayon has (no other BLAS work of ours runs meanwhile).
///
/// Not `ndarray_linalg::EigValsh`: in ndarray-linalg 0.18.1 `eigvalsh` asks LAPACK for the
/// eigenvectors too (`eigh(true, ..)`), and applying their rotations dominated: 29 s instead of
/// 2.8 s for one 4096 x 4096 matrix on the 2-core development machine.
pub fn eigenvalues(a: &Array2<f64>) -> Result<Vec<f64>> {
    let fail =
        |e: ndarray_linalg::error::LinalgError| Error::Invalid(format!("eigenvalues failed: {e}"));
    let mut m = a.as_standard_layout().into_owned();
    let layout = m.square_layout().map_err(fail)?;
    let data = m.as_allocated_mut().map_err(fail)?;
    crate::util::blas::with_threads(rayon::current_num_threads(), || {
        f64::eigh(false, layout, UPLO::Lower, data)
    })
    .map_err(|e| fail(e.into()))
}

/// Σ λ^α over a spectrum (α = 1: -Σ λ ln λ); negative rounding is clamped to 0.
fn power_sum(eig: &[f64], alpha: f64) -> f64 {
    eig.iter()
        .map(|&l| l.max(0.0))
        .map(|l| {
            if alpha != 1.0 {
                l.powf(alpha)
            } else if l > 0.0 {
                -l * l.ln()
            } else {
                0.0
            }
        })
        .sum()
}

/// S_α(A) in nats; α = 2 through Σ A_ij² without eigenvalues; α = 1 is -Σ λ ln λ.
pub fn entropy(a: &Array2<f64>, alpha: f64) -> Result<f64> {
    if alpha == 2.0 {
        return Ok(-a.iter().map(|x| x * x).sum::<f64>().ln());
    }
    let s = power_sum(&eigenvalues(a)?, alpha);
    Ok(s.pipe_alpha(alpha))
}

/// S_α of the normalised Hadamard product A ∘ B / tr(A ∘ B).
pub fn joint_entropy(a: &Array2<f64>, b: &Array2<f64>, alpha: f64) -> Result<f64> {
    let mut h = a * b;
    let tr = h.diag().sum();
    h /= tr;
    entropy(&h, alpha)
}

/// One Rényi estimate, in nats.
#[derive(Debug, Clone, PartialEq)]
pub struct RenyiEstimate {
    /// I(X;Z) (NaN without inputs).
    pub i_xz: f64,
    /// I(Y;Z).
    pub i_yz: f64,
    /// I(Y_shuffled; Z).
    pub i_yz_baseline: f64,
    /// S_α(Z).
    pub s_z: f64,
    /// σ used for Z (of the first subset when subsampled).
    pub sigma: f64,
    /// σ used for X.
    pub sigma_x: f64,
    /// Subsets averaged (0 = exact on all samples).
    pub subsets: usize,
    /// Standard deviation of I(X;Z), I(Y;Z) over the subsets (0 when exact).
    pub spread: (f64, f64),
    /// ln N of the samples used per computation.
    pub log_n: f64,
    /// Standard errors of I(X;Z), I(Y;Z) from the quadrature's probes (NaN otherwise).
    pub se: (f64, f64),
    /// Eigenvectors deflated by the quadrature (0 otherwise).
    pub deflated: usize,
}

/// The inputs' normalised Gram matrix and entropy: the same for every layer and epoch of a
/// run, so an archive's estimation computes it once.
#[derive(Debug, Clone)]
pub struct InputKernel {
    gram: Array2<f64>,
    entropy: f64,
    sigma: f64,
}

/// `x` with every column standardised (`--renyi-standardize`), or `x` itself.
pub(super) fn standardized_if(x: ArrayView2<'_, f64>, on: bool) -> CowArray<'_, f64, Ix2> {
    if on {
        super::standardized(x).into()
    } else {
        x.into()
    }
}

/// A_X and S_α(A_X) of the inputs `x` under the options' X width and convention.
pub fn input_kernel(x: ArrayView2<'_, f64>, o: &RenyiParams) -> Result<InputKernel> {
    let x = standardized_if(x, o.standardize);
    let x = x.view();
    let dx = squared_distances(x);
    let sigma = resolve_width(o.width_x, &dx, x.ncols());
    let gram = normalized_gram(&dx, divisor(o.width_x, sigma, o.convention));
    let entropy = entropy(&gram, o.alpha)?;
    Ok(InputKernel {
        gram,
        entropy,
        sigma,
    })
}

fn exact(
    z: ArrayView2<'_, f64>,
    x: Option<&InputKernel>,
    labels: &[u32],
    shuffled: &[u32],
    o: &RenyiParams,
) -> Result<RenyiEstimate> {
    let z = standardized_if(z, o.standardize);
    let z = z.view();
    let d2 = squared_distances(z);
    let sigma = resolve_width(o.width, &d2, z.ncols());
    let a = normalized_gram(&d2, divisor(o.width, sigma, o.convention));
    drop(d2);
    let s_z = entropy(&a, o.alpha)?;
    let y = label_gram(labels);
    let i_yz = label_entropy(labels, o.alpha) + s_z - joint_entropy(&a, &y, o.alpha)?;
    drop(y);
    let ys = label_gram(shuffled);
    let i_yz_baseline = label_entropy(shuffled, o.alpha) + s_z - joint_entropy(&a, &ys, o.alpha)?;
    drop(ys);
    let (i_xz, sigma_x) = match x {
        Some(k) => (
            k.entropy + s_z - joint_entropy(&k.gram, &a, o.alpha)?,
            k.sigma,
        ),
        None => (f64::NAN, f64::NAN),
    };
    Ok(RenyiEstimate {
        i_xz,
        i_yz,
        i_yz_baseline,
        s_z,
        sigma,
        sigma_x,
        subsets: 0,
        spread: (0.0, 0.0),
        log_n: (z.nrows() as f64).ln(),
        se: (f64::NAN, f64::NAN),
        deflated: 0,
    })
}

/// The seeded generator and the shuffled labels of the baseline.
fn shuffled_labels(labels: &[u32], o: &RenyiParams) -> (SplitMix64, Vec<u32>) {
    let mut rng = SplitMix64::new(o.seed);
    let mut shuffled = labels.to_vec();
    rng.shuffle(&mut shuffled);
    (rng, shuffled)
}

/// As [`Renyi::estimate`] with the inputs' kernel computed beforehand (see
/// [`input_kernel`]); only for N ≤ `max_n` (the exact path), where the kernel of all samples
/// is used.
fn estimate_with(
    z: ArrayView2<'_, f64>,
    x: Option<&InputKernel>,
    labels: &[u32],
    o: &RenyiParams,
) -> Result<RenyiEstimate> {
    if z.nrows() > o.max_n {
        return Err(Error::Invalid(format!(
            "a precomputed input kernel needs N ≤ max_n ({} > {})",
            z.nrows(),
            o.max_n
        )));
    }
    let (_, shuffled) = shuffled_labels(labels, o);
    exact(z, x, labels, &shuffled, o)
}

/// I(X;Z) and I(Y;Z) of `z` (N x d) with inputs `x` (N x D, optional) and labels, with
/// checked parameters: exact up to `max_n` samples, above it as `o.large` says.
fn estimate(
    z: ArrayView2<'_, f64>,
    x: Option<ArrayView2<'_, f64>>,
    labels: &[u32],
    o: &RenyiParams,
) -> Result<RenyiEstimate> {
    let (rng, shuffled) = shuffled_labels(labels, o);
    if o.convention.is_linear() {
        return linear::estimate(z, x, labels, &shuffled, o);
    }
    if z.nrows() <= o.max_n {
        let k = x.map(|x| input_kernel(x, o)).transpose()?;
        return exact(z, k.as_ref(), labels, &shuffled, o);
    }
    match o.large {
        Large::Slq => {
            let k = x.map(|x| large::input_kernel(x, o)).transpose()?;
            large::estimate(z, k.as_ref(), labels, &shuffled, o)
        }
        Large::Subsets => subsets(z, x, labels, &shuffled, rng, o),
    }
}

/// The mean and spread of exact estimates on `o.subsamples` random subsets of `o.max_n`.
fn subsets(
    z: ArrayView2<'_, f64>,
    x: Option<ArrayView2<'_, f64>>,
    labels: &[u32],
    shuffled: &[u32],
    mut rng: SplitMix64,
    o: &RenyiParams,
) -> Result<RenyiEstimate> {
    let n = z.nrows();
    let mut runs = Vec::with_capacity(o.subsamples);
    for _ in 0..o.subsamples {
        let mut idx: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut idx);
        idx.truncate(o.max_n);
        idx.sort_unstable();
        let zs = z.select(Axis(0), &idx);
        let xs = x
            .map(|x| input_kernel(x.select(Axis(0), &idx).view(), o))
            .transpose()?;
        let ls: Vec<u32> = idx.iter().map(|&i| labels[i]).collect();
        let ss: Vec<u32> = idx.iter().map(|&i| shuffled[i]).collect();
        runs.push(exact(zs.view(), xs.as_ref(), &ls, &ss, o)?);
    }
    let k = runs.len() as f64;
    let mean = |f: fn(&RenyiEstimate) -> f64| runs.iter().map(f).sum::<f64>() / k;
    let sd = |f: fn(&RenyiEstimate) -> f64, m: f64| {
        (runs.iter().map(|r| (f(r) - m).powi(2)).sum::<f64>() / k).sqrt()
    };
    let (mx, my) = (mean(|r| r.i_xz), mean(|r| r.i_yz));
    Ok(RenyiEstimate {
        i_xz: mx,
        i_yz: my,
        i_yz_baseline: mean(|r| r.i_yz_baseline),
        s_z: mean(|r| r.s_z),
        sigma: runs[0].sigma,
        sigma_x: runs[0].sigma_x,
        subsets: runs.len(),
        spread: (sd(|r| r.i_xz, mx), sd(|r| r.i_yz, my)),
        log_n: (o.max_n as f64).ln(),
        se: (f64::NAN, f64::NAN),
        deflated: 0,
    })
}

/// The Rényi estimator ([`Estimator`]): the inputs' kernel is computed once per archive (on
/// the exact path) and kept in the [`ArchiveCache`].
#[derive(Debug, Clone)]
pub struct Renyi {
    params: RenyiParams,
    /// The common saturation margin (nats).
    margin: f64,
}

/// The registry entry of `renyi`.
pub const ENTRY: Entry = Entry {
    kinds: &[Kind {
        name: "renyi",
        quantity: Quantity::Mutual,
        side: Side::Estimate,
        bracket: false,
        noisy: false,
    }],
    about: "matrix-based Rényi α-entropy (Giraldo et al. 2015)",
    cost: Cost::Cubic,
    build,
};

/// Builds [`Renyi`] from the checked parameters (the common seed included).
pub fn build(p: &EstimatorParams, _: &[&str]) -> Result<Box<dyn Estimator>> {
    let params = RenyiParams {
        seed: p.common.seed,
        ..p.renyi.clone()
    };
    params.validate()?;
    Ok(Box::new(Renyi {
        params,
        margin: p.common.saturation_margin,
    }))
}

impl Renyi {
    /// The estimator with checked parameters `params` (its own seed; the saturation margin
    /// the library's default).
    pub fn new(params: RenyiParams) -> Result<Self> {
        params.validate()?;
        Ok(Renyi {
            params,
            margin: super::CommonParams::default().saturation_margin,
        })
    }

    /// I(X;Z) and I(Y;Z) of `z` (N x d) with inputs `x` (N x D, optional) and `labels`, in
    /// f64 and with everything the estimate knows ([`RenyiEstimate`]): exact up to `max_n`
    /// samples, above it as the parameters' `large` says. [`Estimator::fit`] is this on one
    /// (layer, epoch), with the inputs' kernel kept for the whole archive.
    ///
    /// One-hot codes of 4 balanced classes under the linear kernel: the Gram matrix is the
    /// labels' own, so S(Z) = H_α(Y) = ln 4 and I(Y;Z) = H(Y):
    ///
    /// ```
    /// use infoplane::estimator::renyi::{Convention, Renyi, RenyiParams};
    /// use ndarray::Array2;
    ///
    /// let y: Vec<u32> = (0..40).map(|i| i % 4).collect();
    /// let z = Array2::from_shape_fn((40, 4), |(i, j)| f64::from(u8::from(y[i] as usize == j)));
    /// let renyi = Renyi::new(RenyiParams { convention: Convention::Linear, ..Default::default() })?;
    /// let e = renyi.estimate(z.view(), None, &y)?;
    /// assert!((e.s_z - 4f64.ln()).abs() < 1e-12 && (e.i_yz - 4f64.ln()).abs() < 1e-12);
    /// # Ok::<(), infoplane::Error>(())
    /// ```
    pub fn estimate(
        &self,
        z: ArrayView2<'_, f64>,
        x: Option<ArrayView2<'_, f64>>,
        labels: &[u32],
    ) -> Result<RenyiEstimate> {
        estimate(z, x, labels, &self.params)
    }

    /// The setting (what stays the same across layers) and the per-matrix parameters.
    fn params_of(&self, e: &RenyiEstimate, inputs: bool) -> (String, Vec<(&'static str, String)>) {
        let o = &self.params;
        let mut fixed = vec![
            ("alpha", o.alpha.to_string()),
            ("kernel", o.convention.describe().to_string()),
        ];
        if o.standardize {
            fixed.push(("standardize", "true".into()));
        }
        if !inputs {
            fixed.push(("inputs", "none".into()));
        }
        if e.subsets > 0 {
            fixed.push((
                "approximate",
                format!("mean_of_{}_subsets_of_{}", e.subsets, o.max_n),
            ));
        }
        if e.se.1.is_finite() && !o.convention.is_linear() {
            fixed.push((
                "approximate",
                format!(
                    "slq_probes_{}_steps_{}_deflate_{}",
                    o.probes, o.steps, e.deflated
                ),
            ));
        }
        let setting = fixed
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut all = fixed;
        all.push(("s_z", format!("{:.9}", e.s_z)));
        if !o.convention.is_linear() {
            all.push(("sigma_z", format!("{:.6}", e.sigma)));
            all.push(("sigma_x", format!("{:.6}", e.sigma_x)));
        }
        if e.subsets > 0 {
            all.push(("sd_i_xz", format!("{:.4}", e.spread.0)));
            all.push(("sd_i_yz", format!("{:.4}", e.spread.1)));
        }
        (setting, all)
    }
}

impl Renyi {
    /// The estimate of one (layer, epoch); the inputs' kernel (exact or quadrature) is the same
    /// for every (layer, epoch) of a run and is kept in the cache.
    fn estimate_of(
        &self,
        data: &LayerEpoch<'_>,
        cache: &mut ArchiveCache,
    ) -> Result<RenyiEstimate> {
        let o = &self.params;
        let z = data.z.mapv(f64::from);
        let n = data.labels.len();
        let Some(x) = data.inputs.filter(|_| !o.convention.is_linear()) else {
            let x = data.inputs.map(|x| x.mapv(f64::from));
            return estimate(z.view(), x.as_ref().map(|x| x.view()), data.labels, o);
        };
        let x = || x.mapv(f64::from);
        if n <= o.max_n {
            return with_input_kernel(
                cache,
                n,
                |k: &InputKernel| k.gram.nrows(),
                || input_kernel(x().view(), o),
                |k| estimate_with(z.view(), Some(k), data.labels, o),
            );
        }
        if o.large == Large::Subsets || n > RenyiParams::SLQ_MAX_N {
            return estimate(z.view(), Some(x().view()), data.labels, o);
        }
        let (_, shuffled) = shuffled_labels(data.labels, o);
        with_input_kernel(
            cache,
            n,
            |k: &large::LargeKernel| k.gram.nrows(),
            || large::input_kernel(x().view(), o),
            |k| large::estimate(z.view(), Some(k), data.labels, &shuffled, o),
        )
    }
}

/// Runs `run` with the inputs' kernel: the cached one when it covers all `n` samples, else
/// one built for these samples (`--error subsample:K` passes a part of them).
fn with_input_kernel<K: std::any::Any + Send, R>(
    cache: &mut ArchiveCache,
    n: usize,
    rows: fn(&K) -> usize,
    build: impl Fn() -> Result<K>,
    run: impl FnOnce(&K) -> Result<R>,
) -> Result<R> {
    let k = cache.get_or_try_insert(&build)?;
    if rows(k) == n {
        return run(k);
    }
    run(&build()?)
}

impl Estimator for Renyi {
    fn name(&self) -> &'static str {
        "renyi"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Optional
    }

    fn fit(&self, data: &LayerEpoch<'_>, cache: &mut ArchiveCache, _: bool) -> Result<Fit> {
        let e = self.estimate_of(data, cache)?;
        let (setting, params) = self.params_of(&e, data.inputs.is_some());
        let mut row = Estimate::new("renyi", setting);
        row.set_params(params);
        (row.i_xz, row.i_yz, row.i_yz_baseline) = (e.i_xz, e.i_yz, e.i_yz_baseline);
        (row.i_xz_se, row.i_yz_se) = e.se;
        // Saturation against the samples the estimate used: ln max_n for subsampled rows.
        row.saturated = Some(e.i_xz > e.log_n - self.margin);
        if data.inputs.is_some() && e.i_xz.is_nan() {
            row.warnings.push(format!(
                "I(X;Z) not computed: under a linear kernel it needs D·H ≤ {} or N ≤ renyi_max_n",
                linear::MAX_JOINT_FEATURES
            ));
        }
        Ok(Fit {
            estimates: vec![row],
            distances: None,
        })
    }
}
