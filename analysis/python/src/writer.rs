//! `Writer`: the library's crash-safe [`ArchiveWriter`] for the Python hook recorder. Each
//! commit writes one epoch and makes it visible; nothing is kept between commits.

use std::collections::HashMap;
use std::path::PathBuf;

use infoplane::archive::{
    AnalysisSet, ArchiveSpec, ArchiveWriter, Backend, EpochMetrics, EpochRecord, GradientStats,
    LayerInfo, Overwrite, ParameterInfo, Publish, RunInfo,
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

/// One gradient statistics entry from Python: (n_batches, mean, std, value).
type PyGradient<'py> = (
    u32,
    PyReadonlyArray1<'py, f32>,
    PyReadonlyArray1<'py, f32>,
    PyReadonlyArray1<'py, f32>,
);

/// An archive being recorded.
#[derive(Debug)]
#[pyclass(module = "infoplane._native")]
pub struct Writer {
    inner: Option<ArchiveWriter>,
    out: PathBuf,
}

#[pymethods]
impl Writer {
    /// Creates the archive at `out` (refused when something is there, unless `overwrite`
    /// and it is an archive); it is visible at once and grows epoch by epoch.
    #[new]
    #[pyo3(signature = (out, spec_json, labels, inputs=None, sample_ids=None, backend="parquet", overwrite=false))]
    fn new(
        out: PathBuf,
        spec_json: &str,
        labels: PyReadonlyArray1<'_, u32>,
        inputs: Option<PyReadonlyArray2<'_, f32>>,
        sample_ids: Option<PyReadonlyArray1<'_, u64>>,
        backend: &str,
        overwrite: bool,
    ) -> PyResult<Self> {
        guarded(|| {
            let spec: Spec = serde_json::from_str(spec_json)
                .map_err(|e| invalid(format!("{}: bad recording spec: {e}", out.display())))?;
            let schedule: RecordEpochs = spec.record_epochs.parse().map_err(error)?;
            let backend: Backend = backend.parse().map_err(error)?;
            let labels = labels.as_array().to_vec();
            let set = AnalysisSet {
                sample_ids: match sample_ids {
                    Some(ids) => ids.as_array().to_vec(),
                    None => (0..labels.len() as u64).collect(),
                },
                labels,
                inputs: inputs.map(|x| x.as_array().to_owned()),
            };
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
            let w = ArchiveWriter::create(
                &out,
                backend,
                archive,
                &set,
                overwrite,
                Publish::Immediately,
            )
            .map_err(error)?;
            Ok(Writer {
                inner: Some(w),
                out,
            })
        })
    }

    /// The archive's directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.out.clone()
    }

    /// Epochs committed so far.
    #[getter]
    fn committed(&self) -> usize {
        self.inner.as_ref().map_or(0, |w| w.committed())
    }

    /// The next planned epoch and whether it records activations; None when all are committed
    /// or the writer is closed.
    #[getter]
    fn next_epoch(&self) -> Option<(u32, bool)> {
        let p = self.inner.as_ref()?.next_epoch()?;
        Some((p.epoch, p.activations))
    }

    /// The manifest as JSON.
    #[getter]
    fn manifest_json(&self) -> PyResult<String> {
        let w = self.open()?;
        serde_json::to_string(w.manifest()).map_err(|e| invalid(e.to_string()))
    }

    /// Commits `epoch`: its metrics (by name), one N x H float32 matrix per layer when the plan
    /// records activations, and one (n_batches, mean, std, value) per parameter. The GIL is
    /// released while the files are written.
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
            let record = EpochRecord {
                epoch,
                metrics: metrics_from(&self.out, &metrics)?,
                activations: activations
                    .iter()
                    .map(|a| a.as_array().to_owned())
                    .collect(),
                gradients: gradients
                    .iter()
                    .map(|(n, mean, std, value)| GradientStats {
                        n_batches: *n,
                        mean: mean.as_array().to_vec(),
                        std: std.as_array().to_vec(),
                        value: value.as_array().to_vec(),
                    })
                    .collect(),
                batch_gradients: batch_gradients
                    .iter()
                    .map(|a| a.as_array().to_owned())
                    .collect(),
            };
            let w = self.open_mut()?;
            if let Some(problem) = non_finite(w.manifest(), &record) {
                return Err(invalid(format!(
                    "{}: epoch {epoch}: {problem}; nothing of this epoch was written",
                    self.out.display()
                )));
            }
            let w = self.open_mut()?;
            py.detach(|| w.commit_epoch(&record)).map_err(error)
        })
    }

    /// Marks the archive complete (also when fewer epochs than planned were committed: the
    /// run stopped early) and closes it; returns its path.
    fn finish(&mut self, py: Python<'_>) -> PyResult<PathBuf> {
        guarded(|| {
            let w = self.inner.take().ok_or_else(|| self.closed())?;
            py.detach(|| w.finish()).map_err(error)
        })
    }

    /// Closes without marking the archive complete: the committed epochs stay readable (an
    /// archive being replaced is left as it was).
    fn close(&mut self) {
        self.inner = None;
    }
}

impl Writer {
    fn closed(&self) -> PyErr {
        invalid(format!(
            "{}: the archive writer is closed",
            self.out.display()
        ))
    }
    fn open(&self) -> PyResult<&ArchiveWriter> {
        self.inner.as_ref().ok_or_else(|| self.closed())
    }
    fn open_mut(&mut self) -> PyResult<&mut ArchiveWriter> {
        let closed = self.closed();
        self.inner.as_mut().ok_or(closed)
    }
}

/// The first non-finite activation of `record`, described (the estimators refuse them, so the
/// recorder refuses them as soon as they appear: a diverged run is told at once).
fn non_finite(m: &infoplane::archive::Manifest, record: &EpochRecord) -> Option<String> {
    record
        .activations
        .iter()
        .zip(&m.layers)
        .find_map(|(z, layer)| {
            let (i, v) = z.iter().enumerate().find(|(_, v)| !v.is_finite())?;
            let w = z.ncols().max(1);
            Some(format!(
            "layer '{}': non-finite activation {v} at sample {}, unit {} (did training diverge?)",
            layer.name,
            i / w,
            i % w
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
