//! Running the estimators over archives: every selected (layer, epoch) through every requested
//! estimator, as rows of the estimates table (in nats; bits only when the table is written);
//! the distance distributions of the same representations ([`distances`]).
//!
//! This is the only place where the archive meets the estimators: it reads each (layer, epoch)
//! once, checks it, hands it to the estimators ([`crate::estimator`]) as a
//! [`LayerEpoch`], and adds the run's columns to their estimates. `sigma2_over_nn` expresses
//! each σ² relative to the median squared nearest-neighbour distance of that representation,
//! which makes values comparable across layers whose scale differs (I(σ²; cZ) = I(σ²/c²; Z)).

pub mod distances;
pub mod stream;

use crate::archive::{first_non_finite, format_epoch_ranges, Archive, LayerInfo, LayerKind};
use crate::error::{Error, Result};
use crate::estimator::pairwise::{stats_in, DistanceStats};
use crate::estimator::subsample::{self, ErrorBars};
use crate::estimator::{
    self, saturated_near_log_n, ArchiveCache, Estimate, Estimator, EstimatorParams, Inputs,
    LayerEpoch, Reference,
};
use crate::labels::{class_counts, entropy_nats};
use crate::selection::{self, Epochs};
use crate::table::estimates::{normal_interval, EstimateRow};

/// What to estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateRequest {
    /// Estimator names (`kl`, `bd`, `bin`, `renyi`, `mine`).
    pub estimators: Vec<String>,
    /// Every estimator's parameters.
    pub params: EstimatorParams,
    /// Layers by name (None: all).
    pub layers: Option<Vec<String>>,
    /// Epochs.
    pub epochs: Epochs,
    /// Only these (layer index, epoch) units of the selection, when set (a shard's units).
    pub units: Option<std::collections::BTreeSet<(usize, u32)>>,
    /// The archive's label set that Y is (None: its first).
    pub labels: Option<String>,
}

impl EstimateRequest {
    /// A request for `estimators` with every parameter at its default, all layers and epochs.
    pub fn new(estimators: &[&str]) -> Self {
        EstimateRequest {
            estimators: estimators.iter().map(|s| s.to_string()).collect(),
            params: EstimatorParams::default(),
            layers: None,
            epochs: Epochs::All,
            units: None,
            labels: None,
        }
    }

    /// A hash of everything that decides the rows' values and selection: the estimators,
    /// every parameter, the layers and epochs (the `request` column; `merge` refuses parts
    /// whose requests differ). The unit filter of a shard is not part of it.
    pub fn fingerprint(&self) -> String {
        let mut text = format!(
            "{:?}|{:?}|{:?}|{:?}",
            self.estimators, self.params, self.layers, self.epochs
        );
        if let Some(labels) = &self.labels {
            text.push_str(&format!("|labels={labels}"));
        }
        format!("{:016x}", crate::util::hash::fnv1a(text.as_bytes()))
    }

    /// Builds (and so checks) the estimators before any work is done.
    pub fn build(&self) -> Result<Vec<Box<dyn Estimator>>> {
        estimator::build(&self.params, &self.estimators)
    }
}

/// Receives (layer index, epoch, distance statistics) of each (layer, epoch).
pub(crate) type DistanceSink<'a> = dyn FnMut(usize, u32, &DistanceStats) + 'a;

/// What every (layer, epoch) of one archive's estimation shares.
struct Shared {
    run: String,
    /// What each epoch is (a checkpoint's label), where the recording says.
    epoch_labels: std::collections::BTreeMap<u32, String>,
    /// The recording's seed, as text (empty when unknown).
    seed: String,
    /// What runs must share to be aggregated ([`config`]).
    config: String,
    /// The archive's fingerprint.
    fingerprint: String,
    /// The request's fingerprint.
    request: String,
    /// The label set's name, and ` labels=NAME` for the settings of rows whose label set is
    /// not the archive's first (rows of two label sets then never share a key).
    label_set: (String, String),
    labels: Vec<u32>,
    classes: usize,
    inputs: Option<ndarray::Array2<f32>>,
    h_y: f64,
    /// The request's parameters (saturation margin; precision and tile of a distance-only
    /// pass).
    params: EstimatorParams,
    /// The archive, named in messages (None for arrays).
    origin: Option<std::path::PathBuf>,
}

/// Estimates every selected (layer, epoch); `progress(done, total)` after each. With
/// `distances`, each (layer, epoch)'s distance statistics (histogram, nearest neighbours,
/// class means) go there too, from the pairwise pass when there is one.
pub fn estimate_archive(
    archive: &Archive,
    req: &EstimateRequest,
    progress: &mut dyn FnMut(usize, usize),
    mut distances: Option<&mut DistanceSink<'_>>,
) -> Result<Vec<EstimateRow>> {
    let estimators = req.build()?;
    for e in &estimators {
        for name in e.named_layers() {
            archive.layer(name)?;
        }
    }
    let layers = selection::layers(archive, req.layers.as_deref())?;
    let epochs = req.epochs.resolve(archive)?;
    if epochs.is_empty() {
        return Err(Error::request(
            archive.dir(),
            "no epoch with activations selected",
        ));
    }
    let mut shared = shared(archive, &estimators, req)?;
    shared.request = req.fingerprint();
    let keep = |li: usize, e: u32| req.units.as_ref().is_none_or(|u| u.contains(&(li, e)));
    let references = references(archive, &estimators)?;
    let mut cache = ArchiveCache::default();
    let total = layers
        .iter()
        .map(|&li| epochs.iter().filter(|&&e| keep(li, e)).count())
        .sum();
    let mut rows = Vec::new();
    let mut done = 0;
    for &li in &layers {
        if !epochs.iter().any(|&e| keep(li, e)) {
            continue;
        }
        for (at, epoch, users) in &references {
            let z = finite_activations(archive, li, *epoch)?;
            let data = shared.layer_epoch(&archive.layers()[li].name, z.view());
            for &k in users {
                estimators[k]
                    .prepare(&data, *at, *epoch, &mut cache)
                    .map_err(|err| {
                        Error::request(
                            archive.dir(),
                            format!("layer '{}' epoch {epoch}: {err}", data.layer),
                        )
                    })?;
            }
        }
        for &epoch in epochs.iter().filter(|&&e| keep(li, e)) {
            let sink = distances.as_deref_mut();
            let one = estimate_one(archive, &shared, &estimators, &mut cache, (li, epoch), sink)?;
            rows.extend(one);
            done += 1;
            progress(done, total);
        }
    }
    Ok(rows)
}

/// The reference epochs the estimators read (σ² rules fixed per layer), each resolved against
/// the archive's recorded epochs, with the estimators that read it.
fn references(
    archive: &Archive,
    estimators: &[Box<dyn Estimator>],
) -> Result<Vec<(Reference, u32, Vec<usize>)>> {
    let recorded = archive.activation_epochs();
    let mut out: Vec<(Reference, u32, Vec<usize>)> = Vec::new();
    for (k, e) in estimators.iter().enumerate() {
        for at in e.references() {
            let epoch = at.resolve(&recorded).ok_or_else(|| {
                Error::request(
                    archive.dir(),
                    format!(
                        "{}: the reference epoch {} has no recorded activations (epochs with activations: {})",
                        e.name(),
                        at.label(),
                        format_epoch_ranges(&recorded)
                    ),
                )
            })?;
            match out.iter_mut().find(|(a, ..)| *a == at) {
                Some(entry) => entry.2.push(k),
                None => out.push((at, epoch, vec![k])),
            }
        }
    }
    Ok(out)
}

/// The activations of one (layer, epoch), checked to be finite.
fn finite_activations(archive: &Archive, li: usize, epoch: u32) -> Result<ndarray::Array2<f32>> {
    let info = &archive.layers()[li];
    let z = archive.activations_at(li, epoch)?;
    if let Some((i, h, v)) = first_non_finite(z.view()) {
        return Err(Error::request(
            archive.dir(),
            format!(
                "layer '{}' epoch {epoch}: non-finite activation {v} at sample {i}, unit {h}; estimates need finite values",
                info.name
            ),
        ));
    }
    Ok(z)
}

impl Shared {
    /// An error about this archive (or these arrays).
    fn error(&self, message: String) -> Error {
        match &self.origin {
            Some(dir) => Error::request(dir, message),
            None => Error::Invalid(message),
        }
    }

    /// What the estimators receive for the layer `layer` with activations `z`.
    fn layer_epoch<'a>(
        &'a self,
        layer: &'a str,
        z: ndarray::ArrayView2<'a, f32>,
    ) -> LayerEpoch<'a> {
        LayerEpoch {
            layer,
            z,
            labels: &self.labels,
            classes: self.classes,
            inputs: self.inputs.as_ref().map(|x| x.view()),
        }
    }
}

/// Reads what every (layer, epoch) shares: labels, inputs when an estimator uses them, H(Y).
fn shared(
    archive: &Archive,
    estimators: &[Box<dyn Estimator>],
    req: &EstimateRequest,
) -> Result<Shared> {
    let (name, labels) = archive.labels_named(req.labels.as_deref())?;
    let classes = archive.manifest().analysis_set.classes_of(&name);
    let suffix = archive.manifest().analysis_set.setting_suffix(&name);
    let use_inputs = |i: Inputs| estimators.iter().any(|e| e.inputs() == i);
    let inputs = if use_inputs(Inputs::Optional) || use_inputs(Inputs::Required) {
        archive.inputs()?
    } else {
        None
    };
    if let Some(e) = estimators.iter().find(|e| e.inputs() == Inputs::Required) {
        if inputs.is_none() {
            return Err(Error::request(
                archive.dir(),
                format!(
                    "the archive stores no inputs X, which {} needs for I(X;Z) (record them, or import with --inputs)",
                    e.name().to_uppercase()
                ),
            ));
        }
    }
    let h_y = entropy_nats(&class_counts(&labels, classes));
    Ok(Shared {
        run: archive.manifest().run.name.clone(),
        epoch_labels: archive.manifest().run.epoch_labels.clone(),
        seed: archive
            .manifest()
            .run
            .seed
            .map_or(String::new(), |s| s.to_string()),
        config: config(archive.manifest()),
        fingerprint: archive.fingerprint()?,
        request: String::new(),
        label_set: (name, suffix),
        labels,
        classes,
        inputs,
        h_y,
        params: req.params.clone(),
        origin: Some(archive.dir().to_path_buf()),
    })
}

/// What runs must share to be aggregated over seeds: `model=M dataset=D layers=a:W,b:W,..`
/// (the `config` column).
pub fn config(m: &crate::archive::Manifest) -> String {
    let layers: Vec<String> = m
        .layers
        .iter()
        .map(|l| format!("{}:{}", l.name, l.width))
        .collect();
    format!(
        "model={} dataset={} layers={}",
        m.run.model,
        m.run.dataset,
        layers.join(",")
    )
}

/// Every estimator on one (layer, epoch).
fn estimate_one(
    archive: &Archive,
    shared: &Shared,
    estimators: &[Box<dyn Estimator>],
    cache: &mut ArchiveCache,
    (li, epoch): (usize, u32),
    distances: Option<&mut DistanceSink<'_>>,
) -> Result<Vec<EstimateRow>> {
    let info = &archive.layers()[li];
    let z = finite_activations(archive, li, epoch)?;
    let data = shared.layer_epoch(&info.name, z.view());
    rows_of(
        shared,
        estimators,
        cache,
        (li, info, epoch),
        &data,
        distances,
    )
}

/// Every estimator on `data`, the representation of layer `info` (index `li`) at `epoch`,
/// as table rows.
fn rows_of(
    shared: &Shared,
    estimators: &[Box<dyn Estimator>],
    cache: &mut ArchiveCache,
    (li, info, epoch): (usize, &LayerInfo, u32),
    data: &LayerEpoch<'_>,
    distances: Option<&mut DistanceSink<'_>>,
) -> Result<Vec<EstimateRow>> {
    let want = distances.is_some();
    let mut stats = None;
    let mut estimates = Vec::new();
    for e in estimators {
        let at = |err: Error| {
            shared.error(format!(
                "layer '{}' epoch {epoch}: {}: {err}",
                info.name,
                e.name()
            ))
        };
        let mut fit = e.fit(data, cache, want).map_err(at)?;
        if let ErrorBars::Subsample(k) = shared.params.common.error {
            let seed = shared.params.common.seed;
            let se = subsample::standard_errors(e.as_ref(), data, cache, &fit.estimates, (k, seed))
                .map_err(at)?;
            for (est, (sx, sy)) in fit.estimates.iter_mut().zip(se) {
                (est.i_xz_se, est.i_yz_se) = (sx, sy);
                est.param("error", format!("subsample:{k}"));
            }
        }
        estimates.extend(fit.estimates);
        stats = stats.or(fit.distances);
    }
    if let Some(sink) = distances {
        // No pairwise estimator computed them on the way: one distance-only pass.
        let p = &shared.params.pairwise;
        let d = stats.unwrap_or_else(|| stats_in(data.z, data.labels, p.precision, p.tile));
        sink(li, epoch, &d);
    }
    let n = shared.labels.len();
    let base = EstimateRow {
        seed: shared.seed.clone(),
        config: shared.config.clone(),
        fingerprint: shared.fingerprint.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        shard: "all".into(),
        request: shared.request.clone(),
        epoch_label: shared.epoch_labels.get(&epoch).cloned().unwrap_or_default(),
        labels: shared.label_set.0.clone(),
        ..EstimateRow::base(&shared.run, (li, info), epoch, n, shared.h_y)
    };
    let margin = shared.params.common.saturation_margin;
    Ok(estimates
        .into_iter()
        .map(|mut e| {
            e.setting.push_str(&shared.label_set.1);
            row(&base, e, n, margin)
        })
        .collect())
}

/// One representation given as arrays, with no archive: `z` (N x H), the class of each sample
/// and, for the estimators that use them, the inputs X (N x D).
#[derive(Debug, Clone, Copy)]
pub struct Arrays<'a> {
    /// Activations Z.
    pub z: ndarray::ArrayView2<'a, f32>,
    /// Class index of each sample.
    pub labels: &'a [u32],
    /// Number of classes (at least 1 + the largest label).
    pub classes: usize,
    /// Inputs X, when known.
    pub inputs: Option<ndarray::ArrayView2<'a, f32>>,
}

/// Estimates one representation given as arrays, with the same estimators, parameters and
/// rows as [`estimate_archive`]: the run is `arrays`, the layer `z` (kind unknown) at epoch 0,
/// and every reference epoch of a σ² rule is this representation itself. The request's layer
/// and epoch selection is not used.
pub fn estimate_arrays(a: Arrays<'_>, req: &EstimateRequest) -> Result<Vec<EstimateRow>> {
    let estimators = req.build()?;
    check_arrays(&a, &estimators)?;
    let shared = Shared {
        run: "arrays".into(),
        epoch_labels: Default::default(),
        seed: String::new(),
        config: String::new(),
        fingerprint: String::new(),
        request: req.fingerprint(),
        label_set: (String::new(), String::new()),
        labels: a.labels.to_vec(),
        classes: a.classes,
        inputs: a.inputs.map(|x| x.to_owned()),
        h_y: entropy_nats(&class_counts(a.labels, a.classes)),
        params: req.params.clone(),
        origin: None,
    };
    let info = LayerInfo {
        name: "z".into(),
        kind: LayerKind::Unknown,
        width: a.z.ncols(),
        shape: None,
        activation: None,
    };
    let data = shared.layer_epoch(&info.name, a.z);
    let mut cache = ArchiveCache::default();
    for e in &estimators {
        for at in e.references() {
            e.prepare(&data, at, 0, &mut cache)
                .map_err(|err| shared.error(format!("{}: {err}", e.name())))?;
        }
    }
    rows_of(&shared, &estimators, &mut cache, (0, &info, 0), &data, None)
}

/// Refuses arrays that do not fit together, non-finite activations, and an estimator that
/// needs inputs none were given for.
fn check_arrays(a: &Arrays<'_>, estimators: &[Box<dyn Estimator>]) -> Result<()> {
    let n = a.z.nrows();
    let fail = |m: String| Err(Error::Invalid(m));
    if a.labels.len() != n {
        return fail(format!("{} labels for {n} rows of Z", a.labels.len()));
    }
    if let Some(x) = a.inputs.filter(|x| x.nrows() != n) {
        return fail(format!("{} rows of X for {n} rows of Z", x.nrows()));
    }
    if let Some((i, y)) = a
        .labels
        .iter()
        .enumerate()
        .find(|(_, y)| **y as usize >= a.classes)
    {
        return fail(format!(
            "label {y} of sample {i} is not below the number of classes ({})",
            a.classes
        ));
    }
    if let Some((i, h, v)) = first_non_finite(a.z) {
        return fail(format!(
            "non-finite activation {v} at sample {i}, unit {h}; estimates need finite values"
        ));
    }
    if let Some(e) = estimators
        .iter()
        .find(|e| e.inputs() == Inputs::Required && a.inputs.is_none())
    {
        return fail(format!(
            "{} needs the inputs X for I(X;Z)",
            e.name().to_uppercase()
        ));
    }
    Ok(())
}

/// An estimate with the run's columns; estimators without their own saturation flag get the
/// general rule (I(X;Z) within `margin` nats of ln N).
fn row(base: &EstimateRow, mut e: Estimate, n: usize, margin: f64) -> EstimateRow {
    let near = saturated_near_log_n(e.i_xz, n, margin);
    e.saturated = Some(e.saturated.unwrap_or(near));
    EstimateRow {
        i_xz_ci: normal_interval(e.i_xz, e.i_xz_se),
        i_yz_ci: normal_interval(e.i_yz, e.i_yz_se),
        estimate: e,
        ..base.clone()
    }
}
