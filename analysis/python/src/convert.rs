//! Conversions at the boundary: library errors and panics become `InfoplaneError`s.

use pyo3::PyErr;

use crate::InfoplaneError;

/// A library error as a Python exception with the library's message (file and problem).
pub fn error(e: infoplane::Error) -> PyErr {
    InfoplaneError::new_err(e.to_string())
}

/// A problem with the arguments, as an `InfoplaneError`.
pub fn invalid(message: impl Into<String>) -> PyErr {
    InfoplaneError::new_err(message.into())
}

/// Runs `f`, turning a panic into an `InfoplaneError`: no panic crosses into Python.
pub fn guarded<T>(f: impl FnOnce() -> pyo3::PyResult<T>) -> pyo3::PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown".into());
            Err(invalid(format!("internal error (please report): {what}")))
        }
    }
}
