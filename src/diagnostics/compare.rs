//! Comparisons of estimate tables: estimators on one archive, runs on the same data, or σ²
//! values, joined on (layer position, epoch) with the other keys held equal.
//!
//! For `by` = estimator the groups are (estimator, parameters) and the rows are matched on
//! (run, layer index, epoch); for run on
//! (estimator, σ² group, layer index, epoch) (layer names differ between models, positions do
//! not); for σ² on (run, estimator, layer index, epoch). The first group (in order of
//! appearance) is the reference `a`; every other group `b` is compared with it: deltas b - a of
//! I(X;Z) and I(Y;Z), and per epoch the agreement of the layer orderings, as Spearman's rank
//! correlation ρ = 1 - 6 Σ d² / (n (n² - 1)) (ties by position) and the consecutive layer pairs
//! whose order flips.

use std::collections::BTreeMap;

use polars::prelude::{DataFrame, DataFrameJoinOps, JoinArgs, JoinType};

use crate::error::{Error, Result};
use crate::table::estimates::{EstimateRow, Unit};
use crate::table::{frame, Values};

/// The dimension being compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum By {
    /// Estimators on the same run.
    Estimator,
    /// Runs (models) on the same data.
    Run,
    /// σ² values.
    Sigma2,
}

impl std::str::FromStr for By {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "estimator" => Ok(By::Estimator),
            "run" => Ok(By::Run),
            "sigma2" => Ok(By::Sigma2),
            o => Err(Error::parameter(
                "by",
                format!("unknown comparison '{o}' (expected estimator, run or sigma2)"),
            )),
        }
    }
}

/// A joined pair of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffRow {
    /// The fixed keys, as `name=value` joined by spaces (for example `run=gcn sigma2=0.1`).
    pub context: String,
    /// Reference group.
    pub a: String,
    /// Compared group.
    pub b: String,
    /// Layer position.
    pub layer_index: usize,
    /// Layer name in a / in b.
    pub layer: String,
    /// Epoch.
    pub epoch: u32,
    /// I(X;Z) in a and b (nats).
    pub i_xz: (f64, f64),
    /// I(Y;Z) in a and b (nats).
    pub i_yz: (f64, f64),
}

/// Rank agreement of one (context, a, b, epoch, quantity).
#[derive(Debug, Clone, PartialEq)]
pub struct RankRow {
    /// Fixed keys.
    pub context: String,
    /// Reference group.
    pub a: String,
    /// Compared group.
    pub b: String,
    /// Epoch.
    pub epoch: u32,
    /// `i_xz` or `i_yz`.
    pub quantity: &'static str,
    /// Spearman's ρ between the layer orderings.
    pub spearman: f64,
    /// Consecutive layer pairs ordered differently, as `l1<l2` in b where a has `l1>l2`.
    pub flips: Vec<String>,
}

/// Everything `compare` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Groups in order (the first is the reference).
    pub groups: Vec<String>,
    /// Joined rows.
    pub diffs: Vec<DiffRow>,
    /// Rank agreement per epoch.
    pub ranks: Vec<RankRow>,
}

fn group_of(r: &EstimateRow, by: By) -> String {
    match by {
        // Estimators differ in their parameters too (σ², bins, α): each (estimator, setting)
        // is a group, so that kl at σ² = 0.1 lines up with binning at 30 bins.
        By::Estimator => format!("{} {}", r.estimator, r.setting),
        By::Run => r.run.clone(),
        By::Sigma2 => r.setting.clone(),
    }
}

fn context_of(r: &EstimateRow, by: By) -> String {
    match by {
        By::Estimator => format!("run={}", r.run),
        By::Run => format!("estimator={} sigma2={}", r.estimator, r.setting),
        By::Sigma2 => format!("run={} estimator={}", r.run, r.estimator),
    }
}

/// Spearman's ρ of two equally long value lists (ranks by value, ties broken by position).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let rank = |v: &[f64]| {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then(a.cmp(&b)));
        let mut r = vec![0.0; n];
        for (k, &i) in idx.iter().enumerate() {
            r[i] = k as f64;
        }
        r
    };
    let (rx, ry) = (rank(x), rank(y));
    let d2: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - b) * (a - b)).sum();
    let n = n as f64;
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

/// The groups of `rows` along `by`, in order of appearance; refuses fewer than two, and runs
/// with different N (different analysis sets) unless `force`.
fn groups(rows: &[EstimateRow], by: By, force: bool) -> Result<Vec<String>> {
    let mut groups: Vec<String> = Vec::new();
    for r in rows {
        let g = group_of(r, by);
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    if groups.len() < 2 {
        return Err(Error::Invalid(format!(
            "nothing to compare: every row has the same {} ({})",
            match by {
                By::Estimator => "estimator",
                By::Run => "run",
                By::Sigma2 => "σ²",
            },
            groups.first().map_or("none", String::as_str)
        )));
    }
    if by == By::Run && !force {
        let mut n_of: BTreeMap<&str, usize> = BTreeMap::new();
        for r in rows {
            n_of.entry(&r.run).or_insert(r.n);
        }
        let distinct: std::collections::BTreeSet<usize> = n_of.values().copied().collect();
        if distinct.len() > 1 {
            let list: Vec<String> = n_of.iter().map(|(k, v)| format!("{k}: N = {v}")).collect();
            return Err(Error::Invalid(format!(
                "the runs have different analysis sets ({}); their estimates are not comparable (pass --force to compare anyway)",
                list.join(", ")
            )));
        }
    }
    Ok(groups)
}

/// The join keys and values of `rows` as a table (`g` is each row's group number).
fn keyed(rows: &[(&EstimateRow, usize)], by: By) -> Result<DataFrame> {
    frame(vec![
        (
            "context",
            Values::Str(rows.iter().map(|(r, _)| context_of(r, by)).collect()),
        ),
        (
            "layer_index",
            Values::I64(rows.iter().map(|(r, _)| r.layer_index as i64).collect()),
        ),
        (
            "epoch",
            Values::I64(rows.iter().map(|(r, _)| i64::from(r.epoch)).collect()),
        ),
        (
            "g",
            Values::I64(rows.iter().map(|&(_, g)| g as i64).collect()),
        ),
        (
            "layer",
            Values::Str(rows.iter().map(|(r, _)| r.layer.clone()).collect()),
        ),
        (
            "i_xz",
            Values::F64(rows.iter().map(|(r, _)| r.i_xz).collect()),
        ),
        (
            "i_yz",
            Values::F64(rows.iter().map(|(r, _)| r.i_yz).collect()),
        ),
    ])
}

/// The rows of the reference group joined with every other group's on (context, layer
/// index, epoch), by a polars inner join; ordered by context, layer index, epoch, group.
fn joined(rows: &[EstimateRow], by: By, groups: &[String]) -> Result<Vec<DiffRow>> {
    let tagged: Vec<(&EstimateRow, usize)> = rows
        .iter()
        .map(|r| {
            let g = group_of(r, by);
            (r, groups.iter().position(|x| *x == g).unwrap_or(0))
        })
        .collect();
    let (a, b): (Vec<_>, Vec<_>) = tagged.into_iter().partition(|(_, g)| *g == 0);
    let fail =
        |e: polars::prelude::PolarsError| Error::Invalid(format!("cannot join the tables: {e}"));
    let keys = ["context", "layer_index", "epoch"];
    let j = keyed(&a, by)?
        .join(
            &keyed(&b, by)?,
            keys,
            keys,
            JoinArgs::new(JoinType::Inner),
            None,
        )
        .map_err(fail)?;
    let t = crate::table::Table::from_frame(j);
    let (ctx, li, ep) = (t.strs("context")?, t.f64s("layer_index")?, t.f64s("epoch")?);
    let (g, la, lb) = (t.f64s("g_right")?, t.strs("layer")?, t.strs("layer_right")?);
    let vals = ["i_xz", "i_xz_right", "i_yz", "i_yz_right"].map(|c| t.f64s(c));
    let [xa, xb, ya, yb] = vals;
    let (xa, xb, ya, yb) = (xa?, xb?, ya?, yb?);
    let col = |v: Option<Vec<f64>>| v.unwrap_or_default();
    let (li, ep, g) = (col(li), col(ep), col(g));
    let (xa, xb, ya, yb) = (col(xa), col(xb), col(ya), col(yb));
    let (ctx, la, lb) = (
        ctx.unwrap_or_default(),
        la.unwrap_or_default(),
        lb.unwrap_or_default(),
    );
    let mut diffs: Vec<(usize, DiffRow)> = (0..t.height())
        .map(|r| {
            let layer = if la[r] == lb[r] {
                la[r].clone()
            } else {
                format!("{}/{}", la[r], lb[r])
            };
            let d = DiffRow {
                context: ctx[r].clone(),
                a: groups[0].clone(),
                b: groups[g[r] as usize].clone(),
                layer_index: li[r] as usize,
                layer,
                epoch: ep[r] as u32,
                i_xz: (xa[r], xb[r]),
                i_yz: (ya[r], yb[r]),
            };
            (g[r] as usize, d)
        })
        .collect();
    diffs.sort_by(|(ga, a), (gb, b)| {
        (&a.context, a.layer_index, a.epoch, ga).cmp(&(&b.context, b.layer_index, b.epoch, gb))
    });
    Ok(diffs.into_iter().map(|(_, d)| d).collect())
}

/// Spearman's ρ and the order flips of each (context, b, epoch) of the joined rows.
fn rank_rows(diffs: &[DiffRow], reference: &str) -> Vec<RankRow> {
    let mut per: BTreeMap<(String, String, u32), Vec<&DiffRow>> = BTreeMap::new();
    for d in diffs {
        per.entry((d.context.clone(), d.b.clone(), d.epoch))
            .or_default()
            .push(d);
    }
    let mut ranks = Vec::new();
    for ((ctx, b, e), ds) in per {
        for (quantity, get) in [
            ("i_xz", (|d: &DiffRow| d.i_xz) as fn(&DiffRow) -> (f64, f64)),
            ("i_yz", |d: &DiffRow| d.i_yz),
        ] {
            let va: Vec<f64> = ds.iter().map(|d| get(d).0).collect();
            let vb: Vec<f64> = ds.iter().map(|d| get(d).1).collect();
            let flips = ds
                .windows(2)
                .zip(va.windows(2).zip(vb.windows(2)))
                .filter(|(_, (a, b))| (a[1] - a[0]).signum() * (b[1] - b[0]).signum() < 0.0)
                .map(|(w, (a, _))| {
                    let (l0, l1) = (&w[0].layer, &w[1].layer);
                    if a[1] > a[0] {
                        format!("{l0}>{l1}")
                    } else {
                        format!("{l0}<{l1}")
                    }
                })
                .collect();
            ranks.push(RankRow {
                context: ctx.clone(),
                a: reference.to_string(),
                b: b.clone(),
                epoch: e,
                quantity,
                spearman: spearman(&va, &vb),
                flips,
            });
        }
    }
    ranks
}

/// Compares the groups of `rows` along `by`. Runs with different N (different analysis sets)
/// are refused unless `force`.
pub fn compare(rows: &[EstimateRow], by: By, force: bool) -> Result<Comparison> {
    let groups = groups(rows, by, force)?;
    let diffs = joined(rows, by, &groups)?;
    let ranks = rank_rows(&diffs, &groups[0]);
    Ok(Comparison {
        groups,
        diffs,
        ranks,
    })
}

/// The joined rows as a table, values in `unit`.
pub fn diff_table(c: &Comparison, unit: Unit) -> Result<DataFrame> {
    let d = &c.diffs;
    let k = unit.from_nats();
    let s = |g: fn(&DiffRow) -> String| Values::Str(d.iter().map(g).collect());
    let f = |g: fn(&DiffRow) -> f64| Values::F64(d.iter().map(|x| g(x) * k).collect());
    frame(vec![
        ("context", s(|x| x.context.clone())),
        ("a", s(|x| x.a.clone())),
        ("b", s(|x| x.b.clone())),
        (
            "layer_index",
            Values::I64(d.iter().map(|x| x.layer_index as i64).collect()),
        ),
        ("layer", s(|x| x.layer.clone())),
        (
            "epoch",
            Values::I64(d.iter().map(|x| i64::from(x.epoch)).collect()),
        ),
        ("i_xz_a", f(|x| x.i_xz.0)),
        ("i_xz_b", f(|x| x.i_xz.1)),
        ("d_i_xz", f(|x| x.i_xz.1 - x.i_xz.0)),
        ("i_yz_a", f(|x| x.i_yz.0)),
        ("i_yz_b", f(|x| x.i_yz.1)),
        ("d_i_yz", f(|x| x.i_yz.1 - x.i_yz.0)),
    ])
}

/// The rank agreement as a table.
pub fn rank_table(c: &Comparison) -> Result<DataFrame> {
    let r = &c.ranks;
    let s = |g: fn(&RankRow) -> String| Values::Str(r.iter().map(g).collect());
    frame(vec![
        ("context", s(|x| x.context.clone())),
        ("a", s(|x| x.a.clone())),
        ("b", s(|x| x.b.clone())),
        (
            "epoch",
            Values::I64(r.iter().map(|x| i64::from(x.epoch)).collect()),
        ),
        ("quantity", s(|x| x.quantity.to_string())),
        (
            "spearman",
            Values::F64(r.iter().map(|x| x.spearman).collect()),
        ),
        (
            "n_flips",
            Values::I64(r.iter().map(|x| x.flips.len() as i64).collect()),
        ),
        ("flips", s(|x| x.flips.join(" "))),
    ])
}
