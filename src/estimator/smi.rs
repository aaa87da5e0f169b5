//! Sliced mutual information (Goldfeld & Greenewald, "Sliced mutual information: a scalable
//! measure of statistical dependence", NeurIPS 2021): SI(X;Z) = E_{θ,φ} I(θᵀX; φᵀZ) over
//! directions θ, φ drawn uniformly on the unit spheres of X's and Z's spaces, and
//! SI(Y;Z) = E_φ I(Y; φᵀZ) (the labels are not sliced).
//!
//! It is a different quantity from I(X;Z): it needs no σ², does not saturate at ln N, and is
//! smaller than the mutual information in general (rows name the estimator `smi`, and plots label
//! its axes SI). Each slice is estimated by KSG algorithm 1 (max-norm, k = `--ksg-k`) on the two
//! projections, I(Y; φᵀZ) by Ross's estimator, both exactly and in O(N log N) per slice by sorting
//! (one dimension each: a sweep over the samples sorted by θᵀx finds the k-th neighbour in the
//! joint max-norm, binary searches count the marginal neighbours). The row is the mean over
//! `--slices` slices; its standard error is the spread across slices over √slices. Ties are
//! broken as `ksg` does: seeded uniform noise of amplitude `--ksg-jitter` on every projection.
//!
//! Its standard error has two parts, added in quadrature: the choice of slices (the spread
//! across slices over √slices) and the data's own sampling noise, from Holmes–Nemenman
//! subsampling ([`super::subsample`]) of the slice mean with the same directions on 2..5
//! disjoint parts (the slice spread alone covered the sliced MI of repeated data sets in 6
//! of 8 intervals; issue 26, item 15). Rows give both (`se_slices_*`, `se_data_*`).

use crate::estimator::registry::{Cost, Entry, Kind, Quantity, Side};
use std::collections::BinaryHeap;

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

use super::ksg::digamma_table;
use super::subsample;
use super::{ArchiveCache, Estimate, Estimator, EstimatorParams, Fit, Inputs, LayerEpoch};
use crate::error::{Error, Result};
use crate::util::rng::SplitMix64;

/// Parameters of `smi`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct SmiParams {
    /// smi: number of random slices (directions) averaged.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = SmiParams::DEFAULT_SLICES))]
    pub slices: usize,
    /// smi: estimator of each slice's mutual information (ksg: KSG algorithm 1 and Ross's
    /// estimator, k = --ksg-k).
    #[cfg_attr(feature = "cli", arg(long, default_value = "ksg"))]
    pub smi_inner: String,
}

impl SmiParams {
    /// The default number of slices.
    pub(crate) const DEFAULT_SLICES: usize = 128;

    /// Checks the number of slices (1..=100000) and the inner estimator (`ksg`).
    pub fn validate(&self) -> Result<()> {
        if !(1..=100_000).contains(&self.slices) {
            return Err(Error::parameter(
                "slices",
                format!("must be from 1 to 100000 (got {})", self.slices),
            ));
        }
        if self.smi_inner != "ksg" {
            return Err(Error::parameter(
                "smi_inner",
                format!("must be ksg (got '{}')", self.smi_inner),
            ));
        }
        Ok(())
    }
}

impl Default for SmiParams {
    fn default() -> Self {
        SmiParams {
            slices: Self::DEFAULT_SLICES,
            smi_inner: "ksg".into(),
        }
    }
}

/// `count` directions drawn uniformly on the unit sphere of dimension `dim` (normalised
/// standard normal vectors, Box–Muller), one per row; seeded.
pub fn directions(dim: usize, count: usize, seed: u64) -> Array2<f64> {
    let mut rng = SplitMix64::new(seed);
    let mut normal = || {
        let (u1, u2) = (rng.unit(), rng.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let mut d = Array2::from_shape_simple_fn((count, dim), &mut normal);
    for mut row in d.outer_iter_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    d
}

/// The positions of `v` sorted ascending (ties by index) and the sorted values.
fn sorted(v: ArrayView1<'_, f64>) -> (Vec<usize>, Vec<f64>) {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then(a.cmp(&b)));
    let values = order.iter().map(|&i| v[i]).collect();
    (order, values)
}

/// How many of the sorted `values` lie strictly within `eps` of `c`, by the same rounded
/// differences |x − c| as the distances (so that the neighbour at exactly `eps` is never
/// counted, as in `ksg`).
fn within(values: &[f64], c: f64, eps: f64) -> usize {
    let lo = values.partition_point(|&x| c - x >= eps);
    let hi = values.partition_point(|&x| x - c < eps);
    hi.saturating_sub(lo)
}

/// The k-th smallest max-norm distance from sample `order[p]` to the others in the plane
/// (u, v), by a sweep outwards from its place among the samples sorted by u: once k distances
/// are known, a sample whose u alone is farther than the k-th of them cannot improve it.
fn kth_joint(
    u: ArrayView1<'_, f64>,
    v: ArrayView1<'_, f64>,
    order: &[usize],
    p: usize,
    k: usize,
) -> f64 {
    let i = order[p];
    // Distances are ≥ 0, so their bit patterns order like the values.
    let mut best: BinaryHeap<u64> = BinaryHeap::with_capacity(k + 1);
    let (mut left, mut right) = (p, p + 1);
    loop {
        let du_left = (left > 0).then(|| u[i] - u[order[left - 1]]);
        let du_right = (right < order.len()).then(|| u[order[right]] - u[i]);
        let (du, j) = match (du_left, du_right) {
            (Some(l), r) if r.is_none_or(|r| l <= r) => {
                left -= 1;
                (l, order[left])
            }
            (_, Some(r)) => {
                right += 1;
                (r, order[right - 1])
            }
            _ => break,
        };
        if best.len() == k && best.peek().is_some_and(|&b| du >= f64::from_bits(b)) {
            break;
        }
        best.push(du.max((v[j] - v[i]).abs()).to_bits());
        if best.len() > k {
            best.pop();
        }
    }
    best.peek().map_or(f64::NAN, |&b| f64::from_bits(b))
}

/// KSG algorithm 1 on two one-dimensional variables (the `ksg` estimator's formula, exact
/// neighbours by sorting): ψ(k) + ψ(N) − ⟨ψ(n_u + 1) + ψ(n_v + 1)⟩.
pub fn ksg_1d(u: ArrayView1<'_, f64>, v: ArrayView1<'_, f64>, k: usize) -> f64 {
    let n = u.len();
    if n <= k || v.len() != n {
        return f64::NAN;
    }
    let psi = digamma_table(n + 1);
    let (order, su) = sorted(u);
    let (_, sv) = sorted(v);
    let sum: f64 = (0..n)
        .map(|p| {
            let i = order[p];
            let eps = kth_joint(u, v, &order, p, k);
            let nu = within(&su, u[i], eps).saturating_sub(1);
            let nv = within(&sv, v[i], eps).saturating_sub(1);
            psi[nu + 1] + psi[nv + 1]
        })
        .sum();
    psi[k] + psi[n] - sum / n as f64
}

/// Ross's I(Y;Z) on one dimension (the `ksg` estimator's formula, exact neighbours by sorting):
/// ψ(N) + ⟨ψ(k_i)⟩ − ⟨ψ(N_{y_i})⟩ − ⟨ψ(m_i)⟩ over the samples whose class has two or more.
pub fn ross_1d(v: ArrayView1<'_, f64>, labels: &[u32], classes: usize, k: usize) -> f64 {
    let n = v.len();
    let mut by_class: Vec<Vec<(f64, usize)>> = vec![Vec::new(); classes.max(1)];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push((v[i], i));
    }
    for c in &mut by_class {
        c.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    let (_, sv) = sorted(v);
    let psi = digamma_table(n + 1);
    let (mut t, mut sums) = (0usize, [0.0f64; 3]);
    for (i, &l) in labels.iter().enumerate() {
        let class = &by_class[l as usize];
        let c = class.len();
        if c < 2 {
            continue;
        }
        let ki = k.min(c - 1);
        let q = class.partition_point(|a| a.0.total_cmp(&v[i]).then(a.1.cmp(&i)).is_lt());
        let d = kth_in_line(class, q, ki);
        let m = within(&sv, v[i], d).max(1);
        t += 1;
        sums[0] += psi[ki];
        sums[1] += psi[c];
        sums[2] += psi[m];
    }
    if t == 0 {
        return f64::NAN;
    }
    let tf = t as f64;
    psi[t] + (sums[0] - sums[1] - sums[2]) / tf
}

/// The distance from `line[q]` to its k-th nearest other entry (line sorted by value).
fn kth_in_line(line: &[(f64, usize)], q: usize, k: usize) -> f64 {
    let x = line[q].0;
    let (mut left, mut right, mut d) = (q, q + 1, f64::NAN);
    for _ in 0..k {
        let dl = (left > 0).then(|| x - line[left - 1].0);
        let dr = (right < line.len()).then(|| line[right].0 - x);
        d = match (dl, dr) {
            (Some(a), b) if b.is_none_or(|b| a <= b) => {
                left -= 1;
                a
            }
            (_, Some(b)) => {
                right += 1;
                b
            }
            _ => break,
        };
    }
    d
}

/// Projections of the rows of `a` on each direction, one slice per row (slices x N), with
/// seeded uniform noise of `amplitude` (ties broken as `ksg` does).
fn projections(
    a: ArrayView2<'_, f64>,
    dirs: &Array2<f64>,
    amplitude: f64,
    seed: u64,
) -> Array2<f64> {
    let mut p = dirs.dot(&a.t());
    let mut rng = SplitMix64::new(seed);
    p.mapv_inplace(|x| x + amplitude * rng.unit());
    p
}

/// Mean and standard error of the mean (NaN with one value).
fn mean_se(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (mean, sd / n.sqrt(), sd)
}

/// The per-slice values: I(Y; φᵀZ) for each slice, and I(θᵀX; φᵀZ) when there are inputs.
type SliceValues = (Vec<f64>, Option<Vec<f64>>);

impl Smi {
    /// Every slice's value on these samples (directions depend only on the widths and the
    /// seed, so subsets of the samples see the same directions).
    fn slices(
        &self,
        z: ArrayView2<'_, f32>,
        labels: &[u32],
        classes: usize,
        inputs: Option<&Array2<f64>>,
    ) -> SliceValues {
        let (s, k) = (self.params.slices, self.k);
        let z = z.mapv(f64::from);
        let phi = directions(z.ncols(), s, self.seed ^ 0x736d_695a);
        let v = projections(z.view(), &phi, self.jitter, self.seed ^ 0x76);
        let yz: Vec<f64> = (0..s)
            .into_par_iter()
            .map(|r| ross_1d(v.row(r), labels, classes, k))
            .collect();
        let xz = inputs.map(|x| {
            let theta = directions(x.ncols(), s, self.seed ^ 0x736d_6958);
            let u = projections(x.view(), &theta, self.jitter, self.seed ^ 0x75);
            (0..s)
                .into_par_iter()
                .map(|r| ksg_1d(u.row(r), v.row(r), k))
                .collect()
        });
        (yz, xz)
    }

    /// The data's sampling standard error of the slice means (I(Y;Z), I(X;Z)): the slice
    /// means on 2..=5 disjoint random parts with the same directions, fitted to the full N
    /// by [`subsample::full_sample_variance`] (NaN where a part is too small for k neighbours).
    fn data_standard_errors(
        &self,
        data: &LayerEpoch<'_>,
        inputs: Option<&Array2<f64>>,
    ) -> (f64, f64) {
        let n = data.labels.len();
        let (mut yz, mut xz) = (Vec::new(), Vec::new());
        for parts in 2..=SE_PARTS.min(n / (2 * (self.k + 1)).max(1)) {
            let (mut vy, mut vx) = (Vec::new(), Vec::new());
            let seed = self.seed ^ (parts as u64).wrapping_mul(0x9e37_79b9);
            for part in subsample::parts(n, parts, seed) {
                let z = data.z.select(Axis(0), &part);
                let labels: Vec<u32> = part.iter().map(|&i| data.labels[i]).collect();
                let x = inputs.map(|x| x.select(Axis(0), &part));
                let (y_s, x_s) = self.slices(z.view(), &labels, data.classes, x.as_ref());
                vy.push(mean_se(&y_s).0);
                vx.push(x_s.map_or(f64::NAN, |v| mean_se(&v).0));
            }
            yz.push((parts, vy));
            xz.push((parts, vx));
        }
        (
            subsample::full_sample_variance(&yz).sqrt(),
            subsample::full_sample_variance(&xz).sqrt(),
        )
    }
}

/// The parts of the data's standard error (2..=5, as `--error subsample:5`).
const SE_PARTS: usize = 5;

/// `smi` as an [`Estimator`]: SI(X;Z) when the archive has inputs, SI(Y;Z).
#[derive(Debug, Clone)]
pub struct Smi {
    params: SmiParams,
    k: usize,
    jitter: f64,
    seed: u64,
}

/// The registry entry of `smi`: sliced mutual information, a quantity of its own.
pub const ENTRY: Entry = Entry {
    kinds: &[Kind {
        name: "smi",
        quantity: Quantity::Sliced,
        side: Side::Estimate,
        bracket: false,
        noisy: false,
    }],
    about: "sliced mutual information SI, a different quantity (Goldfeld & Greenewald 2021)",
    cost: Cost::Linear,
    build,
};

/// Builds [`Smi`] from the checked parameters (k and the jitter are `ksg`'s).
pub fn build(p: &EstimatorParams, _: &[&str]) -> Result<Box<dyn Estimator>> {
    p.smi.validate()?;
    p.ksg.validate()?;
    Ok(Box::new(Smi {
        params: p.smi.clone(),
        k: p.ksg.ksg_k,
        jitter: p.ksg.ksg_jitter,
        seed: p.common.seed,
    }))
}

impl Estimator for Smi {
    fn name(&self) -> &'static str {
        "smi"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Optional
    }

    fn fit(&self, data: &LayerEpoch<'_>, _: &mut ArchiveCache, _: bool) -> Result<Fit> {
        let (s, k) = (self.params.slices, self.k);
        let inputs = data.inputs.map(|x| x.mapv(f64::from));
        let full = self.slices(data.z, data.labels, data.classes, inputs.as_ref());
        let mut row = Estimate::new("smi", format!("slices={s}"));
        row.set_params(vec![
            ("slices", s.to_string()),
            ("inner", "ksg".into()),
            ("k", k.to_string()),
            ("jitter", format!("{:e}", self.jitter)),
        ]);
        let (se_data_yz, se_data_xz) = self.data_standard_errors(data, inputs.as_ref());
        let (m, se, sd) = mean_se(&full.0);
        (row.i_yz, row.i_yz_se) = (m, se.hypot(se_data_yz));
        for (k, v) in [
            ("sd_yz", format!("{sd:.6}")),
            ("se_slices_yz", format!("{se:.6}")),
            ("se_data_yz", format!("{se_data_yz:.6}")),
        ] {
            row.param(k, v);
        }
        if let Some(xz) = &full.1 {
            let (m, se, sd) = mean_se(xz);
            (row.i_xz, row.i_xz_se) = (m, se.hypot(se_data_xz));
            for (k, v) in [
                ("sd_xz", format!("{sd:.6}")),
                ("se_slices_xz", format!("{se:.6}")),
                ("se_data_xz", format!("{se_data_xz:.6}")),
            ] {
                row.param(k, v);
            }
        }
        // Sliced MI is not bounded by ln N the way the plug-in estimates are.
        row.saturated = Some(false);
        if let Some(w) = super::ksg::small_classes(data.labels, data.classes, self.k) {
            row.warnings.push(w);
        }
        row.warnings
            .push("sliced mutual information (SI), not I(X;Z) or I(Y;Z)".into());
        Ok(Fit {
            estimates: vec![row],
            distances: None,
        })
    }
}
