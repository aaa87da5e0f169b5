//! The activation archive: one directory per run, a JSON manifest and the arrays in Parquet or HDF5.
//!
//! * [`Archive`] opens an archive (backend auto-detected from the manifest) and reads single
//!   arrays without loading anything else.
//! * [`ArchiveWriter`] creates one and commits epochs one at a time. An epoch becomes visible to
//!   readers only after all of its data is on disk; a writer killed at any moment leaves an
//!   archive whose committed epochs read back bit-exact and which reports itself incomplete.
//!
//! The layout of both backends is documented in `docs/archive.md`.

pub mod fsutil;
mod hdf5_store;
pub mod manifest;
pub mod output;
mod parquet_store;
pub mod summary;
pub mod verify;

use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

pub use manifest::{
    AnalysisSetInfo, Backend, Hdf5Metadata, LayerInfo, LayerKind, Manifest, ParameterInfo,
    PlannedEpoch, RunInfo, SCHEMA_VERSION,
};
pub use output::Overwrite;
pub use summary::{format_epoch_ranges, Summary};

use crate::error::{Error, Result};

/// The samples whose activations are recorded, in the order of every activation matrix's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSet {
    /// Stable identifiers (for example the index in the original dataset); unique.
    pub sample_ids: Vec<u64>,
    /// Class index of each sample, below the number of classes.
    pub labels: Vec<u32>,
    /// Inputs X, N x D (flattened per sample), when stored.
    pub inputs: Option<Array2<f32>>,
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

/// What the creator of an archive decides; the writer derives the rest of the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveSpec {
    /// Run metadata.
    pub run: RunInfo,
    /// Class names (labels index into them).
    pub classes: Vec<String>,
    /// Per-sample shape of the inputs, when inputs are stored.
    pub input_shape: Option<Vec<usize>>,
    /// Which samples form the analysis set (`train`, `validation`, `all`).
    pub analysis_description: String,
    /// Tracked layers in network order.
    pub layers: Vec<LayerInfo>,
    /// Parameter tensors with gradient statistics.
    pub parameters: Vec<ParameterInfo>,
    /// Store every batch gradient, for at most this many batches per epoch.
    pub batch_gradients: Option<u32>,
    /// Epochs to be committed, in increasing order.
    pub epochs: Vec<PlannedEpoch>,
}

/// When the archive becomes visible at its final path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// Right after creation: epochs appear one by one as they are committed (recording).
    /// When an existing archive is being replaced, the new one is built in the staging
    /// directory instead and replaces the old one only when [`ArchiveWriter::finish`]
    /// succeeds, so a failed or killed re-recording leaves the old archive whole.
    Immediately,
    /// Only when [`ArchiveWriter::finish`] succeeds (import, convert): all or nothing.
    OnFinish,
}

enum StoreWriter {
    Parquet(parquet_store::Writer),
    Hdf5(hdf5_store::Writer),
}

/// Creates an archive and commits epochs one at a time.
///
/// It holds the exclusive [`fsutil::OutputLock`] on its output from creation until it is
/// finished or dropped: a second writer of the same path fails at once.
pub struct ArchiveWriter {
    out: PathBuf,
    dir: PathBuf,
    manifest: Manifest,
    store: Option<StoreWriter>,
    next_slot: usize,
    /// True once `dir` is `out` (published); until then `dir` is the staging directory.
    published: bool,
    finished: bool,
    // Declared last: released after `drop` has removed an unfinished staging directory.
    _lock: fsutil::OutputLock,
}

impl std::fmt::Debug for ArchiveWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveWriter")
            .field("out", &self.out)
            .field("backend", &self.manifest.backend)
            .field("next_slot", &self.next_slot)
            .field("published", &self.published)
            .finish()
    }
}

/// The infoplane version string written into manifests.
pub fn writer_version() -> String {
    format!("infoplane {}", env!("CARGO_PKG_VERSION"))
}

impl ArchiveWriter {
    /// Creates an archive at `out` holding `set`, laid out as `spec` says.
    ///
    /// The rules for an existing `out` are those of [`output::check_output`]. The archive is
    /// built in a hidden sibling directory and moved into place as `publish` says, so a
    /// failure never damages what was at `out`.
    pub fn create(
        out: &Path,
        backend: Backend,
        spec: ArchiveSpec,
        set: &AnalysisSet,
        overwrite: Overwrite,
        publish: Publish,
    ) -> Result<Self> {
        let mut manifest = new_manifest(out, backend, spec, set)?;
        let lock = fsutil::lock_output(out)?;
        output::clean_stale(out)?;
        let replacing = output::check_output(out, overwrite)?;
        let staging = output::create_staging(out)?;
        let published = publish == Publish::Immediately && !replacing;
        let created = (|| -> Result<()> {
            match backend {
                Backend::Parquet => parquet_store::create(&staging, set)?,
                Backend::Hdf5 => {
                    hdf5_store::create(&staging, &manifest, set)?;
                    manifest.hdf5_metadata = Some(hdf5_store::metadata_checksum(&staging)?);
                }
            }
            manifest.write(&staging)?;
            if published {
                output::publish_staged(&staging, out)?;
            }
            Ok(())
        })();
        if let Err(e) = created {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        let dir = if published {
            out.to_path_buf()
        } else {
            staging
        };
        let store = match backend {
            Backend::Parquet => StoreWriter::Parquet(parquet_store::Writer::open(&dir)?),
            Backend::Hdf5 => StoreWriter::Hdf5(hdf5_store::Writer::open(&dir, &manifest)?),
        };
        Ok(ArchiveWriter {
            out: out.to_path_buf(),
            dir,
            manifest,
            store: Some(store),
            next_slot: 0,
            published,
            finished: false,
            _lock: lock,
        })
    }

    /// Where the epochs are being written now: `out`, or the staging directory until an
    /// archive being replaced is finished.
    pub fn current_dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest being written.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Number of epochs committed so far.
    pub fn committed(&self) -> usize {
        self.next_slot
    }

    /// The epoch the next [`Self::commit_epoch`] must carry, if any is left in the plan.
    pub fn next_epoch(&self) -> Option<PlannedEpoch> {
        self.manifest.epochs.get(self.next_slot).copied()
    }

    /// Writes every array of `record` and then makes the epoch visible, atomically.
    ///
    /// Epochs must be committed in plan order. Shapes are checked before anything is written.
    pub fn commit_epoch(&mut self, record: &EpochRecord) -> Result<()> {
        let Some(planned) = self.next_epoch() else {
            return Err(Error::request(
                &self.out,
                format!(
                    "epoch {} was not planned: all {} planned epochs are committed",
                    record.epoch,
                    self.manifest.epochs.len()
                ),
            ));
        };
        if planned.epoch != record.epoch {
            return Err(Error::request(
                &self.out,
                format!(
                    "epoch {} committed out of order: the next planned epoch is {}",
                    record.epoch, planned.epoch
                ),
            ));
        }
        self.check_record(record, planned)?;
        let slot = self.next_slot;
        let activation_slot = self.manifest.epochs[..slot]
            .iter()
            .filter(|p| p.activations)
            .count();
        match self.store.as_mut() {
            Some(StoreWriter::Parquet(w)) => w.commit(&self.manifest, record)?,
            Some(StoreWriter::Hdf5(w)) => {
                w.commit(&self.manifest, slot, activation_slot, record)?
            }
            None => return Err(Error::request(&self.out, "the writer is already closed")),
        }
        self.next_slot += 1;
        Ok(())
    }

    fn check_record(&self, record: &EpochRecord, planned: PlannedEpoch) -> Result<()> {
        let m = &self.manifest;
        let fail = |msg: String| {
            Err(Error::request(
                &self.out,
                format!("epoch {}: {msg}", record.epoch),
            ))
        };
        let n = m.analysis_set.n;
        if planned.activations {
            if record.activations.len() != m.layers.len() {
                return fail(format!(
                    "{} activation matrices given for {} layers",
                    record.activations.len(),
                    m.layers.len()
                ));
            }
            for (a, l) in record.activations.iter().zip(&m.layers) {
                if a.dim() != (n, l.width) {
                    return fail(format!(
                        "layer '{}' has shape {:?}, expected ({n}, {})",
                        l.name,
                        a.dim(),
                        l.width
                    ));
                }
            }
        } else if !record.activations.is_empty() {
            return fail("activations given but the plan records none at this epoch".into());
        }
        if record.gradients.len() != m.parameters.len() {
            return fail(format!(
                "{} gradient statistics given for {} parameters",
                record.gradients.len(),
                m.parameters.len()
            ));
        }
        for (g, p) in record.gradients.iter().zip(&m.parameters) {
            let s = p.size();
            if g.mean.len() != s || g.std.len() != s || g.value.len() != s {
                return fail(format!(
                    "gradient statistics of '{}' have lengths {}/{}/{}, expected {s}",
                    p.name,
                    g.mean.len(),
                    g.std.len(),
                    g.value.len()
                ));
            }
        }
        match m.batch_gradients {
            Some(max) => {
                if record.batch_gradients.len() != m.parameters.len() {
                    return fail(format!(
                        "{} batch-gradient matrices given for {} parameters",
                        record.batch_gradients.len(),
                        m.parameters.len()
                    ));
                }
                for ((b, p), g) in record
                    .batch_gradients
                    .iter()
                    .zip(&m.parameters)
                    .zip(&record.gradients)
                {
                    if b.nrows() != g.n_batches as usize {
                        return fail(format!(
                            "{} batch gradients of '{}' for n_batches = {}",
                            b.nrows(),
                            p.name,
                            g.n_batches
                        ));
                    }
                    if b.ncols() != p.size() || b.nrows() > max as usize {
                        return fail(format!(
                            "batch gradients of '{}' have shape {:?}; expected at most {max} rows of {}",
                            p.name,
                            b.dim(),
                            p.size()
                        ));
                    }
                }
            }
            None => {
                if !record.batch_gradients.is_empty() {
                    return fail("batch gradients given but the archive stores none".into());
                }
            }
        }
        Ok(())
    }

    /// Closes the archive and marks it complete (also when fewer epochs than planned were
    /// committed: the run stopped early). With [`Publish::OnFinish`] it is moved into place now.
    pub fn finish(mut self) -> Result<PathBuf> {
        match self.store.take() {
            Some(StoreWriter::Hdf5(w)) => w.close()?,
            Some(StoreWriter::Parquet(_)) | None => {}
        }
        self.manifest.complete = true;
        self.manifest.write(&self.dir)?;
        if !self.published {
            output::publish_staged(&self.dir, &self.out)?;
            self.published = true;
        }
        self.finished = true;
        Ok(self.out.clone())
    }
}

impl Drop for ArchiveWriter {
    fn drop(&mut self) {
        // An archive still in staging that was not finished leaves nothing behind.
        if !self.finished && !self.published {
            self.store = None;
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The manifest of a new archive at `out`, checked (names included) before anything is written.
fn new_manifest(
    out: &Path,
    backend: Backend,
    spec: ArchiveSpec,
    set: &AnalysisSet,
) -> Result<Manifest> {
    let mut run = spec.run;
    if run.name.is_empty() {
        run.name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    run.tool_versions
        .entry("infoplane".into())
        .or_insert_with(|| env!("CARGO_PKG_VERSION").into());
    let manifest = Manifest {
        format: manifest::FORMAT_NAME.into(),
        schema_version: SCHEMA_VERSION,
        backend,
        complete: false,
        writer: writer_version(),
        run,
        analysis_set: AnalysisSetInfo {
            n: set.labels.len(),
            classes: spec.classes,
            input_shape: spec.input_shape,
            description: spec.analysis_description,
        },
        layers: spec.layers,
        parameters: spec.parameters,
        batch_gradients: spec.batch_gradients,
        hdf5_metadata: None,
        epochs: spec.epochs,
    };
    manifest
        .validate(&out.join(manifest::MANIFEST_FILE))
        .and_then(|()| manifest.validate_names())
        .map_err(|e| match e {
            Error::Format { message, .. } | Error::Invalid(message) => Error::request(out, message),
            other => other,
        })?;
    validate_set(out, &manifest, set)?;
    Ok(manifest)
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

fn validate_set(out: &Path, m: &Manifest, set: &AnalysisSet) -> Result<()> {
    let fail = |msg: String| Err(Error::request(out, msg));
    let n = set.labels.len();
    if set.sample_ids.len() != n {
        return fail(format!(
            "{} sample ids for {n} labels",
            set.sample_ids.len()
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(n);
    if let Some(dup) = set.sample_ids.iter().find(|id| !seen.insert(**id)) {
        return fail(format!("sample id {dup} appears twice"));
    }
    let classes = m.analysis_set.classes.len();
    if let Some((i, y)) = set
        .labels
        .iter()
        .enumerate()
        .find(|(_, y)| **y as usize >= classes)
    {
        return fail(format!(
            "label {y} of sample {i} is not below the number of classes ({classes})"
        ));
    }
    match (&set.inputs, m.analysis_set.input_width()) {
        (None, None) => {}
        (Some(x), Some(d)) => {
            if x.dim() != (n, d) {
                return fail(format!(
                    "inputs have shape {:?}, expected ({n}, {d})",
                    x.dim()
                ));
            }
        }
        (Some(_), None) => return fail("inputs given without an input shape".into()),
        (None, Some(_)) => return fail("an input shape given without inputs".into()),
    }
    Ok(())
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
        Ok(Archive {
            dir: dir.to_path_buf(),
            manifest,
            store,
            committed,
        })
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
            Store::Hdf5(r) => r.activations(layer_index, activation_slot, shape),
        }
    }

    /// Class index of every sample, in analysis-set order.
    pub fn labels(&self) -> Result<Vec<u32>> {
        match &self.store {
            Store::Parquet(r) => r.samples(&self.manifest).map(|s| s.1),
            Store::Hdf5(r) => r.labels(&self.manifest),
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
                let all = r.metrics(self.committed)?;
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

/// Copies every committed epoch of `src` into a new archive at `out` with `backend`.
///
/// Values are copied bit for bit (NaN payloads included); the manifest is carried over with the
/// plan reduced to the committed epochs. All or nothing: `out` appears only when the copy is whole.
pub fn convert(
    src: &Archive,
    out: &Path,
    backend: Backend,
    overwrite: Overwrite,
) -> Result<PathBuf> {
    convert_with_progress(src, out, backend, overwrite, &mut |_, _| {})
}

/// [`convert`], calling `progress(done, total)` after each epoch.
pub fn convert_with_progress(
    src: &Archive,
    out: &Path,
    backend: Backend,
    overwrite: Overwrite,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PathBuf> {
    if fsutil::resolve(out) == fsutil::resolve(src.dir()) {
        return Err(Error::request(
            out,
            "is the source archive itself; choose another output",
        ));
    }
    fsutil::refuse_output_inside(out, src.dir())?;
    if fsutil::is_within(src.dir(), out) {
        return Err(Error::request(
            out,
            format!(
                "holds the source archive {}; replacing it would delete the source, choose another output",
                src.dir().display()
            ),
        ));
    }
    let m = src.manifest();
    let set = AnalysisSet {
        sample_ids: src.sample_ids()?,
        labels: src.labels()?,
        inputs: src.inputs()?,
    };
    let spec = ArchiveSpec {
        run: m.run.clone(),
        classes: m.analysis_set.classes.clone(),
        input_shape: m.analysis_set.input_shape.clone(),
        analysis_description: m.analysis_set.description.clone(),
        layers: m.layers.clone(),
        parameters: m.parameters.clone(),
        batch_gradients: m.batch_gradients,
        epochs: m.epochs[..src.committed].to_vec(),
    };
    let mut w = ArchiveWriter::create(out, backend, spec, &set, overwrite, Publish::OnFinish)?;
    let metrics = src.metrics()?;
    let total = metrics.len();
    for (i, ((epoch, met), planned)) in metrics.into_iter().zip(&m.epochs).enumerate() {
        let activations = if planned.activations {
            (0..m.layers.len())
                .map(|l| src.activations_at(l, epoch))
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let gradients = if m.parameters.is_empty() {
            Vec::new()
        } else {
            src.gradients(epoch)?
        };
        let batch_gradients = if m.batch_gradients.is_some() {
            m.parameters
                .iter()
                .map(|p| src.batch_gradients(epoch, &p.name))
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        w.commit_epoch(&EpochRecord {
            epoch,
            metrics: met,
            activations,
            gradients,
            batch_gradients,
        })?;
        progress(i + 1, total);
    }
    w.finish()
}
