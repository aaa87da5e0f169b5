//! Writing archives: [`ArchiveWriter`] creates one (checked manifest, output lock, staging) and
//! commits epochs one at a time; [`convert`] copies an archive into the other backend.

use std::path::{Path, PathBuf};

use super::manifest::{self, AnalysisSetInfo, Backend, Manifest, PlannedEpoch, RunInfo};
use super::manifest::{LayerInfo, ParameterInfo, SCHEMA_VERSION};
use super::{hdf5_store, output, parquet_store, Archive, Overwrite};
use super::{AnalysisSet, EpochRecord};
use crate::error::{Error, Result};
use crate::util::fsutil;

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
pub(crate) fn writer_version() -> String {
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
                Backend::Parquet => manifest.content = Some(parquet_store::create(&staging, set)?),
                Backend::Hdf5 => {
                    manifest.content = Some(hdf5_store::create(&staging, &manifest, set)?);
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

    /// Opens the recording at `out` again to commit the epochs it is missing: a recording that
    /// stopped (killed, interrupted, or finished early) goes on where it stopped, in place.
    /// `spec` and `set` must describe the same recording (backend, classes, layers, parameters,
    /// plan, batch gradients, the analysis set's labels); what differs is named. A complete
    /// archive becomes incomplete again until [`Self::finish`].
    pub fn resume(
        out: &Path,
        backend: Backend,
        spec: ArchiveSpec,
        set: &AnalysisSet,
    ) -> Result<Self> {
        let wanted = new_manifest(out, backend, spec, set)?;
        let lock = fsutil::lock_output(out)?;
        output::clean_stale(out)?;
        let archive = Archive::open(out)?;
        same_recording(&archive, &wanted, set)?;
        let mut manifest = archive.manifest().clone();
        let next_slot = archive.epochs().len();
        drop(archive);
        if manifest.complete {
            manifest.complete = false;
            manifest.committed_epochs = None;
            manifest.write(out)?;
        }
        let store = match manifest.backend {
            Backend::Parquet => StoreWriter::Parquet(parquet_store::Writer::open(out)?),
            Backend::Hdf5 => StoreWriter::Hdf5(hdf5_store::Writer::open(out, &manifest)?),
        };
        Ok(ArchiveWriter {
            out: out.to_path_buf(),
            dir: out.to_path_buf(),
            manifest,
            store: Some(store),
            next_slot,
            published: true,
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
        check_next(&self.manifest, self.next_slot, record)
            .map_err(|msg| Error::request(&self.out, msg))?;
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

    /// Closes the archive and marks it complete (also when fewer epochs than planned were
    /// committed: the run stopped early). With [`Publish::OnFinish`] it is moved into place now.
    pub fn finish(mut self) -> Result<PathBuf> {
        match self.store.take() {
            Some(StoreWriter::Hdf5(w)) => w.close()?,
            Some(StoreWriter::Parquet(_)) | None => {}
        }
        self.manifest.complete = true;
        self.manifest.committed_epochs = Some(self.next_slot);
        self.manifest.write(&self.dir)?;
        if !self.published {
            output::publish_staged(&self.dir, &self.out)?;
            self.published = true;
        }
        self.finished = true;
        Ok(self.out.clone())
    }
}

/// Checks `record` as the epoch at `slot` of the plan of an archive with manifest `m`: that it
/// is planned, in order, and that its arrays have the plan's shapes (before anything is
/// written); what is wrong, in one line. A writer on another
/// thread checks records with it before handing them over.
pub fn check_next(
    m: &Manifest,
    slot: usize,
    record: &EpochRecord,
) -> std::result::Result<(), String> {
    let Some(&planned) = m.epochs.get(slot) else {
        return Err(format!(
            "epoch {} was not planned: all {} planned epochs are committed",
            record.epoch,
            m.epochs.len()
        ));
    };
    if planned.epoch != record.epoch {
        return Err(format!(
            "epoch {} committed out of order: the next planned epoch is {}",
            record.epoch, planned.epoch
        ));
    }
    let problem = if planned.activations {
        activations_problem(m, record)
    } else if !record.activations.is_empty() {
        Some("activations given but the plan records none at this epoch".into())
    } else {
        None
    };
    match problem
        .or_else(|| gradients_problem(m, record))
        .or_else(|| batch_gradients_problem(m, record))
    {
        Some(msg) => Err(format!("epoch {}: {msg}", record.epoch)),
        None => Ok(()),
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

/// Whether `archive` holds the recording `wanted` describes (with analysis set `set`): the
/// first difference, named, as an error.
fn same_recording(archive: &Archive, wanted: &Manifest, set: &AnalysisSet) -> Result<()> {
    let have = archive.manifest();
    let differs = if have.backend != wanted.backend {
        Some("backend")
    } else if have.analysis_set.classes != wanted.analysis_set.classes {
        Some("classes")
    } else if have.analysis_set.n != wanted.analysis_set.n
        || have.analysis_set.label_sets() != wanted.analysis_set.label_sets()
        || archive.labels()? != set.labels
        || archive.label_sets()? != set.label_sets
    {
        Some("analysis set (its size or labels)")
    } else if have.layers != wanted.layers {
        Some("layers")
    } else if have.parameters != wanted.parameters {
        Some("parameters")
    } else if have.epochs != wanted.epochs {
        Some("epoch plan")
    } else if have.batch_gradients != wanted.batch_gradients {
        Some("batch gradients")
    } else {
        None
    };
    match differs {
        Some(what) => Err(Error::request(
            archive.dir(),
            format!("cannot resume: the archive's {what} differs from this recording's (record into a new archive, or overwrite this one)"),
        )),
        None => Ok(()),
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
            label_name: set.label_name.clone(),
            label_sets: (set.label_sets.iter())
                .map(|s| manifest::LabelSetInfo {
                    name: s.name.clone(),
                    classes: s.classes,
                })
                .collect(),
        },
        layers: spec.layers,
        parameters: spec.parameters,
        batch_gradients: spec.batch_gradients,
        hdf5_metadata: None,
        epochs: spec.epochs,
        content: None,
        committed_epochs: None,
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
    let firsts = std::iter::once((m.analysis_set.label_name(), &set.labels));
    let sets = firsts.chain(set.label_sets.iter().map(|s| (s.name.as_str(), &s.labels)));
    for (k, ((name, labels), (_, classes))) in sets.zip(m.analysis_set.label_sets()).enumerate() {
        let which = match k {
            0 => String::new(),
            _ => format!(" in label set '{name}'"),
        };
        if labels.len() != n {
            return fail(format!(
                "label set '{name}' has {} labels for {n} samples",
                labels.len()
            ));
        }
        if let Some((i, y)) = (labels.iter().enumerate()).find(|(_, y)| **y as usize >= classes) {
            return fail(format!(
                "label {y} of sample {i}{which} is not below the number of classes ({classes})"
            ));
        }
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
        label_name: m.analysis_set.label_name.clone(),
        label_sets: src.label_sets()?,
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

/// What is wrong with a record's activations, if anything.
fn activations_problem(m: &Manifest, record: &EpochRecord) -> Option<String> {
    if record.activations.len() != m.layers.len() {
        return Some(format!(
            "{} activation matrices given for {} layers",
            record.activations.len(),
            m.layers.len()
        ));
    }
    let n = m.analysis_set.n;
    record
        .activations
        .iter()
        .zip(&m.layers)
        .find(|(a, l)| a.dim() != (n, l.width))
        .map(|(a, l)| {
            format!(
                "layer '{}' has shape {:?}, expected ({n}, {})",
                l.name,
                a.dim(),
                l.width
            )
        })
}

/// What is wrong with a record's gradient statistics, if anything.
fn gradients_problem(m: &Manifest, record: &EpochRecord) -> Option<String> {
    if record.gradients.len() != m.parameters.len() {
        return Some(format!(
            "{} gradient statistics given for {} parameters",
            record.gradients.len(),
            m.parameters.len()
        ));
    }
    record
        .gradients
        .iter()
        .zip(&m.parameters)
        .find(|(g, p)| [g.mean.len(), g.std.len(), g.value.len()] != [p.size(); 3])
        .map(|(g, p)| {
            format!(
                "gradient statistics of '{}' have lengths {}/{}/{}, expected {}",
                p.name,
                g.mean.len(),
                g.std.len(),
                g.value.len(),
                p.size()
            )
        })
}

/// What is wrong with a record's batch gradients, if anything.
fn batch_gradients_problem(m: &Manifest, record: &EpochRecord) -> Option<String> {
    let Some(max) = m.batch_gradients else {
        return (!record.batch_gradients.is_empty())
            .then(|| "batch gradients given but the archive stores none".into());
    };
    if record.batch_gradients.len() != m.parameters.len() {
        return Some(format!(
            "{} batch-gradient matrices given for {} parameters",
            record.batch_gradients.len(),
            m.parameters.len()
        ));
    }
    let all = record
        .batch_gradients
        .iter()
        .zip(&m.parameters)
        .zip(&record.gradients);
    for ((b, p), g) in all {
        if b.nrows() != g.n_batches as usize {
            return Some(format!(
                "{} batch gradients of '{}' for n_batches = {}",
                b.nrows(),
                p.name,
                g.n_batches
            ));
        }
        if b.ncols() != p.size() || b.nrows() > max as usize {
            return Some(format!(
                "batch gradients of '{}' have shape {:?}; expected at most {max} rows of {}",
                p.name,
                b.dim(),
                p.size()
            ));
        }
    }
    None
}
