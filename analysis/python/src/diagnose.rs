//! `report`, `plot`, `verdict`, `dpi` and `aggregate`: the library's report, drawings and
//! diagnostics on tables and archives, with the library's defaults where an argument is None.
//! Tables come back as Parquet bytes (polars reads them). The GIL is released while they run.

use std::path::PathBuf;
use std::str::FromStr;

use infoplane::diagnostics::{aggregate as agg, dpi as checks, verdict as phases};
use infoplane::estimator::pairwise::sigma::SigmaSpec;
use infoplane::plot::draw::{self, Drawing, PlaneFilter};
use infoplane::report::{self as lib, ReportParams};
use infoplane::selection::Epochs;
use infoplane::table::estimates::{self, Unit};
use infoplane::table::DataFrame;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{error, guarded, invalid};

/// A table as Parquet bytes, written to `out` too when given.
fn frame_bytes<'py>(
    py: Python<'py>,
    mut df: DataFrame,
    out: Option<&PathBuf>,
) -> PyResult<Bound<'py, PyBytes>> {
    if let Some(out) = out {
        infoplane::table::write(&mut df, out).map_err(error)?;
    }
    let bytes = infoplane::table::parquet_bytes(&mut df).map_err(error)?;
    Ok(PyBytes::new(py, &bytes))
}

/// The report's parameters: the library's defaults where an argument is None.
fn report_params(
    estimators: Option<Vec<String>>,
    sigma2: Option<&str>,
    epochs: Option<&str>,
    unit: Option<&str>,
    tolerance: Option<f64>,
) -> PyResult<ReportParams> {
    let mut p = ReportParams::default();
    if let Some(e) = estimators {
        p.estimator = e;
    }
    if let Some(s) = sigma2 {
        p.sigma2 = SigmaSpec::parse(s).map_err(error)?;
    }
    if let Some(e) = epochs {
        p.epochs = Epochs::parse(e).map_err(error)?;
    }
    if let Some(u) = unit {
        p.unit = Unit::from_str(u)
            .map_err(|_| invalid(format!("unit: unknown unit '{u}' (expected bits or nats)")))?;
    }
    if let Some(t) = tolerance {
        p.tolerance = t;
    }
    Ok(p)
}

/// The CLI's `report`: of archives (estimated here), or of an estimates table as it is (with
/// `archives` only read for their summary, accuracy and SNR). Returns (files, findings).
#[pyfunction]
#[pyo3(signature = (out, archives, table=None, estimators=None, sigma2=None, epochs=None, unit=None, tolerance=None))]
#[allow(clippy::too_many_arguments)]
pub fn report(
    py: Python<'_>,
    out: PathBuf,
    archives: Vec<PathBuf>,
    table: Option<PathBuf>,
    estimators: Option<Vec<String>>,
    sigma2: Option<String>,
    epochs: Option<String>,
    unit: Option<String>,
    tolerance: Option<f64>,
) -> PyResult<(Vec<String>, Vec<String>)> {
    guarded(|| {
        let p = report_params(
            estimators,
            sigma2.as_deref(),
            epochs.as_deref(),
            unit.as_deref(),
            tolerance,
        )?;
        let r = py
            .detach(|| match &table {
                Some(t) => lib::write_report_from_table(t, &archives, &out, &p, &mut |_| {}),
                None => lib::write_report(&archives, &out, &p, &mut |_| {}),
            })
            .map_err(error)?;
        Ok((r.files, r.findings))
    })
}

/// The CLI's `plot`: one drawing; returns the files written.
#[pyfunction]
#[pyo3(signature = (input, kind, out, band=false, estimators=None, settings=None))]
pub fn plot(
    py: Python<'_>,
    input: PathBuf,
    kind: &str,
    out: PathBuf,
    band: bool,
    estimators: Option<Vec<String>>,
    settings: Option<Vec<String>>,
) -> PyResult<Vec<PathBuf>> {
    guarded(|| {
        let what = Drawing::from_str(kind).map_err(error)?;
        let filter = PlaneFilter {
            band,
            estimators,
            settings,
        };
        py.detach(|| draw::draw(&input, what, &filter, &out))
            .map_err(error)
    })
}

/// The CLI's `verdict` over tables: (note, one line per layer, DPI lines, the verdict table).
#[pyfunction]
#[pyo3(signature = (tables, tolerance=None, out=None))]
#[allow(clippy::type_complexity)]
pub fn verdict<'py>(
    py: Python<'py>,
    tables: Vec<PathBuf>,
    tolerance: Option<f64>,
    out: Option<PathBuf>,
) -> PyResult<(
    Option<String>,
    Vec<String>,
    Vec<String>,
    Bound<'py, PyBytes>,
)> {
    guarded(|| {
        let tol = tolerance.unwrap_or(phases::DEFAULT_TOLERANCE);
        let v = py
            .detach(|| {
                let t = estimates::read_all(&tables)?;
                phases::verdict(&t.rows, tol / t.unit.from_nats())
            })
            .map_err(error)?;
        let df = phases::verdict_table(&v).map_err(error)?;
        let bytes = frame_bytes(py, df, out.as_ref())?;
        Ok((v.note, v.layers, v.dpi, bytes))
    })
}

/// The CLI's `dpi` on a table: (the summary, whether a violation is definite, the violations).
#[pyfunction]
#[pyo3(signature = (table, tolerance=None, out=None))]
pub fn dpi<'py>(
    py: Python<'py>,
    table: PathBuf,
    tolerance: Option<f64>,
    out: Option<PathBuf>,
) -> PyResult<(String, bool, Bound<'py, PyBytes>)> {
    guarded(|| {
        let tol = tolerance.unwrap_or(checks::DEFAULT_TOLERANCE);
        checks::validate_tolerance(tol).map_err(error)?;
        let t = estimates::read(&table).map_err(error)?;
        let v = checks::check(&t.rows, tol / t.unit.from_nats()).map_err(error)?;
        let summary = checks::summary(&v, &t.rows, t.unit);
        let df = checks::violations_table(&v, t.unit).map_err(error)?;
        let bytes = frame_bytes(py, df, out.as_ref())?;
        Ok((summary, checks::has_definite(&v), bytes))
    })
}

/// The CLI's `aggregate` of tables (runs of one configuration): (notes, the aggregate table).
#[pyfunction]
#[pyo3(signature = (tables, by="seed", out=None))]
pub fn aggregate<'py>(
    py: Python<'py>,
    tables: Vec<PathBuf>,
    by: &str,
    out: Option<PathBuf>,
) -> PyResult<(Vec<String>, Bound<'py, PyBytes>)> {
    guarded(|| {
        let by = agg::By::from_str(by).map_err(error)?;
        let read = tables
            .iter()
            .map(|p| Ok((p.clone(), estimates::read(p)?)))
            .collect::<infoplane::Result<Vec<_>>>()
            .map_err(error)?;
        let a = agg::aggregate(&read, by).map_err(error)?;
        let df = agg::aggregate_table(&a, a.unit).map_err(error)?;
        let bytes = frame_bytes(py, df, out.as_ref())?;
        Ok((a.notes, bytes))
    })
}

/// A self-contained page with only the interactive plane of a table (in the table's unit, or
/// `unit`): what a notebook shows inline.
#[pyfunction]
#[pyo3(signature = (table, unit=None))]
pub fn plane_page(py: Python<'_>, table: PathBuf, unit: Option<String>) -> PyResult<String> {
    guarded(|| {
        let t = estimates::read(&table).map_err(error)?;
        let unit = match unit {
            Some(u) => Unit::from_str(&u).map_err(|_| {
                invalid(format!("unit: unknown unit '{u}' (expected bits or nats)"))
            })?,
            None => t.unit,
        };
        py.detach(|| lib::plane_page(&t.rows, unit)).map_err(error)
    })
}
