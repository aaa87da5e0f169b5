//! `estimate_arrays` and `estimate_archives`: the library's estimation driver with the
//! parameters as a JSON object of `name: value` (`infoplane::estimator::params`: the library's
//! names and defaults, no command line), results as the bytes of a Parquet table with exactly
//! the CLI's columns and values. The GIL is released while they run.

use std::collections::BTreeSet;
use std::path::PathBuf;

use std::str::FromStr;

use infoplane::run::{self, Arrays, EstimateRequest};
use infoplane::selection::Epochs;
use infoplane::sweep;
use infoplane::table::estimates::{self as table, EstimateRow, Unit};
use infoplane::util::fsutil;
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{error, guarded, invalid};

/// Every parameter's name and default value, as a JSON object (for stubs, help and tests).
#[pyfunction]
pub fn default_params() -> String {
    serde_json::Value::Object(infoplane::estimator::params::defaults()).to_string()
}

/// The request from the Python arguments.
fn request(
    estimators: Vec<String>,
    params: &str,
    layers: Option<Vec<String>>,
    epochs: &str,
    labels: Option<String>,
) -> PyResult<EstimateRequest> {
    let params = infoplane::estimator::params::from_json(params).map_err(error)?;
    let req = EstimateRequest {
        estimators,
        params,
        layers,
        epochs: Epochs::parse(epochs).map_err(error)?,
        units: None,
        labels,
    };
    req.build().map_err(error)?;
    Ok(req)
}

pub(crate) fn unit(name: &str) -> PyResult<Unit> {
    Unit::from_str(name)
        .map_err(|_| invalid(format!("unknown unit '{name}' (expected bits or nats)")))
}

/// The rows as Parquet bytes for polars, and written to `out` too when given.
pub(crate) fn table_bytes<'py>(
    py: Python<'py>,
    rows: &[EstimateRow],
    unit: Unit,
    out: Option<PathBuf>,
) -> PyResult<Bound<'py, PyBytes>> {
    if let Some(out) = out {
        table::write(rows, unit, &out).map_err(error)?;
    }
    let mut df = table::to_frame(rows, unit).map_err(error)?;
    let bytes = infoplane::table::parquet_bytes(&mut df).map_err(error)?;
    Ok(PyBytes::new(py, &bytes))
}

/// Calls `progress(done, total)` from inside a GIL-free section; a Python exception there
/// (for example KeyboardInterrupt from `check_signals`) is kept and ends nothing early.
fn reporter(progress: Option<Py<PyAny>>) -> impl FnMut(usize, usize) + Send {
    move |done, total| {
        if let Some(cb) = &progress {
            Python::attach(|py| {
                let _ = cb.call1(py, (done, total));
            });
        }
    }
}

/// Estimates one representation Z (N x H, float32) with class labels (and inputs X for the
/// estimators that use them); see `infoplane::run::estimate_arrays`.
#[pyfunction]
#[pyo3(signature = (z, labels, classes, estimators, params, inputs=None, unit="bits"))]
#[allow(clippy::too_many_arguments)]
pub fn estimate_arrays<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f32>,
    labels: PyReadonlyArray1<'py, u32>,
    classes: usize,
    estimators: Vec<String>,
    params: &str,
    inputs: Option<PyReadonlyArray2<'py, f32>>,
    unit: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    guarded(|| {
        let req = request(estimators, params, None, "all", None)?;
        let unit = self::unit(unit)?;
        let (z, labels) = (z.as_array().to_owned(), labels.as_array().to_vec());
        let x = inputs.map(|x| x.as_array().to_owned());
        let rows = py
            .detach(|| {
                let a = Arrays {
                    z: z.view(),
                    labels: &labels,
                    classes,
                    inputs: x.as_ref().map(|x| x.view()),
                };
                run::estimate_arrays(a, &req)
            })
            .map_err(error)?;
        table_bytes(py, &rows, unit, None)
    })
}

/// The CLI's `estimate` over archive directories: one table, rows in the order given.
#[pyfunction]
#[pyo3(signature = (dirs, estimators, params, layers=None, epochs="all", unit="bits", out=None, progress=None, labels=None))]
#[allow(clippy::too_many_arguments)]
pub fn estimate_archives<'py>(
    py: Python<'py>,
    dirs: Vec<PathBuf>,
    estimators: Vec<String>,
    params: &str,
    layers: Option<Vec<String>>,
    epochs: &str,
    unit: &str,
    out: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
    labels: Option<String>,
) -> PyResult<Bound<'py, PyBytes>> {
    guarded(|| {
        let req = request(estimators, params, layers, epochs, labels)?;
        let unit = self::unit(unit)?;
        if let Some(out) = &out {
            for dir in &dirs {
                fsutil::refuse_output_inside(out, dir).map_err(error)?;
            }
        }
        let mut report = reporter(progress);
        let rows = py
            .detach(|| {
                let archives = dirs
                    .iter()
                    .map(|d| infoplane::Archive::open(d))
                    .collect::<infoplane::Result<Vec<_>>>()?;
                sweep::estimate_units(&archives, &req, None, &BTreeSet::new(), &mut report)
            })
            .map_err(error)?;
        table_bytes(py, &rows, unit, out)
    })
}

/// The estimator names the library knows.
#[pyfunction]
pub fn estimator_names() -> Vec<&'static str> {
    infoplane::estimator::names()
}
