//! Estimating an archive: every selected (layer, epoch) through the pairwise engine, as a tidy table.
//!
//! One row per (layer, epoch, estimator, σ²) with the columns of [`ESTIMATE_COLUMNS`]. Distances
//! in σ² rules are squared (see [`crate::pairwise::sigma`]); `sigma2_over_nn` expresses each σ²
//! relative to the median squared nearest-neighbour distance of that representation, which makes
//! values comparable across layers and epochs whose scale differs (background §4).

use std::fmt;
use std::str::FromStr;

use ndarray::Array2;

use crate::archive::Archive;
use crate::error::{Error, Result};
use crate::pairwise::sigma::{median, SigmaSpec};
use crate::pairwise::{
    pairwise_estimates, Bound, DistanceStats, PairwiseEstimate, PassOptions, SaturationRule, Stats,
};
use crate::selection::{self, Epochs};
use crate::table::{Column, Table};

/// Estimators this module runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimator {
    /// Pairwise KL upper bound.
    Kl,
    /// Pairwise Bhattacharyya lower bound.
    Bd,
    /// Binning ([`crate::binning`]).
    Bin,
    /// Matrix-based Rényi α-entropy ([`crate::renyi`]).
    Renyi,
    /// MINE and its variants ([`crate::mine`]).
    Mine,
}

impl Estimator {
    /// Whether the estimator is one of the pairwise bounds.
    pub fn is_pairwise(self) -> bool {
        matches!(self, Estimator::Kl | Estimator::Bd)
    }
}

impl fmt::Display for Estimator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Estimator::Kl => "kl",
            Estimator::Bd => "bd",
            Estimator::Bin => "bin",
            Estimator::Renyi => "renyi",
            Estimator::Mine => "mine",
        })
    }
}

impl FromStr for Estimator {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kl" => Ok(Estimator::Kl),
            "bd" => Ok(Estimator::Bd),
            "bin" => Ok(Estimator::Bin),
            "renyi" => Ok(Estimator::Renyi),
            "mine" => Ok(Estimator::Mine),
            other => Err(Error::Invalid(format!(
                "unknown estimator '{other}' (available: kl, bd, bin, renyi, mine)"
            ))),
        }
    }
}

/// Unit of information in outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unit {
    /// log base 2.
    #[default]
    Bits,
    /// Natural log.
    Nats,
}

impl Unit {
    /// Multiplier from nats.
    pub fn from_nats(self) -> f64 {
        match self {
            Unit::Bits => 1.0 / std::f64::consts::LN_2,
            Unit::Nats => 1.0,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unit::Bits => "bits",
            Unit::Nats => "nats",
        })
    }
}

impl FromStr for Unit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bits" => Ok(Unit::Bits),
            "nats" => Ok(Unit::Nats),
            other => Err(Error::Invalid(format!(
                "unknown unit '{other}' (expected bits or nats)"
            ))),
        }
    }
}

/// Precision of the Gram matrix (everything after it is f64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 GEMM on the stored activations (fast).
    #[default]
    F32,
    /// Activations widened to f64 before the GEMM (slower; distances exact to f64 rounding).
    F64,
}

impl FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(Precision::F32),
            "f64" => Ok(Precision::F64),
            other => Err(Error::Invalid(format!(
                "unknown precision '{other}' (expected f32 or f64)"
            ))),
        }
    }
}

/// What to estimate.
#[derive(Debug, Clone)]
pub struct EstimateRequest {
    /// Estimators to report.
    pub estimators: Vec<Estimator>,
    /// σ² values and rules.
    pub sigma2: SigmaSpec,
    /// Layers by name (None: all).
    pub layers: Option<Vec<String>>,
    /// Epochs.
    pub epochs: Epochs,
    /// Output unit.
    pub unit: Unit,
    /// Gram precision.
    pub precision: Precision,
    /// Tile size and the like.
    pub pass: PassOptions,
    /// Saturation thresholds.
    pub saturation: SaturationRule,
    /// Binnings for `bin` (each one row).
    pub binnings: Vec<crate::binning::Binning>,
    /// Options of `renyi`.
    pub renyi: crate::renyi::RenyiOptions,
    /// Options of `mine`.
    pub mine: crate::mine::MineOptions,
}

impl EstimateRequest {
    /// A request for `estimators` and σ² `sigma2` with every other option at its default.
    pub fn new(estimators: Vec<Estimator>, sigma2: SigmaSpec) -> Self {
        EstimateRequest {
            estimators,
            sigma2,
            layers: None,
            epochs: Epochs::All,
            unit: Unit::Bits,
            precision: Precision::F32,
            pass: PassOptions {
                tile: 1024,
                stats: Stats::All,
            },
            saturation: SaturationRule::default(),
            binnings: vec![crate::binning::Binning::Fixed {
                lo: -1.0,
                hi: 1.0,
                bins: 30,
            }],
            renyi: crate::renyi::RenyiOptions::default(),
            mine: crate::mine::MineOptions::default(),
        }
    }
}

impl EstimateRequest {
    /// Checks every option before any work is done.
    pub fn validate(&self) -> Result<()> {
        if self.estimators.is_empty() {
            return Err(Error::Invalid("no estimator requested".into()));
        }
        self.pass.validate()?;
        self.saturation.validate()?;
        for b in &self.binnings {
            b.validate()?;
        }
        if self.estimators.contains(&Estimator::Renyi) {
            self.renyi.validate()?;
        }
        if self.estimators.contains(&Estimator::Mine) {
            self.mine.validate()?;
        }
        Ok(())
    }
}

/// One output row.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateRow {
    /// Run name.
    pub run: String,
    /// Layer name.
    pub layer: String,
    /// Layer position in the network.
    pub layer_index: usize,
    /// Layer kind.
    pub layer_kind: String,
    /// Epoch.
    pub epoch: u32,
    /// `kl` or `bd`.
    pub estimator: Estimator,
    /// σ².
    pub sigma2: f64,
    /// How σ² was chosen.
    pub sigma2_rule: String,
    /// σ² / median squared nearest-neighbour distance.
    pub sigma2_over_nn: f64,
    /// I(X;Z).
    pub i_xz: f64,
    /// I(Y;Z) as this estimator's difference.
    pub i_yz: f64,
    /// Rigorous I(Y;Z) bracket, lower end.
    pub i_yz_lo: f64,
    /// Rigorous I(Y;Z) bracket, upper end.
    pub i_yz_hi: f64,
    /// N.
    pub n: usize,
    /// H(Y).
    pub h_y: f64,
    /// log N.
    pub log_n: f64,
    /// N_eff of this estimator's kernel.
    pub n_eff: f64,
    /// Saturation flag.
    pub saturated: bool,
    /// Unit of the information columns.
    pub unit: Unit,
    /// The estimator's parameters (empty for kl/bd, whose σ² has its own columns).
    pub params: String,
    /// I(Y;Z) with shuffled labels (Rényi), NaN otherwise.
    pub i_yz_baseline: f64,
}

/// Column names of the estimates table, in order.
pub const ESTIMATE_COLUMNS: [&str; 21] = [
    "run",
    "layer",
    "layer_index",
    "layer_kind",
    "epoch",
    "estimator",
    "sigma2",
    "sigma2_rule",
    "sigma2_over_nn",
    "i_xz",
    "i_yz",
    "i_yz_lo",
    "i_yz_hi",
    "n",
    "h_y",
    "log_n",
    "n_eff",
    "saturated",
    "unit",
    "params",
    "i_yz_baseline",
];

/// Reads one (layer, epoch) and runs `f` on it in the requested precision.
pub(crate) fn with_matrix<R>(
    z: Array2<f32>,
    precision: Precision,
    f32_fn: impl FnOnce(&Array2<f32>) -> R,
    f64_fn: impl FnOnce(&Array2<f64>) -> R,
) -> R {
    match precision {
        Precision::F32 => f32_fn(&z),
        Precision::F64 => f64_fn(&z.mapv(f64::from)),
    }
}

/// Estimates every selected (layer, epoch); `progress(done, total)` after each.
pub fn estimate_archive(
    archive: &Archive,
    req: &EstimateRequest,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<EstimateRow>> {
    estimate_archive_with_distances(archive, req, progress, None)
}

/// Receives (layer index, epoch, distance statistics) of each (layer, epoch).
pub type DistanceSink<'a> = dyn FnMut(usize, u32, &DistanceStats) + 'a;

/// [`estimate_archive`], also handing each (layer, epoch)'s distance statistics (histogram,
/// nearest neighbours, class means: [`Stats::All`]) to `distances`, from the same pass as the
/// pairwise estimates (or from the pass that resolves σ² rules), so that a caller that wants
/// both (the report) makes no extra pass over the pairs.
pub fn estimate_archive_with_distances(
    archive: &Archive,
    req: &EstimateRequest,
    progress: &mut dyn FnMut(usize, usize),
    mut distances: Option<&mut DistanceSink<'_>>,
) -> Result<Vec<EstimateRow>> {
    req.validate()?;
    for name in req.sigma2.named_layers() {
        archive.layer(name)?;
    }
    let layers = selection::layers(archive, req.layers.as_deref())?;
    let epochs = req.epochs.resolve(archive)?;
    if epochs.is_empty() {
        return Err(Error::request(
            archive.dir(),
            "no epoch with activations selected",
        ));
    }
    let labels = archive.labels()?;
    let n_classes = archive
        .manifest()
        .analysis_set
        .classes
        .len()
        .max(labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0));
    let needs_inputs = req
        .estimators
        .iter()
        .any(|e| matches!(e, Estimator::Renyi | Estimator::Mine));
    let inputs = if needs_inputs {
        archive.inputs()?
    } else {
        None
    };
    if req.estimators.contains(&Estimator::Mine) && inputs.is_none() {
        return Err(Error::request(
            archive.dir(),
            "the archive stores no inputs X, which MINE needs for I(X;Z) (record them, or import with --inputs)",
        ));
    }
    let run = archive.manifest().run.name.clone();
    let mut input_kernel = None;
    let unit = req.unit.from_nats();
    let total = layers.len() * epochs.len();
    let mut rows = Vec::new();
    let mut done = 0;
    for &li in &layers {
        let info = &archive.layers()[li];
        for &epoch in &epochs {
            let z = archive.activations_at(li, epoch)?;
            if let Some((i, v)) = z.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(Error::request(
                    archive.dir(),
                    format!(
                        "layer '{}' epoch {epoch}: non-finite activation {v} at sample {}, unit {}; estimates need finite values",
                        info.name,
                        i / info.width,
                        i % info.width
                    ),
                ));
            }
            let others = other_estimators(
                archive,
                &z,
                &labels,
                inputs.as_ref(),
                req,
                &mut input_kernel,
            )?;
            let pairwise: Vec<Estimator> = req
                .estimators
                .iter()
                .copied()
                .filter(|e| e.is_pairwise())
                .collect();
            let want_all = distances.is_some();
            let (estimates, stats) = if pairwise.is_empty() {
                let tile = req.pass.tile;
                let d = want_all.then(|| {
                    with_matrix(
                        z,
                        req.precision,
                        |z| crate::distances::stats(z, &labels, tile),
                        |z| crate::distances::stats(z, &labels, tile),
                    )
                });
                (Vec::new(), d)
            } else {
                let (e, d) = with_matrix(
                    z,
                    req.precision,
                    |z| run_one(z, &labels, &info.name, req, want_all),
                    |z| run_one(z, &labels, &info.name, req, want_all),
                );
                (e, Some(d))
            };
            let nn_median = stats.as_ref().map_or(f64::NAN, |d| median(&d.nn_d2));
            if let (Some(cb), Some(d)) = (distances.as_mut(), stats.as_ref()) {
                cb(li, epoch, d);
            }
            let h_y = crate::labels::entropy_nats(&crate::labels::class_counts(&labels, n_classes));
            let log_n = (labels.len() as f64).ln();
            // The columns every row of this (layer, epoch) shares; estimator-specific ones are
            // set below.
            let base = EstimateRow {
                run: run.clone(),
                layer: info.name.clone(),
                layer_index: li,
                layer_kind: info.kind.to_string(),
                epoch,
                estimator: Estimator::Kl,
                sigma2: f64::NAN,
                sigma2_rule: "none".into(),
                sigma2_over_nn: f64::NAN,
                i_xz: f64::NAN,
                i_yz: f64::NAN,
                i_yz_lo: f64::NAN,
                i_yz_hi: f64::NAN,
                n: labels.len(),
                h_y: h_y * unit,
                log_n: log_n * unit,
                n_eff: f64::NAN,
                saturated: false,
                unit: req.unit,
                params: String::new(),
                i_yz_baseline: f64::NAN,
            };
            for o in others {
                rows.push(EstimateRow {
                    estimator: o.estimator,
                    i_xz: o.i_xz * unit,
                    i_yz: o.i_yz * unit,
                    saturated: o.i_xz > log_n - req.saturation.margin_nats,
                    params: o.params,
                    i_yz_baseline: o.i_yz_baseline * unit,
                    ..base.clone()
                });
            }
            for (e, rule) in estimates {
                for &est in &pairwise {
                    let b: Bound = if est == Estimator::Kl { e.kl } else { e.bd };
                    rows.push(EstimateRow {
                        estimator: est,
                        sigma2: e.sigma2,
                        sigma2_rule: rule.clone(),
                        sigma2_over_nn: e.sigma2 / nn_median,
                        i_xz: b.i_xz * unit,
                        i_yz: b.i_yz * unit,
                        i_yz_lo: e.i_yz_lo * unit,
                        i_yz_hi: e.i_yz_hi * unit,
                        h_y: e.h_y * unit,
                        log_n: e.log_n * unit,
                        n_eff: b.n_eff,
                        saturated: b.saturated,
                        ..base.clone()
                    });
                }
            }
            done += 1;
            progress(done, total);
        }
    }
    Ok(rows)
}

/// One (layer, epoch). Without σ² rules a single pass gives the estimates and the distance
/// statistics (nearest neighbours for `sigma2_over_nn`, everything with `all_stats`); with
/// rules a first pass gathers all distance statistics and picks σ².
fn run_one<T: crate::pairwise::Element>(
    z: &Array2<T>,
    labels: &[u32],
    layer: &str,
    req: &EstimateRequest,
    all_stats: bool,
) -> (Vec<(PairwiseEstimate, String)>, DistanceStats) {
    let (chosen, first) = if req.sigma2.has_rules() {
        let d = crate::distances::stats(z, labels, req.pass.tile);
        (req.sigma2.resolve(layer, Some(&d)), Some(d))
    } else {
        (req.sigma2.resolve(layer, None), None)
    };
    let sigma2s: Vec<f64> = chosen.iter().map(|c| c.sigma2).collect();
    let opts = PassOptions {
        stats: if all_stats && first.is_none() {
            Stats::All
        } else {
            Stats::Nearest
        },
        ..req.pass
    };
    let result = pairwise_estimates(z.view(), labels, &sigma2s, &opts, &req.saturation);
    let distances = first.unwrap_or(result.distances);
    let rows = result
        .estimates
        .into_iter()
        .zip(chosen)
        .map(|(e, c)| (e, c.rule))
        .collect();
    (rows, distances)
}

/// The rows as a table with [`ESTIMATE_COLUMNS`].
pub fn estimates_table(rows: &[EstimateRow]) -> Table {
    let f = |g: fn(&EstimateRow) -> f64| Column::F64(rows.iter().map(g).collect());
    let s = |g: fn(&EstimateRow) -> String| Column::Str(rows.iter().map(g).collect());
    let i = |g: fn(&EstimateRow) -> i64| Column::I64(rows.iter().map(g).collect());
    Table::new()
        .with("run", s(|r| r.run.clone()))
        .with("layer", s(|r| r.layer.clone()))
        .with("layer_index", i(|r| r.layer_index as i64))
        .with("layer_kind", s(|r| r.layer_kind.clone()))
        .with("epoch", i(|r| i64::from(r.epoch)))
        .with("estimator", s(|r| r.estimator.to_string()))
        .with("sigma2", f(|r| r.sigma2))
        .with("sigma2_rule", s(|r| r.sigma2_rule.clone()))
        .with("sigma2_over_nn", f(|r| r.sigma2_over_nn))
        .with("i_xz", f(|r| r.i_xz))
        .with("i_yz", f(|r| r.i_yz))
        .with("i_yz_lo", f(|r| r.i_yz_lo))
        .with("i_yz_hi", f(|r| r.i_yz_hi))
        .with("n", i(|r| r.n as i64))
        .with("h_y", f(|r| r.h_y))
        .with("log_n", f(|r| r.log_n))
        .with("n_eff", f(|r| r.n_eff))
        .with(
            "saturated",
            Column::Bool(rows.iter().map(|r| r.saturated).collect()),
        )
        .with("unit", s(|r| r.unit.to_string()))
        .with("params", s(|r| r.params.clone()))
        .with("i_yz_baseline", f(|r| r.i_yz_baseline))
}

/// One estimate of a non-pairwise estimator, in nats.
struct OtherEstimate {
    estimator: Estimator,
    i_xz: f64,
    i_yz: f64,
    i_yz_baseline: f64,
    params: String,
}

/// Runs bin, renyi and mine (those requested) on one (layer, epoch).
fn other_estimators(
    archive: &Archive,
    z: &Array2<f32>,
    labels: &[u32],
    inputs: Option<&Array2<f32>>,
    req: &EstimateRequest,
    input_kernel: &mut Option<crate::renyi::InputKernel>,
) -> Result<Vec<OtherEstimate>> {
    let mut out = Vec::new();
    let ln2 = std::f64::consts::LN_2;
    if req.estimators.contains(&Estimator::Bin) {
        for b in &req.binnings {
            let e = crate::binning::bin_estimate(z.view(), labels, *b);
            out.push(OtherEstimate {
                estimator: Estimator::Bin,
                i_xz: e.i_xz,
                i_yz: e.i_yz,
                i_yz_baseline: f64::NAN,
                params: format!("{} distinct={}", b.describe(), e.distinct),
            });
        }
    }
    if req.estimators.contains(&Estimator::Renyi) {
        let o = &req.renyi;
        let zf = z.mapv(f64::from);
        let e = match inputs {
            // Exact path: the inputs' kernel is the same for every (layer, epoch); compute once.
            Some(x) if labels.len() <= o.max_n => {
                if input_kernel.is_none() {
                    *input_kernel = Some(crate::renyi::input_kernel(x.mapv(f64::from).view(), o)?);
                }
                crate::renyi::renyi_estimate_with(zf.view(), input_kernel.as_ref(), labels, o)
            }
            Some(x) => {
                crate::renyi::renyi_estimate(zf.view(), Some(x.mapv(f64::from).view()), labels, o)
            }
            None => crate::renyi::renyi_estimate(zf.view(), None, labels, o),
        }
        .map_err(|e| Error::request(archive.dir(), e.to_string()))?;
        let mut params = format!(
            "alpha={} kernel={} sigma_z={:.6} sigma_x={:.6}",
            o.alpha,
            o.convention.describe(),
            e.sigma,
            e.sigma_x
        );
        if inputs.is_none() {
            params.push_str(" no_inputs");
        }
        if e.subsets > 0 {
            params.push_str(&format!(
                " approximate=mean_of_{}_subsets_of_{} sd_i_xz={:.4} sd_i_yz={:.4}",
                e.subsets,
                o.max_n,
                e.spread.0 * ln2,
                e.spread.1 * ln2
            ));
        }
        out.push(OtherEstimate {
            estimator: Estimator::Renyi,
            i_xz: e.i_xz * ln2,
            i_yz: e.i_yz * ln2,
            i_yz_baseline: e.i_yz_baseline * ln2,
            params,
        });
    }
    if req.estimators.contains(&Estimator::Mine) {
        let o = &req.mine;
        let zf = z.mapv(f64::from);
        let n_classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(1);
        let onehot = Array2::from_shape_fn((labels.len(), n_classes), |(i, c)| {
            if labels[i] as usize == c {
                1.0
            } else {
                0.0
            }
        });
        let params = format!(
            "variant={} hidden={:?} steps<={} batch={} lr={} seed={}",
            o.variant.name(),
            o.hidden,
            o.steps,
            o.batch,
            o.lr,
            o.seed
        );
        let xz = inputs
            .map(|x| crate::mine::mine_estimate(x.mapv(f64::from).view(), zf.view(), o))
            .transpose();
        let yz = crate::mine::mine_estimate(onehot.view(), zf.view(), o);
        match (xz, yz) {
            (Ok(xz), Ok(yz)) => out.push(OtherEstimate {
                estimator: Estimator::Mine,
                i_xz: xz.map_or(f64::NAN, |e| e.value),
                i_yz: yz.value,
                i_yz_baseline: f64::NAN,
                params,
            }),
            (Err(e), _) | (_, Err(e)) => out.push(OtherEstimate {
                estimator: Estimator::Mine,
                i_xz: f64::NAN,
                i_yz: f64::NAN,
                i_yz_baseline: f64::NAN,
                params: format!("{params} error={}", e.to_string().replace(',', ";")),
            }),
        }
    }
    Ok(out)
}
