//! Aggregation over runs (seeds) of one configuration: per (layer, epoch, estimator, setting),
//! the number of runs, mean, standard deviation, standard error and 95 % t-interval of
//! I(X;Z) and I(Y;Z), the widest bracket, and how many runs were saturated.
//!
//! The result is an estimates table ([`EstimateRow`]: `i_xz`/`i_yz` the means, `i_*_se` the
//! standard errors of the means, `i_*_ci_*` the t-intervals mean ± t_{0.975, n−1} sd/√n,
//! `i_yz_lo`/`i_yz_hi` the lowest and highest bracket ends), with [`Extra`] columns, so that
//! `plot`, `dpi` and `verdict` read it like any other. Groups are formed with polars'
//! partition over (config, layer, epoch, estimator, setting).

use std::collections::BTreeMap;

use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::estimator::Estimate;
use crate::table::estimates::{self, EstimateRow, Estimates, Unit};
use crate::table::{frame, Values};

/// What distinguishes the runs being aggregated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum By {
    /// The recording seed (every run must have one, no two the same).
    #[default]
    Seed,
    /// The run name (no two the same).
    Run,
}

impl std::str::FromStr for By {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "seed" => Ok(By::Seed),
            "run" => Ok(By::Run),
            o => Err(Error::parameter(
                "by",
                format!("unknown grouping '{o}' (expected seed or run)"),
            )),
        }
    }
}

/// Columns an aggregated table has beyond the estimates table's.
#[derive(Debug, Clone, PartialEq)]
pub struct Extra {
    /// Number of runs in the group.
    pub runs: usize,
    /// Their seeds, `;`-separated.
    pub seeds: String,
    /// Their names, `;`-separated.
    pub run_names: String,
    /// Standard deviation (ddof 1) of I(X;Z) over the runs, nats.
    pub i_xz_sd: f64,
    /// Standard deviation of I(Y;Z), nats.
    pub i_yz_sd: f64,
    /// Runs whose estimate was saturated.
    pub saturated_runs: usize,
}

/// An aggregation: rows (means) with their extra columns, and notes for the reader.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// One row per group, in order of first appearance.
    pub rows: Vec<EstimateRow>,
    /// The extra columns of each row.
    pub extra: Vec<Extra>,
    /// The unit of the input tables.
    pub unit: Unit,
    /// What the reader must know (one run only, runs without a configuration).
    pub notes: Vec<String>,
}

/// The two-sided 95 % quantile t_{0.975, df} of Student's t: exact to 6 digits for df ≤ 30
/// (tables), the Cornish–Fisher expansion beyond (error below 2e-6 there).
pub(crate) fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
        2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
        2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
        2.048407, 2.045230, 2.042272,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        _ => {
            let z = estimates::Z95;
            let d = df as f64;
            z + (z.powi(3) + z) / (4.0 * d)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
                + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z)
                    / (384.0 * d.powi(3))
        }
    }
}

/// Mean, standard deviation (ddof 1), standard error and 95 % t-interval of `v` (NaN where
/// one value cannot give them).
pub fn summary(v: &[f64]) -> (f64, f64, f64, (f64, f64)) {
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, f64::NAN, f64::NAN, (f64::NAN, f64::NAN));
    }
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let se = sd / (n as f64).sqrt();
    let h = t975(n - 1) * se;
    (mean, sd, se, (mean - h, mean + h))
}

/// Checks that the tables can be aggregated: one unit; per run, one configuration shared by
/// all; distinct seeds (or names).
fn check(tables: &[(std::path::PathBuf, Estimates)], by: By) -> Result<Vec<String>> {
    let first = &tables[0];
    if let Some((p, t)) = tables.iter().find(|(_, t)| t.unit != first.1.unit) {
        return Err(Error::format(
            p,
            format!(
                "is in {}, {} in {}: write the tables in one unit (estimate --unit)",
                t.unit,
                first.0.display(),
                first.1.unit
            ),
        ));
    }
    let mut runs: BTreeMap<&str, (&str, &str, &std::path::Path)> = BTreeMap::new();
    for (p, t) in tables {
        for r in &t.rows {
            let entry = runs.entry(&r.run).or_insert((&r.config, &r.seed, p));
            if entry.0 != r.config || entry.1 != r.seed {
                return Err(Error::format(
                    p,
                    format!("run '{}' appears with two configurations or seeds", r.run),
                ));
            }
        }
    }
    let mut notes = Vec::new();
    let list: Vec<(&str, &(&str, &str, &std::path::Path))> =
        runs.iter().map(|(k, v)| (*k, v)).collect();
    let (run0, (config0, ..)) = list[0];
    for (run, (config, _, path)) in &list[1..] {
        if config != config0 {
            return Err(Error::format(
                path,
                format!(
                    "run '{run}' is not a seed of run '{run0}': {}",
                    config_difference(config0, config)
                ),
            ));
        }
    }
    if config0.is_empty() {
        notes.push("the tables hold no `config` column: the runs' models, datasets and architectures could not be compared".into());
    }
    if by == By::Seed {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (run, (_, seed, path)) in &list {
            if seed.is_empty() {
                return Err(Error::format(
                    path,
                    format!("run '{run}' has no seed: aggregate --by run instead"),
                ));
            }
            if let Some(other) = seen.insert(seed, run) {
                return Err(Error::format(
                    path,
                    format!("runs '{other}' and '{run}' both have seed {seed}"),
                ));
            }
        }
    }
    if list.len() == 1 {
        notes.push(format!(
            "one run ('{run0}'): n = 1, no spread and no interval"
        ));
    }
    Ok(notes)
}

/// What differs between two `config` values: `model: fcn vs lenet`, ...
fn config_difference(a: &str, b: &str) -> String {
    let parse = |s: &str| -> BTreeMap<String, String> {
        s.split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let (pa, pb) = (parse(a), parse(b));
    let keys: std::collections::BTreeSet<&String> = pa.keys().chain(pb.keys()).collect();
    let diffs: Vec<String> = keys
        .into_iter()
        .filter(|k| pa.get(*k) != pb.get(*k))
        .map(|k| {
            let show = |m: &BTreeMap<String, String>| m.get(k).cloned().unwrap_or("-".into());
            format!("{k} {} vs {}", show(&pa), show(&pb))
        })
        .collect();
    if diffs.is_empty() {
        format!("'{a}' vs '{b}'")
    } else {
        diffs.join(", ")
    }
}

/// The (config, layer, epoch, estimator, setting) groups of `rows`, by polars' stable
/// partition, as row indices.
fn groups(rows: &[EstimateRow]) -> Result<Vec<Vec<usize>>> {
    let text =
        |f: fn(&EstimateRow) -> &str| Values::Str(rows.iter().map(|r| f(r).to_string()).collect());
    let keys = frame(vec![
        ("config", text(|r| &r.config)),
        ("layer", text(|r| &r.layer)),
        (
            "epoch",
            Values::I64(rows.iter().map(|r| i64::from(r.epoch)).collect()),
        ),
        ("estimator", text(|r| &r.estimator)),
        ("setting", text(|r| &r.setting)),
        ("row", Values::I64((0..rows.len() as i64).collect())),
    ])?;
    let bad =
        |e: polars::prelude::PolarsError| Error::Invalid(format!("cannot group the rows: {e}"));
    let parts: Vec<DataFrame> = keys
        .partition_by_stable(["config", "layer", "epoch", "estimator", "setting"], true)
        .map_err(bad)?;
    parts
        .iter()
        .map(|p| {
            let c = p.column("row").map_err(bad)?;
            let idx = c.i64().map_err(bad)?;
            Ok(idx.into_no_null_iter().map(|i| i as usize).collect())
        })
        .collect()
}

/// Aggregates the rows of `tables` (each read from its path) over the runs they hold.
pub fn aggregate(tables: &[(std::path::PathBuf, Estimates)], by: By) -> Result<Aggregate> {
    if tables.is_empty() {
        return Err(Error::Invalid("aggregate: no table given".into()));
    }
    let notes = check(tables, by)?;
    let rows: Vec<EstimateRow> = tables.iter().flat_map(|(_, t)| t.rows.clone()).collect();
    let mut out = Vec::new();
    let mut extra = Vec::new();
    for g in groups(&rows)? {
        let members: Vec<&EstimateRow> = g.iter().map(|&i| &rows[i]).collect();
        let (row, ex) = one_group(&members)?;
        out.push(row);
        extra.push(ex);
    }
    Ok(Aggregate {
        rows: out,
        extra,
        unit: tables[0].1.unit,
        notes,
    })
}

/// The aggregate of one group (all its rows share config, layer, epoch, estimator, setting).
fn one_group(g: &[&EstimateRow]) -> Result<(EstimateRow, Extra)> {
    let r0 = g[0];
    if let Some(r) = g.iter().find(|r| r.n != r0.n) {
        return Err(Error::Invalid(format!(
            "runs '{}' and '{}' estimate layer '{}' epoch {} on different numbers of samples ({} and {})",
            r0.run, r.run, r0.layer, r0.epoch, r0.n, r.n
        )));
    }
    let mut runs: Vec<&str> = g.iter().map(|r| r.run.as_str()).collect();
    runs.sort_unstable();
    if let Some(w) = runs.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::Invalid(format!(
            "run '{}' has two rows for layer '{}' epoch {} {} {}",
            w[0], r0.layer, r0.epoch, r0.estimator, r0.setting
        )));
    }
    let col = |f: fn(&EstimateRow) -> f64| g.iter().map(|r| f(r)).collect::<Vec<f64>>();
    let (mx, sdx, sex, cix) = summary(&col(|r| r.i_xz));
    let (my, sdy, sey, ciy) = summary(&col(|r| r.i_yz));
    let lo = col(|r| r.i_yz_lo).into_iter().fold(f64::NAN, f64::min);
    let hi = col(|r| r.i_yz_hi).into_iter().fold(f64::NAN, f64::max);
    let sigma2 = col(|r| r.sigma2).iter().sum::<f64>() / g.len() as f64;
    let label = if g.len() == 1 {
        r0.run.clone()
    } else {
        format!("mean of {} runs", g.len())
    };
    let mut row = EstimateRow {
        run: label,
        i_xz_ci: cix,
        i_yz_ci: ciy,
        seed: String::new(),
        ..r0.clone()
    };
    row.estimate = Estimate {
        sigma2,
        i_xz: mx,
        i_yz: my,
        i_yz_lo: lo,
        i_yz_hi: hi,
        i_xz_se: sex,
        i_yz_se: sey,
        saturated: Some(g.iter().any(|r| r.is_saturated())),
        sigma2_over_nn: f64::NAN,
        n_eff: f64::NAN,
        i_yz_baseline: f64::NAN,
        params: Vec::new(),
        warnings: Vec::new(),
        ..r0.estimate.clone()
    };
    let seeds: Vec<&str> = g.iter().map(|r| r.seed.as_str()).collect();
    let ex = Extra {
        runs: g.len(),
        seeds: seeds.join(";"),
        run_names: g
            .iter()
            .map(|r| r.run.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        i_xz_sd: sdx,
        i_yz_sd: sdy,
        saturated_runs: g.iter().filter(|r| r.is_saturated()).count(),
    };
    Ok((row, ex))
}

/// The aggregate as a table: the estimates columns, then `runs, seeds, run_names, i_xz_sd,
/// i_yz_sd, saturated_runs`; information in `unit`.
pub fn aggregate_table(a: &Aggregate, unit: Unit) -> Result<DataFrame> {
    let mut df = estimates::to_frame(&a.rows, unit)?;
    let k = unit.from_nats();
    let extra = frame(vec![
        (
            "runs",
            Values::I64(a.extra.iter().map(|e| e.runs as i64).collect()),
        ),
        (
            "seeds",
            Values::Str(a.extra.iter().map(|e| e.seeds.clone()).collect()),
        ),
        (
            "run_names",
            Values::Str(a.extra.iter().map(|e| e.run_names.clone()).collect()),
        ),
        (
            "i_xz_sd",
            Values::F64(a.extra.iter().map(|e| e.i_xz_sd * k).collect()),
        ),
        (
            "i_yz_sd",
            Values::F64(a.extra.iter().map(|e| e.i_yz_sd * k).collect()),
        ),
        (
            "saturated_runs",
            Values::I64(a.extra.iter().map(|e| e.saturated_runs as i64).collect()),
        ),
    ])?;
    df.hstack_mut(extra.columns())
        .map_err(|e| Error::Invalid(format!("cannot build the aggregate table: {e}")))?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles() {
        assert_eq!(t975(4), 2.776445);
        // Beyond the table: t_{0.975, 40} = 2.021075, t_{0.975, 120} = 1.979930.
        assert!((t975(40) - 2.021075).abs() < 2e-5, "{}", t975(40));
        assert!((t975(120) - 1.979930).abs() < 2e-6, "{}", t975(120));
    }

    #[test]
    fn config_differences_are_named() {
        assert_eq!(
            config_difference(
                "model=fcn dataset=tishby layers=a:3",
                "model=lenet dataset=tishby layers=a:4"
            ),
            "layers a:3 vs a:4, model fcn vs lenet"
        );
    }
}
