//! Soft-binning entropy (`soft`), after Conklin et al., "Learning is Forgetting" (ICLR 2026): a
//! bounded-resolution information plane that can be accumulated batch by batch, so that it is
//! computed while a model runs, without storing activations.
//!
//! Each representation z_i is normalised to the unit sphere, u_i = z_i / ‖z_i‖, and assigned
//! softly to K fixed reference points r_k drawn uniformly on the sphere (seeded):
//! p(k | i) = softmax_k(β u_i·r_k), with β = c √H so that the logits' spread is c whatever the
//! width H (for random directions u·r has standard deviation 1/√H). The bin K of a sample is
//! then a random variable with
//!
//! - H(K) = H(mean_i p(· | i)), H(K | X) = mean_i H(p(· | i)),
//! - H(K | Y) = Σ_y (N_y / N) H(mean_{i: y_i = y} p(· | i)),
//!
//! and the row's I(X;Z) is I(X;K) = H(K) − H(K | X), its I(Y;Z) is I(Y;K) = H(K) − H(K | Y), in
//! nats, both at most ln K. Everything is a sum over samples ([`SoftCounts`]): a stream of
//! batches gives the value of the whole set, up to the order of the additions.
//!
//! What it is not: I(X;Z) of the network's deterministic map (infinite for continuous Z) or of
//! a noisy channel; it is the information the representation's direction keeps at the
//! resolution of K soft bins, comparable across layers, epochs and checkpoints of one setting.

use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

use super::registry::{Cost, Entry, Kind, Quantity, Side};
use super::{ArchiveCache, Estimate, Estimator, EstimatorParams, Fit, Inputs, LayerEpoch};
use crate::error::{Error, Result};

/// Rows per parallel chunk of [`SoftCounts::add`].
const CHUNK: usize = 256;

/// Parameters of `soft`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct SoftParams {
    /// soft: number K of reference points (soft bins) on the unit sphere.
    #[cfg_attr(feature = "cli", arg(long = "soft-bins", default_value_t = SoftParams::DEFAULT_BINS))]
    pub soft_bins: usize,
    /// soft: spread c of the assignment logits (β = c √H).
    #[cfg_attr(feature = "cli", arg(long = "soft-spread", default_value_t = SoftParams::DEFAULT_SPREAD))]
    pub soft_spread: f64,
}

impl SoftParams {
    /// The default number of bins.
    pub(crate) const DEFAULT_BINS: usize = 256;
    /// The default logit spread c.
    pub(crate) const DEFAULT_SPREAD: f64 = 8.0;

    /// Checks K (2..=65536) and c (positive, at most 1000).
    pub fn validate(&self) -> Result<()> {
        if !(2..=65_536).contains(&self.soft_bins) {
            return Err(Error::parameter(
                "soft_bins",
                format!("must be from 2 to 65536 (got {})", self.soft_bins),
            ));
        }
        if !(self.soft_spread > 0.0 && self.soft_spread <= 1000.0) {
            return Err(Error::parameter(
                "soft_spread",
                format!("must be in (0, 1000] (got {})", self.soft_spread),
            ));
        }
        Ok(())
    }
}

impl Default for SoftParams {
    fn default() -> Self {
        SoftParams {
            soft_bins: Self::DEFAULT_BINS,
            soft_spread: Self::DEFAULT_SPREAD,
        }
    }
}

/// The running sums of one (layer, epoch): Σ_i p(·|i), Σ_i H(p(·|i)), and for each label set
/// per class Σ_{i: y_i = y} p(·|i) and N_y. Add batches with [`SoftCounts::add`] (one label
/// set) or [`SoftCounts::add_sets`]; read with [`SoftCounts::estimate`] /
/// [`SoftCounts::estimate_set`].
#[derive(Debug, Clone, PartialEq)]
pub struct SoftCounts {
    references: Array2<f64>,
    beta: f64,
    total: Array1<f64>,
    /// Per label set: Σ p(·|i) by class, and N_y.
    sets: Vec<(Array2<f64>, Vec<u64>)>,
    conditional: f64,
    n: u64,
}

/// One chunk's Σ p(·|i), per label set its per-class sums, and Σ H(p(·|i)).
type ChunkSums = (Array1<f64>, Vec<Vec<(u32, Array1<f64>)>>, f64);

impl SoftCounts {
    /// Empty sums for representations of width `width` and labels below `classes`, with the
    /// reference points of `seed`.
    pub fn new(width: usize, classes: usize, p: &SoftParams, seed: u64) -> Result<Self> {
        Self::with_sets(width, &[classes], p, seed)
    }

    /// As [`SoftCounts::new`] for several label sets of the same samples, the s-th with
    /// labels below `classes[s]`: the soft assignments are computed once for all.
    pub fn with_sets(width: usize, classes: &[usize], p: &SoftParams, seed: u64) -> Result<Self> {
        p.validate()?;
        if width == 0 || classes.is_empty() || classes.contains(&0) {
            return Err(Error::Invalid(format!(
                "soft: width {width} and classes {classes:?} (each must be at least 1)"
            )));
        }
        let k = p.soft_bins;
        Ok(SoftCounts {
            references: super::smi::directions(width, k, seed),
            beta: p.soft_spread * (width as f64).sqrt(),
            total: Array1::zeros(k),
            sets: (classes.iter())
                .map(|&c| (Array2::zeros((c, k)), vec![0; c]))
                .collect(),
            conditional: 0.0,
            n: 0,
        })
    }

    /// Adds a batch: rows of `z` (width as created) with their labels (one label set).
    pub fn add(&mut self, z: ArrayView2<'_, f32>, labels: &[u32]) -> Result<()> {
        self.add_sets(z, &[labels])
    }

    /// Checks a batch against the sums' width and label sets.
    fn check(&self, z: ArrayView2<'_, f32>, labels: &[&[u32]]) -> Result<()> {
        let width = self.references.ncols();
        if labels.len() != self.sets.len() {
            return Err(Error::Invalid(format!(
                "soft: {} label sets given, the sums have {}",
                labels.len(),
                self.sets.len()
            )));
        }
        for (ys, (_, class_n)) in labels.iter().zip(&self.sets) {
            if z.ncols() != width || z.nrows() != ys.len() {
                return Err(Error::Invalid(format!(
                    "soft: a batch of {} x {} with {} labels, for width {width}",
                    z.nrows(),
                    z.ncols(),
                    ys.len()
                )));
            }
            let classes = class_n.len();
            if let Some(&bad) = ys.iter().find(|&&l| l as usize >= classes) {
                return Err(Error::Invalid(format!(
                    "soft: label {bad} is not below the {classes} classes"
                )));
            }
        }
        Ok(())
    }

    /// Adds a batch with the labels of every label set (in the order created).
    pub fn add_sets(&mut self, z: ArrayView2<'_, f32>, labels: &[&[u32]]) -> Result<()> {
        self.check(z, labels)?;
        let mut u = z.mapv(f64::from);
        for mut row in u.rows_mut() {
            let norm = row.dot(&row).sqrt();
            if norm > 0.0 {
                row /= norm;
            }
        }
        let mut logits = u.dot(&self.references.t());
        // Rows in fixed chunks on rayon's threads, the chunks' sums added in order: the same
        // value whatever the number of threads.
        let (k, beta) = (self.total.len(), self.beta);
        let parts: Vec<ChunkSums> = logits
            .axis_chunks_iter_mut(ndarray::Axis(0), CHUNK)
            .into_par_iter()
            .enumerate()
            .map(|(c, mut rows)| {
                let mut total = Array1::zeros(k);
                let mut by: Vec<Vec<(u32, Array1<f64>)>> = vec![Vec::new(); labels.len()];
                let mut conditional = 0.0;
                for (i, mut row) in rows.rows_mut().into_iter().enumerate() {
                    conditional += softmax_entropy(row.view_mut(), beta);
                    total += &row;
                    for (ys, by) in labels.iter().zip(by.iter_mut()) {
                        let y = ys[c * CHUNK + i];
                        match by.iter_mut().find(|(c, _)| *c == y) {
                            Some((_, s)) => *s += &row,
                            None => by.push((y, row.to_owned())),
                        }
                    }
                }
                (total, by, conditional)
            })
            .collect();
        for (total, by, conditional) in parts {
            self.total += &total;
            self.conditional += conditional;
            for (set, by) in self.sets.iter_mut().zip(by) {
                for (y, s) in by {
                    let mut c = set.0.row_mut(y as usize);
                    c += &s;
                }
            }
        }
        for ((_, class_n), ys) in self.sets.iter_mut().zip(labels) {
            for &y in *ys {
                class_n[y as usize] += 1;
            }
        }
        self.n += z.nrows() as u64;
        Ok(())
    }

    /// The samples added so far.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// (I(X;K), I(Y;K), H(K), H(K|Y)) in nats of the samples added, Y the first label set;
    /// NaN before any.
    pub fn estimate(&self) -> (f64, f64, f64, f64) {
        self.estimate_set(0)
    }

    /// As [`SoftCounts::estimate`] with Y the label set `s` (NaN when there is none).
    pub fn estimate_set(&self, s: usize) -> (f64, f64, f64, f64) {
        let Some((by_class, class_n)) = self.sets.get(s).filter(|_| self.n > 0) else {
            return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
        };
        let n = self.n as f64;
        let h = entropy_of(self.total.iter().map(|s| s / n));
        let h_given_y: f64 = by_class
            .rows()
            .into_iter()
            .zip(class_n)
            .filter(|(_, &c)| c > 0)
            .map(|(row, &c)| (c as f64 / n) * entropy_of(row.iter().map(|s| s / c as f64)))
            .sum();
        (h - self.conditional / n, h - h_given_y, h, h_given_y)
    }
}

/// Turns `logits` into softmax(β · logits) in place and returns its entropy (nats).
fn softmax_entropy(mut logits: ndarray::ArrayViewMut1<'_, f64>, beta: f64) -> f64 {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0;
    for v in logits.iter_mut() {
        *v = (beta * (*v - max)).exp();
        sum += *v;
    }
    let mut h = 0.0;
    for v in logits.iter_mut() {
        *v /= sum;
        if *v > 0.0 {
            h -= *v * v.ln();
        }
    }
    h
}

/// −Σ p ln p over the positive terms.
fn entropy_of(p: impl Iterator<Item = f64>) -> f64 {
    p.filter(|&v| v > 0.0).map(|v| -v * v.ln()).sum()
}

/// The `soft` estimator ([`Estimator`]).
#[derive(Debug, Clone)]
pub struct Soft {
    params: SoftParams,
    seed: u64,
    /// The common saturation margin (nats), against ln K.
    margin: f64,
}

/// The registry entry of `soft`.
pub const ENTRY: Entry = Entry {
    kinds: &[Kind {
        name: "soft",
        quantity: Quantity::Mutual,
        side: Side::Estimate,
        bracket: false,
        noisy: false,
    }],
    about: "soft-binning entropy on the unit sphere, streamable (Conklin et al. 2026)",
    cost: Cost::Linear,
    build,
};

/// Builds [`Soft`] from the checked parameters (the common seed picks the reference points).
pub fn build(p: &EstimatorParams, _: &[&str]) -> Result<Box<dyn Estimator>> {
    p.soft.validate()?;
    Ok(Box::new(Soft {
        params: p.soft.clone(),
        seed: p.common.seed,
        margin: p.common.saturation_margin,
    }))
}

impl Soft {
    /// The row of one set of sums (also what a recorder's stream writes); saturated when
    /// I(X;K) is within `margin` nats of ln K, its bound.
    pub fn row(counts: &SoftCounts, p: &SoftParams, seed: u64, margin: f64) -> Estimate {
        Self::row_of_set(counts, 0, p, seed, margin)
    }

    /// As [`Soft::row`] with Y the counts' label set `set`.
    pub(crate) fn row_of_set(
        counts: &SoftCounts,
        set: usize,
        p: &SoftParams,
        seed: u64,
        margin: f64,
    ) -> Estimate {
        let setting = format!("bins={} spread={}", p.soft_bins, p.soft_spread);
        let mut row = Estimate::new("soft", setting);
        let (i_xz, i_yz, h, h_given_y) = counts.estimate_set(set);
        (row.i_xz, row.i_yz) = (i_xz, i_yz);
        row.set_params(vec![
            ("bins", p.soft_bins.to_string()),
            ("spread", p.soft_spread.to_string()),
            ("seed", seed.to_string()),
            ("h_k", format!("{h:.9}")),
            ("h_k_given_y", format!("{h_given_y:.9}")),
        ]);
        row.saturated = Some(i_xz > (p.soft_bins as f64).ln() - margin);
        row
    }
}

impl Estimator for Soft {
    fn name(&self) -> &'static str {
        "soft"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Unused
    }

    fn fit(&self, data: &LayerEpoch<'_>, _: &mut ArchiveCache, _: bool) -> Result<Fit> {
        let mut counts = SoftCounts::new(data.z.ncols(), data.classes, &self.params, self.seed)?;
        counts.add(data.z, data.labels)?;
        Ok(Fit {
            estimates: vec![Soft::row(&counts, &self.params, self.seed, self.margin)],
            distances: None,
        })
    }
}
