//! MINE: neural estimation of mutual information (Belghazi et al. 2018) and its variants, on
//! ndarray + BLAS with hand-derived gradients (checked against finite differences in tests).
//!
//! A statistics network T(x, z), an MLP with ELU hidden layers on the concatenated pair, is
//! trained by Adam to maximise a variational lower bound; marginal pairs (x_i, z_π(i)) come from
//! shuffling z within the batch. Variants ([`Variant`]):
//! - `Dv`: Donsker-Varadhan, I ≥ E_P[T] - ln E_Q[e^T]; the gradient of the log term uses an
//!   exponential moving average of E_Q[e^T] (weight 0.01 on the new batch) instead of the batch
//!   mean, which removes the bias of the mini-batch gradient (Belghazi et al. §3.2);
//! - `Nwj` (MINE-f): I ≥ E_P[T] - e^{-1} E_Q[e^T] (Nguyen, Wainwright & Jordan 2010);
//! - `InfoNce`: I ≥ mean_i [T(x_i, z_i) - ln (1/B) Σ_j e^{T(x_i, z_j)}] ≤ ln B (van den Oord
//!   et al. 2018), over all B² pairs of a batch (B at most 64 with the joint critic; with the
//!   separable critic T = g(x)ᵀh(z), `--mine-critic separable`, the B² scores are one B x B
//!   product and B is `--mine-batch`, see [`Critic`]);
//! - `Smile`: E_P[T] - ln E_Q[clip(e^T, e^-τ, e^τ)] with τ = 5 (Song & Ermon 2020); as in their
//!   code, T is trained with the Jensen-Shannon bound E_P[-softplus(-T)] - E_Q[softplus(T)],
//!   whose optimum is the log density ratio, and only the reported value is the clipped DV.
//!
//! Each column of both variables is first mapped through its ranks to a standard normal
//! (`--mine-transform rank`, the default: x ↦ Φ⁻¹(rank/(n+1)), ties sharing their mean rank).
//! A monotone map of each coordinate leaves I(X;Z) unchanged, and heavy tails (Student-t,
//! Cauchy), which break DV and NWJ on raw or standardised data, become Gaussian margins;
//! `standardize` (mean 0, standard deviation 1, as the bmi benchmark does) and `none` are the
//! alternatives.
//!
//! The estimate is cross-fitted ([`fold`], `--mine-folds`, default 5): each fold's critic is
//! trained on the other folds and evaluated on the fold, with every pair of a block for the
//! marginal term, and the K fold values are averaged, so every sample is used for evaluation
//! and no choice of step or fold biases the value upwards. Within a fold's training, every
//! `eval_every` steps the bound is evaluated on a validation part of the training folds
//! (InfoNCE in batches of B); training stops when it has not improved for `patience`
//! evaluations and the moving average of the iterates at the best validation step is the
//! fold's critic. The standard error is the larger of the delta method's (over all samples)
//! and the spread of the K fold values over √K (which includes the training's own randomness:
//! K restarts on different data), with half the critic's optimism (its bound on its own
//! training samples minus its held-out bound) added in quadrature; rows report the spread and
//! the optimism. `--mine-folds 1` is the single split of earlier versions (80 % training, 10 %
//! validation, 10 % test).
//!
//! A value that is useless is NaN with the reason in the row, never a number that looks like
//! a result ([`MineEstimate::failure`]): a bound below −0.1 nats or below zero by more than
//! three standard errors (the critic does not generalise), or a standard error above 1 nat
//! that exceeds the value itself. A value below zero within its noise is kept (it says
//! "consistent with zero"). A non-finite value or |T| > 1e6 during training is divergence (an
//! error). Results are reproducible for a seed and do not depend on the thread count.

use crate::estimator::registry::{Cost, Entry, Kind, Quantity, Side};
use ndarray::{s, Array2, ArrayView2, Axis};

mod critic;
mod fold;
mod network;
mod train;
mod transform;

pub use train::{batch_used, INFONCE_MAX_BATCH};
use train::{split, train, Parts};
pub use transform::{gaussianized, normal_quantile};

pub(crate) use critic::{infonce_terms, Critic};
pub use network::{mlp_gradients, Mlp};

use super::{ArchiveCache, Estimate, Estimator, EstimatorParams, Fit, Inputs, LayerEpoch};
use crate::error::{Error, Result};
use crate::util::rng::SplitMix64;

/// The bound being maximised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Donsker-Varadhan with the moving-average gradient correction.
    Dv,
    /// Nguyen-Wainwright-Jordan (MINE-f).
    Nwj,
    /// InfoNCE (capped at ln B).
    InfoNce,
    /// SMILE (DV with the partition term clipped at ±5).
    Smile,
}

impl Variant {
    /// Name in result rows.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Dv => "dv",
            Variant::Nwj => "nwj",
            Variant::InfoNce => "infonce",
            Variant::Smile => "smile",
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Variant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dv" => Ok(Variant::Dv),
            "nwj" | "mine-f" => Ok(Variant::Nwj),
            "infonce" => Ok(Variant::InfoNce),
            "smile" => Ok(Variant::Smile),
            o => Err(Error::Invalid(format!(
                "unknown MINE variant '{o}' (expected dv, nwj, infonce or smile)"
            ))),
        }
    }
}

/// The critic's form (see [`Critic`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum CriticKind {
    /// T(x, z), one network on the concatenated pair.
    Joint,
    /// T(x, z) = g(x)ᵀh(z): InfoNCE only; B² scores cost one B x B product.
    Separable,
}

/// How each column of X and Z is mapped before training (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Transform {
    /// Φ⁻¹ of the column's ranks: standard normal margins, I(X;Z) unchanged.
    Rank,
    /// Mean 0, standard deviation 1.
    Standardize,
    /// The values as they are.
    None,
}

impl Transform {
    /// Name in result rows.
    pub fn name(self) -> &'static str {
        match self {
            Transform::Rank => "rank",
            Transform::Standardize => "standardize",
            Transform::None => "none",
        }
    }
}

/// Parameters of the MINE estimator.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct MineParams {
    /// mine: dv (Donsker-Varadhan, bias-corrected), nwj, infonce or smile.
    #[cfg_attr(feature = "cli", arg(long = "mine-variant", default_value = "dv"))]
    #[serde(rename = "mine_variant", with = "crate::estimator::params::text")]
    pub variant: Variant,
    /// mine: hidden widths of the statistics network.
    #[cfg_attr(
        feature = "cli",
        arg(long = "mine-hidden", value_delimiter = ',', default_value = "64,64")
    )]
    #[serde(rename = "mine_hidden")]
    pub hidden: Vec<usize>,
    /// mine: maximum training steps.
    #[cfg_attr(feature = "cli", arg(long = "mine-steps", default_value_t = 6000))]
    #[serde(rename = "mine_steps")]
    pub steps: usize,
    /// mine: batch size (infonce with the joint critic: at most 64; rows state the batch used).
    #[cfg_attr(feature = "cli", arg(long = "mine-batch", default_value_t = 256))]
    #[serde(rename = "mine_batch")]
    pub batch: usize,
    /// mine: the critic, joint (one network on (x, z)) or separable (g(x)ᵀh(z), infonce only).
    #[cfg_attr(feature = "cli", arg(long = "mine-critic", id = "mine_critic", value_enum, default_value_t = CriticKind::Joint))]
    #[serde(rename = "mine_critic")]
    pub critic: CriticKind,
    /// mine: Adam learning rate.
    #[cfg_attr(feature = "cli", arg(long = "mine-lr", default_value_t = 1e-3))]
    #[serde(rename = "mine_lr")]
    pub lr: f64,
    /// Steps between held-out evaluations.
    #[cfg_attr(feature = "cli", arg(skip = 100usize))]
    #[serde(skip)]
    pub eval_every: usize,
    /// Evaluations without improvement before stopping (and the number averaged).
    #[cfg_attr(feature = "cli", arg(skip = 15usize))]
    #[serde(skip)]
    pub patience: usize,
    /// Held-out fraction.
    #[cfg_attr(feature = "cli", arg(skip = 0.2f64))]
    #[serde(skip)]
    pub holdout: f64,
    /// Seed (the common `--seed`).
    #[cfg_attr(feature = "cli", arg(skip = 0u64))]
    #[serde(skip)]
    pub seed: u64,
    /// mine: map each column before training: rank (to standard normal margins through its
    /// ranks; I(X;Z) unchanged, heavy tails tamed), standardize, or none.
    #[cfg_attr(feature = "cli", arg(long = "mine-transform", id = "mine_transform", value_enum, default_value_t = Transform::Rank))]
    #[serde(rename = "mine_transform")]
    pub transform: Transform,
    /// mine: folds of the cross-fitting (each fold's critic trains on the others and is
    /// evaluated on the fold); 1 is a single 80/10/10 split.
    #[cfg_attr(feature = "cli", arg(long = "mine-folds", default_value_t = MineParams::DEFAULT_FOLDS))]
    #[serde(rename = "mine_folds")]
    pub folds: usize,
}

impl Default for MineParams {
    fn default() -> Self {
        MineParams {
            variant: Variant::Dv,
            hidden: vec![64, 64],
            steps: 6000,
            batch: 256,
            critic: CriticKind::Joint,
            lr: 1e-3,
            eval_every: 100,
            patience: 15,
            holdout: 0.2,
            seed: 0,
            transform: Transform::Rank,
            folds: Self::DEFAULT_FOLDS,
        }
    }
}

impl MineParams {
    /// The widest hidden layer of the statistics network.
    pub const MAX_WIDTH: usize = 4096;

    /// The default number of cross-fitting folds.
    pub const DEFAULT_FOLDS: usize = 5;

    /// Checks the options: a network of 1 to 8 hidden layers of 1 to [`Self::MAX_WIDTH`]
    /// units, at least one step, batches of 2 or more, a positive learning rate.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if self.hidden.is_empty()
            || self.hidden.len() > 8
            || self.hidden.iter().any(|&h| h == 0 || h > Self::MAX_WIDTH)
        {
            return Err(Error::parameter(
                "mine_hidden",
                format!(
                    "needs 1 to 8 widths between 1 and {} (got {:?})",
                    Self::MAX_WIDTH,
                    self.hidden
                ),
            ));
        }
        if !(1..=10_000_000).contains(&self.steps) {
            return Err(Error::parameter(
                "mine_steps",
                format!("must be between 1 and 10000000 (got {})", self.steps),
            ));
        }
        if !(2..=65_536).contains(&self.batch) {
            return Err(Error::parameter(
                "mine_batch",
                format!("must be between 2 and 65536 (got {})", self.batch),
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::parameter(
                "mine_lr",
                format!("must be a positive number (got {})", self.lr),
            ));
        }
        if !(1..=20).contains(&self.folds) {
            return Err(Error::parameter(
                "mine_folds",
                format!("must be between 1 and 20 (got {})", self.folds),
            ));
        }
        if self.critic == CriticKind::Separable && self.variant != Variant::InfoNce {
            return Err(Error::parameter(
                "mine_critic",
                format!(
                    "separable needs the infonce variant (the variant is {})",
                    self.variant.name()
                ),
            ));
        }
        if self.eval_every == 0 || self.patience == 0 || !(self.holdout > 0.0 && self.holdout < 1.0)
        {
            return bad(
                "MINE needs eval_every and patience of 1 or more and a held-out fraction in (0, 1)"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The most negative bound that still counts as "consistent with zero", nats.
pub(crate) const NEGATIVE_LIMIT: f64 = 0.1;

/// The result of one MINE run, in nats.
#[derive(Debug, Clone, PartialEq)]
pub struct MineEstimate {
    /// The mean of the folds' bounds (with one fold: the bound on the test part).
    pub value: f64,
    /// Its standard error: the larger of the delta method's and the fold values' spread over
    /// √K, with half the critic's optimism added in quadrature (NaN when it cannot be
    /// estimated).
    pub std_error: f64,
    /// Steps trained (the mean over folds).
    pub steps: usize,
    /// The batch size used (InfoNCE's is capped at 64, and any at the training part's size).
    pub batch: usize,
    /// Each fold's bound (one value without cross-fitting).
    pub fold_values: Vec<f64>,
    /// The mean over folds of (bound on the critic's training samples − bound on its fold),
    /// at least 0; half of it is in `std_error` (NaN without cross-fitting).
    pub optimism: f64,
}

impl MineEstimate {
    /// The standard deviation of the fold values: how much K trainings on different data
    /// disagree (NaN with one fold).
    pub fn spread(&self) -> f64 {
        let k = self.fold_values.len() as f64;
        if k < 2.0 {
            return f64::NAN;
        }
        let m = self.fold_values.iter().sum::<f64>() / k;
        (self
            .fold_values
            .iter()
            .map(|v| (v - m).powi(2))
            .sum::<f64>()
            / (k - 1.0))
            .sqrt()
    }

    /// Why the value is useless, if it is: a bound below −0.1 nats (no working critic gives
    /// one: real zeros come out within a few hundredths of zero), a bound below zero by more
    /// than three standard errors (its critic does not generalise: heavy tails, divergence on
    /// held-out data), or a standard error above 1 nat that exceeds the value itself (no
    /// information). A value below zero within its noise is a valid "consistent with zero".
    pub fn failure(&self) -> Option<String> {
        let (v, se) = (self.value, self.std_error);
        if !v.is_finite() {
            return Some(format!("its value is {v}"));
        }
        if v < -NEGATIVE_LIMIT {
            return Some(format!(
                "its bound {v:.4} ± {se:.4} nats is below −{NEGATIVE_LIMIT} nats, which no working critic gives (a mutual information is never negative; heavy tails?)"
            ));
        }
        if se.is_finite() && v < -3.0 * se - 1e-3 {
            return Some(format!(
                "its bound {v:.4} ± {se:.4} nats is below zero by more than three standard errors (the critic does not generalise to held-out data; heavy tails?)"
            ));
        }
        if se > 1.0 && se > v.abs() {
            return Some(format!(
                "its bound {v:.4} ± {se:.4} nats has a standard error larger than itself (the folds disagree: the critic does not generalise)"
            ));
        }
        None
    }

    /// True when [`Self::failure`] has a reason.
    pub fn failed(&self) -> bool {
        self.failure().is_some()
    }
}

fn pairs(
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    xi: &[usize],
    zi: &[usize],
) -> Array2<f64> {
    let (dx, dz) = (x.ncols(), z.ncols());
    let mut out = Array2::zeros((xi.len(), dx + dz));
    for (r, (&a, &b)) in xi.iter().zip(zi).enumerate() {
        out.slice_mut(s![r, ..dx]).assign(&x.row(a));
        out.slice_mut(s![r, dx..]).assign(&z.row(b));
    }
    out
}

const SMILE_TAU: f64 = 5.0;

/// The bound on the rows `idx` (joint pairs, and marginals by a seeded shuffle), with T, and
/// its standard error: for DV and SMILE by the delta method, Var ≈ Var(T_P)/n +
/// Var(e^T_Q)/(n · E[e^T_Q]²); for NWJ Var(T_P)/n + Var(e^(T_Q - 1))/n; for InfoNCE from the
/// spread of the batch values, or with a single batch from the spread of its B row terms.
fn bound(
    critic: &Critic,
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    idx: &[usize],
    variant: Variant,
    batch: usize,
    rng: &mut SplitMix64,
) -> (f64, f64) {
    if variant == Variant::InfoNce {
        let chunks: Vec<&[usize]> = idx
            .chunks(batch)
            .filter(|c| c.len() == batch.min(idx.len()))
            .collect();
        if let [one] = chunks[..] {
            // One batch: the spread of its B row terms.
            return mean_se(&infonce(critic, x, z, one));
        }
        let values: Vec<f64> = chunks
            .iter()
            .map(|chunk| {
                let terms = infonce(critic, x, z, chunk);
                terms.iter().sum::<f64>() / terms.len() as f64
            })
            .collect();
        let (mean, se) = mean_se(&values);
        return (mean, if values.len() > 1 { se } else { f64::NAN });
    }
    let Critic::Joint(net) = critic else {
        return (f64::NAN, f64::NAN); // refused by `validate`
    };
    let mut perm = idx.to_vec();
    rng.shuffle(&mut perm);
    let tp = net.forward(&pairs(x, z, idx, idx)).to_vec();
    let tq = net.forward(&pairs(x, z, idx, &perm)).to_vec();
    let (ep, se_p) = mean_se(&tp);
    let clip = |t: f64| match variant {
        Variant::Smile => t.clamp(-SMILE_TAU, SMILE_TAU),
        _ => t,
    };
    if variant == Variant::Nwj {
        let e: Vec<f64> = tq.iter().map(|t| (t - 1.0).exp()).collect();
        let (eq, se_q) = mean_se(&e);
        return (ep - eq, se_p.hypot(se_q));
    }
    // DV and SMILE: ln mean e^T, and the relative standard error of the mean of e^T (scaled
    // by the largest value, which cancels).
    let tq: Vec<f64> = tq.into_iter().map(clip).collect();
    let m = tq.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = tq.iter().map(|&t| (t - m).exp()).collect();
    let (eq, se_q) = mean_se(&e);
    (ep - (m + eq.ln()), se_p.hypot(se_q / eq))
}

/// The B row terms of one batch's InfoNCE value.
fn infonce(
    critic: &Critic,
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    chunk: &[usize],
) -> Vec<f64> {
    let (xb, zb) = (x.select(Axis(0), chunk), z.select(Axis(0), chunk));
    infonce_terms(&critic.pair_scores(xb.view(), zb.view()), chunk.len())
}

/// Estimates I(X;Z) in nats from paired samples (rows of `x` and `z`), with checked
/// parameters.
fn mutual_information(
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    o: &MineParams,
) -> Result<MineEstimate> {
    // The network's products are small (at most B² x 64): OpenBLAS's own threads would only
    // spin against the work around them (and against rayon), as in the pairwise engine.
    crate::util::blas::single_threaded();
    if z.nrows() != x.nrows() {
        return Err(Error::Invalid(format!(
            "MINE needs paired samples: {} rows of X, {} of Z",
            x.nrows(),
            z.nrows()
        )));
    }
    let (tx, tz) = (transformed(x, o.transform), transformed(z, o.transform));
    let (x, z) = (tx.view(), tz.view());
    if o.folds == 1 {
        return single_split(x, z, o);
    }
    let folds = fold::cross_fit(x, z, o)?;
    let k = folds.len() as f64;
    let value = folds.iter().map(|f| f.value).sum::<f64>() / k;
    let delta = folds.iter().map(|f| f.se * f.se).sum::<f64>().sqrt() / k;
    let gap = folds.iter().map(|f| f.gap).sum::<f64>() / k;
    let mut e = MineEstimate {
        value,
        std_error: delta,
        steps: (folds.iter().map(|f| f.steps).sum::<usize>() as f64 / k).round() as usize,
        batch: batch_used(x.nrows(), o),
        fold_values: folds.iter().map(|f| f.value).collect(),
        optimism: gap,
    };
    e.std_error = delta.max(e.spread() / k.sqrt()).hypot(gap / 2.0);
    Ok(e)
}

/// Without cross-fitting: one seeded 80/10/10 split, the bound on the test part.
fn single_split(
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    o: &MineParams,
) -> Result<MineEstimate> {
    let parts = split(x.nrows(), z.nrows(), o)?;
    let (best, steps) = train(x, z, &parts, o)?;
    let mut test_rng = SplitMix64::new(o.seed ^ 0x7e57);
    let (value, std_error) = if o.variant == Variant::InfoNce {
        bound(
            &best,
            x,
            z,
            &parts.test,
            o.variant,
            parts.batch,
            &mut test_rng,
        )
    } else {
        fold::all_pairs(&best, x, z, &parts.test, o.variant, parts.batch)
    };
    Ok(MineEstimate {
        value,
        std_error,
        steps,
        batch: parts.batch,
        fold_values: vec![value],
        optimism: f64::NAN,
    })
}

/// `a` with each column mapped as `t` says.
fn transformed(a: ArrayView2<'_, f64>, t: Transform) -> Array2<f64> {
    match t {
        Transform::Rank => gaussianized(a),
        Transform::Standardize => super::standardized(a),
        Transform::None => a.to_owned(),
    }
}

/// Mean and the standard error of the mean.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (var / n).sqrt())
}

/// The value of one run for the row, with its standard error in the row's `i_xz_se`/`i_yz_se`;
/// NaN with a warning when the run failed (a test bound below zero beyond its standard error).
fn checked(e: &MineEstimate, what: &str, row: &mut Estimate) -> f64 {
    if what == "I(X;Z)" {
        row.i_xz_se = e.std_error;
    } else {
        row.i_yz_se = e.std_error;
    }
    if e.fold_values.len() > 1 {
        let keys = if what == "I(X;Z)" {
            ("spread_xz", "optimism_xz")
        } else {
            ("spread_yz", "optimism_yz")
        };
        row.param(keys.0, format!("{:.4}", e.spread()));
        row.param(keys.1, format!("{:.4}", e.optimism));
    }
    if let Some(why) = e.failure() {
        row.warnings.push(format!("MINE failed for {what}: {why}"));
        return f64::NAN;
    }
    if e.value < 0.0 {
        row.warnings.push(format!(
            "MINE's {what} bound {:.4} ± {:.4} nats is below zero within its noise: consistent with no dependence",
            e.value, e.std_error
        ));
    }
    e.value
}

/// MINE as an [`Estimator`]: I(X;Z) from the inputs and Z, I(Y;Z) from one-hot labels and Z,
/// each a separate run of the statistics network. A diverged run gives NaN and says so in its
/// `params` (never a number that looks like a result).
#[derive(Debug, Clone)]
pub struct Mine {
    params: MineParams,
}

/// The registry entry of `mine`.
pub const ENTRY: Entry = Entry {
    kinds: &[Kind {
        name: "mine",
        quantity: Quantity::Mutual,
        side: Side::Estimate,
        bracket: false,
        noisy: false,
    }],
    about: "MINE and its variants (Belghazi et al. 2018)",
    cost: Cost::Linear,
    build,
};

/// Builds [`Mine`] from the checked parameters (the common seed included).
pub fn build(p: &EstimatorParams, _: &[&str]) -> Result<Box<dyn Estimator>> {
    let params = MineParams {
        seed: p.common.seed,
        ..p.mine.clone()
    };
    params.validate()?;
    Ok(Box::new(Mine { params }))
}

impl Mine {
    /// The estimator with checked parameters `params` (its own seed).
    pub fn new(params: MineParams) -> Result<Self> {
        params.validate()?;
        Ok(Mine { params })
    }

    /// I(X;Z) in nats from paired samples, the rows of `x` (N x D) and `z` (N x H), with its
    /// standard error, fold values and training details ([`MineEstimate`]).
    /// [`Estimator::fit`] runs this twice per (layer, epoch): on the inputs, and on one-hot
    /// labels for I(Y;Z).
    pub fn mutual_information(
        &self,
        x: ArrayView2<'_, f64>,
        z: ArrayView2<'_, f64>,
    ) -> Result<MineEstimate> {
        mutual_information(x, z, &self.params)
    }
}

impl Estimator for Mine {
    fn name(&self) -> &'static str {
        "mine"
    }

    fn inputs(&self) -> Inputs {
        Inputs::Required
    }

    fn fit(&self, data: &LayerEpoch<'_>, _: &mut ArchiveCache, _: bool) -> Result<Fit> {
        let o = &self.params;
        let z = data.z.mapv(f64::from);
        let classes = crate::labels::classes_in(data.labels).max(1);
        let onehot = Array2::from_shape_fn((data.labels.len(), classes), |(i, c)| {
            f64::from(u8::from(data.labels[i] as usize == c))
        });
        // The batch actually used and InfoNCE's cap ln B.
        let batch = batch_used(data.labels.len(), o);
        let mut params = vec![
            ("variant", o.variant.name().to_string()),
            ("hidden", format!("{:?}", o.hidden)),
            ("max_steps", o.steps.to_string()),
            ("batch", batch.to_string()),
        ];
        if o.variant == Variant::InfoNce {
            params.push(("cap_nats", format!("{:.4}", (batch as f64).ln())));
        }
        if o.critic == CriticKind::Separable {
            params.push(("critic", "separable".into()));
        }
        params.extend([
            ("lr", o.lr.to_string()),
            ("transform", o.transform.name().to_string()),
            ("folds", o.folds.to_string()),
            ("seed", o.seed.to_string()),
        ]);
        let mut row = Estimate::new("mine", "");
        row.set_params(params);
        row.setting = row.params_text();
        let xz = data
            .inputs
            .map(|x| mutual_information(x.mapv(f64::from).view(), z.view(), o))
            .transpose();
        match (xz, mutual_information(onehot.view(), z.view(), o)) {
            (Ok(xz), Ok(yz)) => {
                row.i_xz = xz
                    .as_ref()
                    .map_or(f64::NAN, |e| checked(e, "I(X;Z)", &mut row));
                row.i_yz = checked(&yz, "I(Y;Z)", &mut row);
            }
            (Err(e), _) | (_, Err(e)) => {
                row.param("error", e.to_string().replace([',', ' '], ";"));
            }
        }
        Ok(Fit {
            estimates: vec![row],
            distances: None,
        })
    }
}
