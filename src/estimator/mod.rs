//! The estimator contract: one (layer, epoch) representation in, estimates in nats out.
//!
//! Every estimator is one module (or folder) below this one. It has
//! - a parameter struct: checked (`validate`), with defaults written once (its `Default`), so
//!   that the CLI (which derives its flags from it behind the `cli` feature), the Python module
//!   and the library share one set of defaults;
//! - a type implementing [`Estimator`], made from checked parameters (`new` or the registry's
//!   `build`): pure, arrays in and [`Estimate`]s in nats out, no I/O. Where the estimator has a
//!   richer result than a table row (Rényi's entropies, MINE's folds, `mc`'s draws), the type
//!   also offers it on f64 arrays ([`renyi::Renyi::estimate`],
//!   [`mine::Mine::mutual_information`], [`mc::Mc::estimate`], [`binning::Binning::estimate`]);
//!   there are no free per-estimator functions beside it;
//! - an [`Entry`] (`ENTRY`): its names, what each measures ([`Kind`]), its cost and its
//!   `build` function, listed in [`REGISTRY`] (`registry.rs`).
//!
//! The driver (`crate::run`) reads each selected (layer, epoch) from the archive, hands
//! it to every requested estimator as a [`LayerEpoch`], and turns the estimates into table rows;
//! values become bits only when a table is written. Adding an estimator: ARCHITECTURE.md,
//! "Adding an estimator".

pub mod binning;
pub mod ksg;
pub mod mc;
pub mod mine;
pub mod pairwise;
pub mod params;
pub mod registry;
pub mod renyi;
pub mod smi;
pub mod soft;
pub mod subsample;

use std::any::Any;
use std::borrow::Cow;

use ndarray::ArrayView2;

use crate::error::{Error, Result};
use pairwise::DistanceStats;
pub use registry::{
    build, kind, names, Cost, Entry, Kind, Quantity, Side, DEFAULT_ESTIMATORS, REGISTRY,
};

/// One (layer, epoch) representation: what every estimator receives.
#[derive(Debug, Clone, Copy)]
pub struct LayerEpoch<'a> {
    /// Layer name (per-layer parameters such as `fc1=0.05` use it).
    pub layer: &'a str,
    /// Activations Z, N x H, finite.
    pub z: ArrayView2<'a, f32>,
    /// Class index of each sample, below `classes`.
    pub labels: &'a [u32],
    /// Number of classes.
    pub classes: usize,
    /// Inputs X, N x D, when the archive stores them.
    pub inputs: Option<ArrayView2<'a, f32>>,
}

/// An epoch that an estimator's parameters refer to (the epoch a σ² rule reads), resolved by
/// the driver against the archive's recorded epochs, whatever epochs are being estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// The first epoch with activations.
    First,
    /// The last epoch with activations.
    Last,
    /// This epoch.
    Epoch(u32),
}

impl Reference {
    /// The epoch this refers to among `recorded` (ascending), if it is there.
    pub fn resolve(&self, recorded: &[u32]) -> Option<u32> {
        match *self {
            Reference::First => recorded.first().copied(),
            Reference::Last => recorded.last().copied(),
            Reference::Epoch(e) => recorded.contains(&e).then_some(e),
        }
    }

    /// `first`, `last` or the epoch number.
    pub fn label(&self) -> String {
        match self {
            Reference::First => "first".into(),
            Reference::Last => "last".into(),
            Reference::Epoch(e) => e.to_string(),
        }
    }
}

/// What estimators compute once per archive and reuse for every (layer, epoch) (Rényi's
/// kernel of the inputs, say), one value per type.
#[derive(Default)]
pub struct ArchiveCache {
    entries: Vec<Box<dyn Any + Send>>,
}

impl std::fmt::Debug for ArchiveCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ArchiveCache({} entries)", self.entries.len())
    }
}

impl ArchiveCache {
    /// The cached value of type `T`, made by `make` the first time.
    pub(crate) fn get_or_try_insert<T: Any + Send>(
        &mut self,
        make: impl FnOnce() -> Result<T>,
    ) -> Result<&T> {
        let at = match self.entries.iter().position(|e| e.is::<T>()) {
            Some(i) => i,
            None => {
                self.entries.push(Box::new(make()?));
                self.entries.len() - 1
            }
        };
        self.entries[at]
            .downcast_ref::<T>()
            .ok_or_else(|| Error::Invalid("archive cache: wrong type".into()))
    }

    /// The cached value of type `T`, if any.
    pub fn get<T: Any + Send>(&self) -> Option<&T> {
        self.entries.iter().find_map(|e| e.downcast_ref::<T>())
    }

    /// The cached value of type `T`, inserted as its default the first time, to change.
    pub(crate) fn get_or_default_mut<T: Any + Send + Default>(&mut self) -> &mut T {
        let at = match self.entries.iter().position(|e| e.is::<T>()) {
            Some(i) => i,
            None => {
                self.entries.push(Box::new(T::default()));
                self.entries.len() - 1
            }
        };
        match self.entries[at].downcast_mut::<T>() {
            Some(v) => v,
            None => unreachable!("the entry at {at} holds a T"),
        }
    }
}

/// One estimate of one estimator on one (layer, epoch), in nats: the estimator's part of a
/// table row. A row ([`crate::table::estimates::EstimateRow`]) holds one `Estimate` and adds
/// the run's context (run, layer, epoch, N, H(Y), fingerprints) and the driver's rules
/// (saturation, intervals); there is no second copy of these fields. Quantities an estimator
/// does not have are NaN (`sigma2` for binning, the bracket for all but the pairwise bounds).
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The `estimator` column: a registry name ([`registry::REGISTRY`]); a table written by
    /// another tool may hold any name.
    pub estimator: Cow<'static, str>,
    /// The parameter group across layers and epochs (a σ² value or rule, a binning, ...): the
    /// key that diagnostics group by. Per-(layer, epoch) values never enter it.
    pub setting: String,
    /// Every parameter as (name, value), per-(layer, epoch) values included (`distinct`,
    /// `sigma_z`).
    pub params: Vec<(Cow<'static, str>, String)>,
    /// Noise variance σ².
    pub sigma2: f64,
    /// How σ² was chosen (`fixed`, `grid`, `layer`, a rule), `none` without σ².
    pub sigma2_rule: String,
    /// σ² over the median squared nearest-neighbour distance.
    pub sigma2_over_nn: f64,
    /// I(X;Z).
    pub i_xz: f64,
    /// I(Y;Z), the estimator's own estimate (for kl/bd the difference, not a bound).
    pub i_yz: f64,
    /// Lower end of a rigorous I(Y;Z) bracket.
    pub i_yz_lo: f64,
    /// Upper end of a rigorous I(Y;Z) bracket.
    pub i_yz_hi: f64,
    /// Effective number of distinguishable samples (pairwise bounds).
    pub n_eff: f64,
    /// The saturation flag. An estimator with its own rule sets it; `None` leaves it to the
    /// driver's rule (I(X;Z) within the margin of ln N), which every table row has applied
    /// (read it with [`Estimate::is_saturated`]).
    pub saturated: Option<bool>,
    /// I(Y;Z) with shuffled labels.
    pub i_yz_baseline: f64,
    /// Standard error of `i_xz` (MINE's delta method, the `mc` samples, or `--error`), NaN
    /// when unknown.
    pub i_xz_se: f64,
    /// Standard error of `i_yz`, NaN when unknown.
    pub i_yz_se: f64,
    /// What the reader of this row must know (a rule's fallback, clipped values, a failed
    /// estimate), one sentence each.
    pub warnings: Vec<String>,
}

impl Estimate {
    /// An estimate of `estimator` in `setting` with every quantity unknown.
    pub fn new(estimator: &'static str, setting: impl Into<String>) -> Self {
        Estimate {
            estimator: Cow::Borrowed(estimator),
            setting: setting.into(),
            params: Vec::new(),
            sigma2: f64::NAN,
            sigma2_rule: "none".into(),
            sigma2_over_nn: f64::NAN,
            i_xz: f64::NAN,
            i_yz: f64::NAN,
            i_yz_lo: f64::NAN,
            i_yz_hi: f64::NAN,
            n_eff: f64::NAN,
            saturated: None,
            i_yz_baseline: f64::NAN,
            i_xz_se: f64::NAN,
            i_yz_se: f64::NAN,
            warnings: Vec::new(),
        }
    }

    /// Adds the parameter `name=value`.
    pub fn param(&mut self, name: &'static str, value: impl ToString) {
        self.params.push((Cow::Borrowed(name), value.to_string()));
    }

    /// Replaces the parameters with `params`.
    pub(crate) fn set_params(&mut self, params: Vec<(&'static str, String)>) {
        self.params = params
            .into_iter()
            .map(|(k, v)| (Cow::Borrowed(k), v))
            .collect();
    }

    /// The compression ratio I(Y;Z) / I(X;Z) (Conklin et al. 2026: it tracks downstream
    /// scores over pre-training checkpoints); NaN when either is unknown or I(X;Z) ≤ 0.
    pub fn ratio(&self) -> f64 {
        if self.i_xz > 0.0 && self.i_yz.is_finite() {
            self.i_yz / self.i_xz
        } else {
            f64::NAN
        }
    }

    /// Whether the estimate is saturated (false while nobody decided).
    pub fn is_saturated(&self) -> bool {
        self.saturated.unwrap_or(false)
    }

    /// The warnings as written in the `warning` column: sentences separated by `; `.
    pub fn warning_text(&self) -> String {
        self.warnings.join("; ")
    }

    /// The parameters from the `params` column's text (`name=value` separated by spaces; a
    /// word without `=` continues the value before it), the inverse of [`Self::params_text`].
    pub(crate) fn parse_params(text: &str) -> Vec<(Cow<'static, str>, String)> {
        let mut out: Vec<(Cow<'static, str>, String)> = Vec::new();
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            match (word.split_once('='), out.last_mut()) {
                (None, Some((_, v))) => {
                    v.push(' ');
                    v.push_str(word);
                }
                (Some((k, v)), _) => out.push((Cow::Owned(k.to_string()), v.to_string())),
                (None, None) => out.push((Cow::Owned(word.to_string()), String::new())),
            }
        }
        out
    }

    /// The parameters as written in the `params` column: `name=value` separated by spaces.
    pub fn params_text(&self) -> String {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What one estimator returns for one (layer, epoch).
#[derive(Debug, Clone, Default)]
pub struct Fit {
    /// The estimates.
    pub estimates: Vec<Estimate>,
    /// The pairwise distance statistics, when the estimator computed them on the way (so
    /// that a caller that wants both makes no second pass).
    pub distances: Option<DistanceStats>,
}

/// Whether an estimator uses the archive's inputs X.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    /// Never.
    Unused,
    /// When the archive has them (I(X;Z) is NaN otherwise).
    Optional,
    /// Always: refused for archives without inputs.
    Required,
}

/// An estimator of I(X;Z) and I(Y;Z) on one representation.
pub trait Estimator: std::fmt::Debug + Send + Sync {
    /// Its name(s) in the `estimator` column, for messages.
    fn name(&self) -> &'static str;

    /// Whether it uses the inputs X.
    fn inputs(&self) -> Inputs {
        Inputs::Unused
    }

    /// Layers its parameters name (checked against the archive before any work).
    fn named_layers(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Epochs whose representation of each layer the estimator must see before any epoch of
    /// that layer (σ² rules fixed per layer read one).
    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }

    /// Sees `data`, the representation of a layer at the reference epoch `at` (resolved to
    /// `epoch`), before [`Estimator::fit`] is called on any epoch of that layer; what it
    /// derives goes in `cache`.
    fn prepare(
        &self,
        _data: &LayerEpoch<'_>,
        _at: Reference,
        _epoch: u32,
        _cache: &mut ArchiveCache,
    ) -> Result<()> {
        Ok(())
    }

    /// Estimates on one (layer, epoch). `cache` lives as long as the archive's estimation;
    /// `want_distances` asks for the pairwise distance statistics too, when the estimator
    /// computes them anyway.
    fn fit(
        &self,
        data: &LayerEpoch<'_>,
        cache: &mut ArchiveCache,
        want_distances: bool,
    ) -> Result<Fit>;
}

/// Parameters every estimator may use.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct CommonParams {
    /// Saturated when I(X;Z) is within this many nats of ln n, n the samples the estimate
    /// used (every estimator; for kl/bd it is N_eff < e^margin).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = CommonParams::DEFAULT.saturation_margin))]
    pub saturation_margin: f64,
    /// Seed of every random choice (Rényi's subsets and label shuffle, MINE, mc's noise, the
    /// parts of --error).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = CommonParams::DEFAULT.seed))]
    pub seed: u64,
    /// Error bars of every estimate: none, or subsample:K (Holmes–Nemenman: the estimator on
    /// 2..K random disjoint parts, the variance's 1/N scaling fitted; about 1.8 extra passes
    /// for kl/bd at K = 5, K − 1 for the others). MINE and mc report their own without it.
    #[cfg_attr(feature = "cli", arg(long, default_value = "none", value_parser = parse_error_bars))]
    #[serde(with = "crate::estimator::params::text")]
    pub error: subsample::ErrorBars,
}

#[cfg(feature = "cli")]
fn parse_error_bars(s: &str) -> std::result::Result<subsample::ErrorBars, String> {
    subsample::ErrorBars::parse(s).map_err(|e| e.to_string())
}

impl CommonParams {
    /// The defaults.
    pub(crate) const DEFAULT: CommonParams = CommonParams {
        saturation_margin: 0.1,
        seed: 0,
        error: subsample::ErrorBars::None,
    };

    /// Checks the margin: finite and not negative.
    pub fn validate(&self) -> Result<()> {
        let v = self.saturation_margin;
        if !(v.is_finite() && v >= 0.0) {
            return Err(Error::parameter(
                "saturation_margin",
                format!("must be a finite number of 0 or more (got {v})"),
            ));
        }
        Ok(())
    }
}

impl Default for CommonParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Every estimator's parameters, flattened into one set of flags (`--sigma2`, `--bins`,
/// `--renyi-alpha`, ...), each with its default.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct EstimatorParams {
    /// Shared by all.
    #[cfg_attr(feature = "cli", command(flatten))]
    #[serde(flatten)]
    pub common: CommonParams,
    /// kl, bd.
    #[cfg_attr(feature = "cli", command(flatten))]
    #[serde(flatten)]
    pub pairwise: pairwise::PairwiseParams,
    /// bin.
    #[cfg_attr(feature = "cli", command(flatten))]
    #[serde(flatten)]
    pub bin: binning::BinningParams,
    /// renyi.
    #[cfg_attr(feature = "cli", command(flatten))]
    #[serde(flatten)]
    pub renyi: renyi::RenyiParams,
    /// mine.
    #[cfg_attr(feature = "cli", command(flatten))]
    #[serde(flatten)]
    pub mine: mine::MineParams,
    /// mc (its σ² are `pairwise.sigma2`).
    #[cfg_attr(feature = "cli", command(flatten))]
    #[serde(flatten)]
    pub mc: mc::McParams,
    /// ksg.
    #[cfg_attr(feature = "cli", command(flatten))]
    #[serde(flatten)]
    pub ksg: ksg::KsgParams,
    /// smi (its k and jitter are `ksg`'s).
    #[cfg_attr(feature = "cli", command(flatten))]
    #[serde(flatten)]
    pub smi: smi::SmiParams,
    /// soft.
    #[cfg_attr(feature = "cli", command(flatten))]
    #[serde(flatten)]
    pub soft: soft::SoftParams,
}

/// Each column to mean 0 and standard deviation 1 (constant columns only centred).
pub(crate) fn standardized(a: ArrayView2<'_, f64>) -> ndarray::Array2<f64> {
    let mut out = a.to_owned();
    let n = a.nrows().max(1) as f64;
    for mut c in out.columns_mut() {
        let mean = c.sum() / n;
        let sd = (c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let scale = if sd > 0.0 { 1.0 / sd } else { 1.0 };
        c.mapv_inplace(|v| (v - mean) * scale);
    }
    out
}

/// The one saturation rule: I(X;Z) > ln n - margin, n the samples the estimate used (the
/// driver applies it with the full N to estimators that set no flag themselves).
pub(crate) fn saturated_near_log_n(i_xz: f64, n: usize, margin_nats: f64) -> bool {
    i_xz > (n as f64).ln() - margin_nats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keeps_one_value_per_type() {
        let mut c = ArchiveCache::default();
        assert_eq!(*c.get_or_try_insert(|| Ok(3u32)).unwrap(), 3);
        assert_eq!(*c.get_or_try_insert(|| Ok(4u32)).unwrap(), 3);
        assert_eq!(*c.get_or_try_insert(|| Ok(5u64)).unwrap(), 5);
    }
}
