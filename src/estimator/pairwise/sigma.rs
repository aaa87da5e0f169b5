//! σ² specifications: fixed values, log grids, per-layer values, and rules computed from the data.
//!
//! A specification is a comma-separated list of items:
//!
//! | item | meaning | `sigma2_rule` in the output |
//! |---|---|---|
//! | `0.001` | that value | `fixed` |
//! | `1e-4..1e1:25` | 25 log-spaced values from 1e-4 to 1e1, both included | `grid` |
//! | `1e-3..1:x2` | 1e-3, 2e-3, 4e-3, ... up to 1 (a ratio grid; ratio 2 costs one exp per pair) | `grid` |
//! | `fc1=0.05` | 0.05 for layer `fc1` only | `layer` |
//! | `thesis` | the thesis rule: 90th percentile of the **squared** pairwise distances / 1000 | `p90(d²)/1000` |
//! | `p50/100` | any percentile of the **squared** distances divided by any number | `p50(d²)/100` |
//! | `nn`, `nn*4` | a multiple of the median over samples of the **squared** distance to the nearest neighbour | `4*median_nn(d²)` |
//!
//! Rules are evaluated per (layer, epoch) on that representation's own distances, which come
//! from a first pass of the same streaming kernel. All distances the rules use are squared
//! Euclidean distances, the quantity in the kernel exp(-d²/(2σ²)). The thesis (§5.2) speaks of
//! "the 90th-percentile pairwise distance" without saying whether it is squared; we take the
//! squared distance, which is what its estimator code computes.

use crate::error::{Error, Result};

use super::kernel::DistanceStats;

/// A σ² rule computed from a representation's distance statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Quantile `q` of the squared pairwise distances divided by `divisor`.
    Percentile {
        /// Quantile in (0, 1].
        q: f64,
        /// Divisor.
        divisor: f64,
    },
    /// `factor` times the median over samples of the squared nearest-neighbour distance.
    NearestNeighbour {
        /// Multiplier.
        factor: f64,
    },
}

impl Rule {
    /// The σ² this rule picks for a representation with these distance statistics.
    pub fn pick(&self, d: &DistanceStats) -> f64 {
        match *self {
            Rule::Percentile { q, divisor } => d.histogram.quantile(q) / divisor,
            Rule::NearestNeighbour { factor } => factor * median(&d.nn_d2),
        }
    }

    /// How the rule is named in output tables.
    pub fn label(&self) -> String {
        match *self {
            Rule::Percentile { q, divisor } => format!("p{}(d²)/{divisor}", q * 100.0),
            Rule::NearestNeighbour { factor: 1.0 } => "median_nn(d²)".into(),
            Rule::NearestNeighbour { factor } => format!("{factor}*median_nn(d²)"),
        }
    }
}

/// Median of finite values (NaN when there are none).
pub fn median(v: &[f64]) -> f64 {
    let mut f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        return f64::NAN;
    }
    f.sort_by(f64::total_cmp);
    let m = f.len() / 2;
    if f.len() % 2 == 1 {
        f[m]
    } else {
        0.5 * (f[m - 1] + f[m])
    }
}

/// One σ² value with how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenSigma {
    /// The value.
    pub sigma2: f64,
    /// `fixed`, `grid`, `layer` or a rule's label.
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Values(Vec<f64>, &'static str),
    Layer(String, f64),
    Rule(Rule),
}

/// A parsed σ² specification.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaSpec {
    items: Vec<Item>,
}

fn number(s: &str, whole: &str) -> Result<f64> {
    let v: f64 = s.trim().parse().map_err(|_| {
        Error::Invalid(format!("σ² specification '{whole}': '{s}' is not a number"))
    })?;
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::Invalid(format!(
            "σ² specification '{whole}': {s} is not a positive number"
        )));
    }
    Ok(v)
}

impl SigmaSpec {
    /// Parses a specification (see the module documentation).
    pub fn parse(spec: &str) -> Result<Self> {
        let items = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_item)
            .collect::<Result<Vec<_>>>()?;
        if items.is_empty() {
            return Err(Error::Invalid("empty σ² specification".into()));
        }
        Ok(SigmaSpec { items })
    }

    /// Layers named by `LAYER=VALUE` items.
    pub fn named_layers(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Layer(l, _) => Some(l.as_str()),
                _ => None,
            })
            .collect()
    }

    /// True when some item is a rule that needs the distance statistics first.
    pub fn has_rules(&self) -> bool {
        self.items.iter().any(|i| matches!(i, Item::Rule(_)))
    }

    /// The σ² values for `layer`, rules evaluated on `distances` (needed when
    /// [`Self::has_rules`]); duplicates removed, first occurrence kept.
    pub fn resolve(&self, layer: &str, distances: Option<&DistanceStats>) -> Vec<ChosenSigma> {
        let mut out: Vec<ChosenSigma> = Vec::new();
        let mut push = |sigma2: f64, rule: String| {
            if sigma2.is_finite() && sigma2 > 0.0 && !out.iter().any(|c| c.sigma2 == sigma2) {
                out.push(ChosenSigma { sigma2, rule });
            }
        };
        for item in &self.items {
            match item {
                Item::Values(v, rule) => v.iter().for_each(|&s| push(s, (*rule).into())),
                Item::Layer(l, s) if l == layer => push(*s, "layer".into()),
                Item::Layer(..) => {}
                Item::Rule(r) => {
                    if let Some(d) = distances {
                        push(r.pick(d), r.label());
                    }
                }
            }
        }
        out
    }
}

/// One item of a specification (see the module documentation).
fn parse_item(raw: &str) -> Result<Item> {
    let bad = |m: &str| Error::Invalid(format!("σ² specification '{raw}': {m}"));
    if raw == "thesis" {
        return Ok(Item::Rule(Rule::Percentile {
            q: 0.9,
            divisor: 1000.0,
        }));
    }
    if let Some(rest) = raw.strip_prefix("nn") {
        let factor = match rest.strip_prefix('*') {
            Some(f) => number(f, raw)?,
            None if rest.is_empty() => 1.0,
            None => return Err(bad("expected nn or nn*FACTOR")),
        };
        return Ok(Item::Rule(Rule::NearestNeighbour { factor }));
    }
    if let Some(rest) = raw.strip_prefix('p').filter(|r| r.contains('/')) {
        let (q, div) = rest
            .split_once('/')
            .ok_or_else(|| bad("expected pQ/DIVISOR"))?;
        let q = number(q, raw)?;
        if q > 100.0 {
            return Err(bad("the percentile must be at most 100"));
        }
        return Ok(Item::Rule(Rule::Percentile {
            q: q / 100.0,
            divisor: number(div, raw)?,
        }));
    }
    if let Some((layer, v)) = raw.split_once('=') {
        if layer.trim().is_empty() {
            return Err(bad("expected LAYER=VALUE"));
        }
        return Ok(Item::Layer(layer.trim().to_string(), number(v, raw)?));
    }
    if let Some((lo, rest)) = raw.split_once("..") {
        let (hi, count) = rest
            .split_once(':')
            .ok_or_else(|| bad("a grid is LO..HI:COUNT or LO..HI:xRATIO"))?;
        let (lo, hi) = (number(lo, raw)?, number(hi, raw)?);
        if hi < lo {
            return Err(bad("the grid's upper end is below its lower end"));
        }
        return Ok(Item::Values(grid(raw, lo, hi, count)?, "grid"));
    }
    Ok(Item::Values(vec![number(raw, raw)?], "fixed"))
}

/// The values of the grid `lo..hi:count` (log-spaced, both ends included) or `lo..hi:xRATIO`.
fn grid(raw: &str, lo: f64, hi: f64, count: &str) -> Result<Vec<f64>> {
    let bad = |m: &str| Error::Invalid(format!("σ² specification '{raw}': {m}"));
    if let Some(ratio) = count.strip_prefix('x') {
        let r = number(ratio, raw)?;
        if r <= 1.0 {
            return Err(bad("the grid ratio must be above 1"));
        }
        let mut v = Vec::new();
        let mut x = lo;
        while x <= hi * (1.0 + 1e-12) && v.len() <= 10_000 {
            v.push(x);
            x *= r;
        }
        return Ok(v);
    }
    let k: usize = count
        .trim()
        .parse()
        .map_err(|_| bad("the grid's count is not a whole number"))?;
    if k == 0 || k > 10_000 {
        return Err(bad("the grid's count must be between 1 and 10000"));
    }
    if k == 1 {
        return Ok(vec![lo]);
    }
    let step = (hi / lo).ln() / (k - 1) as f64;
    Ok((0..k)
        .map(|i| {
            if i == k - 1 {
                hi
            } else {
                lo * (step * i as f64).exp()
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(spec: &str, layer: &str) -> Vec<(f64, String)> {
        SigmaSpec::parse(spec)
            .unwrap()
            .resolve(layer, None)
            .into_iter()
            .map(|c| (c.sigma2, c.rule))
            .collect()
    }

    #[test]
    fn lists_grids_and_layers() {
        assert_eq!(
            values("0.001, 0.01,0.1", "x"),
            vec![
                (0.001, "fixed".into()),
                (0.01, "fixed".into()),
                (0.1, "fixed".into())
            ]
        );
        let g = values("1e-4..1e1:6", "x");
        assert_eq!(g.len(), 6);
        for (k, (v, r)) in g.iter().enumerate() {
            assert!((v / 10f64.powi(k as i32 - 4) - 1.0).abs() < 1e-12);
            assert_eq!(r, "grid");
        }
        assert_eq!(g[5].0, 10.0);
        let h: Vec<f64> = values("0.25..2:x2", "x").into_iter().map(|v| v.0).collect();
        assert_eq!(h, vec![0.25, 0.5, 1.0, 2.0]);
        assert_eq!(
            values("fc1=0.5,0.1,fc2=3", "fc1"),
            vec![(0.5, "layer".into()), (0.1, "fixed".into())]
        );
        assert_eq!(values("0.1,0.1", "x").len(), 1);
    }

    #[test]
    fn rules_parse_and_label() {
        let s = SigmaSpec::parse("thesis,p50/100,nn,nn*4").unwrap();
        assert!(s.has_rules());
        let labels: Vec<String> = s
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Rule(r) => Some(r.label()),
                _ => None,
            })
            .collect();
        assert_eq!(
            labels,
            vec![
                "p90(d²)/1000",
                "p50(d²)/100",
                "median_nn(d²)",
                "4*median_nn(d²)"
            ]
        );
    }

    #[test]
    fn bad_specifications_are_explained() {
        let e = |s: &str| SigmaSpec::parse(s).unwrap_err().to_string();
        assert_eq!(e(""), "empty σ² specification");
        assert_eq!(e("abc"), "σ² specification 'abc': 'abc' is not a number");
        assert_eq!(
            e("-1"),
            "σ² specification '-1': -1 is not a positive number"
        );
        assert_eq!(
            e("1..0.1:5"),
            "σ² specification '1..0.1:5': the grid's upper end is below its lower end"
        );
        assert_eq!(
            e("0.1..1"),
            "σ² specification '0.1..1': a grid is LO..HI:COUNT or LO..HI:xRATIO"
        );
        assert_eq!(
            e("p120/3"),
            "σ² specification 'p120/3': the percentile must be at most 100"
        );
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
