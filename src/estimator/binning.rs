//! Binning estimators of I(X;T) and I(Y;T) (Shwartz-Ziv & Tishby 2017; Saxe et al. 2018).
//!
//! Each activation is replaced by its bin index; a sample's representation T is the row of bin
//! indices. Because T is a deterministic function of X (each recorded sample is one input),
//! I(X;T) = H(T) and I(Y;T) = H(T) - H(T|Y), with plug-in entropies over the unique binned rows:
//! H(T) = -Σ_t p(t) ln p(t), H(T|Y) = Σ_c p(c) H(T | Y = c). Both are at most ln N, reached
//! when every sample falls in its own bin (saturation).
//!
//! When the archive stores the inputs X and some inputs repeat, T need not be a function of the
//! sample: then I(X;T) = H(T) - H(T|X) with H(T|X) = Σ_x p(x) H(T | X = x) over the distinct
//! input rows, as IDNNs computes it (`calc_condtion_entropy`); without repeats H(T|X) = 0.
//!
//! Conventions ([`Binning`]):
//! - `Tishby { lo, hi, edges }` (`--bin-edges`, the default: 30 edges on [-1, 1]): exactly the
//!   IDNNs code of Shwartz-Ziv & Tishby, `bins = np.linspace(-1, 1, 30).astype(np.float32)`
//!   and `bins[np.digitize(T, bins) - 1]`: edges e_0 < … < e_29 in f32, value z goes to
//!   e_{k} when e_k ≤ z < e_{k+1}, so there are 29 intervals plus a separate bin for z ≥ e_29
//!   (exactly saturated f32 tanh lands there), and z < e_0 gets index -1, which numpy reads as
//!   the last edge: it folds into the z ≥ e_29 bin;
//! - `Fixed { lo, hi, bins }` (`--bins`): `bins` equal intervals on [lo, hi]; index =
//!   floor((z - lo) / (hi - lo) · bins), values outside clamped to the edge bins (this is not
//!   Tishby's convention: on saturated tanh it merges ±1 with their neighbours);
//! - `Size(s)`: index = floor(z / s) (Saxe et al.: 0.07 on the 12-bit task, 0.5 on MNIST);
//! - `Adaptive(bins)`: `bins` equal bins between the matrix's own min and max (for ReLU layers,
//!   whose range is unbounded), per (layer, epoch).

use crate::estimator::registry::{Cost, Entry, Kind, Quantity, Side};
use std::collections::HashMap;

use ndarray::ArrayView2;

use super::{ArchiveCache, Estimate, Estimator, EstimatorParams, Fit, Inputs, LayerEpoch};
use crate::error::{Error, Result};

/// How activations are binned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Binning {
    /// IDNNs's `np.linspace(lo, hi, edges)` edges in f32 with `np.digitize` (module docs).
    Tishby {
        /// First edge.
        lo: f64,
        /// Last edge.
        hi: f64,
        /// Number of edges (intervals + 1).
        edges: usize,
    },
    /// Equal intervals on a fixed range, values outside clamped.
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
    pub(crate) const MAX_BINS: usize = 1 << 24;

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        let ok = match *self {
            Binning::Fixed { lo, hi, bins } => {
                lo.is_finite() && hi.is_finite() && hi > lo && (1..=Self::MAX_BINS).contains(&bins)
            }
            Binning::Tishby { lo, hi, edges } => {
                lo.is_finite() && hi.is_finite() && hi > lo && (2..=Self::MAX_BINS).contains(&edges)
            }
            Binning::Size(s) => s.is_finite() && s > 0.0,
            Binning::Adaptive(b) => (1..=Self::MAX_BINS).contains(&b),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "invalid binning {}: sizes must be positive, bin counts between 1 and {} (edges at least 2), ranges increasing",
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
    /// I(X;T) = H(T) - H(T|X).
    pub i_xz: f64,
    /// H(T) - H(T|Y).
    pub i_yz: f64,
    /// H(T|X) over groups of identical inputs (0 when every input is distinct or unknown).
    pub h_t_given_x: f64,
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

/// The f32 edges of `np.linspace(lo, hi, edges).astype(np.float32)`: e_k = lo + k · step in
/// f64 with step = (hi - lo) / (edges - 1), the last one exactly hi, then rounded to f32.
pub(crate) fn linspace_edges_f32(lo: f64, hi: f64, edges: usize) -> Vec<f32> {
    let step = (hi - lo) / (edges - 1) as f64;
    (0..edges)
        .map(|k| {
            if k == edges - 1 {
                hi
            } else {
                k as f64 * step + lo
            }
        })
        .map(|e| e as f32)
        .collect()
}

/// Bin indices of `z` under `binning`, row-major.
pub fn bin_indices<T: Copy + Into<f64>>(z: ArrayView2<'_, T>, binning: Binning) -> Vec<i64> {
    let (lo, hi, bins) = match binning {
        Binning::Fixed { lo, hi, bins } => (lo, hi, bins),
        Binning::Tishby { lo, hi, edges } => {
            let e = linspace_edges_f32(lo, hi, edges);
            let top = edges as i64 - 1;
            // np.digitize: i = #{e_k ≤ z}; the bin is e[i - 1], index -1 being the last edge.
            // Compared in f32, as numpy compares f32 activations with f32 edges.
            return z
                .iter()
                .map(|&v| {
                    let v = v.into() as f32;
                    match e.partition_point(|&x| x <= v) as i64 - 1 {
                        -1 => top,
                        k => k,
                    }
                })
                .collect();
        }
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

/// Values of `z` outside a fixed range, which that binning clips (Fixed) or folds (Tishby:
/// below the first edge into the top bin); None for the other binnings.
pub(crate) fn outside_range<T: Copy + Into<f64>>(
    z: ArrayView2<'_, T>,
    binning: Binning,
) -> Option<usize> {
    let (lo, hi) = match binning {
        Binning::Fixed { lo, hi, .. } | Binning::Tishby { lo, hi, .. } => (lo, hi),
        _ => return None,
    };
    Some(
        z.iter()
            .filter(|&&v| {
                let v: f64 = v.into();
                v < lo || v > hi
            })
            .count(),
    )
}

impl Binning {
    /// I(X;T) and I(Y;T) of the binned rows of `z` (N x H) with class labels `labels`, every
    /// sample taken as a distinct input (H(T|X) = 0).
    ///
    /// Two values, each in its own bin and each with its own class: I(X;T) = I(Y;T) = ln 2.
    ///
    /// ```
    /// use infoplane::estimator::binning::Binning;
    /// use ndarray::array;
    ///
    /// let z = array![[-0.9f32], [-0.9], [0.9], [0.9]];
    /// let e = Binning::Fixed { lo: -1.0, hi: 1.0, bins: 30 }.estimate(z.view(), &[0, 0, 1, 1]);
    /// assert!((e.i_xz - 2f64.ln()).abs() < 1e-15 && (e.i_yz - 2f64.ln()).abs() < 1e-15);
    /// ```
    pub fn estimate<T: Copy + Into<f64>>(
        self,
        z: ArrayView2<'_, T>,
        labels: &[u32],
    ) -> BinEstimate {
        estimate(z, labels, None, self)
    }

    /// [`Binning::estimate`] with `inputs[i]`, the group of identical inputs sample i belongs
    /// to: H(T|X) = Σ_x p(x) H(T | X = x), as IDNNs's `calc_condtion_entropy`.
    pub fn estimate_given<T: Copy + Into<f64>>(
        self,
        z: ArrayView2<'_, T>,
        labels: &[u32],
        inputs: &[u32],
    ) -> BinEstimate {
        estimate(z, labels, Some(inputs), self)
    }
}

/// I(X;T) and I(Y;T) of the binned rows of `z`, H(T|X) from the input groups when given.
fn estimate<T: Copy + Into<f64>>(
    z: ArrayView2<'_, T>,
    labels: &[u32],
    inputs: Option<&[u32]>,
    binning: Binning,
) -> BinEstimate {
    let (n, h) = z.dim();
    let idx = bin_indices(z, binning);
    let row = |i: usize| &idx[i * h..(i + 1) * h];
    let (h_t, distinct) = joint_entropy(n, |i| (row(i), 0));
    // H(T|Y) = H(T, Y) - H(Y), and H(T|X) = H(T, X) - H(X) alike.
    let h_ty = joint_entropy(n, |i| (row(i), labels[i])).0;
    let classes = crate::labels::classes_in(labels);
    let h_y = crate::labels::entropy_nats(&crate::labels::class_counts(&labels[..n], classes));
    let h_t_given_x = inputs.map_or(0.0, |g| {
        joint_entropy(n, |i| (row(i), g[i])).0 - joint_entropy(n, |i| (&[][..], g[i])).0
    });
    BinEstimate {
        i_xz: h_t - h_t_given_x,
        i_yz: h_t - (h_ty - h_y),
        h_t_given_x,
        distinct,
        log_n: (n as f64).ln(),
    }
}

/// Plug-in entropy of the pairs `key(i)` over the samples 0..n, and how many distinct pairs.
fn joint_entropy<'a>(n: usize, key: impl Fn(usize) -> (&'a [i64], u32)) -> (f64, usize) {
    let mut counts: HashMap<(&[i64], u32), usize> = HashMap::with_capacity(n);
    for i in 0..n {
        *counts.entry(key(i)).or_default() += 1;
    }
    let distinct = counts.len();
    (entropy(counts.into_values(), n), distinct)
}

/// For each sample, the index of its group of bitwise-identical input rows, and whether any
/// group has more than one sample.
pub fn input_groups(x: ArrayView2<'_, f32>) -> (Vec<u32>, bool) {
    let mut ids: HashMap<Vec<u32>, u32> = HashMap::new();
    let groups: Vec<u32> = x
        .rows()
        .into_iter()
        .map(|r| {
            let key: Vec<u32> = r.iter().map(|v| v.to_bits()).collect();
            let next = ids.len() as u32;
            *ids.entry(key).or_insert(next)
        })
        .collect();
    let repeats = ids.len() < groups.len();
    (groups, repeats)
}

/// Parameters of the binning estimator: every binning listed is one row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct BinningParams {
    /// bin: bin sizes, floor(z / size) (Saxe: 0.07, 0.5); a list sweeps them in one pass.
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub bin_size: Vec<f64>,
    /// bin: Tishby's convention exactly (IDNNs): this many np.linspace edges on --bin-range,
    /// np.digitize indexing (30 on -1,1 is the default of bin).
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub bin_edges: Vec<usize>,
    /// bin: numbers of equal intervals on --bin-range, values outside clamped (not Tishby's).
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub bins: Vec<usize>,
    /// bin: the range LO,HI of --bin-edges and --bins.
    #[cfg_attr(
        feature = "cli",
        arg(
            long,
            value_delimiter = ',',
            allow_hyphen_values = true,
            default_value = "-1,1"
        )
    )]
    pub bin_range: Vec<f64>,
    /// bin: numbers of equal bins between each matrix's own min and max (for ReLU layers).
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub bin_adaptive: Vec<usize>,
}

impl Default for BinningParams {
    fn default() -> Self {
        BinningParams {
            bin_size: Vec::new(),
            bin_edges: Vec::new(),
            bins: Vec::new(),
            bin_range: vec![-1.0, 1.0],
            bin_adaptive: Vec::new(),
        }
    }
}

impl BinningParams {
    /// The binnings these flags ask for (Tishby's 30 edges on the range when none is given),
    /// each checked.
    pub fn binnings(&self) -> Result<Vec<Binning>> {
        let [lo, hi] = self.bin_range[..] else {
            return Err(Error::parameter("bin_range", "needs two numbers LO,HI"));
        };
        let mut out: Vec<Binning> = self.bin_size.iter().map(|&s| Binning::Size(s)).collect();
        out.extend(
            self.bin_edges
                .iter()
                .map(|&edges| Binning::Tishby { lo, hi, edges }),
        );
        out.extend(
            self.bins
                .iter()
                .map(|&bins| Binning::Fixed { lo, hi, bins }),
        );
        out.extend(self.bin_adaptive.iter().map(|&b| Binning::Adaptive(b)));
        if out.is_empty() {
            out.push(Binning::Tishby { lo, hi, edges: 30 });
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

/// The registry entry of `bin`.
pub const ENTRY: Entry = Entry {
    kinds: &[Kind {
        name: "bin",
        quantity: Quantity::Mutual,
        side: Side::Estimate,
        bracket: false,
        noisy: false,
    }],
    about: "binning (Shwartz-Ziv & Tishby 2017; Saxe et al. 2018)",
    cost: Cost::Linear,
    build,
};

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
            Binning::Tishby { lo, hi, edges } => {
                vec![
                    ("edges", edges.to_string()),
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

    fn inputs(&self) -> Inputs {
        Inputs::Optional
    }

    fn fit(&self, data: &LayerEpoch<'_>, cache: &mut ArchiveCache, _: bool) -> Result<Fit> {
        // Groups of identical inputs, once per archive; only used when some input repeats.
        let groups = match data.inputs {
            Some(x) => {
                let (g, repeats) = cache
                    .get_or_try_insert(|| Ok(InputGroups(input_groups(x))))?
                    .0
                    .clone();
                // A part of the samples (`--error subsample:K`) groups its own inputs.
                let (g, repeats) = if g.len() == x.nrows() {
                    (g, repeats)
                } else {
                    input_groups(x)
                };
                repeats.then_some(g)
            }
            None => None,
        };
        let estimates = self
            .binnings
            .iter()
            .map(|b| self.one(data, groups.as_deref(), *b))
            .collect();
        Ok(Fit {
            estimates,
            distances: None,
        })
    }
}

/// [`input_groups`] of the archive's inputs, cached.
struct InputGroups((Vec<u32>, bool));

impl Binner {
    /// The row of one binning.
    fn one(&self, data: &LayerEpoch<'_>, groups: Option<&[u32]>, b: Binning) -> Estimate {
        let e = estimate(data.z, data.labels, groups, b);
        let mut row = Estimate::new("bin", b.describe());
        row.set_params(b.params());
        row.param("distinct", e.distinct.to_string());
        if groups.is_some() {
            row.param("h_t_given_x", format!("{:.6e}", e.h_t_given_x));
        }
        (row.i_xz, row.i_yz) = (e.i_xz, e.i_yz);
        if let (Some(k), Binning::Fixed { lo, hi, .. } | Binning::Tishby { lo, hi, .. }) =
            (outside_range(data.z, b), b)
        {
            if k > 0 {
                let fate = match b {
                    Binning::Tishby { .. } => {
                        "those above go to the top bin and those below fold into it (IDNNs indexing)"
                    }
                    _ => "clipped into the edge bins",
                };
                row.warnings.push(format!(
                    "{k} of {} activations lie outside the range {lo} to {hi}: {fate}",
                    data.z.len()
                ));
            }
        }
        row
    }
}
