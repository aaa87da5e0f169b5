//! KSG k-nearest-neighbour estimators: I(X;Z) by Kraskov, Stögbauer & Grassberger ("Estimating
//! mutual information", Phys. Rev. E 69, 066138, 2004), algorithms 1 and 2, and I(Y;Z) for
//! discrete labels by Ross ("Mutual information between discrete and continuous data sets",
//! PLoS ONE 9, e87357, 2014).
//!
//! Distances are max-norms in each space and in the joint space, neighbours are found exactly
//! (brute force over all pairs, O(N²·(D + H)), parallel over samples). With ψ the digamma
//! function and ε_i the distance from sample i to its k-th neighbour in the joint space:
//! - algorithm 1: n_x(i), n_z(i) count the samples strictly within ε_i in each marginal space,
//!   I = ψ(k) + ψ(N) − ⟨ψ(n_x + 1) + ψ(n_z + 1)⟩;
//! - algorithm 2: ε_x(i), ε_z(i) are the largest marginal distances among the k neighbours,
//!   n_x, n_z count the samples within them (≤), I = ψ(k) − 1/k + ψ(N) − ⟨ψ(n_x) + ψ(n_z)⟩;
//! - Ross: d_i is the distance to the k_i-th neighbour among the samples of i's class (k_i =
//!   min(k, N_c − 1)), m_i counts all samples strictly within d_i (i itself included),
//!   I = ψ(N) + ⟨ψ(k_i)⟩ − ⟨ψ(N_{y_i})⟩ − ⟨ψ(m_i)⟩ over the samples whose class has two or more
//!   (as scikit-learn's `mutual_info_classif`, without its clipping at zero).
//!
//! Ties (saturated tanh units, binary inputs) are broken as NPEET does: uniform noise of
//! amplitude `--ksg-jitter` (1e-10, seeded) is added to every coordinate; rows state it. KSG is
//! biased downwards in high dimension (the k-th neighbour is far and the marginal counts large):
//! read its values on wide layers as lower estimates (docs/estimators.md).

use crate::estimator::registry::{Cost, Entry, Kind, Quantity, Side};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use super::{ArchiveCache, Estimate, Estimator, EstimatorParams, Fit, Inputs, LayerEpoch};
use crate::error::{Error, Result};
use crate::util::rng::SplitMix64;

/// Parameters of `ksg`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct KsgParams {
    /// ksg: neighbours k.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = KsgParams::DEFAULT.ksg_k))]
    pub ksg_k: usize,
    /// ksg: Kraskov's algorithm, 1 or 2 (I(X;Z); I(Y;Z) is Ross's estimator).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = KsgParams::DEFAULT.ksg_algorithm))]
    pub ksg_algorithm: u8,
    /// ksg: amplitude of the uniform noise added to every coordinate to break ties (NPEET's
    /// 1e-10); 0 leaves ties.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = KsgParams::DEFAULT.ksg_jitter))]
    pub ksg_jitter: f64,
}

impl KsgParams {
    /// The defaults (NPEET's k and jitter).
    pub(crate) const DEFAULT: KsgParams = KsgParams {
        ksg_k: 3,
        ksg_algorithm: 1,
        ksg_jitter: 1e-10,
    };

    /// Checks k (1..=1000), the algorithm (1 or 2) and the jitter (finite, ≥ 0).
    pub fn validate(&self) -> Result<()> {
        if !(1..=1000).contains(&self.ksg_k) {
            return Err(Error::parameter(
                "ksg_k",
                format!("must be from 1 to 1000 (got {})", self.ksg_k),
            ));
        }
        if !matches!(self.ksg_algorithm, 1 | 2) {
            return Err(Error::parameter(
                "ksg_algorithm",
                format!("must be 1 or 2 (got {})", self.ksg_algorithm),
            ));
        }
        if !(self.ksg_jitter.is_finite() && self.ksg_jitter >= 0.0) {
            return Err(Error::parameter(
                "ksg_jitter",
                format!(
                    "must be a finite number of 0 or more (got {})",
                    self.ksg_jitter
                ),
            ));
        }
        Ok(())
    }
}

impl Default for KsgParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// ψ(1..=n) by ψ(m + 1) = ψ(m) + 1/m from ψ(1) = −γ (index 0 unused).
pub(crate) fn digamma_table(n: usize) -> Vec<f64> {
    let mut t = vec![f64::NAN; n + 1];
    if n >= 1 {
        t[1] = -0.577_215_664_901_532_9;
    }
    for m in 1..n {
        t[m + 1] = t[m] + 1.0 / m as f64;
    }
    t
}

/// Max-norm distance between rows `i` and `j`.
fn dist(a: ArrayView2<'_, f64>, i: usize, j: usize) -> f64 {
    a.row(i)
        .iter()
        .zip(a.row(j))
        .fold(0.0, |m, (p, q)| m.max((p - q).abs()))
}

/// `a` with seeded uniform noise in (0, amplitude] on every coordinate.
pub fn jittered(a: ArrayView2<'_, f32>, amplitude: f64, seed: u64) -> Array2<f64> {
    let mut rng = SplitMix64::new(seed);
    a.mapv(|v| f64::from(v) + amplitude * rng.unit())
}

/// The k-th smallest of `v` (k ≥ 1) and the indices of the k smallest.
fn kth(v: &[(f64, usize)], k: usize) -> (f64, Vec<usize>) {
    let mut w = v.to_vec();
    w.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
    let idx = w[..k].iter().map(|p| p.1).collect();
    (w[k - 1].0, idx)
}

/// KSG I(X;Z) in nats (module docs), algorithm 1 or 2, on rows already jittered.
pub fn ksg_mi(
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    k: usize,
    algorithm: u8,
) -> Result<f64> {
    let n = x.nrows();
    if n != z.nrows() || n <= k {
        return Err(Error::Invalid(format!(
            "ksg needs more than k = {k} paired samples (got {n} rows of X, {} of Z)",
            z.nrows()
        )));
    }
    let psi = digamma_table(n + 1);
    let sum: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let dx: Vec<f64> = (0..n).map(|j| dist(x, i, j)).collect();
            let dz: Vec<f64> = (0..n).map(|j| dist(z, i, j)).collect();
            let joint: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (dx[j].max(dz[j]), j))
                .collect();
            let (eps, near) = kth(&joint, k);
            let others =
                |d: &[f64], f: &dyn Fn(f64) -> bool| (0..n).filter(|&j| j != i && f(d[j])).count();
            if algorithm == 1 {
                let nx = others(&dx, &|d| d < eps);
                let nz = others(&dz, &|d| d < eps);
                psi[nx + 1] + psi[nz + 1]
            } else {
                let ex = near.iter().map(|&j| dx[j]).fold(0.0, f64::max);
                let ez = near.iter().map(|&j| dz[j]).fold(0.0, f64::max);
                psi[others(&dx, &|d| d <= ex).max(1)] + psi[others(&dz, &|d| d <= ez).max(1)]
            }
        })
        .sum();
    let base = psi[k] + psi[n] - if algorithm == 2 { 1.0 / k as f64 } else { 0.0 };
    Ok(base - sum / n as f64)
}

/// Ross's I(Y;Z) in nats for labels below `classes` (module docs), on rows already jittered;
/// NaN when no class has two samples.
pub fn ross_mi(z: ArrayView2<'_, f64>, labels: &[u32], classes: usize, k: usize) -> f64 {
    let n = z.nrows();
    let mut counts = vec![0usize; classes.max(1)];
    for &l in labels {
        counts[l as usize] += 1;
    }
    let psi = digamma_table(n + 1);
    let terms: Vec<(f64, f64, f64)> = (0..n)
        .into_par_iter()
        .filter(|&i| counts[labels[i] as usize] > 1)
        .map(|i| {
            let c = counts[labels[i] as usize];
            let ki = k.min(c - 1);
            let dz: Vec<f64> = (0..n).map(|j| dist(z, i, j)).collect();
            let same: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i && labels[j] == labels[i])
                .map(|j| (dz[j], j))
                .collect();
            let (d, _) = kth(&same, ki);
            let m = dz.iter().filter(|&&v| v < d).count().max(1);
            (psi[ki], psi[c], psi[m])
        })
        .collect();
    if terms.is_empty() {
        return f64::NAN;
    }
    let t = terms.len() as f64;
    let mean = |f: fn(&(f64, f64, f64)) -> f64| terms.iter().map(f).sum::<f64>() / t;
    psi[terms.len()] + mean(|x| x.0) - mean(|x| x.1) - mean(|x| x.2)
}

/// Why Ross's I(Y;Z) is unreliable here, when fewer than half the samples are in classes of
/// more than `k` samples (a large label alphabet: the k within-class neighbours do not exist).
pub(crate) fn small_classes(labels: &[u32], classes: usize, k: usize) -> Option<String> {
    let counts = crate::labels::class_counts(labels, classes.max(1));
    let covered: usize = counts.iter().filter(|&&c| c > k).sum();
    (2 * covered < labels.len()).then(|| {
        format!(
            "I(Y;Z) unreliable: only {covered} of {} samples are in classes of more than k = {k} samples (Ross's estimator needs k neighbours in the sample's class); for many labels use soft or renyi with a linear kernel",
            labels.len()
        )
    })
}

/// `ksg` as an [`Estimator`]: I(X;Z) (Kraskov) when the archive has inputs, I(Y;Z) (Ross).
#[derive(Debug, Clone)]
pub struct Ksg {
    params: KsgParams,
    seed: u64,
}

/// The registry entry of `ksg`.
pub const ENTRY: Entry = Entry {
    kinds: &[Kind {
        name: "ksg",
        quantity: Quantity::Mutual,
        side: Side::Estimate,
        bracket: false,
        noisy: false,
    }],
    about: "k-nearest neighbours: Kraskov et al. 2004 for I(X;Z), Ross 2014 for I(Y;Z)",
    cost: Cost::Pairs,
    build,
};

/// Builds [`Ksg`] from the checked parameters.
pub fn build(p: &EstimatorParams, _: &[&str]) -> Result<Box<dyn Estimator>> {
    p.ksg.validate()?;
    Ok(Box::new(Ksg {
        params: p.ksg.clone(),
        seed: p.common.seed,
    }))
}

impl Estimator for Ksg {
    fn name(&self) -> &'static str {
        "ksg"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Optional
    }

    fn fit(&self, data: &LayerEpoch<'_>, _: &mut ArchiveCache, _: bool) -> Result<Fit> {
        let o = &self.params;
        let z = jittered(data.z, o.ksg_jitter, self.seed ^ 0x006b_7367);
        let mut row = Estimate::new(
            "ksg",
            format!("k={} algorithm={}", o.ksg_k, o.ksg_algorithm),
        );
        row.set_params(vec![
            ("k", o.ksg_k.to_string()),
            ("algorithm", o.ksg_algorithm.to_string()),
            ("jitter", format!("{:e}", o.ksg_jitter)),
            ("norm", "max".into()),
        ]);
        if let Some(x) = data.inputs {
            let x = jittered(x, o.ksg_jitter, self.seed ^ 0x78);
            row.i_xz = ksg_mi(x.view(), z.view(), o.ksg_k, o.ksg_algorithm)?;
        }
        row.i_yz = ross_mi(z.view(), data.labels, data.classes, o.ksg_k);
        if let Some(w) = small_classes(data.labels, data.classes, o.ksg_k) {
            row.warnings.push(w);
        }
        Ok(Fit {
            estimates: vec![row],
            distances: None,
        })
    }
}
