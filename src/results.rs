//! Reading estimate tables back (`estimate`'s CSV or Parquet output) for diagnostics and
//! comparisons: one [`ResultRow`] per (run, layer, epoch, estimator, σ²).

use std::path::Path;

use crate::error::{Error, Result};
use crate::table::Table;

/// One row of an estimates table, whatever estimator wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
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
    /// Estimator name (`kl`, `bd`, ...).
    pub estimator: String,
    /// Noise variance (NaN when the estimator has none).
    pub sigma2: f64,
    /// How σ² was chosen (`fixed`, `grid`, `layer`, a rule).
    pub sigma2_rule: String,
    /// I(X;Z).
    pub i_xz: f64,
    /// I(Y;Z).
    pub i_yz: f64,
    /// Lower end of the rigorous I(Y;Z) bracket (NaN when unknown).
    pub i_yz_lo: f64,
    /// Upper end of the rigorous I(Y;Z) bracket (NaN when unknown).
    pub i_yz_hi: f64,
    /// Number of samples.
    pub n: usize,
    /// H(Y), in `unit`.
    pub h_y: f64,
    /// log N, in `unit`.
    pub log_n: f64,
    /// Saturation flag.
    pub saturated: bool,
    /// `bits` or `nats`.
    pub unit: String,
    /// The estimator's parameters (bin size, α and widths, MINE settings); empty for kl/bd.
    pub params: String,
}

impl ResultRow {
    /// The parameter group a row belongs to across layers: the value for fixed σ², the rule's
    /// name for per-(layer, epoch) rules (whose value differs from layer to layer), and for
    /// estimators without σ² their parameters up to the first per-matrix value (`distinct=`,
    /// `sigma_z=`, which differ between layers).
    pub fn sigma2_key(&self) -> String {
        if self.sigma2.is_nan() && !self.params.is_empty() {
            let fixed: Vec<&str> = self
                .params
                .split(' ')
                .filter(|p| {
                    !p.starts_with("distinct=")
                        && !p.starts_with("sigma_z=")
                        && !p.starts_with("sigma_x=")
                        && !p.starts_with("sd_")
                })
                .collect();
            return fixed.join(" ");
        }
        if matches!(self.sigma2_rule.as_str(), "fixed" | "grid" | "") || self.sigma2.is_nan() {
            // Six significant digits: grid values print as 0.01, not 0.010000000000000002.
            let short: f64 = format!("{:.5e}", self.sigma2)
                .parse()
                .unwrap_or(self.sigma2);
            format!("{short}")
        } else {
            self.sigma2_rule.clone()
        }
    }
}

/// Columns every results table must have.
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

/// Reads an estimates table (CSV or Parquet, by extension).
pub fn read_results(path: &Path) -> Result<Vec<ResultRow>> {
    let t = Table::read(path)?;
    rows_from_table(&t).map_err(|m| Error::format(path, m))
}

/// Converts a table with at least the [`REQUIRED`] columns.
pub fn rows_from_table(t: &Table) -> std::result::Result<Vec<ResultRow>, String> {
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| t.column(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "not an estimates table: missing column{} {} (write one with `infoplane estimate`)",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        ));
    }
    let n = t.nrows();
    if n == 0 {
        return Err("holds no estimate rows (only a header)".into());
    }
    let num = |c: &str| numeric(t, c);
    let txt = |c: &str| t.strs(c).unwrap_or_else(|| vec![String::new(); n]);
    let opt_num = |c: &str| t.f64s(c).unwrap_or_else(|| vec![f64::NAN; n]);
    let (run, layer, estimator) = (txt("run"), txt("layer"), txt("estimator"));
    let kind = t
        .strs("layer_kind")
        .unwrap_or_else(|| vec!["unknown".into(); n]);
    let rule = txt("sigma2_rule");
    let unit = t.strs("unit").unwrap_or_else(|| vec!["bits".into(); n]);
    let li = whole(t, "layer_index", u32::MAX as f64)?;
    let ep = whole(t, "epoch", u32::MAX as f64)?;
    let nn = whole(t, "n", (1u64 << 53) as f64)?;
    let (sg, ixz, iyz, hy, ln) = (
        num("sigma2")?,
        num("i_xz")?,
        num("i_yz")?,
        num("h_y")?,
        num("log_n")?,
    );
    let (lo, hi) = (opt_num("i_yz_lo"), opt_num("i_yz_hi"));
    let sat = t.bools("saturated").unwrap_or_else(|| vec![false; n]);
    let params = t.strs("params").unwrap_or_else(|| vec![String::new(); n]);
    let rows = (0..n)
        .map(|r| ResultRow {
            run: run[r].clone(),
            layer: layer[r].clone(),
            layer_index: li[r] as usize,
            layer_kind: kind[r].clone(),
            epoch: ep[r] as u32,
            estimator: estimator[r].clone(),
            sigma2: sg[r],
            sigma2_rule: rule[r].clone(),
            i_xz: ixz[r],
            i_yz: iyz[r],
            i_yz_lo: lo[r],
            i_yz_hi: hi[r],
            n: nn[r] as usize,
            h_y: hy[r],
            log_n: ln[r],
            saturated: sat[r],
            unit: unit[r].clone(),
            params: params[r].clone(),
        })
        .collect();
    Ok(rows)
}

/// Column `c` as numbers; a cell that is not one is named with its line.
fn numeric(t: &Table, c: &str) -> std::result::Result<Vec<f64>, String> {
    if let Some(v) = t.f64s(c) {
        return Ok(v);
    }
    let cells = t.strs(c).unwrap_or_default();
    let (r, cell) = cells
        .iter()
        .enumerate()
        .find(|(_, v)| v.parse::<f64>().is_err())
        .map_or((0, String::new()), |(r, v)| (r, v.clone()));
    Err(format!(
        "{}: column '{c}' holds '{}', which is not a number",
        t.row_label(r),
        crate::text::escape_controls(&cell)
    ))
}

/// Column `c` as whole numbers in `0..=max` (counts and indices: NaN, fractions, negatives
/// and values past `max` are refused, never coerced).
fn whole(t: &Table, c: &str, max: f64) -> std::result::Result<Vec<f64>, String> {
    let v = numeric(t, c)?;
    match v
        .iter()
        .position(|x| !(x.is_finite() && *x >= 0.0 && x.fract() == 0.0 && *x <= max))
    {
        Some(r) => Err(format!(
            "{}: column '{c}' holds {}, which is not a whole number from 0 to {max}",
            t.row_label(r),
            if v[r].abs() >= 1e16 {
                format!("{:e}", v[r])
            } else {
                v[r].to_string()
            }
        )),
        None => Ok(v),
    }
}

impl From<&crate::estimates::EstimateRow> for ResultRow {
    fn from(r: &crate::estimates::EstimateRow) -> Self {
        ResultRow {
            run: r.run.clone(),
            layer: r.layer.clone(),
            layer_index: r.layer_index,
            layer_kind: r.layer_kind.clone(),
            epoch: r.epoch,
            estimator: r.estimator.to_string(),
            sigma2: r.sigma2,
            sigma2_rule: r.sigma2_rule.clone(),
            i_xz: r.i_xz,
            i_yz: r.i_yz,
            i_yz_lo: r.i_yz_lo,
            i_yz_hi: r.i_yz_hi,
            n: r.n,
            h_y: r.h_y,
            log_n: r.log_n,
            saturated: r.saturated,
            unit: r.unit.to_string(),
            params: r.params.clone(),
        }
    }
}
