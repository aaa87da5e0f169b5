//! `class_indices`: the library's one label check ([`infoplane::labels::class_indices`]) for
//! labels from NumPy or torch, before anything is sized by them.

use infoplane::labels::{class_indices as check, RawLabels};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::convert::invalid;

/// The labels as a uint32 array of class indices; an `InfoplaneError` naming the first label
/// that is negative, fractional, not finite or beyond the class limit. `labels` is a 1-d
/// int64, uint64, float64 or float32 array (the Python side converts other dtypes).
#[pyfunction]
pub fn class_indices<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let checked = if let Ok(a) = labels.extract::<PyReadonlyArray1<'_, i64>>() {
        check(RawLabels::Int(a.as_slice()?))
    } else if let Ok(a) = labels.extract::<PyReadonlyArray1<'_, u64>>() {
        check(RawLabels::UInt(a.as_slice()?))
    } else if let Ok(a) = labels.extract::<PyReadonlyArray1<'_, f64>>() {
        check(RawLabels::Float(a.as_slice()?))
    } else if let Ok(a) = labels.extract::<PyReadonlyArray1<'_, f32>>() {
        check(RawLabels::Float32(a.as_slice()?))
    } else {
        return Err(invalid(
            "labels must be a 1-d array of int64, uint64, float64 or float32 values",
        ));
    };
    checked
        .map(|v| v.into_pyarray(py))
        .map_err(|m| invalid(format!("labels: {m}")))
}
