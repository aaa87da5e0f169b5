//! Streaming estimation: the `soft` estimator's sums ([`SoftCounts`]) updated batch by batch
//! while a recorder runs the analysis set through the model, one table row per (layer, epoch),
//! without storing activations. The rows carry the same context as [`super::estimate_archive`]'s
//! and equal its `soft` rows on the same data up to the order of the additions.

use crate::archive::Manifest;
use crate::error::{Error, Result};
use crate::estimator::soft::{Soft, SoftCounts, SoftParams};
use crate::estimator::CommonParams;
use crate::labels::{class_counts, entropy_nats};
use crate::table::estimates::EstimateRow;

/// The sums of every layer for the epoch being run, and the rows of the epochs ended.
#[derive(Debug, Clone)]
pub struct SoftStream {
    manifest: Manifest,
    params: SoftParams,
    common: CommonParams,
    /// H(Y) of every label set, in the manifest's order.
    h_y: Vec<f64>,
    counts: Vec<SoftCounts>,
    rows: Vec<EstimateRow>,
}

impl SoftStream {
    /// A stream for the recording `manifest` whose analysis set has the labels `labels` (one
    /// vector per label set, in the manifest's order: the first, then `label_sets`), with the
    /// estimator's parameters and the common ones (seed, saturation margin).
    pub fn new(
        manifest: &Manifest,
        labels: &[&[u32]],
        params: SoftParams,
        common: CommonParams,
    ) -> Result<Self> {
        params.validate()?;
        let sets = manifest.analysis_set.label_sets();
        if labels.len() != sets.len() {
            return Err(Error::Invalid(format!(
                "soft stream: {} label sets given, the recording has {}",
                labels.len(),
                sets.len()
            )));
        }
        let h_y = (labels.iter().zip(&sets))
            .map(|(y, (_, c))| entropy_nats(&class_counts(y, *c)))
            .collect();
        let counts = Self::fresh(manifest, &params, common.seed)?;
        Ok(SoftStream {
            h_y,
            manifest: manifest.clone(),
            params,
            common,
            counts,
            rows: Vec::new(),
        })
    }

    fn fresh(m: &Manifest, p: &SoftParams, seed: u64) -> Result<Vec<SoftCounts>> {
        let classes: Vec<usize> = (m.analysis_set.label_sets().iter())
            .map(|s| s.1.max(1))
            .collect();
        m.layers
            .iter()
            .map(|l| SoftCounts::with_sets(l.width, &classes, p, seed))
            .collect()
    }

    /// Adds a batch of the layer `layer` (its rows, in the analysis set's order) with the
    /// samples' labels of every label set.
    pub fn add(
        &mut self,
        layer: &str,
        z: ndarray::ArrayView2<'_, f32>,
        labels: &[&[u32]],
    ) -> Result<()> {
        let Some(at) = self.manifest.layers.iter().position(|l| l.name == layer) else {
            return Err(Error::Invalid(format!(
                "soft stream: no layer '{layer}' in the recording"
            )));
        };
        self.counts[at].add_sets(z, labels)
    }

    /// Adds one batch of every layer, in the recording's layer order.
    pub fn add_all(&mut self, zs: &[ndarray::Array2<f32>], labels: &[&[u32]]) -> Result<()> {
        if zs.len() != self.counts.len() {
            return Err(Error::Invalid(format!(
                "soft stream: {} layers given, the recording has {}",
                zs.len(),
                self.counts.len()
            )));
        }
        for (c, z) in self.counts.iter_mut().zip(zs) {
            c.add_sets(z.view(), labels)?;
        }
        Ok(())
    }

    /// Ends `epoch`: one row per label set and layer from the sums (every layer must have seen
    /// the whole analysis set), then fresh sums for the next epoch.
    pub fn end_epoch(&mut self, epoch: u32) -> Result<&[EstimateRow]> {
        let n = self.manifest.analysis_set.n;
        let start = self.rows.len();
        for (info, c) in self.manifest.layers.iter().zip(&self.counts) {
            if c.n() != n as u64 {
                return Err(Error::Invalid(format!(
                    "soft stream: layer '{}' saw {} samples in epoch {epoch}, the analysis set has {n}",
                    info.name,
                    c.n()
                )));
            }
        }
        let sets = self.manifest.analysis_set.label_sets();
        for (s, (name, _)) in sets.iter().enumerate() {
            for li in 0..self.counts.len() {
                let row = self.row(li, s, name, epoch);
                self.rows.push(row);
            }
        }
        self.counts = Self::fresh(&self.manifest, &self.params, self.common.seed)?;
        Ok(&self.rows[start..])
    }

    /// The row of layer `li` with Y the label set `s` (called `name`) at `epoch`.
    fn row(&self, li: usize, s: usize, name: &str, epoch: u32) -> EstimateRow {
        let (run, info) = (&self.manifest.run, &self.manifest.layers[li]);
        let n = self.manifest.analysis_set.n;
        let mut row = EstimateRow::base(&run.name, (li, info), epoch, n, self.h_y[s]);
        let (seed, margin) = (self.common.seed, self.common.saturation_margin);
        row.estimate = Soft::row_of_set(&self.counts[li], s, &self.params, seed, margin);
        row.estimate
            .setting
            .push_str(&self.manifest.analysis_set.setting_suffix(name));
        row.epoch_label = run.epoch_labels.get(&epoch).cloned().unwrap_or_default();
        row.labels = name.to_string();
        row.seed = run.seed.map_or(String::new(), |s| s.to_string());
        row.version = env!("CARGO_PKG_VERSION").to_string();
        row.shard = "stream".into();
        row
    }

    /// The rows of every epoch ended.
    pub fn rows(&self) -> &[EstimateRow] {
        &self.rows
    }
}
