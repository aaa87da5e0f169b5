//! The estimator registry: every name the `estimator` column can hold, what it measures (for
//! tables, diagnostics, plots and the report, which never test names themselves), and how to
//! build it from the parameters.
//!
//! Adding an estimator: its module defines an [`Entry`] (`ENTRY`), and [`REGISTRY`] lists it
//! (ARCHITECTURE.md, "Adding an estimator").

use super::{binning, ksg, mc, mine, pairwise, renyi, smi, soft, Estimator, EstimatorParams};
use crate::error::{Error, Result};

/// The quantity an estimator's `i_xz` and `i_yz` columns hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Mutual information I(·;Z), nats or bits: on N samples at most ln N (and I(Y;Z) at
    /// most H(Y)).
    Mutual,
    /// Sliced mutual information SI(·;Z) (Goldfeld & Greenewald 2021): the mean mutual
    /// information of random one-dimensional projections. A different quantity, not bounded
    /// by ln N, that plots and reports must not label as I.
    Sliced,
}

impl Quantity {
    /// The symbol: `I` or `SI`.
    pub fn symbol(self) -> &'static str {
        match self {
            Quantity::Mutual => "I",
            Quantity::Sliced => "SI",
        }
    }

    /// The axis names of the information plane: (`I(X;Z)`, `I(Y;Z)`) or their SI.
    pub fn axes(self) -> (&'static str, &'static str) {
        match self {
            Quantity::Mutual => ("I(X;Z)", "I(Y;Z)"),
            Quantity::Sliced => ("SI(X;Z)", "SI(Y;Z)"),
        }
    }

    /// Whether ln N (N samples) bounds the quantity, so that plots draw it as a reference.
    pub(crate) fn bounded_by_log_n(self) -> bool {
        self == Quantity::Mutual
    }
}

/// On which side of the truth an I(X;Z) lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// An estimate, on either side.
    Estimate,
    /// An upper bound; `lower` names the estimator of the matching lower bound.
    Upper {
        /// The partner.
        lower: &'static str,
    },
    /// A lower bound; `upper` names the estimator of the matching upper bound.
    Lower {
        /// The partner.
        upper: &'static str,
    },
}

impl Side {
    /// The estimator on the other side of a bound pair.
    pub fn partner(self) -> Option<&'static str> {
        match self {
            Side::Estimate => None,
            Side::Upper { lower } => Some(lower),
            Side::Lower { upper } => Some(upper),
        }
    }
}

/// How the cost of one (layer, epoch) grows with its N samples of width H: balances the
/// slices of a sweep (`--shard slice:i/n`); an order of growth, not seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// All pairs: N²·H.
    Pairs,
    /// An N×N eigendecomposition after the pairs: N³ + N²·H.
    Cubic,
    /// One pass over the values: N·H.
    Linear,
}

impl Cost {
    /// The order of growth at N samples of width H.
    pub fn weight(self, n: f64, h: f64) -> f64 {
        match self {
            Cost::Pairs => n * n * h,
            Cost::Cubic => n * n * (n + h),
            Cost::Linear => n * h,
        }
    }
}

/// What one name of the `estimator` column measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The name (in `--estimator`, `estimators=` and the `estimator` column).
    pub name: &'static str,
    /// The quantity of its `i_xz` and `i_yz` columns.
    pub quantity: Quantity,
    /// Which side of the truth its I(X;Z) lies on.
    pub side: Side,
    /// Whether its rows carry the rigorous I(Y;Z) bracket (`i_yz_lo`, `i_yz_hi`).
    pub bracket: bool,
    /// Whether it measures the representation with added Gaussian noise of variance σ²
    /// (I(X; Z + ε)), so that its values depend on σ² and its rows carry one.
    pub noisy: bool,
}

impl Kind {
    /// A name no registry entry has (a table from another version or tool): mutual
    /// information, an estimate, nothing else known.
    pub const fn unknown(name: &'static str) -> Kind {
        Kind {
            name,
            quantity: Quantity::Mutual,
            side: Side::Estimate,
            bracket: false,
            noisy: false,
        }
    }
}

/// Builds an estimator from the parameters and the names requested among its own.
pub type Build = fn(&EstimatorParams, &[&str]) -> Result<Box<dyn Estimator>>;

/// One registry entry: the names an estimator answers to (several when one computation gives
/// several columns), what it costs, and how to build it.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Its names, with what each measures.
    pub kinds: &'static [Kind],
    /// One line for `--help` and the docs.
    pub about: &'static str,
    /// How its cost grows (for sweeps).
    pub cost: Cost,
    /// Builds the estimator (checking its parameters).
    pub build: Build,
}

/// Every estimator, in the order of `--help` and of tables.
pub const REGISTRY: &[Entry] = &[
    pairwise::ENTRY,
    mc::ENTRY,
    binning::ENTRY,
    renyi::ENTRY,
    mine::ENTRY,
    ksg::ENTRY,
    smi::ENTRY,
    soft::ENTRY,
];

/// The estimators run when none are named: the pairwise bounds (one pass gives both).
pub const DEFAULT_ESTIMATORS: &[&str] = &["kl", "bd"];

/// [`DEFAULT_ESTIMATORS`] as a comma-separated list (the CLI's default value).
pub const DEFAULT_ESTIMATORS_TEXT: &str = "kl,bd";

/// Every name [`REGISTRY`] knows, in order.
pub fn names() -> Vec<&'static str> {
    kinds().map(|k| k.name).collect()
}

fn kinds() -> impl Iterator<Item = &'static Kind> {
    REGISTRY.iter().flat_map(|e| e.kinds.iter())
}

/// What `name` measures; [`Kind::unknown`] for a name no entry has.
pub fn kind(name: &str) -> Kind {
    kinds()
        .find(|k| k.name == name)
        .copied()
        .unwrap_or(Kind::unknown("unknown"))
}

/// The help of the estimator choice: one line per entry, from the registry.
pub fn help() -> String {
    let mut s = String::from("Estimators, comma-separated:");
    for e in REGISTRY {
        let names: Vec<&str> = e.kinds.iter().map(|k| k.name).collect();
        s.push_str(&format!("\n  {}: {}", names.join(", "), e.about));
    }
    s
}

/// The summed cost order of `estimators` (each entry once) at N samples of width H.
pub fn cost(estimators: &[String], n: f64, h: f64) -> f64 {
    REGISTRY
        .iter()
        .filter(|e| {
            e.kinds
                .iter()
                .any(|k| estimators.iter().any(|r| r == k.name))
        })
        .map(|e| e.cost.weight(n, h))
        .sum()
}

/// Builds the estimators called `requested` (each once, in registry order), checking their
/// parameters.
pub fn build(params: &EstimatorParams, requested: &[String]) -> Result<Vec<Box<dyn Estimator>>> {
    params.common.validate()?;
    if requested.is_empty() {
        return Err(Error::Invalid("no estimator requested".into()));
    }
    let known = names();
    if let Some(bad) = requested.iter().find(|r| !known.contains(&r.as_str())) {
        return Err(Error::Invalid(format!(
            "unknown estimator '{bad}' (available: {})",
            known.join(", ")
        )));
    }
    REGISTRY
        .iter()
        .filter_map(|e| {
            let mine: Vec<&str> = e
                .kinds
                .iter()
                .map(|k| k.name)
                .filter(|n| requested.iter().any(|r| r == n))
                .collect();
            (!mine.is_empty()).then(|| (e.build)(params, &mine))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_and_unknown_names() {
        assert_eq!(
            names(),
            ["kl", "bd", "mc", "bin", "renyi", "mine", "ksg", "smi", "soft"]
        );
        let e = build(&EstimatorParams::default(), &["kl".into(), "knn".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown estimator 'knn' (available: kl, bd, mc, bin, renyi, mine, ksg, smi, soft)"
        );
        let built = build(
            &EstimatorParams::default(),
            &["bd".into(), "bin".into(), "kl".into()],
        )
        .unwrap();
        assert_eq!(built.len(), 2, "kl and bd share one pass");
        assert_eq!(DEFAULT_ESTIMATORS.join(","), DEFAULT_ESTIMATORS_TEXT);
    }

    #[test]
    fn kinds_know_their_quantity_and_partner() {
        assert_eq!(kind("smi").quantity.axes(), ("SI(X;Z)", "SI(Y;Z)"));
        assert!(!kind("smi").quantity.bounded_by_log_n());
        assert_eq!(kind("kl").side.partner(), Some("bd"));
        assert_eq!(kind("bd").side.partner(), Some("kl"));
        assert_eq!(kind("ksg").side.partner(), None);
        assert!(kind("kl").bracket && kind("bd").bracket && !kind("mc").bracket);
        let noisy: Vec<&str> = names().into_iter().filter(|n| kind(n).noisy).collect();
        assert_eq!(noisy, ["kl", "bd", "mc"]);
        assert_eq!(kind("nope").quantity, Quantity::Mutual);
        // Every partner is registered and names this one back.
        for n in names() {
            if let Some(p) = kind(n).side.partner() {
                assert_eq!(kind(p).side.partner(), Some(n));
            }
        }
        assert!(help().contains("\n  kl, bd: pairwise KL upper"));
        assert_eq!(
            cost(&["kl".into(), "bd".into()], 10.0, 3.0),
            Cost::Pairs.weight(10.0, 3.0)
        );
    }
}
