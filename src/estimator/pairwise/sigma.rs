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
//! | `thesis` | the thesis rule: 90th percentile of the **squared** pairwise distances / 1000 | `p90(d²)/1000@last` |
//! | `p50/100`, `p50(d2)/100` | any percentile of the **squared** distances divided by any number | `p50(d²)/100@last` |
//! | `p90(d)/1000` | a percentile of the plain (not squared) distances, divided: d in place of d² | `p90(d)/1000@last` |
//! | `nn`, `nn*4` | a multiple of the median over samples of the **squared** distance to the nearest neighbour | `4*median_nn(d²)@last` |
//!
//! **One σ² per layer, fixed across epochs.** A rule is evaluated on one reference epoch's
//! distances for each layer, and the value it picks is used at every epoch of that layer, as
//! the thesis does (§5.2: one σ² per layer from the trained network). The reference is the
//! last recorded epoch unless the rule says `@first`, `@last` or `@E` (epoch E). Evaluating a
//! rule on each epoch's own distances (`@each`, e.g. `nn@each`) is available but is a
//! different quantity: I(X; cZ + ε) with σ² ∝ c² equals I(X; Z + ε/c), so a per-epoch rule
//! divides out the activations' scale, and the small activations of early epochs are pushed
//! towards ln N. That can turn a fitting phase into apparent compression; rows say `@each`.
//! Rule rows carry the reference epoch and the distance the rule read (`sigma2_ref_epoch`,
//! `sigma2_ref_distance` in `params`).
//!
//! **Squared or not.** The kernel is exp(-d²/(2σ²)), so σ² has the units of a squared
//! distance and `thesis` divides the 90th percentile of the squared distances by 1000: the
//! reading under which the thesis's LeNet convolution values (5 and 2) come out. Its Cora
//! layer ratios fit plain distances better; `p90(d)/1000` gives that reading. The quantile of
//! d is the square root of the quantile of d², so `distances --squared` shows the quantity the
//! squared rules read.
//!
//! **Degenerate nearest neighbours.** When at least half the samples have an exact duplicate
//! (saturated tanh, dead ReLU), the median nearest-neighbour distance is 0; the rule then uses
//! the median over the non-zero distances and says so in the row's `warning`.

use crate::error::{Error, Result};
use crate::estimator::Reference;

use super::kernel::DistanceStats;

/// A σ² rule computed from a representation's distance statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Quantile `q` of the squared pairwise distances (or of the distances, when not
    /// `squared`) divided by `divisor`.
    Percentile {
        /// Quantile in (0, 1].
        q: f64,
        /// Divisor.
        divisor: f64,
        /// Whether the quantile is of d² (else of d).
        squared: bool,
    },
    /// `factor` times the median over samples of the squared nearest-neighbour distance.
    NearestNeighbour {
        /// Multiplier.
        factor: f64,
    },
}

/// What a rule picked: the σ², the distance quantity it read, and a warning when it had to
/// fall back.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    /// σ².
    pub sigma2: f64,
    /// The quantile or median the rule read (d or d², as the rule says).
    pub distance: f64,
    /// Set when the rule could not be applied as written.
    pub warning: Option<String>,
}

impl Rule {
    /// The thesis rule, p90(d²)/1000.
    pub(crate) const THESIS: Rule = Rule::Percentile {
        q: 0.9,
        divisor: 1000.0,
        squared: true,
    };

    /// The σ² this rule picks for a representation with these distance statistics.
    pub fn pick(&self, d: &DistanceStats) -> Picked {
        match *self {
            Rule::Percentile {
                q,
                divisor,
                squared,
            } => {
                let d2 = d.histogram.quantile(q);
                let distance = if squared { d2 } else { d2.sqrt() };
                Picked {
                    sigma2: distance / divisor,
                    distance,
                    warning: None,
                }
            }
            Rule::NearestNeighbour { factor } => {
                let (distance, warning) = nn_median(&d.nn_d2);
                Picked {
                    sigma2: factor * distance,
                    distance,
                    warning,
                }
            }
        }
    }

    /// How the rule is named in output tables (without its reference epoch).
    pub fn label(&self) -> String {
        match *self {
            Rule::Percentile {
                q,
                divisor,
                squared,
            } => format!(
                "p{}({})/{divisor}",
                q * 100.0,
                if squared { "d²" } else { "d" }
            ),
            Rule::NearestNeighbour { factor: 1.0 } => "median_nn(d²)".into(),
            Rule::NearestNeighbour { factor } => format!("{factor}*median_nn(d²)"),
        }
    }
}

/// The median squared nearest-neighbour distance; when it is 0 (at least half the samples
/// have an exact duplicate), the median over the non-zero ones, with a warning.
pub(crate) fn nn_median(nn_d2: &[f64]) -> (f64, Option<String>) {
    let m = median(nn_d2);
    if m != 0.0 {
        return (m, None);
    }
    let nonzero: Vec<f64> = nn_d2.iter().copied().filter(|&v| v > 0.0).collect();
    let duplicated = nn_d2.len() - nonzero.len();
    let warning = format!(
        "{duplicated} of {} samples have an exact duplicate: nn rule used the median over the non-zero nearest-neighbour distances",
        nn_d2.len()
    );
    (median(&nonzero), Some(warning))
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

/// Which distances a rule reads: one reference epoch per layer, or each epoch's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    /// One epoch's distances, for every epoch of the layer.
    Reference(Reference),
    /// Each epoch's own distances (scale-relative; see the module documentation).
    Each,
}

impl At {
    fn label(&self) -> String {
        match self {
            At::Reference(r) => r.label(),
            At::Each => "each".into(),
        }
    }
}

/// Distance statistics of one layer at a reference epoch: (reference, epoch it resolved to,
/// statistics).
pub(crate) type ReferenceStats<'a> = (Reference, u32, &'a DistanceStats);

/// One σ² value with how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenSigma {
    /// The value.
    pub sigma2: f64,
    /// `fixed`, `grid`, `layer` or a rule's label with its reference (`p90(d²)/1000@last`).
    pub rule: String,
    /// The epoch whose distances the rule read (None for values and for `@each`).
    pub reference_epoch: Option<u32>,
    /// The quantile or median the rule read (NaN for values).
    pub distance: f64,
    /// Set when the rule could not be applied as written.
    pub warning: Option<String>,
    /// Set (to the f32 rounding bound, nats) when the estimate was computed again in f64.
    pub precision: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Values(Vec<f64>, &'static str),
    Layer(String, f64),
    Rule(Rule, At),
}

/// A parsed σ² specification.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaSpec {
    items: Vec<Item>,
    /// The specification as written (items trimmed, numbers in one spelling, joined by commas).
    text: String,
}

impl std::fmt::Display for SigmaSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for SigmaSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A positive finite number, or why not.
fn positive(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} is not a positive number"))
    }
}

fn number(s: &str, whole: &str) -> Result<f64> {
    positive(s).map_err(|m| Error::Invalid(format!("σ² specification '{whole}': {m}")))
}

impl SigmaSpec {
    /// Parses a specification (see the module documentation).
    pub fn parse(spec: &str) -> Result<Self> {
        let parts: Vec<&str> = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let items = parts
            .iter()
            .map(|s| parse_item(s))
            .collect::<Result<Vec<_>>>()?;
        if items.is_empty() {
            return Err(Error::Invalid("empty σ² specification".into()));
        }
        // Numbers in one spelling (1.0 and 1 are "1"), so that the same specification from the
        // command line and from Python is one value.
        let canonical: Vec<String> = parts
            .iter()
            .map(|p| p.parse::<f64>().map_or(p.to_string(), |v| v.to_string()))
            .collect();
        Ok(SigmaSpec {
            items,
            text: canonical.join(","),
        })
    }

    /// Layers named by `LAYER=VALUE` items.
    pub(crate) fn named_layers(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Layer(l, _) => Some(l.as_str()),
                _ => None,
            })
            .collect()
    }

    /// True when some rule reads each epoch's own distances (`@each`).
    pub fn needs_own_distances(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Rule(_, At::Each)))
    }

    /// The reference epochs the rules read, each once.
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        for i in &self.items {
            if let Item::Rule(_, At::Reference(r)) = i {
                if !out.contains(r) {
                    out.push(*r);
                }
            }
        }
        out
    }

    /// The σ² values for `layer`: rules `@each` evaluated on `own` (needed when
    /// [`Self::needs_own_distances`]), the others on their reference epoch's statistics in
    /// `references` (a rule whose reference is missing gives no value). Repeated (value, rule)
    /// pairs are removed, first occurrence kept; two rules that pick the same value both stay,
    /// so that every rule has a row at every epoch (the pass computes the value once).
    pub fn resolve(
        &self,
        layer: &str,
        own: Option<&DistanceStats>,
        references: &[ReferenceStats<'_>],
    ) -> Vec<ChosenSigma> {
        let mut out: Vec<ChosenSigma> = Vec::new();
        let mut push = |c: ChosenSigma| {
            let known = out.iter().any(|o| o.sigma2 == c.sigma2 && o.rule == c.rule);
            if c.sigma2.is_finite() && c.sigma2 > 0.0 && !known {
                out.push(c);
            }
        };
        let value = |sigma2: f64, rule: &str| ChosenSigma {
            sigma2,
            rule: rule.into(),
            reference_epoch: None,
            distance: f64::NAN,
            warning: None,
            precision: None,
        };
        for item in &self.items {
            match item {
                Item::Values(v, rule) => v.iter().for_each(|&s| push(value(s, rule))),
                Item::Layer(l, s) if l == layer => push(value(*s, "layer")),
                Item::Layer(..) => {}
                Item::Rule(r, at) => {
                    let stats = match at {
                        At::Each => own.map(|d| (None, d)),
                        At::Reference(want) => references
                            .iter()
                            .find(|(r, ..)| r == want)
                            .map(|&(_, e, d)| (Some(e), d)),
                    };
                    if let Some((reference_epoch, d)) = stats {
                        let p = r.pick(d);
                        push(ChosenSigma {
                            sigma2: p.sigma2,
                            rule: format!("{}@{}", r.label(), at.label()),
                            reference_epoch,
                            distance: p.distance,
                            warning: p.warning,
                            precision: None,
                        });
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
    let (body, at) = match raw.split_once('@').filter(|(b, _)| !b.contains('=')) {
        Some((body, at)) => (body.trim(), Some(parse_at(at.trim()).map_err(|m| bad(&m))?)),
        None => (raw, None),
    };
    match parse_rule(body).map_err(|m| bad(&m))? {
        Some(rule) => Ok(Item::Rule(
            rule,
            at.unwrap_or(At::Reference(Reference::Last)),
        )),
        None if at.is_some() => Err(bad("only rules (thesis, pQ/DIV, nn) take @EPOCH")),
        None => parse_value(raw),
    }
}

/// `each`, `first`, `last` or an epoch number.
fn parse_at(at: &str) -> std::result::Result<At, String> {
    match at {
        "each" => Ok(At::Each),
        "first" => Ok(At::Reference(Reference::First)),
        "last" => Ok(At::Reference(Reference::Last)),
        e => e
            .parse::<u32>()
            .map(|e| At::Reference(Reference::Epoch(e)))
            .map_err(|_| format!("'@{e}': expected @last, @first, @EPOCH or @each")),
    }
}

/// A rule (`thesis`, `nn`, `nn*F`, `pQ/DIV`, `pQ(d)/DIV`, `pQ(d2)/DIV`), or None when `body`
/// is not one.
fn parse_rule(body: &str) -> std::result::Result<Option<Rule>, String> {
    if body == "thesis" {
        return Ok(Some(Rule::THESIS));
    }
    let num = positive;
    if let Some(rest) = body.strip_prefix("nn") {
        let factor = match rest.strip_prefix('*') {
            Some(f) => num(f)?,
            None if rest.is_empty() => 1.0,
            None => return Err("expected nn or nn*FACTOR".into()),
        };
        return Ok(Some(Rule::NearestNeighbour { factor }));
    }
    let Some((q, div)) = body.strip_prefix('p').and_then(|r| r.split_once('/')) else {
        return Ok(None);
    };
    let (q, squared) = match q.split_once('(') {
        None => (q, true),
        Some((q, "d)")) => (q, false),
        Some((q, "d2)" | "d²)")) => (q, true),
        Some(_) => return Err("expected pQ/DIV, pQ(d)/DIV or pQ(d2)/DIV".into()),
    };
    let q = num(q)?;
    if q > 100.0 {
        return Err("the percentile must be at most 100".into());
    }
    Ok(Some(Rule::Percentile {
        q: q / 100.0,
        divisor: num(div)?,
        squared,
    }))
}

/// A value, a per-layer value or a grid.
fn parse_value(raw: &str) -> Result<Item> {
    let bad = |m: &str| Error::Invalid(format!("σ² specification '{raw}': {m}"));
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
            .resolve(layer, None, &[])
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

    /// Distance statistics whose squared nearest-neighbour distances are `nn` and whose
    /// squared pairwise distances are `pairs`.
    fn stats(nn: &[f64], pairs: &[f64]) -> DistanceStats {
        let mut d =
            super::super::kernel::stats(ndarray::Array2::<f64>::zeros((2, 1)).view(), &[0, 0], 8);
        d.nn_d2 = nn.to_vec();
        d.histogram = Default::default();
        for &p in pairs {
            d.histogram.add(p);
        }
        d
    }

    #[test]
    fn rules_parse_and_label() {
        let s =
            SigmaSpec::parse("thesis,p50/100,nn,nn*4@each,p90(d)/1000@first,p10(d2)/2@7").unwrap();
        assert!(s.needs_own_distances());
        assert_eq!(
            s.references(),
            vec![Reference::Last, Reference::First, Reference::Epoch(7)]
        );
        let labels: Vec<String> = s
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Rule(r, at) => Some(format!("{}@{}", r.label(), at.label())),
                _ => None,
            })
            .collect();
        assert_eq!(
            labels,
            vec![
                "p90(d²)/1000@last",
                "p50(d²)/100@last",
                "median_nn(d²)@last",
                "4*median_nn(d²)@each",
                "p90(d)/1000@first",
                "p10(d²)/2@7"
            ]
        );
        assert!(!SigmaSpec::parse("thesis@3,0.1")
            .unwrap()
            .needs_own_distances());
    }

    #[test]
    fn rules_read_their_reference_epoch_not_the_current_one() {
        // The reference epoch's squared distances are 100 times the current epoch's (activations
        // 10 times larger): the fixed rule gives the reference's σ² whatever epoch is estimated.
        let current = stats(&[0.04, 0.09, 0.16], &[1.0; 10]);
        let reference = stats(&[4.0, 9.0, 16.0], &[100.0; 10]);
        let spec = SigmaSpec::parse("nn,nn@each").unwrap();
        let chosen = spec.resolve("fc1", Some(&current), &[(Reference::Last, 80, &reference)]);
        assert_eq!(chosen.len(), 2);
        assert_eq!(chosen[0].sigma2, 9.0);
        assert_eq!(chosen[0].rule, "median_nn(d²)@last");
        assert_eq!(chosen[0].reference_epoch, Some(80));
        assert_eq!(chosen[0].distance, 9.0);
        assert_eq!(chosen[1].sigma2, 0.09);
        assert_eq!(chosen[1].rule, "median_nn(d²)@each");
        assert_eq!(chosen[1].reference_epoch, None);
        // Without the reference's statistics the rule gives no value.
        assert!(spec.resolve("fc1", None, &[]).is_empty());
    }

    #[test]
    fn squared_and_plain_percentiles() {
        // All pairs at d² = 400 (d = 20): the histogram's bin holding 400 is about 0.5 % wide.
        let d = stats(&[1.0], &[400.0; 20]);
        let sq = Rule::THESIS.pick(&d);
        assert!((sq.sigma2 / 0.4 - 1.0).abs() < 0.006, "{}", sq.sigma2);
        let plain = SigmaSpec::parse("p90(d)/1000").unwrap();
        let c = plain.resolve("x", None, &[(Reference::Last, 0, &d)]);
        assert!((c[0].sigma2 / 0.02 - 1.0).abs() < 0.003, "{}", c[0].sigma2);
        assert!((c[0].distance - sq.distance.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn nn_rule_falls_back_to_non_zero_distances_with_a_warning() {
        // 3 of 5 samples have an exact duplicate: the median is 0.
        let nn = [0.0, 0.0, 0.0, 4.0, 6.0];
        assert_eq!(median(&nn), 0.0);
        let (m, warning) = nn_median(&nn);
        assert_eq!(m, 5.0);
        assert_eq!(
            warning.as_deref(),
            Some("3 of 5 samples have an exact duplicate: nn rule used the median over the non-zero nearest-neighbour distances")
        );
        let d = stats(&nn, &[1.0]);
        let c = SigmaSpec::parse("nn*2")
            .unwrap()
            .resolve("x", None, &[(Reference::Last, 3, &d)]);
        assert_eq!(c[0].sigma2, 10.0);
        assert!(c[0].warning.is_some());
        assert_eq!(nn_median(&[1.0, 0.0, 2.0]), (1.0, None));
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
        assert_eq!(
            e("nn@later"),
            "σ² specification 'nn@later': '@later': expected @last, @first, @EPOCH or @each"
        );
        assert_eq!(
            e("0.1@last"),
            "σ² specification '0.1@last': only rules (thesis, pQ/DIV, nn) take @EPOCH"
        );
        assert_eq!(
            e("p90(x)/10"),
            "σ² specification 'p90(x)/10': expected pQ/DIV, pQ(d)/DIV or pQ(d2)/DIV"
        );
        assert_eq!(
            e("nn*-2"),
            "σ² specification 'nn*-2': -2 is not a positive number"
        );
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
