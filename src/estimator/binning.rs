//! Binning estimators of I(X;T) and I(Y;T) (Shwartz-Ziv & Tishby 2017; Saxe et al. 2018).
//!
//! Each activation is replaced by its bin index; a sample's representation T is the row of bin
//! indices. Because T is a deterministic function of X (each recorded sample is one input),
//! I(X;T) = H(T) and I(Y;T) = H(T) - H(T|Y), with plug-in entropies over the unique binned rows:
//! H(T) = -Σ_t p(t) ln p(t), H(T|Y) = Σ_c p(c) H(T | Y = c). Both are at most ln N, reached
//! when every sample falls in its own bin (saturation).
//!
//! Conventions ([`Binning`]):
//! - `Fixed { lo, hi, bins }`: `bins` equal bins on [lo, hi] (Tishby: 30 on [-1, 1], meant for
//!   tanh); index = floor((z - lo) / (hi - lo) · bins), values outside clamped to the edge bins;
//! - `Size(s)`: index = floor(z / s) (Saxe et al.: 0.07 on the 12-bit task, 0.5 on MNIST);
//! - `Adaptive(bins)`: `bins` equal bins between the matrix's own min and max (for ReLU layers,
//!   whose range is unbounded), per (layer, epoch).

use std::collections::HashMap;

use ndarray::ArrayView2;

use super::{ArchiveCache, Estimate, Estimator, EstimatorParams, Fit, LayerEpoch};
use crate::error::{Error, Result};

/// How activations are binned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Binning {
    /// Equal bins on a fixed range.
    Fixed {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
        /// Number of bins.
        bins: usize,
    },
    /// floor(z / size).
    Size(f64),
    /// Equal bins on the matrix's own [min, max].
    Adaptive(usize),
}

impl Binning {
    /// The most bins per unit (more than any activation can tell apart in f32).
    pub const MAX_BINS: usize = 1 << 24;

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        let ok = match *self {
            Binning::Fixed { lo, hi, bins } => {
                lo.is_finite() && hi.is_finite() && hi > lo && (1..=Self::MAX_BINS).contains(&bins)
            }
            Binning::Size(s) => s.is_finite() && s > 0.0,
            Binning::Adaptive(b) => (1..=Self::MAX_BINS).contains(&b),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "invalid binning {}: sizes must be positive, bin counts between 1 and {}, ranges increasing",
                self.describe(),
                Self::MAX_BINS
            )))
        }
    }

    /// The parameters as written in result rows (`bins=30 range=[-1,1]`).
    pub fn describe(&self) -> String {
        self.params()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Entropies of one binned representation, in nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BinEstimate {
    /// H(T) = I(X;T).
    pub i_xz: f64,
    /// H(T) - H(T|Y).
    pub i_yz: f64,
    /// Number of distinct binned rows.
    pub distinct: usize,
    /// ln N.
    pub log_n: f64,
}

fn entropy(counts: impl Iterator<Item = usize>, n: usize) -> f64 {
    let n = n as f64;
    // Summed in a fixed order (the counts come from hash maps, whose order varies by run), so
    // that the same data give the same bits every time.
    let mut counts: Vec<usize> = counts.collect();
    counts.sort_unstable();
    -counts
        .into_iter()
        .map(|c| c as f64 / n)
        .filter(|&p| p > 0.0)
        .map(|p| p * p.ln())
        .sum::<f64>()
}

/// Bin indices of `z` under `binning`, row-major.
pub fn bin_indices<T: Copy + Into<f64>>(z: ArrayView2<'_, T>, binning: Binning) -> Vec<i64> {
    let (lo, hi, bins) = match binning {
        Binning::Fixed { lo, hi, bins } => (lo, hi, bins),
        Binning::Adaptive(bins) => {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &v in z.iter() {
                let v: f64 = v.into();
                lo = lo.min(v);
                hi = hi.max(v);
            }
            (lo, if hi > lo { hi } else { lo + 1.0 }, bins)
        }
        Binning::Size(s) => return z.iter().map(|&v| (v.into() / s).floor() as i64).collect(),
    };
    let scale = bins as f64 / (hi - lo);
    z.iter()
        .map(|&v| (((v.into() - lo) * scale).floor() as i64).clamp(0, bins as i64 - 1))
        .collect()
}

/// I(X;T) and I(Y;T) of the binned rows of `z` (N x H) with class labels `labels`.
pub fn bin_estimate<T: Copy + Into<f64>>(
    z: ArrayView2<'_, T>,
    labels: &[u32],
    binning: Binning,
) -> BinEstimate {
    let (n, h) = z.dim();
    let idx = bin_indices(z, binning);
    // Distinct rows → (count, counts per class).
    let mut rows: HashMap<&[i64], (usize, HashMap<u32, usize>)> = HashMap::with_capacity(n);
    for (i, &y) in labels.iter().enumerate().take(n) {
        let e = rows.entry(&idx[i * h..(i + 1) * h]).or_default();
        e.0 += 1;
        *e.1.entry(y).or_default() += 1;
    }
    let h_t = entropy(rows.values().map(|v| v.0), n);
    // H(T|Y) = Σ_c p(c) H(T | c) = H(T, Y) - H(Y).
    let mut class_n: HashMap<u32, usize> = HashMap::new();
    for &y in labels.iter().take(n) {
        *class_n.entry(y).or_default() += 1;
    }
    let h_ty = entropy(rows.values().flat_map(|v| v.1.values().copied()), n);
    let h_y = entropy(class_n.values().copied(), n);
    BinEstimate {
        i_xz: h_t,
        i_yz: h_t - (h_ty - h_y),
        distinct: rows.len(),
        log_n: (n as f64).ln(),
    }
}

/// Parameters of the binning estimator: every binning listed is one row.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct BinningParams {
    /// bin: bin sizes, floor(z / size) (Saxe: 0.07, 0.5); a list sweeps them in one pass.
    #[arg(long, value_delimiter = ',')]
    pub bin_size: Vec<f64>,
    /// bin: numbers of equal bins on --bin-range (Tishby: 30 on -1,1, the default of bin).
    #[arg(long, value_delimiter = ',')]
    pub bins: Vec<usize>,
    /// bin: the range LO,HI of --bins.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        default_value = "-1,1"
    )]
    pub bin_range: Vec<f64>,
    /// bin: numbers of equal bins between each matrix's own min and max (for ReLU layers).
    #[arg(long, value_delimiter = ',')]
    pub bin_adaptive: Vec<usize>,
}

impl Default for BinningParams {
    fn default() -> Self {
        BinningParams {
            bin_size: Vec::new(),
            bins: Vec::new(),
            bin_range: vec![-1.0, 1.0],
            bin_adaptive: Vec::new(),
        }
    }
}

impl BinningParams {
    /// The binnings these flags ask for (30 equal bins on the range when none is given),
    /// each checked.
    pub fn binnings(&self) -> Result<Vec<Binning>> {
        let [lo, hi] = self.bin_range[..] else {
            return Err(Error::Invalid("--bin-range needs two numbers LO,HI".into()));
        };
        let mut out: Vec<Binning> = self.bin_size.iter().map(|&s| Binning::Size(s)).collect();
        out.extend(
            self.bins
                .iter()
                .map(|&bins| Binning::Fixed { lo, hi, bins }),
        );
        out.extend(self.bin_adaptive.iter().map(|&b| Binning::Adaptive(b)));
        if out.is_empty() {
            out.push(Binning::Fixed { lo, hi, bins: 30 });
        }
        for b in &out {
            b.validate()?;
        }
        Ok(out)
    }
}

/// The binning estimator ([`Estimator`]): one estimate per binning.
#[derive(Debug, Clone)]
pub struct Binner {
    binnings: Vec<Binning>,
}

/// Builds [`Binner`] from the checked binnings.
pub fn build(p: &EstimatorParams, _: &[&str]) -> Result<Box<dyn Estimator>> {
    Ok(Box::new(Binner {
        binnings: p.bin.binnings()?,
    }))
}

impl Binning {
    /// The parameters as (name, value) pairs.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match *self {
            Binning::Fixed { lo, hi, bins } => {
                vec![
                    ("bins", bins.to_string()),
                    ("range", format!("[{lo},{hi}]")),
                ]
            }
            Binning::Size(s) => vec![("bin_size", s.to_string())],
            Binning::Adaptive(b) => vec![("bins", b.to_string()), ("range", "adaptive".into())],
        }
    }
}

impl Estimator for Binner {
    fn name(&self) -> &'static str {
        "bin"
    }

    fn fit(&self, data: &LayerEpoch<'_>, _: &mut ArchiveCache, _: bool) -> Result<Fit> {
        let estimates = self
            .binnings
            .iter()
            .map(|b| {
                let e = bin_estimate(data.z, data.labels, *b);
                let mut row = Estimate::new("bin", b.describe());
                row.params = b.params();
                row.params.push(("distinct", e.distinct.to_string()));
                (row.i_xz, row.i_yz) = (e.i_xz, e.i_yz);
                row
            })
            .collect();
        Ok(Fit {
            estimates,
            distances: None,
        })
    }
}
