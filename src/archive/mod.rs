//! The activation archive: one directory per run, a JSON manifest and the arrays in Parquet or HDF5.
//!
//! * [`Archive`] opens an archive (backend auto-detected from the manifest) and reads single
//!   arrays without loading anything else.
//! * [`ArchiveWriter`] creates one and commits epochs one at a time. An epoch becomes visible to
//!   readers only after all of its data is on disk; a writer killed at any moment leaves an
//!   archive whose committed epochs read back bit-exact and which reports itself incomplete.
//!
//! The layout of both backends is documented in `docs/archive.md`.

pub mod content;
mod hashed_reader;
mod hdf5_store;
pub mod import;
pub mod manifest;
pub mod numpy;
pub mod output;
mod parquet_store;
pub mod summary;
pub mod verify;
mod writer;

use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

pub use manifest::{
    AnalysisSetInfo, Backend, Hdf5Metadata, LabelSetInfo, LayerInfo, LayerKind, Manifest,
    ParameterInfo, PlannedEpoch, RunInfo, DEFAULT_LABEL_NAME, SCHEMA_VERSION,
};
pub use output::Overwrite;
pub(crate) use summary::format_epoch_ranges;
pub use summary::Summary;
pub use writer::{check_next, convert, convert_with_progress, ArchiveSpec, ArchiveWriter, Publish};

use crate::error::{Error, Result};

/// The samples whose activations are recorded, in the order of every activation matrix's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSet {
    /// Stable identifiers (for example the index in the original dataset); unique.
    pub sample_ids: Vec<u64>,
    /// Class index of each sample, below the number of classes: the first label set.
    pub labels: Vec<u32>,
    /// The first label set's name (None: [`DEFAULT_LABEL_NAME`]).
    pub label_name: Option<String>,
    /// Further named label vectors of the same samples.
    pub label_sets: Vec<LabelSet>,
    /// Inputs X, N x D (flattened per sample), when stored.
    pub inputs: Option<Array2<f32>>,
}

impl AnalysisSet {
    /// An analysis set with one label set (named [`DEFAULT_LABEL_NAME`]) and no inputs.
    pub fn new(sample_ids: Vec<u64>, labels: Vec<u32>) -> Self {
        AnalysisSet {
            sample_ids,
            labels,
            label_name: None,
            label_sets: Vec::new(),
            inputs: None,
        }
    }
}

/// A further named label vector of the analysis set (another task's targets of the same
/// samples: the next token, a grammar's hidden state); estimation picks one by name.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSet {
    /// Unique among the archive's label sets.
    pub name: String,
    /// Labels are below this.
    pub classes: usize,
    /// One label per sample, in analysis-set order.
    pub labels: Vec<u32>,
}

/// Metrics of one epoch; `None` where not measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Mean training loss over the epoch.
    pub train_loss: Option<f64>,
    /// Training accuracy in [0, 1].
    pub train_accuracy: Option<f64>,
    /// Validation loss.
    pub validation_loss: Option<f64>,
    /// Validation accuracy in [0, 1].
    pub validation_accuracy: Option<f64>,
    /// Wall-clock seconds since training started, at the end of the epoch.
    pub wall_time_s: Option<f64>,
}

impl EpochMetrics {
    /// Names of the metrics, in storage order.
    pub const NAMES: [&'static str; 5] = [
        "train_loss",
        "train_accuracy",
        "validation_loss",
        "validation_accuracy",
        "wall_time_s",
    ];

    /// The metrics in the order of [`Self::NAMES`].
    pub fn to_array(&self) -> [Option<f64>; 5] {
        [
            self.train_loss,
            self.train_accuracy,
            self.validation_loss,
            self.validation_accuracy,
            self.wall_time_s,
        ]
    }

    /// The inverse of [`Self::to_array`].
    pub fn from_array(a: [Option<f64>; 5]) -> Self {
        EpochMetrics {
            train_loss: a[0],
            train_accuracy: a[1],
            validation_loss: a[2],
            validation_accuracy: a[3],
            wall_time_s: a[4],
        }
    }
}

/// Gradient statistics of one parameter tensor over one epoch's batches.
///
/// `mean` and `std` are elementwise over the `n_batches` batch gradients (population standard
/// deviation, divisor n_B); `value` holds the parameter at the end of the epoch. All three are
/// flattened in row-major order. With `n_batches == 0` (epoch 0, before training) mean and std are NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientStats {
    /// Number of batches the statistics are over.
    pub n_batches: u32,
    /// Elementwise mean of the batch gradients.
    pub mean: Vec<f32>,
    /// Elementwise standard deviation of the batch gradients.
    pub std: Vec<f32>,
    /// Parameter values at the end of the epoch.
    pub value: Vec<f32>,
}

/// Everything one epoch commits.
#[derive(Debug, Clone, Default)]
pub struct EpochRecord {
    /// Epoch number; must be the next planned epoch.
    pub epoch: u32,
    /// Metrics of the epoch.
    pub metrics: EpochMetrics,
    /// One N x H matrix per layer, in layer order, when the plan records activations at this
    /// epoch; empty otherwise.
    pub activations: Vec<Array2<f32>>,
    /// One entry per parameter tensor, in manifest order (empty when the archive has none).
    pub gradients: Vec<GradientStats>,
    /// Per parameter, the n_batches x size matrix of every batch's gradient, when the archive
    /// stores batch gradients; empty otherwise.
    pub batch_gradients: Vec<Array2<f32>>,
}

/// The first non-finite value of an activation matrix in row-major order: (sample, unit, value).
pub fn first_non_finite(z: ndarray::ArrayView2<'_, f32>) -> Option<(usize, usize, f32)> {
    let Some(values) = z.as_slice() else {
        return z
            .indexed_iter()
            .find(|(_, v)| !v.is_finite())
            .map(|((i, h), &v)| (i, h, v));
    };
    // Blocks scanned without branches (the largest |v| bit pattern; ≥ that of +∞ means a
    // non-finite value), which vectorises; then the first bad value of the first bad block.
    const BLOCK: usize = 4096;
    let bad =
        |c: &[f32]| c.iter().fold(0u32, |m, v| m.max(v.to_bits() & 0x7fff_ffff)) >= 0x7f80_0000;
    let block = values.chunks(BLOCK).position(bad)?;
    let at = block * BLOCK
        + values[block * BLOCK..]
            .iter()
            .position(|v| !v.is_finite())?;
    let h = z.ncols().max(1);
    Some((at / h, at % h, values[at]))
}

/// Refuses labels that are not class indices of the manifest's `classes` (a corrupt label
/// would otherwise size per-class buffers or shift H(Y)); `path` is the file they came from.
pub(crate) fn check_labels(path: &Path, labels: &[u32], classes: usize) -> Result<()> {
    match labels.iter().enumerate().find(|(_, y)| **y as usize >= classes) {
        Some((i, y)) => Err(Error::format(
            path,
            format!("label {y} of sample {i} is not below the number of classes ({classes}) in the manifest"),
        )),
        None => Ok(()),
    }
}

enum Store {
    Parquet(parquet_store::Reader),
    Hdf5(hdf5_store::Reader),
}

/// An open archive. Reads single arrays on demand.
pub struct Archive {
    dir: PathBuf,
    manifest: Manifest,
    store: Store,
    committed: usize,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("dir", &self.dir)
            .field("backend", &self.manifest.backend)
            .field("committed", &self.committed)
            .finish()
    }
}

impl Archive {
    /// Opens the archive in `dir`; the backend is read from the manifest.
    pub fn open(dir: &Path) -> Result<Self> {
        let manifest = Manifest::read(dir)?;
        let (store, committed) = match manifest.backend {
            Backend::Parquet => {
                let r = parquet_store::Reader::open(dir, &manifest)?;
                let c = r.committed();
                (Store::Parquet(r), c)
            }
            Backend::Hdf5 => {
                let r = hdf5_store::Reader::open(dir, &manifest)?;
                let c = r.committed();
                (Store::Hdf5(r), c)
            }
        };
        if let (true, Some(c)) = (manifest.complete, manifest.committed_epochs) {
            if c != committed {
                return Err(Error::format(
                    dir,
                    format!(
                        "the manifest says {c} epochs were committed, the archive holds {committed}: an epoch was lost or its record damaged"
                    ),
                ));
            }
        }
        Ok(Archive {
            dir: dir.to_path_buf(),
            manifest,
            store,
            committed,
        })
    }

    /// The archive's fingerprint: the manifest's ([`Manifest::fingerprint`]) combined with
    /// the content hashes of the first committed epoch, so that archives of different data
    /// differ even where their manifests agree, and the value never changes once the first
    /// epoch is committed (it identifies the archive across shards while it is recorded).
    /// Archives without content hashes have the manifest's fingerprint.
    pub fn fingerprint(&self) -> Result<String> {
        let base = self.manifest.fingerprint();
        let Some(first) = self.epochs().first().copied() else {
            return Ok(base);
        };
        let data: Vec<u32> = match &self.store {
            Store::Parquet(r) => r
                .epoch_digests(first)?
                .map(|m| m.values().map(|d| d.crc32).collect())
                .unwrap_or_default(),
            Store::Hdf5(r) => r.first_slot_hashes(&self.manifest)?,
        };
        if data.is_empty() {
            return Ok(base);
        }
        let mut bytes = base.into_bytes();
        bytes.extend(data.iter().flat_map(|h| h.to_le_bytes()));
        Ok(format!("{:016x}", crate::util::hash::fnv1a(&bytes)))
    }

    /// Whether the archive carries content hashes (written by infoplane 0.1 after issue 26).
    pub fn has_content_hashes(&self) -> bool {
        self.manifest.content.is_some()
    }

    /// The archive directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Which backend holds the arrays.
    pub fn backend(&self) -> Backend {
        self.manifest.backend
    }

    /// Tracked layers in network order.
    pub fn layers(&self) -> &[LayerInfo] {
        &self.manifest.layers
    }

    /// Number of samples N.
    pub fn n_samples(&self) -> usize {
        self.manifest.analysis_set.n
    }

    /// True when the writer closed the archive cleanly.
    pub fn is_complete(&self) -> bool {
        self.manifest.complete
    }

    /// Committed epochs, in increasing order.
    pub fn epochs(&self) -> Vec<u32> {
        self.manifest.epochs[..self.committed]
            .iter()
            .map(|p| p.epoch)
            .collect()
    }

    /// Committed epochs that hold activations.
    pub fn activation_epochs(&self) -> Vec<u32> {
        self.manifest.epochs[..self.committed]
            .iter()
            .filter(|p| p.activations)
            .map(|p| p.epoch)
            .collect()
    }

    /// Planned epochs that were not committed.
    pub fn missing_epochs(&self) -> Vec<u32> {
        self.manifest.epochs[self.committed..]
            .iter()
            .map(|p| p.epoch)
            .collect()
    }

    /// Index and description of the layer called `name`.
    pub fn layer(&self, name: &str) -> Result<(usize, &LayerInfo)> {
        match self.manifest.layer_index(name) {
            Some(i) => Ok((i, &self.manifest.layers[i])),
            None => Err(Error::request(
                &self.dir,
                format!(
                    "no layer named '{name}' (layers: {})",
                    self.manifest
                        .layers
                        .iter()
                        .map(|l| l.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    fn slot_of(&self, epoch: u32) -> Option<usize> {
        self.manifest.epochs[..self.committed]
            .iter()
            .position(|p| p.epoch == epoch)
    }

    /// The N x H activations of layer `name` at `epoch`, reading nothing else.
    pub fn activations(&self, name: &str, epoch: u32) -> Result<Array2<f32>> {
        let (index, _) = self.layer(name)?;
        self.activations_at(index, epoch)
    }

    /// The N x H activations of the layer at `layer_index` at `epoch`.
    pub fn activations_at(&self, layer_index: usize, epoch: u32) -> Result<Array2<f32>> {
        let layer = self.manifest.layers.get(layer_index).ok_or_else(|| {
            Error::request(&self.dir, format!("no layer with index {layer_index}"))
        })?;
        let slot = self
            .slot_of(epoch)
            .filter(|s| self.manifest.epochs[*s].activations);
        let Some(slot) = slot else {
            return Err(Error::request(
                &self.dir,
                format!(
                    "epoch {epoch} has no recorded activations (epochs with activations: {})",
                    format_epoch_ranges(&self.activation_epochs())
                ),
            ));
        };
        let activation_slot = self.manifest.epochs[..slot]
            .iter()
            .filter(|p| p.activations)
            .count();
        let shape = (self.manifest.analysis_set.n, layer.width);
        match &self.store {
            Store::Parquet(r) => r.activations(layer_index, epoch, shape),
            Store::Hdf5(r) => {
                r.activations(&self.manifest, layer_index, (slot, activation_slot), shape)
            }
        }
    }

    /// Class index of every sample, in analysis-set order.
    pub fn labels(&self) -> Result<Vec<u32>> {
        match &self.store {
            Store::Parquet(r) => r.samples(&self.manifest).map(|s| s.1),
            Store::Hdf5(r) => r.labels(&self.manifest),
        }
    }

    /// The label set called `name` (None: the first), in analysis-set order, with its name;
    /// an unknown name is refused with the names there are.
    pub fn labels_named(&self, name: Option<&str>) -> Result<(String, Vec<u32>)> {
        let info = &self.manifest.analysis_set;
        let Some(name) = name.filter(|n| *n != info.label_name()) else {
            return Ok((info.label_name().to_string(), self.labels()?));
        };
        if !info.label_sets.iter().any(|s| s.name == name) {
            let names: Vec<&str> = info.label_sets().iter().map(|s| s.0).collect();
            return Err(Error::request(
                &self.dir,
                format!(
                    "no label set named '{name}' (label sets: {})",
                    names.join(", ")
                ),
            ));
        }
        let Some(labels) = self.read_label_sets(&[name])?.pop() else {
            return Err(Error::Invalid(format!("label set '{name}' was not read")));
        };
        Ok((name.to_string(), labels))
    }

    /// Every further label set (after the first), read and checked.
    pub fn label_sets(&self) -> Result<Vec<LabelSet>> {
        let info = &self.manifest.analysis_set;
        let names: Vec<&str> = info.label_sets.iter().map(|s| s.name.as_str()).collect();
        let labels = self.read_label_sets(&names)?;
        Ok((info.label_sets.iter().zip(labels))
            .map(|(s, labels)| LabelSet {
                name: s.name.clone(),
                classes: s.classes,
                labels,
            })
            .collect())
    }

    /// The further label sets `names` (listed in the manifest), in that order.
    fn read_label_sets(&self, names: &[&str]) -> Result<Vec<Vec<u32>>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        match &self.store {
            Store::Parquet(r) => r.label_sets(&self.manifest, names),
            Store::Hdf5(r) => names
                .iter()
                .map(|n| r.label_set(&self.manifest, n))
                .collect(),
        }
    }

    /// Stable sample ids, in analysis-set order.
    pub fn sample_ids(&self) -> Result<Vec<u64>> {
        match &self.store {
            Store::Parquet(r) => r.samples(&self.manifest).map(|s| s.0),
            Store::Hdf5(r) => r.sample_ids(&self.manifest),
        }
    }

    /// Inputs X (N x D), if the archive stores them.
    pub fn inputs(&self) -> Result<Option<Array2<f32>>> {
        let Some(d) = self.manifest.analysis_set.input_width() else {
            return Ok(None);
        };
        let shape = (self.manifest.analysis_set.n, d);
        match &self.store {
            Store::Parquet(r) => r.inputs(shape).map(Some),
            Store::Hdf5(r) => r.inputs(shape).map(Some),
        }
    }

    /// Metrics of every committed epoch.
    pub fn metrics(&self) -> Result<Vec<(u32, EpochMetrics)>> {
        let epochs = self.epochs();
        match &self.store {
            Store::Parquet(r) => epochs
                .iter()
                .map(|&e| r.metrics(e).map(|m| (e, m)))
                .collect(),
            Store::Hdf5(r) => {
                let all = r.metrics(&self.manifest, self.committed)?;
                Ok(epochs.into_iter().zip(all).collect())
            }
        }
    }

    fn committed_slot(&self, epoch: u32) -> Result<usize> {
        self.slot_of(epoch).ok_or_else(|| {
            Error::request(
                &self.dir,
                format!(
                    "epoch {epoch} is not recorded (recorded epochs: {})",
                    format_epoch_ranges(&self.epochs())
                ),
            )
        })
    }

    /// Entries that are not part of the archive: foreign files beside it, and in a Parquet
    /// archive the temporary directory of an epoch whose writer was killed mid-commit.
    pub fn leftovers(&self) -> Vec<String> {
        let mut found = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !output::ARCHIVE_ENTRIES.contains(&name.as_str()) {
                    found.push(format!("{}: not part of the archive", e.path().display()));
                }
            }
        }
        if let Store::Parquet(r) = &self.store {
            found.extend(r.leftovers());
        }
        found.sort();
        found
    }

    /// Gradient statistics of every parameter tensor at `epoch` (manifest order).
    pub fn gradients(&self, epoch: u32) -> Result<Vec<GradientStats>> {
        let slot = self.committed_slot(epoch)?;
        match &self.store {
            Store::Parquet(r) => r.gradients(&self.manifest, epoch),
            Store::Hdf5(r) => r.gradients(&self.manifest, slot),
        }
    }

    /// Every batch gradient of parameter `name` at `epoch`, n_batches x size.
    pub fn batch_gradients(&self, epoch: u32, name: &str) -> Result<Array2<f32>> {
        let slot = self.committed_slot(epoch)?;
        let Some(index) = self.manifest.parameters.iter().position(|p| p.name == name) else {
            return Err(Error::request(
                &self.dir,
                format!("no parameter named '{name}'"),
            ));
        };
        if self.manifest.batch_gradients.is_none() {
            return Err(Error::request(
                &self.dir,
                "the archive stores no batch gradients",
            ));
        }
        match &self.store {
            Store::Parquet(r) => r.batch_gradients(&self.manifest, epoch, index),
            Store::Hdf5(r) => r.batch_gradients(&self.manifest, slot, index),
        }
    }
}
