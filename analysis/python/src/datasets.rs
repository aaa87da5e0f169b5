//! `tishby`: the library's generated 12-bit task (Tishby's information-plane benchmark) as
//! NumPy arrays, so that Python examples need no download.

use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;

/// (x: 4096 x 12 float32 of 0/1, y: 4096 int64 labels, train: row indices, validation: row
/// indices), the 80/20 split seeded by `seed` (the tch recorder's split).
#[pyfunction]
#[pyo3(signature = (seed=0))]
#[allow(clippy::type_complexity)]
pub fn tishby<'py>(
    py: Python<'py>,
    seed: u64,
) -> (
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
) {
    let d = infoplane::datasets::tishby::generate(seed);
    let labels: Vec<i64> = d.labels.iter().map(|&y| i64::from(y)).collect();
    let idx = |v: &[usize]| v.iter().map(|&i| i as u64).collect::<Vec<u64>>();
    (
        d.inputs.into_pyarray(py),
        labels.into_pyarray(py),
        idx(&d.train).into_pyarray(py),
        idx(&d.validation).into_pyarray(py),
    )
}
