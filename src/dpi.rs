//! Data-processing-inequality and bound checks on estimate tables, with each violation
//! classified as definite, within the estimator's own gap, or not applicable.
//!
//! For a feed-forward chain X → Z^1 → Z^2 → …, I(X;Z^{l+1}) ≤ I(X;Z^l) and
//! I(Y;Z^{l+1}) ≤ I(Y;Z^l) (Cover & Thomas, Theorem 2.8.1). Estimates with noise added only at
//! measurement time need not obey it, so a violation (value at l+1 above value at l by more than
//! the tolerance) is classified (background §4; Kolchinsky & Tracey 2017):
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

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::results::ResultRow;
use crate::table::{Column, Table};

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
    /// σ² group ([`ResultRow::sigma2_key`]).
    pub sigma2: String,
    /// Epoch.
    pub epoch: u32,
    /// What was checked.
    pub check: Check,
    /// The layer whose value is out of line (l+1 for DPI checks).
    pub layer: String,
    /// The layer it is compared with (l for DPI checks; empty for bounds).
    pub reference_layer: String,
    /// The offending value.
    pub value: f64,
    /// What it should not exceed (value at l, H(Y), log N; 0 for negative values).
    pub reference: f64,
    /// How far beyond: value - reference (or -value below 0).
    pub excess: f64,
    /// The classification.
    pub category: Category,
    /// Unit of the values.
    pub unit: String,
}

/// Kinds across which the DPI does not apply.
fn markov(prev_kind: &str, next_kind: &str) -> bool {
    !(matches!(next_kind, "graph" | "recurrent") || (next_kind == "output" && prev_kind == "graph"))
}

/// Checks a tolerance for [`check`]: finite and not negative.
pub fn validate_tolerance(tol: f64) -> crate::Result<()> {
    if tol.is_finite() && tol >= 0.0 {
        Ok(())
    } else {
        Err(crate::Error::Invalid(format!(
            "--tolerance must be a finite number of 0 or more (got {tol})"
        )))
    }
}

/// Checks every (run, estimator, σ² group, epoch) of `rows` with tolerance `tol` (in the
/// table's unit).
pub fn check(rows: &[ResultRow], tol: f64) -> Vec<Violation> {
    // Group rows; within a group, order by layer index.
    let mut groups: BTreeMap<(String, String, String, u32), Vec<&ResultRow>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((r.run.clone(), r.estimator.clone(), r.sigma2_key(), r.epoch))
            .or_default()
            .push(r);
    }
    for g in groups.values_mut() {
        g.sort_by_key(|r| r.layer_index);
    }
    let partner = |est: &str| match est {
        "kl" => Some("bd"),
        "bd" => Some("kl"),
        _ => None,
    };
    let mut out = Vec::new();
    for ((run, est, key, epoch), g) in &groups {
        let other = partner(est)
            .and_then(|p| groups.get(&(run.clone(), p.to_string(), key.clone(), *epoch)));
        let find = |rows: &Vec<&ResultRow>, idx: usize| {
            rows.iter().find(|r| r.layer_index == idx).map(|r| r.i_xz)
        };
        let mk = |check, layer: &ResultRow, reference_layer: &str, value, reference, category| {
            Violation {
                run: run.clone(),
                estimator: est.clone(),
                sigma2: key.clone(),
                epoch: *epoch,
                check,
                layer: layer.layer.clone(),
                reference_layer: reference_layer.to_string(),
                value,
                reference,
                excess: value - reference,
                category,
                unit: layer.unit.clone(),
            }
        };
        for r in g {
            if r.i_xz > r.log_n + tol {
                out.push(mk(
                    Check::BoundX,
                    r,
                    "",
                    r.i_xz,
                    r.log_n,
                    Category::Definite,
                ));
            }
            if r.i_xz < -tol {
                out.push(mk(Check::BoundX, r, "", r.i_xz, 0.0, Category::Definite));
            }
            if r.i_yz > r.h_y + tol {
                out.push(mk(Check::BoundY, r, "", r.i_yz, r.h_y, Category::Definite));
            }
            if r.i_yz < -tol {
                out.push(mk(Check::BoundY, r, "", r.i_yz, 0.0, Category::Definite));
            }
            if r.saturated {
                out.push(mk(
                    Check::Saturation,
                    r,
                    "",
                    r.i_xz,
                    r.log_n,
                    Category::Flag,
                ));
            }
        }
        for w in g.windows(2) {
            let (a, b) = (w[0], w[1]);
            let applies = markov(&a.layer_kind, &b.layer_kind);
            if b.i_xz > a.i_xz + tol {
                let category = if !applies {
                    Category::NotApplicable
                } else if let Some(o) = other {
                    // Lower bound at l+1 vs upper bound at l.
                    let (lower_b, upper_a) = match est.as_str() {
                        "kl" => (find(o, b.layer_index).unwrap_or(b.i_xz), a.i_xz),
                        _ => (b.i_xz, find(o, a.layer_index).unwrap_or(a.i_xz)),
                    };
                    if lower_b > upper_a + tol {
                        Category::Definite
                    } else {
                        Category::WithinGap
                    }
                } else {
                    Category::UnknownGap
                };
                out.push(mk(Check::DpiX, b, &a.layer, b.i_xz, a.i_xz, category));
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
                out.push(mk(Check::DpiY, b, &a.layer, b.i_yz, a.i_yz, category));
            }
        }
    }
    out
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

/// The violations as a table with [`VIOLATION_COLUMNS`].
pub fn violations_table(v: &[Violation]) -> Table {
    let s = |g: fn(&Violation) -> String| Column::Str(v.iter().map(g).collect());
    let f = |g: fn(&Violation) -> f64| Column::F64(v.iter().map(g).collect());
    Table::new()
        .with("run", s(|x| x.run.clone()))
        .with("estimator", s(|x| x.estimator.clone()))
        .with("sigma2", s(|x| x.sigma2.clone()))
        .with(
            "epoch",
            Column::I64(v.iter().map(|x| i64::from(x.epoch)).collect()),
        )
        .with("check", s(|x| x.check.name().into()))
        .with("layer", s(|x| x.layer.clone()))
        .with("reference_layer", s(|x| x.reference_layer.clone()))
        .with("value", f(|x| x.value))
        .with("reference", f(|x| x.reference))
        .with("excess", f(|x| x.excess))
        .with("category", s(|x| x.category.name().into()))
        .with("unit", s(|x| x.unit.clone()))
}

/// Whether any violation is definite.
pub fn has_definite(v: &[Violation]) -> bool {
    v.iter().any(|x| x.category == Category::Definite)
}

/// A short human summary: counts by check and category, one plain sentence per (run,
/// estimator, σ², check, layer) with its epoch count and first epoch, and the worst cases.
pub fn summary(v: &[Violation], rows: &[ResultRow]) -> String {
    let mut out = String::new();
    let mut epochs: BTreeMap<(String, String, String), std::collections::BTreeSet<u32>> =
        BTreeMap::new();
    for r in rows {
        epochs
            .entry((r.run.clone(), r.estimator.clone(), r.sigma2_key()))
            .or_default()
            .insert(r.epoch);
    }
    let mut counts: BTreeMap<(Check, Category), usize> = BTreeMap::new();
    for x in v {
        *counts.entry((x.check, x.category)).or_default() += 1;
    }
    let _ = writeln!(out, "{} rows checked, {} findings", rows.len(), v.len());
    for ((c, k), n) in &counts {
        let _ = writeln!(out, "  {:<10} {:<15} {n}", c.name(), k.name());
    }
    type Key = (String, String, String, Check, String);
    let mut per: BTreeMap<Key, (usize, usize, u32)> = BTreeMap::new();
    for x in v.iter().filter(|x| x.check != Check::Saturation) {
        let e = per
            .entry((
                x.run.clone(),
                x.estimator.clone(),
                x.sigma2.clone(),
                x.check,
                x.layer.clone(),
            ))
            .or_insert((0, 0, u32::MAX));
        e.0 += 1;
        if x.category == Category::Definite {
            e.1 += 1;
        }
        e.2 = e.2.min(x.epoch);
    }
    for ((run, est, s2, check, layer), (n, definite, first)) in &per {
        let total = epochs
            .get(&(run.clone(), est.clone(), s2.clone()))
            .map_or(0, |e| e.len());
        let what = match check {
            Check::DpiX => "violates the DPI for I(X;Z)",
            Check::DpiY => "violates the DPI for I(Y;Z)",
            Check::BoundX => "leaves [0, log N] for I(X;Z)",
            Check::BoundY => "leaves [0, H(Y)] for I(Y;Z)",
            Check::Saturation => "is saturated",
        };
        let _ = writeln!(
            out,
            "{run}: {layer} {what} at {n} of {total} epochs at {est} σ²={s2} (definite: {definite}; first at epoch {first})"
        );
    }
    let mut sat: BTreeMap<(String, String, String, String), usize> = BTreeMap::new();
    for x in v.iter().filter(|x| x.check == Check::Saturation) {
        *sat.entry((
            x.run.clone(),
            x.estimator.clone(),
            x.sigma2.clone(),
            x.layer.clone(),
        ))
        .or_default() += 1;
    }
    for ((run, est, s2, layer), n) in &sat {
        let total = epochs
            .get(&(run.clone(), est.clone(), s2.clone()))
            .map_or(0, |e| e.len());
        let _ = writeln!(out, "{run}: I(X;Z) of {layer} is saturated at log N at {n} of {total} epochs at {est} σ²={s2}");
    }
    let mut worst: Vec<&Violation> = v
        .iter()
        .filter(|x| x.category == Category::Definite)
        .collect();
    worst.sort_by(|a, b| b.excess.total_cmp(&a.excess));
    if !worst.is_empty() {
        let _ = writeln!(out, "worst definite violations:");
        for x in worst.iter().take(5) {
            let _ = writeln!(
                out,
                "  {} {} σ²={} epoch {} {} {}{}: {:.4} > {:.4} (+{:.4} {})",
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
                x.value,
                x.reference,
                x.excess,
                x.unit
            );
        }
    }
    out
}
