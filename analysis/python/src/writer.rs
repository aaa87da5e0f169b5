//! `Writer`: the library's crash-safe [`ArchiveWriter`] for the Python hook recorder. Each
//! commit writes one epoch and makes it visible; nothing is kept between commits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use infoplane::archive::{
    check_next, first_non_finite, AnalysisSet, ArchiveSpec, ArchiveWriter, Backend, EpochMetrics,
    EpochRecord, GradientStats, LabelSet, LabelSetInfo, LayerInfo, Manifest, Overwrite,
    ParameterInfo, Publish, RunInfo,
};
use infoplane::schedule::RecordEpochs;
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use serde::Deserialize;

use crate::convert::{error, guarded, invalid};

/// What the Python recorder knows about the recording (JSON): the archive's spec and the
/// schedule that plans its epochs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    run: RunInfo,
    classes: Vec<String>,
    /// The first label set's name (default `class`).
    #[serde(default)]
    label_name: Option<String>,
    /// Further label sets (name, classes), their labels in `label_sets` in this order.
    #[serde(default)]
    label_sets: Vec<LabelSetInfo>,
    input_shape: Option<Vec<usize>>,
    analysis_description: String,
    layers: Vec<LayerInfo>,
    parameters: Vec<ParameterInfo>,
    batch_gradients: Option<u32>,
    epochs: u32,
    record_epochs: String,
}

/// The epochs 0..=`epochs` at which `record_epochs` (all, log:K, every:K, none) records
/// activations: the tch recorder's schedule.
#[pyfunction]
pub fn schedule(record_epochs: &str, epochs: u32) -> PyResult<Vec<u32>> {
    let s: RecordEpochs = record_epochs.parse().map_err(error)?;
    Ok(s.epochs(epochs))
}

/// The analysis set from the Python arrays: the first labels, the further label sets the spec
/// names (in its order), inputs and sample ids (default 0..N).
fn analysis_set(
    out: &std::path::Path,
    spec: &Spec,
    labels: PyReadonlyArray1<'_, u32>,
    label_sets: &[PyReadonlyArray1<'_, u32>],
    inputs: Option<PyReadonlyArray2<'_, f32>>,
    sample_ids: Option<PyReadonlyArray1<'_, u64>>,
) -> PyResult<AnalysisSet> {
    let labels = labels.as_array().to_vec();
    if label_sets.len() != spec.label_sets.len() {
        return Err(invalid(format!(
            "{}: {} label sets named, {} given",
            out.display(),
            spec.label_sets.len(),
            label_sets.len()
        )));
    }
    let label_sets = (spec.label_sets.iter().zip(label_sets))
        .map(|(info, y)| LabelSet {
            name: info.name.clone(),
            classes: info.classes,
            labels: y.as_array().to_vec(),
        })
        .collect();
    Ok(AnalysisSet {
        sample_ids: match sample_ids {
            Some(ids) => ids.as_array().to_vec(),
            None => (0..labels.len() as u64).collect(),
        },
        labels,
        label_name: spec.label_name.clone(),
        label_sets,
        inputs: inputs.map(|x| x.as_array().to_owned()),
    })
}

/// One gradient statistics entry from Python: (n_batches, mean, std, value).
type PyGradient<'py> = (
    u32,
    PyReadonlyArray1<'py, f32>,
    PyReadonlyArray1<'py, f32>,
    PyReadonlyArray1<'py, f32>,
);

/// An archive being recorded. The files are written by a thread of its own, so that training
/// goes on while an epoch is written: `commit` checks the epoch, hands it over and returns once
/// the thread has taken it (at most one epoch being written and one being built).
#[derive(Debug)]
#[pyclass(module = "infoplane._native")]
pub struct Writer {
    out: PathBuf,
    manifest: Manifest,
    /// Epochs handed to the thread.
    sent: usize,
    /// Epochs the thread has committed.
    written: Arc<AtomicUsize>,
    background: Option<Background>,
}

/// The writing thread and the channel to it.
#[derive(Debug)]
struct Background {
    tx: mpsc::SyncSender<EpochRecord>,
    thread: std::thread::JoinHandle<(ArchiveWriter, infoplane::Result<()>)>,
}

/// Commits the records it receives until the channel closes or a commit fails.
fn write_epochs(
    mut w: ArchiveWriter,
    rx: mpsc::Receiver<EpochRecord>,
    written: Arc<AtomicUsize>,
) -> (ArchiveWriter, infoplane::Result<()>) {
    for record in rx {
        if let Err(e) = w.commit_epoch(&record) {
            return (w, Err(e));
        }
        written.fetch_add(1, Ordering::SeqCst);
    }
    (w, Ok(()))
}

#[pymethods]
impl Writer {
    /// Creates the archive at `out` (refused when something is there, unless `overwrite`
    /// and it is an archive); it is visible at once and grows epoch by epoch.
    #[new]
    #[pyo3(signature = (out, spec_json, labels, inputs=None, sample_ids=None, backend="parquet", overwrite=false, resume=false, label_sets=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        out: PathBuf,
        spec_json: &str,
        labels: PyReadonlyArray1<'_, u32>,
        inputs: Option<PyReadonlyArray2<'_, f32>>,
        sample_ids: Option<PyReadonlyArray1<'_, u64>>,
        backend: &str,
        overwrite: bool,
        resume: bool,
        label_sets: Vec<PyReadonlyArray1<'_, u32>>,
    ) -> PyResult<Self> {
        guarded(|| {
            let spec: Spec = serde_json::from_str(spec_json)
                .map_err(|e| invalid(format!("{}: bad recording spec: {e}", out.display())))?;
            let schedule: RecordEpochs = spec.record_epochs.parse().map_err(error)?;
            let backend: Backend = backend.parse().map_err(error)?;
            let set = analysis_set(&out, &spec, labels, &label_sets, inputs, sample_ids)?;
            let archive = ArchiveSpec {
                run: spec.run,
                classes: spec.classes,
                input_shape: spec.input_shape,
                analysis_description: spec.analysis_description,
                layers: spec.layers,
                parameters: spec.parameters,
                batch_gradients: spec.batch_gradients,
                epochs: schedule.plan(spec.epochs),
            };
            let overwrite = if overwrite {
                Overwrite::Replace
            } else {
                Overwrite::Refuse
            };
            // With `resume`, an archive already at `out` goes on where it stopped.
            let w = if resume && out.is_dir() {
                ArchiveWriter::resume(&out, backend, archive, &set)
            } else {
                ArchiveWriter::create(
                    &out,
                    backend,
                    archive,
                    &set,
                    overwrite,
                    Publish::Immediately,
                )
            }
            .map_err(error)?;
            let manifest = w.manifest().clone();
            let done = w.committed();
            let written = Arc::new(AtomicUsize::new(done));
            let (tx, rx) = mpsc::sync_channel(0);
            let counter = Arc::clone(&written);
            let thread = std::thread::spawn(move || write_epochs(w, rx, counter));
            Ok(Writer {
                out,
                manifest,
                sent: done,
                written,
                background: Some(Background { tx, thread }),
            })
        })
    }

    /// The archive's directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.out.clone()
    }

    /// Epochs committed (written and visible) so far.
    #[getter]
    fn committed(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }

    /// Epochs handed to the writer's thread (committed, or being written).
    #[getter]
    fn handed_over(&self) -> usize {
        self.sent
    }

    /// The next planned epoch and whether it records activations; None when all are handed
    /// over or the writer is closed.
    #[getter]
    fn next_epoch(&self) -> Option<(u32, bool)> {
        self.background.as_ref()?;
        let p = self.manifest.epochs.get(self.sent)?;
        Some((p.epoch, p.activations))
    }

    /// The manifest as JSON.
    #[getter]
    fn manifest_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.manifest).map_err(|e| invalid(e.to_string()))
    }

    /// Commits `epoch`: its metrics (by name), one N x H float32 matrix per layer when the plan
    /// records activations, and one (n_batches, mean, std, value) per parameter. The epoch is
    /// checked here (an error names it); the files are written by the writer's thread, and a
    /// failure there is raised by the next `commit` or by `finish`. The GIL is released while
    /// waiting for the thread.
    #[pyo3(signature = (epoch, metrics, activations, gradients, batch_gradients=Vec::new()))]
    fn commit(
        &mut self,
        py: Python<'_>,
        epoch: u32,
        metrics: HashMap<String, f64>,
        activations: Vec<PyReadonlyArray2<'_, f32>>,
        gradients: Vec<PyGradient<'_>>,
        batch_gradients: Vec<PyReadonlyArray2<'_, f32>>,
    ) -> PyResult<()> {
        guarded(|| {
            if self.background.is_none() {
                return Err(self.closed());
            }
            let record = EpochRecord {
                epoch,
                metrics: metrics_from(&self.out, &metrics)?,
                activations: activations
                    .iter()
                    .map(|a| a.as_array().to_owned())
                    .collect(),
                gradients: gradients.iter().map(gradient_stats).collect(),
                batch_gradients: batch_gradients
                    .iter()
                    .map(|a| a.as_array().to_owned())
                    .collect(),
            };
            self.check(&record)?;
            let tx = self.background.as_ref().map(|b| b.tx.clone());
            let sent = tx.is_some_and(|tx| py.detach(move || tx.send(record).is_ok()));
            if !sent {
                // The thread stopped: its error says why.
                return Err(self.join(py).err().unwrap_or_else(|| self.closed()));
            }
            self.sent += 1;
            Ok(())
        })
    }

    /// Waits for the epochs handed over, marks the archive complete (also when fewer epochs
    /// than planned were committed: the run stopped early) and closes it; returns its path.
    fn finish(&mut self, py: Python<'_>) -> PyResult<PathBuf> {
        guarded(|| {
            let w = self.join(py)?;
            py.detach(|| w.finish()).map_err(error)
        })
    }

    /// Waits for the epochs handed over and closes without marking the archive complete: the
    /// committed epochs stay readable (an archive being replaced is left as it was).
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        guarded(|| self.join(py).map(drop))
    }
}

impl Writer {
    fn closed(&self) -> PyErr {
        invalid(format!(
            "{}: the archive writer is closed",
            self.out.display()
        ))
    }

    /// The record checked as the next planned epoch: order, shapes (the library's
    /// `check_next`), finite activations.
    fn check(&self, record: &EpochRecord) -> PyResult<()> {
        let fail = |m: String| Err(invalid(format!("{}: {m}", self.out.display())));
        if let Err(m) = check_next(&self.manifest, self.sent, record) {
            return fail(m);
        }
        if let Some(p) = non_finite(&self.manifest, record) {
            return fail(format!(
                "epoch {}: {p}; nothing of this epoch was written",
                record.epoch
            ));
        }
        Ok(())
    }

    /// Closes the channel and waits for the thread: the writer, or the error it stopped on.
    fn join(&mut self, py: Python<'_>) -> PyResult<ArchiveWriter> {
        let b = self.background.take().ok_or_else(|| self.closed())?;
        drop(b.tx);
        let (w, result) = py.detach(|| b.thread.join()).map_err(|_| {
            invalid(format!(
                "{}: the writer thread panicked",
                self.out.display()
            ))
        })?;
        result.map_err(error)?;
        Ok(w)
    }
}

/// One gradient entry from Python as the library's statistics.
fn gradient_stats((n, mean, std, value): &PyGradient<'_>) -> GradientStats {
    GradientStats {
        n_batches: *n,
        mean: mean.as_array().to_vec(),
        std: std.as_array().to_vec(),
        value: value.as_array().to_vec(),
    }
}

/// The first non-finite activation of `record`, described (the estimators refuse them, so the
/// recorder refuses them as soon as they appear: a diverged run is told at once).
fn non_finite(m: &Manifest, record: &EpochRecord) -> Option<String> {
    record
        .activations
        .iter()
        .zip(&m.layers)
        .find_map(|(z, layer)| {
            let (i, h, v) = first_non_finite(z.view())?;
            Some(format!(
                "layer '{}': non-finite activation {v} at sample {i}, unit {h} (did training diverge?)",
                layer.name
            ))
        })
}

/// Metrics by name ([`EpochMetrics::NAMES`]); unknown names are refused.
fn metrics_from(out: &std::path::Path, given: &HashMap<String, f64>) -> PyResult<EpochMetrics> {
    let mut values = [None; 5];
    for (name, v) in given {
        let Some(k) = EpochMetrics::NAMES.iter().position(|n| n == name) else {
            return Err(invalid(format!(
                "{}: unknown metric '{name}' (expected one of {})",
                out.display(),
                EpochMetrics::NAMES.join(", ")
            )));
        };
        values[k] = Some(*v);
    }
    Ok(EpochMetrics::from_array(values))
}
