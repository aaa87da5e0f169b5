//! `Archive`: the library's archive reader for Python: matrices as NumPy arrays, the manifest as
//! JSON, metrics and gradient statistics as lists the Python package turns into frames.

use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;

use crate::convert::{error, guarded, invalid};

/// An archive opened for reading.
#[derive(Debug)]
#[pyclass(module = "infoplane._native", frozen)]
pub struct Archive {
    inner: infoplane::Archive,
}

/// One parameter's gradient statistics at one epoch: (n_batches, mean, std, value).
type Gradient<'py> = (
    u32,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
);

#[pymethods]
impl Archive {
    /// Opens the archive in `path` (checked: manifest, files, committed epochs).
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        guarded(|| {
            Ok(Archive {
                inner: infoplane::Archive::open(&path).map_err(error)?,
            })
        })
    }

    /// The archive's directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.dir().to_path_buf()
    }

    /// The manifest as JSON.
    #[getter]
    fn manifest_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.manifest()).map_err(|e| invalid(e.to_string()))
    }

    /// Committed epochs, ascending.
    #[getter]
    fn epochs(&self) -> Vec<u32> {
        self.inner.epochs()
    }

    /// Committed epochs with activations, ascending.
    #[getter]
    fn activation_epochs(&self) -> Vec<u32> {
        self.inner.activation_epochs()
    }

    /// Whether the recording finished (or stopped early and was closed cleanly).
    #[getter]
    fn complete(&self) -> bool {
        self.inner.is_complete()
    }

    /// The N x H activations of `layer` at `epoch`, float32, bit for bit as stored.
    fn read<'py>(
        &self,
        py: Python<'py>,
        layer: &str,
        epoch: u32,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let z = guarded(|| {
            py.detach(|| self.inner.activations(layer, epoch))
                .map_err(error)
        })?;
        Ok(z.into_pyarray(py))
    }

    /// The class index of each sample in the label set `name` (None: the first).
    #[pyo3(signature = (name=None))]
    fn labels<'py>(
        &self,
        py: Python<'py>,
        name: Option<&str>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let y = guarded(|| self.inner.labels_named(name).map_err(error))?.1;
        Ok(y.into_pyarray(py))
    }

    /// Every label set's name and number of classes, the first first.
    fn label_sets(&self) -> Vec<(String, usize)> {
        let sets = self.inner.manifest().analysis_set.label_sets();
        sets.into_iter().map(|(n, c)| (n.to_string(), c)).collect()
    }

    /// The stable id of each sample.
    fn sample_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<u64>>> {
        let ids = guarded(|| self.inner.sample_ids().map_err(error))?;
        Ok(ids.into_pyarray(py))
    }

    /// The inputs X (N x D, float32), or None when the archive stores none.
    fn inputs<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray2<f32>>>> {
        let x = guarded(|| self.inner.inputs().map_err(error))?;
        Ok(x.map(|x| x.into_pyarray(py)))
    }

    /// (epoch, [train_loss, train_accuracy, validation_loss, validation_accuracy,
    /// wall_time_s]) of every committed epoch, None where not measured.
    fn metrics(&self) -> PyResult<Vec<(u32, [Option<f64>; 5])>> {
        let m = guarded(|| self.inner.metrics().map_err(error))?;
        Ok(m.into_iter().map(|(e, v)| (e, v.to_array())).collect())
    }

    /// The metric names, in the order of [`Archive::metrics`].
    #[staticmethod]
    fn metric_names() -> Vec<&'static str> {
        infoplane::archive::EpochMetrics::NAMES.to_vec()
    }

    /// Every parameter's gradient statistics at `epoch`, in manifest order.
    fn gradients<'py>(&self, py: Python<'py>, epoch: u32) -> PyResult<Vec<Gradient<'py>>> {
        let g = guarded(|| self.inner.gradients(epoch).map_err(error))?;
        Ok(g.into_iter()
            .map(|s| {
                (
                    s.n_batches,
                    s.mean.into_pyarray(py),
                    s.std.into_pyarray(py),
                    s.value.into_pyarray(py),
                )
            })
            .collect())
    }

    /// The n_batches x size matrix of every batch gradient of parameter `name` at `epoch`
    /// (archives recorded with batch gradients).
    fn batch_gradients<'py>(
        &self,
        py: Python<'py>,
        epoch: u32,
        name: &str,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let g = guarded(|| self.inner.batch_gradients(epoch, name).map_err(error))?;
        Ok(g.into_pyarray(py))
    }
}
