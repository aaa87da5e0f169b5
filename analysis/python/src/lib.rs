//! The `infoplane._native` extension module: the library's archive writer and reader and its
//! estimation driver, bound for Python with PyO3. It only converts arguments and calls the
//! library; the Python package (`python/infoplane`) builds the user-facing API on it.

mod convert;
mod datasets;
mod diagnose;
mod estimate;
mod labels;
mod reader;
mod stream;
mod writer;

use pyo3::prelude::*;

pyo3::create_exception!(
    _native,
    InfoplaneError,
    pyo3::exceptions::PyException,
    "An error of the infoplane library: the message names the file and what is wrong."
);

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InfoplaneError", m.py().get_type::<InfoplaneError>())?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "DEFAULT_ESTIMATORS",
        infoplane::estimator::DEFAULT_ESTIMATORS.to_vec(),
    )?;
    m.add_class::<writer::Writer>()?;
    m.add_class::<reader::Archive>()?;
    m.add_class::<stream::SoftStream>()?;
    m.add_function(wrap_pyfunction!(estimate::estimate_arrays, m)?)?;
    m.add_function(wrap_pyfunction!(estimate::estimate_archives, m)?)?;
    m.add_function(wrap_pyfunction!(estimate::estimator_names, m)?)?;
    m.add_function(wrap_pyfunction!(estimate::default_params, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose::report, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose::plot, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose::verdict, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose::dpi, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose::aggregate, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose::plane_page, m)?)?;
    m.add_function(wrap_pyfunction!(writer::schedule, m)?)?;
    m.add_function(wrap_pyfunction!(labels::class_indices, m)?)?;
    m.add_function(wrap_pyfunction!(datasets::tishby, m)?)?;
    Ok(())
}
