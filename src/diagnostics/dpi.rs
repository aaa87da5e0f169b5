//! Data-processing-inequality and bound checks on estimate tables, with each violation
//! classified as definite, within the estimator's own gap, or not applicable.
//!
//! For a feed-forward chain X → Z^1 → Z^2 → …, I(X;Z^{l+1}) ≤ I(X;Z^l) and
//! I(Y;Z^{l+1}) ≤ I(Y;Z^l) (Cover & Thomas, Theorem 2.8.1). Estimates with noise added only at
//! measurement time need not obey it, so a violation (value at l+1 above value at l by more than
//! the tolerance) is classified (Kolchinsky & Tracey 2017; docs/estimators.md):
//! - **definite** when it exceeds the estimator's own upper-lower gap: for I(X;Z),
//!   I_BD(X;Z^{l+1}) > I_KL(X;Z^l) + tol (needs the kl and bd rows at the same σ²); for I(Y;Z),
//!   the rigorous bracket of l+1 lies above the bracket of l (lo(l+1) > hi(l) + tol);
//! - **within_gap** otherwise (the bounds of the two layers overlap), or `unknown_gap` when the
//!   estimator has no bound pair (then it is reported, not judged);
//! - **not_applicable** when Z^{l+1} is not a function of Z^l alone: layer l+1 is a graph or
//!   recurrent layer (neighbour averaging, recurrence), or the output of a graph network.
//!
//! Bound checks: I(Y;Z) in [0, H(Y)] and I(X;Z) in [0, log N] (outside by more than the
//! tolerance is `definite`); saturated estimates are listed as check `saturation`, category
//! `flag`. Layers are compared within one (run, estimator, σ² group, epoch); a σ² rule (thesis,
//! nn) counts as one group although its value differs per layer.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::estimator::Side;
use crate::table::estimates::{EstimateRow, Unit};
use crate::table::{frame, Values};

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// I(X;Z^{l+1}) ≤ I(X;Z^l).
    DpiX,
    /// I(Y;Z^{l+1}) ≤ I(Y;Z^l).
    DpiY,
    /// 0 ≤ I(X;Z) ≤ log N.
    BoundX,
    /// 0 ≤ I(Y;Z) ≤ H(Y).
    BoundY,
    /// The estimate is saturated.
    Saturation,
}

impl Check {
    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Check::DpiX => "dpi_x",
            Check::DpiY => "dpi_y",
            Check::BoundX => "bound_x",
            Check::BoundY => "bound_y",
            Check::Saturation => "saturation",
        }
    }
}

/// How serious a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Exceeds the estimator's own gap, or breaks a hard bound.
    Definite,
    /// Within the gap between the estimator's lower and upper bounds.
    WithinGap,
    /// No bound pair to judge by.
    UnknownGap,
    /// The layers are not a Markov chain.
    NotApplicable,
    /// A warning (saturation), not a violation.
    Flag,
}

impl Category {
    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Category::Definite => "definite",
            Category::WithinGap => "within_gap",
            Category::UnknownGap => "unknown_gap",
            Category::NotApplicable => "not_applicable",
            Category::Flag => "flag",
        }
    }
}

/// One violation (or flag).
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Run.
    pub run: String,
    /// Estimator.
    pub estimator: String,
    /// The estimator's setting (σ² group, binning, ...: [`EstimateRow::setting`]).
    pub sigma2: String,
    /// Epoch.
    pub epoch: u32,
    /// What was checked.
    pub check: Check,
    /// The layer whose value is out of line (l+1 for DPI checks).
    pub layer: String,
    /// The layer it is compared with (l for DPI checks; empty for bounds).
    pub reference_layer: String,
    /// The offending value (nats).
    pub value: f64,
    /// What it should not exceed (value at l, H(Y), log N; 0 for negative values), nats.
    pub reference: f64,
    /// How far beyond: value - reference (or -value below 0), nats.
    pub excess: f64,
    /// The classification.
    pub category: Category,
}

/// Kinds across which the DPI does not apply.
fn markov(prev_kind: &str, next_kind: &str) -> bool {
    !(matches!(next_kind, "graph" | "recurrent") || (next_kind == "output" && prev_kind == "graph"))
}

/// The default tolerance, in the table's unit.
pub const DEFAULT_TOLERANCE: f64 = 1e-3;

/// Checks a tolerance for [`check`]: finite and not negative.
pub fn validate_tolerance(tol: f64) -> Result<()> {
    if tol.is_finite() && tol >= 0.0 {
        Ok(())
    } else {
        Err(Error::parameter(
            "tolerance",
            format!("must be a finite number of 0 or more (got {tol})"),
        ))
    }
}

/// The (run, estimator, setting, epoch) groups of `rows`, each ordered by layer index, by
/// polars' stable partition (groups in order of first appearance).
fn groups(rows: &[EstimateRow]) -> Result<Vec<Vec<&EstimateRow>>> {
    let keys = frame(vec![
        (
            "run",
            Values::Str(rows.iter().map(|r| r.run.clone()).collect()),
        ),
        (
            "estimator",
            Values::Str(rows.iter().map(|r| r.estimator.to_string()).collect()),
        ),
        (
            "setting",
            Values::Str(rows.iter().map(|r| r.setting.clone()).collect()),
        ),
        (
            "epoch",
            Values::I64(rows.iter().map(|r| i64::from(r.epoch)).collect()),
        ),
        ("row", Values::I64((0..rows.len() as i64).collect())),
    ])?;
    let parts: Vec<DataFrame> = keys
        .partition_by_stable(["run", "estimator", "setting", "epoch"], true)
        .map_err(|e| Error::Invalid(format!("cannot group the estimates: {e}")))?;
    parts
        .iter()
        .map(|p| {
            let idx = p
                .column("row")
                .and_then(|c| {
                    c.i64()
                        .map(|ca| ca.into_no_null_iter().collect::<Vec<i64>>())
                })
                .map_err(|e| Error::Invalid(format!("cannot group the estimates: {e}")))?;
            let mut g: Vec<&EstimateRow> = idx.iter().map(|&i| &rows[i as usize]).collect();
            g.sort_by_key(|r| r.layer_index);
            Ok(g)
        })
        .collect()
}

/// Checks every (run, estimator, setting, epoch) group of `rows` with tolerance `tol` (nats,
/// like the rows).
pub fn check(rows: &[EstimateRow], tol: f64) -> Result<Vec<Violation>> {
    let groups = groups(rows)?;
    let index: HashMap<(&str, &str, &str, u32), usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let r = g[0];
            let key = (r.run.as_str(), r.estimator.as_ref(), r.setting.as_str());
            ((key.0, key.1, key.2, r.epoch), i)
        })
        .collect();
    let partner = |est: &str| crate::estimator::kind(est).side.partner();
    let mut out = Vec::new();
    for g in &groups {
        let r = g[0];
        let other = partner(&r.estimator)
            .and_then(|p| index.get(&(r.run.as_str(), p, r.setting.as_str(), r.epoch)))
            .map(|&i| groups[i].as_slice());
        for row in g {
            bound_checks(row, tol, &mut out);
        }
        for w in g.windows(2) {
            dpi_checks((w[0], w[1]), other, tol, &mut out);
        }
    }
    Ok(out)
}

/// A violation of `check` at `layer` against `reference` (a value, or a layer's).
fn violation(
    layer: &EstimateRow,
    check: Check,
    reference_layer: &str,
    (value, reference): (f64, f64),
    category: Category,
) -> Violation {
    Violation {
        run: layer.run.clone(),
        estimator: layer.estimator.to_string(),
        sigma2: layer.setting.clone(),
        epoch: layer.epoch,
        check,
        layer: layer.layer.clone(),
        reference_layer: reference_layer.to_string(),
        value,
        reference,
        excess: value - reference,
        category,
    }
}

/// The hard bounds 0 ≤ I(X;Z) ≤ log N and 0 ≤ I(Y;Z) ≤ H(Y), and the saturation flag.
fn bound_checks(r: &EstimateRow, tol: f64, out: &mut Vec<Violation>) {
    let definite = Category::Definite;
    if r.i_xz > r.log_n + tol {
        out.push(violation(r, Check::BoundX, "", (r.i_xz, r.log_n), definite));
    }
    if r.i_xz < -tol {
        out.push(violation(r, Check::BoundX, "", (r.i_xz, 0.0), definite));
    }
    if r.i_yz > r.h_y + tol {
        out.push(violation(r, Check::BoundY, "", (r.i_yz, r.h_y), definite));
    }
    if r.i_yz < -tol {
        out.push(violation(r, Check::BoundY, "", (r.i_yz, 0.0), definite));
    }
    if r.is_saturated() {
        let flag = Category::Flag;
        out.push(violation(r, Check::Saturation, "", (r.i_xz, r.log_n), flag));
    }
}

/// The DPI between consecutive layers `a` → `b`, classified with the partner bound's rows
/// (`other`: bd for kl and kl for bd) and the I(Y;Z) brackets.
fn dpi_checks(
    (a, b): (&EstimateRow, &EstimateRow),
    other: Option<&[&EstimateRow]>,
    tol: f64,
    out: &mut Vec<Violation>,
) {
    let applies = markov(&a.layer_kind, &b.layer_kind);
    let find = |rows: &[&EstimateRow], idx: usize| {
        rows.iter().find(|r| r.layer_index == idx).map(|r| r.i_xz)
    };
    if b.i_xz > a.i_xz + tol {
        let category = if !applies {
            Category::NotApplicable
        } else {
            // Lower bound at l+1 vs upper bound at l; without the partner's row of the layer
            // concerned the gap is unknown (never judged from one bound alone).
            let pair = other.and_then(|o| match crate::estimator::kind(&b.estimator).side {
                Side::Upper { .. } => find(o, b.layer_index).map(|lower_b| (lower_b, a.i_xz)),
                _ => find(o, a.layer_index).map(|upper_a| (b.i_xz, upper_a)),
            });
            match pair {
                Some((lower_b, upper_a)) if lower_b > upper_a + tol => Category::Definite,
                Some(_) => Category::WithinGap,
                None => Category::UnknownGap,
            }
        };
        out.push(violation(
            b,
            Check::DpiX,
            &a.layer,
            (b.i_xz, a.i_xz),
            category,
        ));
    }
    if b.i_yz > a.i_yz + tol {
        let category = if !applies {
            Category::NotApplicable
        } else if b.i_yz_lo.is_nan() || a.i_yz_hi.is_nan() {
            Category::UnknownGap
        } else if b.i_yz_lo > a.i_yz_hi + tol {
            Category::Definite
        } else {
            Category::WithinGap
        };
        out.push(violation(
            b,
            Check::DpiY,
            &a.layer,
            (b.i_yz, a.i_yz),
            category,
        ));
    }
}

/// Column names of the violations table.
pub const VIOLATION_COLUMNS: [&str; 12] = [
    "run",
    "estimator",
    "sigma2",
    "epoch",
    "check",
    "layer",
    "reference_layer",
    "value",
    "reference",
    "excess",
    "category",
    "unit",
];

/// The violations as a table with [`VIOLATION_COLUMNS`], values in `unit`.
pub fn violations_table(v: &[Violation], unit: Unit) -> Result<DataFrame> {
    let k = unit.from_nats();
    let s = |g: fn(&Violation) -> String| Values::Str(v.iter().map(g).collect());
    let f = |g: fn(&Violation) -> f64| Values::F64(v.iter().map(|x| g(x) * k).collect());
    frame(vec![
        ("run", s(|x| x.run.clone())),
        ("estimator", s(|x| x.estimator.to_string())),
        ("sigma2", s(|x| x.sigma2.clone())),
        (
            "epoch",
            Values::I64(v.iter().map(|x| i64::from(x.epoch)).collect()),
        ),
        ("check", s(|x| x.check.name().into())),
        ("layer", s(|x| x.layer.clone())),
        ("reference_layer", s(|x| x.reference_layer.clone())),
        ("value", f(|x| x.value)),
        ("reference", f(|x| x.reference)),
        ("excess", f(|x| x.excess)),
        ("category", s(|x| x.category.name().into())),
        ("unit", Values::Str(vec![unit.to_string(); v.len()])),
    ])
}

/// Whether any violation is definite.
pub fn has_definite(v: &[Violation]) -> bool {
    v.iter().any(|x| x.category == Category::Definite)
}

/// One (run, estimator, check, layer pair) over every setting (σ²) where it happened: a
/// line of the summary, and what the report lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Run.
    pub run: String,
    /// Estimator.
    pub estimator: String,
    /// The settings (σ² groups, ...) where it happened, in order.
    pub settings: Vec<String>,
    /// What was checked.
    pub check: Check,
    /// The layer.
    pub layer: String,
    /// The layer it was compared with (empty for bound checks and saturation).
    pub reference_layer: String,
    /// Fewest and most epochs with a violation (or a saturation flag) over those settings.
    pub count: (usize, usize),
    /// Epochs estimated per setting (the most over those settings).
    pub of: usize,
    /// How many of the violations are definite (all settings).
    pub definite: usize,
    /// The first epoch with one.
    pub first_epoch: u32,
}

/// What "definite" means, for the summary, the report and the docs.
pub(crate) const MEANING: &str =
    "definite = beyond the estimators' own upper-lower gap (for I(X;Z): \
the Bhattacharyya lower bound at layer l+1 above the KL upper bound at layer l). The noise is \
added at measurement time, so the proxy I(X; T_l + ε) need not obey the DPI even for a \
deterministic chain (logits routinely 'violate' it): a definite violation says the noisy \
proxies' bounds contradict each other's order, not that the network breaks the DPI.";

impl Finding {
    /// Whether the report lists it: a definite violation, or saturation.
    pub fn matters(&self) -> bool {
        self.definite > 0 || self.check == Check::Saturation
    }

    /// The settings: the numeric ones (σ² values) as a range (`σ² 0.001 to 0.3 (4 values)`),
    /// then the others (rules, binnings) listed.
    pub(crate) fn settings_text(&self) -> String {
        let (nums, others): (Vec<&String>, Vec<&String>) =
            self.settings.iter().partition(|s| s.parse::<f64>().is_ok());
        let v: Vec<f64> = nums.iter().filter_map(|s| s.parse().ok()).collect();
        let mut parts = Vec::new();
        match v.len() {
            0 => {}
            1 => parts.push(format!("σ²={}", nums[0])),
            k => {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                parts.push(format!("σ² {lo} to {hi} ({k} values)"));
            }
        }
        let mut others: Vec<&str> = others.iter().map(|s| s.as_str()).collect();
        others.sort_unstable();
        parts.extend(others.iter().map(|s| s.to_string()));
        parts.join(" and ")
    }

    /// The plain sentence.
    pub fn sentence(&self) -> String {
        let (run, layer, est) = (&self.run, &self.layer, &self.estimator);
        let at = self.settings_text();
        let n = if self.count.0 == self.count.1 {
            self.count.0.to_string()
        } else {
            format!("{}–{}", self.count.0, self.count.1)
        };
        let total = self.of;
        if self.check == Check::Saturation {
            return format!(
                "{run}: I(X;Z) of {layer} is saturated at log N with {est} at {at}, {n} of {total} epochs"
            );
        }
        let what = match self.check {
            Check::DpiX => format!("{layer} > {} for I(X;Z)", self.reference_layer),
            Check::DpiY => format!("{layer} > {} for I(Y;Z)", self.reference_layer),
            Check::BoundX => format!("{layer} leaves [0, log N] for I(X;Z)"),
            Check::BoundY => format!("{layer} leaves [0, H(Y)] for I(Y;Z)"),
            Check::Saturation => String::new(),
        };
        format!(
            "{run}: {what} with {est} at {at}, {n} of {total} epochs (definite: {}; first at epoch {})",
            self.definite, self.first_epoch
        )
    }
}

/// The findings of `v` on `rows`, one per (run, estimator, check, layer pair) with the
/// settings where it happened: violations first, then saturation.
pub fn findings(v: &[Violation], rows: &[EstimateRow]) -> Vec<Finding> {
    let mut epochs: BTreeMap<(&str, &str, &str), std::collections::BTreeSet<u32>> = BTreeMap::new();
    for r in rows {
        epochs
            .entry((&r.run, &r.estimator, &r.setting))
            .or_default()
            .insert(r.epoch);
    }
    // (saturation?, run, estimator, check, layer, reference) → setting → (count, definite,
    // first epoch); settings in the order the rows first name them.
    type Key<'a> = (bool, &'a str, &'a str, Check, &'a str, &'a str);
    let mut per: BTreeMap<Key<'_>, Vec<(&str, usize, usize, u32)>> = BTreeMap::new();
    for x in v {
        let sat = x.check == Check::Saturation;
        let key = (
            sat,
            &*x.run,
            &*x.estimator,
            x.check,
            &*x.layer,
            &*x.reference_layer,
        );
        let list = per.entry(key).or_default();
        let at = match list.iter().position(|e| e.0 == x.sigma2) {
            Some(k) => k,
            None => {
                list.push((&x.sigma2, 0, 0, u32::MAX));
                list.len() - 1
            }
        };
        let e = &mut list[at];
        e.1 += 1;
        e.2 += usize::from(x.category == Category::Definite);
        e.3 = e.3.min(x.epoch);
    }
    per.into_iter()
        .map(|((_, run, est, check, layer, reference), list)| Finding {
            run: run.into(),
            estimator: est.into(),
            settings: list.iter().map(|e| e.0.to_string()).collect(),
            check,
            layer: layer.into(),
            reference_layer: reference.into(),
            count: (
                list.iter().map(|e| e.1).min().unwrap_or(0),
                list.iter().map(|e| e.1).max().unwrap_or(0),
            ),
            of: list
                .iter()
                .map(|e| epochs.get(&(run, est, e.0)).map_or(0, |s| s.len()))
                .max()
                .unwrap_or(0),
            definite: list.iter().map(|e| e.2).sum(),
            first_epoch: list.iter().map(|e| e.3).min().unwrap_or(0),
        })
        .collect()
}

/// A short human summary: counts by check and category, one plain sentence per finding, and
/// the worst definite violations (values in `unit`).
pub fn summary(v: &[Violation], rows: &[EstimateRow], unit: Unit) -> String {
    let mut out = String::new();
    let mut counts: BTreeMap<(Check, Category), usize> = BTreeMap::new();
    for x in v {
        *counts.entry((x.check, x.category)).or_default() += 1;
    }
    let _ = writeln!(out, "{} rows checked, {} findings", rows.len(), v.len());
    // What "definite" means, wrapped at 100 columns.
    let mut line = String::new();
    for word in MEANING.split(' ') {
        if line.len() + word.len() > 100 {
            let _ = writeln!(out, "  {}", line.trim_end());
            line.clear();
        }
        line.push_str(word);
        line.push(' ');
    }
    let _ = writeln!(out, "  {}", line.trim_end());
    for ((c, k), n) in &counts {
        let _ = writeln!(out, "  {:<10} {:<15} {n}", c.name(), k.name());
    }
    for f in findings(v, rows) {
        let _ = writeln!(out, "{}", f.sentence());
    }
    let mut worst: Vec<&Violation> = v
        .iter()
        .filter(|x| x.category == Category::Definite)
        .collect();
    worst.sort_by(|a, b| b.excess.total_cmp(&a.excess));
    if !worst.is_empty() {
        let _ = writeln!(out, "worst definite violations:");
        let k = unit.from_nats();
        for x in worst.iter().take(5) {
            let _ = writeln!(
                out,
                "  {} {} σ²={} epoch {} {} {}{}: {:.4} > {:.4} (+{:.4} {unit})",
                x.run,
                x.estimator,
                x.sigma2,
                x.epoch,
                x.check.name(),
                x.layer,
                if x.reference_layer.is_empty() {
                    String::new()
                } else {
                    format!(" vs {}", x.reference_layer)
                },
                x.value * k,
                x.reference * k,
                x.excess * k,
            );
        }
    }
    out
}
