//! `SoftStream`: the library's streaming `soft` estimator (`infoplane::run::stream`) for the
//! hook recorder, which adds each analysis batch of each layer and ends each epoch; the rows
//! come back as the bytes of a Parquet estimates table (and are written to a file).

use std::path::PathBuf;

use infoplane::archive::Manifest;
use infoplane::estimator::params;
use infoplane::run::stream;
use infoplane::table::estimates::Unit;
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{error, guarded, invalid};

/// The streamed `soft` estimates of one recording.
#[derive(Debug)]
#[pyclass(module = "infoplane._native")]
pub struct SoftStream {
    inner: stream::SoftStream,
}

#[pymethods]
impl SoftStream {
    /// A stream for the recording with manifest `manifest_json` and analysis labels `labels`
    /// (one array per label set, in the manifest's order); `params_json` holds estimator parameters by name (`soft_bins`, `soft_spread`, `seed`,
    /// `saturation_margin`), the library's defaults for the rest.
    #[new]
    fn new(
        manifest_json: &str,
        labels: Vec<PyReadonlyArray1<'_, u32>>,
        params_json: &str,
    ) -> PyResult<Self> {
        guarded(|| {
            let manifest: Manifest = serde_json::from_str(manifest_json)
                .map_err(|e| invalid(format!("bad manifest: {e}")))?;
            let p = params::from_json(params_json).map_err(error)?;
            let labels: Vec<Vec<u32>> = labels.iter().map(|y| y.as_array().to_vec()).collect();
            let sets: Vec<&[u32]> = labels.iter().map(Vec::as_slice).collect();
            let inner =
                stream::SoftStream::new(&manifest, &sets, p.soft, p.common).map_err(error)?;
            Ok(SoftStream { inner })
        })
    }

    /// Adds a batch of `layer`'s rows (float32, in the analysis set's order) with their labels
    /// (one array per label set).
    fn add(
        &mut self,
        layer: &str,
        z: PyReadonlyArray2<'_, f32>,
        labels: Vec<PyReadonlyArray1<'_, u32>>,
    ) -> PyResult<()> {
        let sets = (labels.iter())
            .map(|y| y.as_slice().map_err(|e| invalid(e.to_string())))
            .collect::<PyResult<Vec<_>>>()?;
        self.inner.add(layer, z.as_array(), &sets).map_err(error)
    }

    /// Ends `epoch` (one row per label set and layer) and writes every row so far to `out` (when given).
    #[pyo3(signature = (epoch, out=None, unit="bits"))]
    fn end_epoch<'py>(
        &mut self,
        py: Python<'py>,
        epoch: u32,
        out: Option<PathBuf>,
        unit: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let unit: Unit = crate::estimate::unit(unit)?;
        self.inner.end_epoch(epoch).map_err(error)?;
        crate::estimate::table_bytes(py, self.inner.rows(), unit, out)
    }
}
