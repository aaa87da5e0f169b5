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

use crate::error::{Error, Result};
use crate::results::ResultRow;
use crate::table::{Column, Table};

/// The dimension being compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
            o => Err(Error::Invalid(format!(
                "unknown --by '{o}' (expected estimator, run or sigma2)"
            ))),
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
    /// I(X;Z) in a and b.
    pub i_xz: (f64, f64),
    /// I(Y;Z) in a and b.
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

fn group_of(r: &ResultRow, by: By) -> String {
    match by {
        // Estimators differ in their parameters too (σ², bins, α): each (estimator, parameters)
        // is a group, so that kl at σ² = 0.1 lines up with binning at 30 bins.
        By::Estimator => format!("{} {}", r.estimator, r.sigma2_key()),
        By::Run => r.run.clone(),
        By::Sigma2 => r.sigma2_key(),
    }
}

fn context_of(r: &ResultRow, by: By) -> String {
    match by {
        By::Estimator => format!("run={}", r.run),
        By::Run => format!("estimator={} sigma2={}", r.estimator, r.sigma2_key()),
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

/// Compares the groups of `rows` along `by`. Runs with different N (different analysis sets)
/// are refused unless `force`.
pub fn compare(rows: &[ResultRow], by: By, force: bool) -> Result<Comparison> {
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
    // (context, group, layer index, epoch) → row.
    let mut index: BTreeMap<(String, String, usize, u32), &ResultRow> = BTreeMap::new();
    for r in rows {
        index.insert(
            (context_of(r, by), group_of(r, by), r.layer_index, r.epoch),
            r,
        );
    }
    let mut diffs = Vec::new();
    for ((ctx, g, li, e), a) in index.iter().filter(|(k, _)| k.1 == groups[0]) {
        for b_name in &groups[1..] {
            if let Some(b) = index.get(&(ctx.clone(), b_name.clone(), *li, *e)) {
                let _ = g;
                diffs.push(DiffRow {
                    context: ctx.clone(),
                    a: groups[0].clone(),
                    b: b_name.clone(),
                    layer_index: *li,
                    layer: if a.layer == b.layer {
                        a.layer.clone()
                    } else {
                        format!("{}/{}", a.layer, b.layer)
                    },
                    epoch: *e,
                    i_xz: (a.i_xz, b.i_xz),
                    i_yz: (a.i_yz, b.i_yz),
                });
            }
        }
    }
    let mut per: BTreeMap<(String, String, u32), Vec<&DiffRow>> = BTreeMap::new();
    for d in &diffs {
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
                a: groups[0].clone(),
                b: b.clone(),
                epoch: e,
                quantity,
                spearman: spearman(&va, &vb),
                flips,
            });
        }
    }
    Ok(Comparison {
        groups,
        diffs,
        ranks,
    })
}

/// The joined rows as a table.
pub fn diff_table(c: &Comparison) -> Table {
    let d = &c.diffs;
    Table::new()
        .with(
            "context",
            Column::Str(d.iter().map(|x| x.context.clone()).collect()),
        )
        .with("a", Column::Str(d.iter().map(|x| x.a.clone()).collect()))
        .with("b", Column::Str(d.iter().map(|x| x.b.clone()).collect()))
        .with(
            "layer_index",
            Column::I64(d.iter().map(|x| x.layer_index as i64).collect()),
        )
        .with(
            "layer",
            Column::Str(d.iter().map(|x| x.layer.clone()).collect()),
        )
        .with(
            "epoch",
            Column::I64(d.iter().map(|x| i64::from(x.epoch)).collect()),
        )
        .with("i_xz_a", Column::F64(d.iter().map(|x| x.i_xz.0).collect()))
        .with("i_xz_b", Column::F64(d.iter().map(|x| x.i_xz.1).collect()))
        .with(
            "d_i_xz",
            Column::F64(d.iter().map(|x| x.i_xz.1 - x.i_xz.0).collect()),
        )
        .with("i_yz_a", Column::F64(d.iter().map(|x| x.i_yz.0).collect()))
        .with("i_yz_b", Column::F64(d.iter().map(|x| x.i_yz.1).collect()))
        .with(
            "d_i_yz",
            Column::F64(d.iter().map(|x| x.i_yz.1 - x.i_yz.0).collect()),
        )
}

/// The rank agreement as a table.
pub fn rank_table(c: &Comparison) -> Table {
    let r = &c.ranks;
    Table::new()
        .with(
            "context",
            Column::Str(r.iter().map(|x| x.context.clone()).collect()),
        )
        .with("a", Column::Str(r.iter().map(|x| x.a.clone()).collect()))
        .with("b", Column::Str(r.iter().map(|x| x.b.clone()).collect()))
        .with(
            "epoch",
            Column::I64(r.iter().map(|x| i64::from(x.epoch)).collect()),
        )
        .with(
            "quantity",
            Column::Str(r.iter().map(|x| x.quantity.to_string()).collect()),
        )
        .with(
            "spearman",
            Column::F64(r.iter().map(|x| x.spearman).collect()),
        )
        .with(
            "n_flips",
            Column::I64(r.iter().map(|x| x.flips.len() as i64).collect()),
        )
        .with(
            "flips",
            Column::Str(r.iter().map(|x| x.flips.join(" ")).collect()),
        )
}
