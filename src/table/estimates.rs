//! The estimates table: one schema, one row type ([`EstimateRow`]), written by `estimate` and
//! read back by every diagnostic, whatever estimator (or other tool) wrote it.
//!
//! Columns, in order ([`COLUMNS`]): `run, layer, layer_index, layer_kind, epoch, epoch_label, labels, estimator,
//! setting, sigma2, sigma2_rule, sigma2_over_nn, i_xz, i_yz, i_yz_lo, i_yz_hi, n, h_y, log_n,
//! n_eff, saturated, unit, params, i_yz_baseline, warning, i_xz_se, i_yz_se, i_xz_ci_lo,
//! i_xz_ci_hi, i_yz_ci_lo, i_yz_ci_hi, seed, config, fingerprint, version, shard, request,
//! ratio`, `ratio` being I(Y;Z) / I(X;Z) (written, not read: it follows from the two). Information columns (`i_*`, `h_y`, `log_n`)
//! are in `unit` (bits or nats) in the file and always in nats in memory. A table from another
//! tool needs only [`REQUIRED`]; the rest default (`setting` from σ² and its rule, or from
//! `params`).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use polars::prelude::DataFrame;

use super::{frame, Table, Values};
use crate::archive::LayerInfo;
use crate::error::{Error, Result};
use crate::estimator::Estimate;

/// Unit of information in tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Unit {
    /// log base 2.
    #[default]
    Bits,
    /// Natural log.
    Nats,
}

impl Unit {
    /// Multiplier from nats to this unit.
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

/// One row: an estimate of one estimator on one (run, layer, epoch), in nats. The estimator's
/// values are one [`Estimate`] (`row.estimate`, and through `Deref` `row.i_xz`, `row.sigma2`,
/// ...); the row adds what the run knows (names, N, H(Y), intervals, fingerprints).
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateRow {
    /// Run name.
    pub run: String,
    /// Layer name.
    pub layer: String,
    /// Position of the layer in the network.
    pub layer_index: usize,
    /// Layer kind (`linear`, `conv`, `recurrent`, `graph`, `output`, `unknown`).
    pub layer_kind: String,
    /// Epoch.
    pub epoch: u32,
    /// What the epoch is where the recording says (a checkpoint's step or name), else empty.
    pub epoch_label: String,
    /// The archive's label set Y that I(Y;Z) is of (`class`, `next_token`, ...); empty when
    /// not known (tables from other tools, older tables).
    pub labels: String,
    /// What the estimator returned; the driver has decided `saturated`.
    pub estimate: Estimate,
    /// Number of samples.
    pub n: usize,
    /// H(Y), nats.
    pub h_y: f64,
    /// ln N, nats.
    pub log_n: f64,
    /// 95 % interval of `i_xz`: `i_xz ± 1.96 se` for one estimate, the t-interval of the
    /// mean for an aggregate (NaN when unknown), nats.
    pub i_xz_ci: (f64, f64),
    /// 95 % interval of `i_yz`, as `i_xz_ci`, nats.
    pub i_yz_ci: (f64, f64),
    /// The recording's seed (empty when the archive does not say).
    pub seed: String,
    /// What runs must share to be aggregated: `model=.. dataset=.. layers=name:width,..`
    /// (empty when unknown).
    pub config: String,
    /// The archive's fingerprint (a hash of its manifest, [`crate::archive::Manifest::fingerprint`]).
    pub fingerprint: String,
    /// The infoplane version that estimated the row.
    pub version: String,
    /// The shard that estimated it (`2/3`, `slice:2/3`, `all`).
    pub shard: String,
    /// A hash of the whole request: estimators, every parameter, layers and epochs.
    pub request: String,
}

impl std::ops::Deref for EstimateRow {
    type Target = Estimate;
    fn deref(&self) -> &Estimate {
        &self.estimate
    }
}

impl std::ops::DerefMut for EstimateRow {
    fn deref_mut(&mut self) -> &mut Estimate {
        &mut self.estimate
    }
}

/// The normal 97.5 % quantile: a 95 % interval of one estimate is `value ± Z95 · se`.
pub const Z95: f64 = 1.959_963_984_540_054;

/// `(value - Z95 se, value + Z95 se)`, NaN when either is unknown.
pub(crate) fn normal_interval(value: f64, se: f64) -> (f64, f64) {
    (value - Z95 * se, value + Z95 * se)
}

impl EstimateRow {
    /// A row with every field empty or unknown (NaN).
    pub fn blank() -> Self {
        EstimateRow::base(
            "",
            (
                0,
                &LayerInfo {
                    name: String::new(),
                    kind: crate::archive::LayerKind::Unknown,
                    width: 1,
                    shape: None,
                    activation: None,
                },
            ),
            0,
            0,
            f64::NAN,
        )
    }

    /// The columns every estimate of one (layer, epoch) shares; the rest unknown.
    pub fn base(
        run: &str,
        (index, layer): (usize, &LayerInfo),
        epoch: u32,
        n: usize,
        h_y: f64,
    ) -> Self {
        EstimateRow {
            run: run.to_string(),
            layer: layer.name.clone(),
            layer_index: index,
            layer_kind: layer.kind.to_string(),
            epoch,
            epoch_label: String::new(),
            labels: String::new(),
            estimate: Estimate::new("", ""),
            n,
            h_y,
            log_n: (n as f64).ln(),
            i_xz_ci: (f64::NAN, f64::NAN),
            i_yz_ci: (f64::NAN, f64::NAN),
            seed: String::new(),
            config: String::new(),
            fingerprint: String::new(),
            version: String::new(),
            shard: String::new(),
            request: String::new(),
        }
    }
}

/// Column names, in order.
pub const COLUMNS: [&str; 38] = [
    "run",
    "layer",
    "layer_index",
    "layer_kind",
    "epoch",
    "epoch_label",
    "labels",
    "estimator",
    "setting",
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
    "warning",
    "i_xz_se",
    "i_yz_se",
    "i_xz_ci_lo",
    "i_xz_ci_hi",
    "i_yz_ci_lo",
    "i_yz_ci_hi",
    "seed",
    "config",
    "fingerprint",
    "version",
    "shard",
    "request",
    "ratio",
];

/// Columns a table must have to be read as estimates.
pub const REQUIRED: [&str; 11] = [
    "run",
    "layer",
    "layer_index",
    "epoch",
    "estimator",
    "sigma2",
    "i_xz",
    "i_yz",
    "n",
    "h_y",
    "log_n",
];

/// The rows as a table with [`COLUMNS`], information in `unit`.
pub fn to_frame(rows: &[EstimateRow], unit: Unit) -> Result<DataFrame> {
    let k = unit.from_nats();
    let f = |g: fn(&EstimateRow) -> f64| Values::F64(rows.iter().map(g).collect());
    let info = |g: fn(&EstimateRow) -> f64| Values::F64(rows.iter().map(|r| g(r) * k).collect());
    let s =
        |g: fn(&EstimateRow) -> &str| Values::Str(rows.iter().map(|r| g(r).to_string()).collect());
    let i = |g: fn(&EstimateRow) -> i64| Values::I64(rows.iter().map(g).collect());
    frame(vec![
        ("run", s(|r| &r.run)),
        ("layer", s(|r| &r.layer)),
        ("layer_index", i(|r| r.layer_index as i64)),
        ("layer_kind", s(|r| &r.layer_kind)),
        ("epoch", i(|r| i64::from(r.epoch))),
        ("epoch_label", s(|r| &r.epoch_label)),
        ("labels", s(|r| &r.labels)),
        ("estimator", s(|r| &r.estimator)),
        ("setting", s(|r| &r.setting)),
        ("sigma2", f(|r| r.sigma2)),
        ("sigma2_rule", s(|r| &r.sigma2_rule)),
        ("sigma2_over_nn", f(|r| r.sigma2_over_nn)),
        ("i_xz", info(|r| r.i_xz)),
        ("i_yz", info(|r| r.i_yz)),
        ("i_yz_lo", info(|r| r.i_yz_lo)),
        ("i_yz_hi", info(|r| r.i_yz_hi)),
        ("n", i(|r| r.n as i64)),
        ("h_y", info(|r| r.h_y)),
        ("log_n", info(|r| r.log_n)),
        ("n_eff", f(|r| r.n_eff)),
        (
            "saturated",
            Values::Bool(rows.iter().map(|r| r.is_saturated()).collect()),
        ),
        ("unit", Values::Str(vec![unit.to_string(); rows.len()])),
        (
            "params",
            Values::Str(rows.iter().map(|r| r.params_text()).collect()),
        ),
        ("i_yz_baseline", info(|r| r.i_yz_baseline)),
        (
            "warning",
            Values::Str(rows.iter().map(|r| r.warning_text()).collect()),
        ),
        ("i_xz_se", info(|r| r.i_xz_se)),
        ("i_yz_se", info(|r| r.i_yz_se)),
        ("i_xz_ci_lo", info(|r| r.i_xz_ci.0)),
        ("i_xz_ci_hi", info(|r| r.i_xz_ci.1)),
        ("i_yz_ci_lo", info(|r| r.i_yz_ci.0)),
        ("i_yz_ci_hi", info(|r| r.i_yz_ci.1)),
        ("seed", s(|r| &r.seed)),
        ("config", s(|r| &r.config)),
        ("fingerprint", s(|r| &r.fingerprint)),
        ("version", s(|r| &r.version)),
        ("shard", s(|r| &r.shard)),
        ("request", s(|r| &r.request)),
        ("ratio", f(|r| r.ratio())),
    ])
}

/// Writes the rows to `path` (CSV or Parquet by extension), information in `unit`.
pub fn write(rows: &[EstimateRow], unit: Unit, path: &Path) -> Result<()> {
    super::write(&mut to_frame(rows, unit)?, path)
}

/// An estimates table read back: rows in nats, and the unit the file used (its first row's;
/// bits when it says none), for showing results the way they were written.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimates {
    /// The rows, in nats.
    pub rows: Vec<EstimateRow>,
    /// The unit of the file.
    pub unit: Unit,
}

/// Reads an estimates table (CSV or Parquet, by extension).
pub fn read(path: &Path) -> Result<Estimates> {
    from_table(&Table::read(path)?)
}

/// The rows of several tables, in order, in nats; the tables must be written in one unit (the
/// unit of the result).
pub fn read_all(paths: &[impl AsRef<Path>]) -> Result<Estimates> {
    let mut rows = Vec::new();
    let mut unit: Option<Unit> = None;
    for p in paths {
        let p = p.as_ref();
        let t = read(p)?;
        if let Some(u) = unit.filter(|&u| u != t.unit) {
            return Err(Error::format(
                p,
                format!(
                    "is in {}, the tables before it in {u}: write them in one unit",
                    t.unit
                ),
            ));
        }
        unit = Some(t.unit);
        rows.extend(t.rows);
    }
    Ok(Estimates {
        rows,
        unit: unit.unwrap_or_default(),
    })
}

/// The setting of a row from a table without the `setting` column: the σ² group (value or
/// rule) when there is a σ², the parameters otherwise.
fn setting_of(sigma2: f64, rule: &str, params: &str) -> String {
    if sigma2.is_nan() {
        params.to_string()
    } else {
        crate::estimator::pairwise::setting(sigma2, rule)
    }
}

/// The rows of a table with at least the [`REQUIRED`] columns, converted to nats.
pub(crate) fn from_table(t: &Table) -> Result<Estimates> {
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| !t.has(c)).collect();
    if !missing.is_empty() {
        return Err(Error::format(
            t.path(),
            format!(
                "not an estimates table: missing column{} {} (write one with `infoplane estimate`)",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", ")
            ),
        ));
    }
    let n = t.height();
    if n == 0 {
        return Err(Error::format(
            t.path(),
            "holds no estimate rows (only a header)",
        ));
    }
    let mut rows = vec![EstimateRow::blank(); n];
    fill_text(t, &mut rows)?;
    fill_numbers(t, &mut rows)?;
    match t.strs("setting")? {
        Some(s) => fill(&mut rows, s, |r, v| r.setting = v),
        None => rows
            .iter_mut()
            .for_each(|r| r.setting = setting_of(r.sigma2, &r.sigma2_rule, &r.params_text())),
    }
    let units: Vec<Unit> = t
        .strs("unit")?
        .unwrap_or_else(|| vec!["bits".into(); n])
        .iter()
        .map(|u| u.parse().unwrap_or_default())
        .collect();
    for (r, u) in rows.iter_mut().zip(&units) {
        let k = 1.0 / u.from_nats();
        let e = &mut r.estimate;
        for v in [&mut e.i_xz, &mut e.i_yz, &mut e.i_yz_lo, &mut e.i_yz_hi] {
            *v *= k;
        }
        for v in [&mut e.i_yz_baseline, &mut e.i_xz_se, &mut e.i_yz_se] {
            *v *= k;
        }
        for v in [&mut r.h_y, &mut r.log_n] {
            *v *= k;
        }
        for v in [&mut r.i_xz_ci, &mut r.i_yz_ci] {
            (v.0, v.1) = (v.0 * k, v.1 * k);
        }
    }
    Ok(Estimates {
        rows,
        unit: units[0],
    })
}

/// The text columns (with their defaults when absent).
fn fill_text(t: &Table, rows: &mut [EstimateRow]) -> Result<()> {
    type Text = fn(&mut EstimateRow, String);
    let texts: [(&str, &str, Text); 15] = [
        ("run", "", |r, v| r.run = v),
        ("epoch_label", "", |r, v| r.epoch_label = v),
        ("labels", "", |r, v| r.labels = v),
        ("layer", "", |r, v| r.layer = v),
        ("layer_kind", "unknown", |r, v| r.layer_kind = v),
        ("estimator", "", |r, v| r.estimator = v.into()),
        ("sigma2_rule", "", |r, v| r.sigma2_rule = v),
        ("params", "", |r, v| r.params = Estimate::parse_params(&v)),
        ("warning", "", |r, v| r.warnings = warnings(&v)),
        ("seed", "", |r, v| r.seed = v),
        ("config", "", |r, v| r.config = v),
        ("fingerprint", "", |r, v| r.fingerprint = v),
        ("version", "", |r, v| r.version = v),
        ("shard", "", |r, v| r.shard = v),
        ("request", "", |r, v| r.request = v),
    ];
    for (c, d, set) in texts {
        let v = t
            .strs(c)?
            .unwrap_or_else(|| vec![d.to_string(); rows.len()]);
        fill(rows, v, set);
    }
    Ok(())
}

/// The counts (whole numbers, checked), the numbers (NaN when absent) and the flag.
fn fill_numbers(t: &Table, rows: &mut [EstimateRow]) -> Result<()> {
    let n = rows.len();
    let whole =
        |c: &str, max: f64| -> Result<Vec<f64>> { Ok(t.whole(c, max)?.unwrap_or_default()) };
    fill(rows, whole("layer_index", u32::MAX as f64)?, |r, v| {
        r.layer_index = v as usize
    });
    fill(rows, whole("epoch", u32::MAX as f64)?, |r, v| {
        r.epoch = v as u32
    });
    fill(rows, whole("n", (1u64 << 53) as f64)?, |r, v| {
        r.n = v as usize
    });
    type Num = fn(&mut EstimateRow, f64);
    let nums: [(&str, Num); 16] = [
        ("sigma2", |r, v| r.sigma2 = v),
        ("sigma2_over_nn", |r, v| r.sigma2_over_nn = v),
        ("n_eff", |r, v| r.n_eff = v),
        ("i_xz", |r, v| r.i_xz = v),
        ("i_yz", |r, v| r.i_yz = v),
        ("i_yz_lo", |r, v| r.i_yz_lo = v),
        ("i_yz_hi", |r, v| r.i_yz_hi = v),
        ("h_y", |r, v| r.h_y = v),
        ("log_n", |r, v| r.log_n = v),
        ("i_yz_baseline", |r, v| r.i_yz_baseline = v),
        ("i_xz_se", |r, v| r.i_xz_se = v),
        ("i_yz_se", |r, v| r.i_yz_se = v),
        ("i_xz_ci_lo", |r, v| r.i_xz_ci.0 = v),
        ("i_xz_ci_hi", |r, v| r.i_xz_ci.1 = v),
        ("i_yz_ci_lo", |r, v| r.i_yz_ci.0 = v),
        ("i_yz_ci_hi", |r, v| r.i_yz_ci.1 = v),
    ];
    for (c, set) in nums {
        fill(rows, t.f64s(c)?.unwrap_or_else(|| vec![f64::NAN; n]), set);
    }
    let sat = t.bools("saturated")?.unwrap_or_else(|| vec![false; n]);
    fill(rows, sat, |r, v| r.saturated = Some(v));
    Ok(())
}

/// The `warning` column's sentences (separated by `; `).
fn warnings(text: &str) -> Vec<String> {
    text.split("; ")
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Sets one field of every row from a column.
fn fill<T>(rows: &mut [EstimateRow], values: Vec<T>, set: impl Fn(&mut EstimateRow, T)) {
    for (r, v) in rows.iter_mut().zip(values) {
        set(r, v);
    }
}
