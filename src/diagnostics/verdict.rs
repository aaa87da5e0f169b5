//! The robustness verdict: per layer, is there a fitting phase (I(X;Z) and I(Y;Z) rise) and a
//! later compression phase (I(X;Z) falls while I(Y;Z) holds), and under which estimators, σ²
//! and seeds does that conclusion hold?
//!
//! Per trajectory (run, layer, estimator, setting), over its epochs in order, with the values
//! smoothed by a centred moving average of 3 epochs when there are 5 or more:
//! - the peak p is the epoch of the largest smoothed I(X;Z);
//! - the tolerance is `tol` nats, or twice the combined standard error of the two values
//!   compared when the rows carry one (`--error`, mc, MINE, aggregates), whichever is larger;
//! - *fitting*: I(X;Z) rises from the first epoch to p by more than the tolerance, and so
//!   does I(Y;Z) (to p or to the last epoch);
//! - *compression*: I(X;Z) falls from p to the last epoch by more than the tolerance while
//!   I(Y;Z) at the last epoch is at least its value at p minus the tolerance; when I(Y;Z)
//!   falls too it is *falls* (forgetting, not compression);
//! - *saturated*: a row at p or at the last epoch is flagged saturated; the trajectory cannot
//!   show compression (the estimate is pinned near ln N) and is void;
//! - fewer than 3 epochs: no trend can be judged.
//! - *scale change*: a compressing trajectory whose layer's distance scale (the median
//!   squared nearest-neighbour distance, σ² / `sigma2_over_nn` of the pairwise rows of the
//!   same run, layer and epoch) moved by more than [`SCALE_TOLERANCE`] between the peak and
//!   the last epoch. I(σ²; cZ) = I(σ²/c²; Z), so shrinking activations at a fixed σ² lower
//!   I(X;Z) with no loss of information: the verdict says "scale change" beside
//!   "compresses" (Saxe et al. 2018; Goldfeld et al. 2019).
//!
//! The per-layer conclusion names where compression holds in every run, where it does not,
//! and why (saturation, no fall), and whether it is robust across estimators.

use std::collections::BTreeMap;

use polars::prelude::DataFrame;

use crate::diagnostics::dpi;
use crate::error::{Error, Result};
use crate::table::estimates::EstimateRow;
use crate::table::{frame, Values};

/// The default tolerance, nats.
pub const DEFAULT_TOLERANCE: f64 = 0.05;

/// The factor by which a layer's squared distance scale may move across a compression phase
/// before the verdict calls it a scale change: a factor of 2 acts like halving or doubling
/// σ², one step of the halving grids the σ² rules and sweeps use.
pub const SCALE_TOLERANCE: f64 = 2.0;

/// What one trajectory shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// I(X;Z) falls after its peak while I(Y;Z) holds.
    Compression,
    /// I(X;Z) falls after its peak and I(Y;Z) falls too.
    Falls,
    /// No fall of I(X;Z) beyond the tolerance.
    NoCompression,
    /// Saturated at the peak or at the end: void.
    Saturated,
    /// Fewer than 3 epochs.
    TooFewEpochs,
}

impl Phase {
    /// Its name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Compression => "compression",
            Phase::Falls => "falls",
            Phase::NoCompression => "no compression",
            Phase::Saturated => "saturated",
            Phase::TooFewEpochs => "too few epochs",
        }
    }
}

/// One trajectory's classification.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trajectory {
    /// Whether the fitting phase is there.
    pub fitting: bool,
    /// What follows the peak.
    pub phase: Phase,
    /// The epoch of the I(X;Z) peak (the compression onset).
    pub peak_epoch: u32,
    /// The last epoch.
    pub last_epoch: u32,
}

/// Moving average of 3 (ends averaged over 2), when there are 5 values or more.
fn smooth(v: &[f64]) -> Vec<f64> {
    if v.len() < 5 {
        return v.to_vec();
    }
    (0..v.len())
        .map(|i| {
            let w = &v[i.saturating_sub(1)..(i + 2).min(v.len())];
            w.iter().sum::<f64>() / w.len() as f64
        })
        .collect()
}

/// Classifies one trajectory: `rows` of one (run, layer, estimator, setting), in epoch
/// order; `tol` in nats.
pub(crate) fn classify(rows: &[&EstimateRow], tol: f64) -> Trajectory {
    if rows.len() < 3 {
        return Trajectory {
            fitting: false,
            phase: Phase::TooFewEpochs,
            peak_epoch: rows.first().map_or(0, |r| r.epoch),
            last_epoch: rows.last().map_or(0, |r| r.epoch),
        };
    }
    let x = smooth(&rows.iter().map(|r| r.i_xz).collect::<Vec<_>>());
    let y = smooth(&rows.iter().map(|r| r.i_yz).collect::<Vec<_>>());
    let p = (0..x.len()).fold(0, |b, i| if x[i] > x[b] { i } else { b });
    let last = x.len() - 1;
    let se = |i: usize, f: fn(&EstimateRow) -> f64| {
        let v = f(rows[i]);
        if v.is_finite() {
            v
        } else {
            0.0
        }
    };
    let t = |a: usize, b: usize, f: fn(&EstimateRow) -> f64| {
        tol.max(2.0 * (se(a, f).powi(2) + se(b, f).powi(2)).sqrt())
    };
    let (tx, ty) = (|r: &EstimateRow| r.i_xz_se, |r: &EstimateRow| r.i_yz_se);
    let fitting = x[p] - x[0] > t(0, p, tx) && y[p].max(y[last]) - y[0] > t(0, last, ty);
    let phase = if rows[p].is_saturated() || rows[last].is_saturated() {
        Phase::Saturated
    } else if x[p] - x[last] <= t(p, last, tx) {
        Phase::NoCompression
    } else if y[last] >= y[p] - t(p, last, ty) {
        Phase::Compression
    } else {
        Phase::Falls
    };
    Trajectory {
        fitting,
        phase,
        peak_epoch: rows[p].epoch,
        last_epoch: rows[last].epoch,
    }
}

/// The distance scale of each (run, layer index, epoch): σ² / `sigma2_over_nn` of its rows
/// that have both (the median over them), i.e. the median squared nearest-neighbour distance.
pub(crate) fn distance_scales(rows: &[EstimateRow]) -> BTreeMap<(String, usize, u32), f64> {
    let mut all: BTreeMap<(String, usize, u32), Vec<f64>> = BTreeMap::new();
    for r in rows {
        let nn = r.sigma2 / r.sigma2_over_nn;
        if nn.is_finite() && nn > 0.0 {
            all.entry((r.run.clone(), r.layer_index, r.epoch))
                .or_default()
                .push(nn);
        }
    }
    all.into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            (k, v[v.len() / 2])
        })
        .collect()
}

/// The verdict on one (layer, estimator, setting) over its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingVerdict {
    /// Layer name.
    pub layer: String,
    /// Layer index.
    pub layer_index: usize,
    /// Estimator.
    pub estimator: String,
    /// Setting.
    pub setting: String,
    /// Median σ² over the runs (NaN without one).
    pub sigma2: f64,
    /// Runs.
    pub runs: usize,
    /// Runs with a fitting phase.
    pub fitting: usize,
    /// Runs per phase.
    pub phases: BTreeMap<Phase, usize>,
    /// Median epoch of the I(X;Z) peak over the compressing runs (of all runs when none).
    pub onset_epoch: u32,
    /// Compressing runs whose distance scale moved by more than [`SCALE_TOLERANCE`] between
    /// the peak and the last epoch.
    pub scale_change: usize,
    /// The largest such move over the compressing runs, as a factor ≥ 1 (NaN when unknown).
    pub scale_factor: f64,
}

impl SettingVerdict {
    /// Runs in `phase`.
    pub fn count(&self, phase: Phase) -> usize {
        self.phases.get(&phase).copied().unwrap_or(0)
    }

    /// Compression in every run.
    pub fn compresses(&self) -> bool {
        self.runs > 0 && self.count(Phase::Compression) == self.runs
    }
}

/// The whole verdict: per setting, per-layer sentences, persistent DPI findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// One entry per (layer, estimator, setting).
    pub settings: Vec<SettingVerdict>,
    /// One plain-language conclusion per layer.
    pub layers: Vec<String>,
    /// DPI violations that are definite at every σ² of an estimator, with the runs they
    /// appear in.
    pub dpi: Vec<String>,
    /// Why no trend could be judged, when that is so.
    pub note: Option<String>,
}

fn median_u32(mut v: Vec<u32>) -> u32 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// Judges `rows` (any number of runs, estimators and settings) with tolerance `tol` nats.
pub fn verdict(rows: &[EstimateRow], tol: f64) -> Result<Verdict> {
    dpi::validate_tolerance(tol)?;
    if rows.is_empty() {
        return Err(Error::Invalid("verdict: no rows".into()));
    }
    type Key = (usize, String, String, String);
    let scales = distance_scales(rows);
    let mut traj: BTreeMap<Key, BTreeMap<String, Vec<&EstimateRow>>> = BTreeMap::new();
    for r in rows {
        let key = (
            r.layer_index,
            r.layer.clone(),
            r.estimator.to_string(),
            r.setting.clone(),
        );
        traj.entry(key)
            .or_default()
            .entry(r.run.clone())
            .or_default()
            .push(r);
    }
    let mut settings = Vec::new();
    for ((li, layer, est, setting), runs) in traj {
        let mut v = SettingVerdict {
            layer,
            layer_index: li,
            estimator: est,
            setting,
            sigma2: f64::NAN,
            runs: runs.len(),
            fitting: 0,
            phases: BTreeMap::new(),
            onset_epoch: 0,
            scale_change: 0,
            scale_factor: f64::NAN,
        };
        let mut onsets = (Vec::new(), Vec::new());
        let mut sigma2 = Vec::new();
        for (run, mut rs) in runs {
            rs.sort_by_key(|r| r.epoch);
            let t = classify(&rs, tol);
            v.fitting += usize::from(t.fitting);
            *v.phases.entry(t.phase).or_default() += 1;
            if t.phase == Phase::Compression {
                onsets.0.push(t.peak_epoch);
                let at = |e: u32| scales.get(&(run.clone(), li, e)).copied();
                if let (Some(a), Some(b)) = (at(t.peak_epoch), at(t.last_epoch)) {
                    let factor = (b / a).max(a / b);
                    v.scale_factor = v.scale_factor.max(factor);
                    v.scale_change += usize::from(factor > SCALE_TOLERANCE);
                }
            }
            onsets.1.push(t.peak_epoch);
            sigma2.push(rs[0].sigma2);
        }
        sigma2.sort_by(f64::total_cmp);
        v.sigma2 = sigma2[sigma2.len() / 2];
        v.onset_epoch = median_u32(if onsets.0.is_empty() {
            onsets.1
        } else {
            onsets.0
        });
        settings.push(v);
    }
    let note = settings
        .iter()
        .all(|s| s.count(Phase::TooFewEpochs) == s.runs)
        .then(|| "every trajectory has fewer than 3 epochs: no trend can be judged (estimate more epochs)".to_string());
    let layers = layer_sentences(&settings);
    let dpi = persistent_dpi(rows, tol)?;
    Ok(Verdict {
        settings,
        layers,
        dpi,
        note,
    })
}

/// The σ² of settings as text: numeric ones as a range `σ² in [a, b]` (or `σ² = a`), rules
/// listed.
fn sigma_text(set: &[&SettingVerdict]) -> String {
    let mut nums: Vec<f64> = set
        .iter()
        .filter_map(|s| s.setting.parse::<f64>().ok())
        .collect();
    nums.sort_by(f64::total_cmp);
    let others: Vec<&str> = set
        .iter()
        .filter(|s| s.setting.parse::<f64>().is_err())
        .map(|s| s.setting.as_str())
        .collect();
    let mut parts = Vec::new();
    match nums.as_slice() {
        [] => {}
        [a] => parts.push(format!("σ² = {a}")),
        [a, .., b] => parts.push(format!("σ² in [{a}, {b}]")),
    }
    if !others.is_empty() {
        parts.push(others.join(", "));
    }
    parts.join(", ")
}

/// Where a conclusion holds, estimators with the same σ² together: `bd, kl for σ² in
/// [0.001, 0.1]; mc for σ² = 0.01; bin (edges=30 range=[-1,1])`.
fn where_text(set: &[&SettingVerdict]) -> String {
    let mut by: BTreeMap<&str, Vec<&SettingVerdict>> = BTreeMap::new();
    for s in set {
        by.entry(&s.estimator).or_default().push(s);
    }
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (e, v) in &by {
        let text = if v.iter().all(|s| s.sigma2.is_nan()) {
            let settings: Vec<&str> = v.iter().map(|s| s.setting.as_str()).collect();
            format!("({})", settings.join(", "))
        } else {
            format!("for {}", sigma_text(v))
        };
        match groups.iter_mut().find(|(t, _)| *t == text) {
            Some((_, es)) => es.push(e),
            None => groups.push((text, vec![e])),
        }
    }
    groups
        .iter()
        .map(|(t, es)| format!("{} {t}", es.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One sentence per layer.
fn layer_sentences(settings: &[SettingVerdict]) -> Vec<String> {
    let mut by: BTreeMap<(usize, &str), Vec<&SettingVerdict>> = BTreeMap::new();
    for s in settings {
        by.entry((s.layer_index, &s.layer)).or_default().push(s);
    }
    by.into_iter()
        .map(|((_, layer), v)| layer_sentence(layer, &v))
        .collect()
}

/// The conclusion for one layer from its settings.
fn layer_sentence(layer: &str, v: &[&SettingVerdict]) -> String {
    if v.iter().all(|s| s.count(Phase::TooFewEpochs) == s.runs) {
        return format!("{layer}: no trend can be judged (fewer than 3 epochs)");
    }
    let runs = v.iter().map(|s| s.runs).max().unwrap_or(0);
    let holds: Vec<&SettingVerdict> = v.iter().copied().filter(|s| s.compresses()).collect();
    let saturated: Vec<&SettingVerdict> = v
        .iter()
        .copied()
        .filter(|s| !s.compresses() && s.count(Phase::Saturated) > 0)
        .collect();
    let other: Vec<&SettingVerdict> = v
        .iter()
        .copied()
        .filter(|s| !s.compresses() && s.count(Phase::Saturated) == 0)
        .collect();
    let fit = v.iter().filter(|s| s.fitting == s.runs).count();
    let fitting = format!("a fitting phase in {fit} of {} settings", v.len());
    let void = |t: &mut String| {
        if !saturated.is_empty() {
            t.push_str(&format!(
                " Void (saturated) under {}.",
                where_text(&saturated)
            ));
        }
    };
    if holds.is_empty() {
        let mut t =
            format!("{layer}: no compression in every run under any estimator or σ²; {fitting}.");
        void(&mut t);
        return t;
    }
    let onset = median_u32(holds.iter().map(|s| s.onset_epoch).collect());
    let scaled: Vec<&SettingVerdict> = holds
        .iter()
        .copied()
        .filter(|s| s.scale_change > 0)
        .collect();
    let factor = scaled
        .iter()
        .map(|s| s.scale_factor)
        .fold(f64::NAN, f64::max);
    let tag = if scaled.is_empty() {
        String::new()
    } else {
        format!(" (scale change ×{factor:.1})")
    };
    let mut t = format!(
        "{layer}: compresses{tag} after epoch ~{onset} in {runs} of {runs} runs under {}.",
        where_text(&holds)
    );
    if !scaled.is_empty() {
        t.push_str(&format!(
            " Scale change under {}: the layer's squared distances moved by a factor of {factor:.1} over the compression phase, so at a fixed σ² the fall of I(X;Z) may be the scale alone (I(σ²; cZ) = I(σ²/c²; Z)); compare with an estimator that ignores scale (ksg, bin on ranks) or a σ² that follows it.",
            where_text(&scaled)
        ));
    }
    if !other.is_empty() {
        t.push_str(&format!(" Not under {}.", where_text(&other)));
    }
    void(&mut t);
    t.push_str(&format!(" {}; {fitting}.", robustness(v)));
    t
}

/// How far a layer's conclusion reaches: per estimator, compression in all, some or none of
/// its settings.
fn robustness(v: &[&SettingVerdict]) -> &'static str {
    let mut by: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for s in v {
        let e = by.entry(&s.estimator).or_default();
        e.0 += usize::from(s.compresses());
        e.1 += 1;
    }
    let some = by.values().any(|&(k, n)| k > 0 && k < n);
    let none = by.values().any(|&(k, _)| k == 0);
    let pairwise_only = by
        .iter()
        .all(|(e, (k, _))| *k == 0 || crate::estimator::kind(e).noisy);
    match (some, none) {
        (false, false) => "Robust across every estimator and σ² tried",
        (true, false) => "Depends on σ²",
        (true, true) => "Depends on σ² and on the estimator",
        (false, true) if pairwise_only => "Robust within pairwise estimators only",
        (false, true) => "Depends on the estimator",
    }
}

/// Definite DPI violations present at every σ² setting of their estimator (two or more),
/// with the number of runs they appear in.
fn persistent_dpi(rows: &[EstimateRow], tol: f64) -> Result<Vec<String>> {
    let v = dpi::check(rows, tol)?;
    let mut settings: BTreeMap<(&str, &str), std::collections::BTreeSet<&str>> = BTreeMap::new();
    for r in rows {
        settings
            .entry((&r.run, &r.estimator))
            .or_default()
            .insert(&r.setting);
    }
    let runs: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.run.as_str()).collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in dpi::findings(&v, rows) {
        let all = settings
            .get(&(f.run.as_str(), f.estimator.as_ref()))
            .map_or(0, |s| s.len());
        if f.definite > 0 && all >= 2 && f.settings.len() == all {
            let (l, r) = (&f.layer, &f.reference_layer);
            let claim = match f.check {
                dpi::Check::DpiX => format!("I(X;{l}) above I(X;{r})"),
                dpi::Check::DpiY => format!("I(Y;{l}) above I(Y;{r})"),
                dpi::Check::BoundX => format!("I(X;{l}) outside [0, ln N]"),
                dpi::Check::BoundY => format!("I(Y;{l}) outside [0, H(Y)]"),
                dpi::Check::Saturation => continue,
            };
            let what = format!("{}: {claim} at every σ²", f.estimator);
            *seen.entry(what).or_default() += 1;
        }
    }
    Ok(seen
        .into_iter()
        .map(|(w, k)| format!("{w}, in {k} of {} runs", runs.len()))
        .collect())
}

/// The verdict per setting as a table: `layer, layer_index, estimator, setting, sigma2,
/// runs, fitting_runs, compression_runs, falls_runs, no_compression_runs, saturated_runs,
/// too_few_epochs_runs, onset_epoch, scale_change_runs, scale_factor, conclusion`.
pub fn verdict_table(v: &Verdict) -> Result<DataFrame> {
    let s = &v.settings;
    let count = |p: Phase| Values::I64(s.iter().map(|x| x.count(p) as i64).collect());
    frame(vec![
        (
            "layer",
            Values::Str(s.iter().map(|x| x.layer.clone()).collect()),
        ),
        (
            "layer_index",
            Values::I64(s.iter().map(|x| x.layer_index as i64).collect()),
        ),
        (
            "estimator",
            Values::Str(s.iter().map(|x| x.estimator.to_string()).collect()),
        ),
        (
            "setting",
            Values::Str(s.iter().map(|x| x.setting.clone()).collect()),
        ),
        ("sigma2", Values::F64(s.iter().map(|x| x.sigma2).collect())),
        (
            "runs",
            Values::I64(s.iter().map(|x| x.runs as i64).collect()),
        ),
        (
            "fitting_runs",
            Values::I64(s.iter().map(|x| x.fitting as i64).collect()),
        ),
        ("compression_runs", count(Phase::Compression)),
        ("falls_runs", count(Phase::Falls)),
        ("no_compression_runs", count(Phase::NoCompression)),
        ("saturated_runs", count(Phase::Saturated)),
        ("too_few_epochs_runs", count(Phase::TooFewEpochs)),
        (
            "onset_epoch",
            Values::I64(s.iter().map(|x| i64::from(x.onset_epoch)).collect()),
        ),
        (
            "scale_change_runs",
            Values::I64(s.iter().map(|x| x.scale_change as i64).collect()),
        ),
        (
            "scale_factor",
            Values::F64(s.iter().map(|x| x.scale_factor).collect()),
        ),
        (
            "conclusion",
            Values::Str(s.iter().map(conclusion).collect()),
        ),
    ])
}

/// One setting's conclusion in words: `compression in 5 of 5 runs`, ...
fn conclusion(s: &SettingVerdict) -> String {
    let (phase, k) = s
        .phases
        .iter()
        .max_by_key(|(p, k)| (**k, std::cmp::Reverse(**p)))
        .map_or((Phase::TooFewEpochs, 0), |(p, k)| (*p, *k));
    let scale = if phase == Phase::Compression && s.scale_change > 0 {
        format!(" (scale change in {} of them)", s.scale_change)
    } else {
        String::new()
    };
    format!("{} in {k} of {} runs{scale}", phase.label(), s.runs)
}
