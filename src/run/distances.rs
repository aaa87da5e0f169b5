//! Pairwise-distance distributions per (layer, epoch), from the pairwise engine's streaming pass.
//!
//! Reported distances are Euclidean (not squared) unless a column says `d2`. Percentiles come
//! from the log-spaced histogram ([`crate::estimator::pairwise::histogram`]): each is within
//! ±0.39 % (relative) of the exact order statistic. The σ² columns are what the rules of
//! [`crate::estimator::pairwise::sigma`] would pick; those rules use squared distances.

use polars::prelude::DataFrame;

use crate::archive::Archive;
use crate::error::{Error, Result};
use crate::estimator::pairwise::histogram::HistogramBin;
use crate::estimator::pairwise::sigma::{median, Rule};
use crate::estimator::pairwise::{stats_in, DistanceStats, Precision};
use crate::selection::{self, Epochs};
use crate::table::{frame, Values};

/// Percentiles reported, in percent.
pub const PERCENTILES: [u32; 9] = [1, 5, 10, 25, 50, 75, 90, 95, 99];

/// Summary of one (layer, epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct DistanceRow {
    /// Run name.
    pub run: String,
    /// Layer name.
    pub layer: String,
    /// Layer index.
    pub layer_index: usize,
    /// Epoch.
    pub epoch: u32,
    /// N.
    pub n: usize,
    /// Number of pairs, N(N-1)/2.
    pub pairs: u64,
    /// Pairs at distance exactly 0.
    pub zero_pairs: u64,
    /// Distance percentiles, in the order of [`PERCENTILES`].
    pub percentiles: Vec<f64>,
    /// Nearest-neighbour distance: minimum, median, mean, maximum over samples.
    pub nn: [f64; 4],
    /// Mean distance between samples of the same class.
    pub within_mean: f64,
    /// Mean distance between samples of different classes.
    pub between_mean: f64,
    /// σ² of the thesis rule, p90(d²)/1000.
    pub sigma2_thesis: f64,
    /// σ² of the nearest-neighbour rule, median over samples of the squared NN distance.
    pub sigma2_nn: f64,
}

/// Distances of every selected (layer, epoch): summary rows and histograms.
#[derive(Debug, Clone, Default)]
pub struct DistanceReport {
    /// One row per (layer, epoch).
    pub rows: Vec<DistanceRow>,
    /// Histogram bins per (layer index, epoch), distances (squared when [`Self::squared`]),
    /// each bin about 9 % wide (16 fine bins merged).
    pub histograms: Vec<(usize, u32, Vec<HistogramBin>)>,
    /// Whether percentiles and histograms are of squared distances d², the quantity the σ²
    /// rules read (so that p90 read off a plot, divided by 1000, is the thesis rule's σ²).
    pub squared: bool,
    /// Values to mark on each layer's plot: (layer index, label, value), the σ² an estimate
    /// used (on a plot of d², where exp(−d²/(2σ²)) falls off).
    pub marks: Vec<(usize, String, f64)>,
}

fn summarise(d: &DistanceStats, squared: bool) -> ([f64; 4], Vec<f64>) {
    let nn: Vec<f64> = d.nn_d2.iter().map(|v| v.sqrt()).collect();
    let finite: Vec<f64> = nn.iter().copied().filter(|v| v.is_finite()).collect();
    let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
    let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pct = PERCENTILES
        .iter()
        .map(|&p| d.histogram.quantile(f64::from(p) / 100.0))
        .map(|q| if squared { q } else { q.sqrt() })
        .collect();
    ([min, median(&nn), mean, max], pct)
}

/// How the distance pass runs and what it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct DistanceOptions {
    /// f32 or f64.
    pub precision: Precision,
    /// Rows per tile.
    pub tile: usize,
    /// Percentiles and histograms of d² instead of d.
    pub squared: bool,
    /// Only these (layer index, epoch) units of the selection (a shard's), when set.
    pub units: Option<std::collections::BTreeSet<(usize, u32)>>,
}

impl Default for DistanceOptions {
    fn default() -> Self {
        DistanceOptions {
            precision: Precision::F32,
            tile: crate::estimator::pairwise::PassOptions::DEFAULT_TILE,
            squared: false,
            units: None,
        }
    }
}

/// Runs the distance pass on every selected (layer, epoch).
pub fn distances_archive(
    archive: &Archive,
    layers: Option<&[String]>,
    epochs: &Epochs,
    o: &DistanceOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<DistanceReport> {
    let (precision, tile, squared) = (o.precision, o.tile, o.squared);
    let layers = selection::layers(archive, layers)?;
    let epochs = epochs.resolve(archive)?;
    if epochs.is_empty() {
        return Err(Error::request(
            archive.dir(),
            "no epoch with activations selected",
        ));
    }
    let keep = |li: usize, e: u32| o.units.as_ref().is_none_or(|u| u.contains(&(li, e)));
    let labels = archive.labels()?;
    let total = layers
        .iter()
        .map(|&li| epochs.iter().filter(|&&e| keep(li, e)).count())
        .sum();
    let mut report = DistanceReport {
        squared,
        ..DistanceReport::default()
    };
    for &li in &layers {
        let info = &archive.layers()[li];
        for &epoch in epochs.iter().filter(|&&e| keep(li, e)) {
            let z = archive.activations_at(li, epoch)?;
            if z.iter().any(|v| !v.is_finite()) {
                return Err(Error::request(
                    archive.dir(),
                    format!(
                        "layer '{}' epoch {epoch}: non-finite activations",
                        info.name
                    ),
                ));
            }
            let d = stats_in(z.view(), &labels, precision, tile);
            report.push(archive, li, epoch, &d);
            progress(report.rows.len(), total);
        }
    }
    Ok(report)
}

impl DistanceReport {
    /// Adds the summary row and histogram of one (layer, epoch) from its pass's statistics
    /// (gathered with [`Stats::All`]).
    pub fn push(&mut self, archive: &Archive, li: usize, epoch: u32, d: &DistanceStats) {
        let (nn, percentiles) = summarise(d, self.squared);
        self.rows.push(DistanceRow {
            run: archive.manifest().run.name.clone(),
            layer: archive.layers()[li].name.clone(),
            layer_index: li,
            epoch,
            n: d.nn_d2.len(),
            pairs: d.histogram.total(),
            zero_pairs: d.histogram.zeros(),
            percentiles,
            nn,
            within_mean: d.within_sum_d / d.within_pairs.max(1) as f64,
            between_mean: d.between_sum_d / d.between_pairs.max(1) as f64,
            sigma2_thesis: Rule::THESIS.pick(d).sigma2,
            sigma2_nn: Rule::NearestNeighbour { factor: 1.0 }.pick(d).sigma2,
        });
        let mut bins = d.histogram.distance_bins(16);
        if self.squared {
            for b in &mut bins {
                (b.lower, b.upper) = (b.lower * b.lower, b.upper * b.upper);
            }
        }
        self.histograms.push((li, epoch, bins));
    }
}

/// The summary rows as a table.
pub fn distances_table(report: &DistanceReport) -> Result<DataFrame> {
    let rows = &report.rows;
    let f = |g: &dyn Fn(&DistanceRow) -> f64| Values::F64(rows.iter().map(g).collect());
    let i = |g: &dyn Fn(&DistanceRow) -> i64| Values::I64(rows.iter().map(g).collect());
    let mut cols = vec![
        (
            "run",
            Values::Str(rows.iter().map(|r| r.run.clone()).collect()),
        ),
        (
            "layer",
            Values::Str(rows.iter().map(|r| r.layer.clone()).collect()),
        ),
        ("layer_index", i(&|r| r.layer_index as i64)),
        ("epoch", i(&|r| i64::from(r.epoch))),
        ("n", i(&|r| r.n as i64)),
        ("pairs", i(&|r| r.pairs as i64)),
        ("zero_pairs", i(&|r| r.zero_pairs as i64)),
    ];
    let suffix = if report.squared { "_d2" } else { "" };
    let names: Vec<String> = PERCENTILES
        .iter()
        .map(|p| format!("p{p}{suffix}"))
        .collect();
    for (k, name) in names.iter().enumerate() {
        cols.push((name.as_str(), f(&|r| r.percentiles[k])));
    }
    cols.extend([
        ("nn_min", f(&|r| r.nn[0])),
        ("nn_median", f(&|r| r.nn[1])),
        ("nn_mean", f(&|r| r.nn[2])),
        ("nn_max", f(&|r| r.nn[3])),
        ("within_class_mean", f(&|r| r.within_mean)),
        ("between_class_mean", f(&|r| r.between_mean)),
        (
            "within_between_ratio",
            f(&|r| r.within_mean / r.between_mean),
        ),
        ("sigma2_thesis_p90_d2_over_1000", f(&|r| r.sigma2_thesis)),
        ("sigma2_median_nn_d2", f(&|r| r.sigma2_nn)),
    ]);
    frame(cols)
}

/// The histograms as a long table: layer, layer_index, epoch, lower, upper, count.
pub fn histogram_table(archive: &Archive, report: &DistanceReport) -> Result<DataFrame> {
    let bins = || {
        report
            .histograms
            .iter()
            .flat_map(|(li, e, bins)| bins.iter().map(move |b| (*li, *e, b)))
    };
    frame(vec![
        (
            "layer",
            Values::Str(
                bins()
                    .map(|(li, _, _)| archive.layers()[li].name.clone())
                    .collect(),
            ),
        ),
        (
            "layer_index",
            Values::I64(bins().map(|(li, _, _)| li as i64).collect()),
        ),
        (
            "epoch",
            Values::I64(bins().map(|(_, e, _)| i64::from(e)).collect()),
        ),
        (
            "lower",
            Values::F64(bins().map(|(_, _, b)| b.lower).collect()),
        ),
        (
            "upper",
            Values::F64(bins().map(|(_, _, b)| b.upper).collect()),
        ),
        (
            "count",
            Values::I64(bins().map(|(_, _, b)| b.count as i64).collect()),
        ),
    ])
}
