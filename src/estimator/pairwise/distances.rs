//! Distance statistics of one representation without kernels (for `distances`, and for σ²
//! rules that must see the distances before the kernels are chosen), the precision of the
//! Gram matrix that every pass uses, the centred rows every pass starts from (row-major for the
//! BLAS, or the packed kernel's panels: `centred_rows` chooses).

use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

use super::exp::Element;
use super::gram::{Panels, Rows, PANEL};

/// Precision of the Gram matrix (everything after it is f64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Precision {
    /// f32 GEMM on the stored activations (fast); σ² whose f32 rounding bound exceeds
    /// 2e-6 nats are computed again in f64 (`Pairwise::ROUNDING_TOLERANCE`).
    #[default]
    F32,
    /// Activations widened to f64 before the GEMM (slower; distances exact to f64 rounding).
    F64,
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "f32" => Ok(Precision::F32),
            "f64" => Ok(Precision::F64),
            other => Err(crate::Error::Invalid(format!(
                "unknown precision '{other}' (expected f32 or f64)"
            ))),
        }
    }
}

/// Runs `f32_fn` on `z`, or `f64_fn` on `z` widened to f64, as `precision` says.
pub(crate) fn with_matrix<R>(
    z: ArrayView2<'_, f32>,
    precision: Precision,
    f32_fn: impl FnOnce(ArrayView2<'_, f32>) -> R,
    f64_fn: impl FnOnce(ArrayView2<'_, f64>) -> R,
) -> R {
    match precision {
        Precision::F32 => f32_fn(z),
        Precision::F64 => {
            let wide: Array2<f64> = z.mapv(f64::from);
            f64_fn(wide.view())
        }
    }
}

/// Lanes of the f64 squared norms (one AVX-512 register of f64).
const NORM_LANES: usize = 8;

/// Rows per partial sum of [`column_means`].
const MEAN_ROWS: usize = 256;

/// Column means of Z, in f64: partial sums over blocks of [`MEAN_ROWS`] rows in parallel
/// (each read row by row, in order), added in block order, so the result does not depend on
/// the thread count.
fn column_means<T: Element>(z: ArrayView2<'_, T>) -> Array1<f64> {
    let parts: Vec<Array1<f64>> = (0..z.nrows().div_ceil(MEAN_ROWS))
        .into_par_iter()
        .map(|b| {
            let mut sum = Array1::<f64>::zeros(z.ncols());
            let end = (b * MEAN_ROWS + MEAN_ROWS).min(z.nrows());
            for row in z.slice(ndarray::s![b * MEAN_ROWS..end, ..]).outer_iter() {
                for (m, &v) in sum.iter_mut().zip(row.iter()) {
                    *m += v.into();
                }
            }
            sum
        })
        .collect();
    let mut mean = Array1::<f64>::zeros(z.ncols());
    for p in &parts {
        mean += p;
    }
    mean / z.nrows().max(1) as f64
}

/// Row i of Z minus the means (differences in f64, rounded once to T) into `out`; returns
/// its squared norm from the rounded values, in [`NORM_LANES`] partial sums.
fn centre_row<T: Element>(
    z: ArrayView2<'_, T>,
    i: usize,
    mean: &Array1<f64>,
    out: &mut [T],
) -> f64 {
    for ((v, &x), &m) in out.iter_mut().zip(z.row(i).iter()).zip(mean.iter()) {
        *v = T::from_f64(x.into() - m);
    }
    let mut lanes = [0.0f64; NORM_LANES];
    let mut chunks = out.chunks_exact(NORM_LANES);
    for c in &mut chunks {
        for l in 0..NORM_LANES {
            lanes[l] += c[l].into() * c[l].into();
        }
    }
    lanes.iter().sum::<f64>()
        + chunks
            .remainder()
            .iter()
            .map(|&v| v.into() * v.into())
            .sum::<f64>()
}

/// The rows of Z in `order`, minus the column means (means and differences in f64, rounded
/// once to T), and their squared norms (from the rounded values, in [`NORM_LANES`] partial
/// sums); rows in parallel.
pub fn centred<T: Element>(z: ArrayView2<'_, T>, order: &[usize]) -> (Array2<T>, Vec<f64>) {
    let mean = column_means(z);
    let mut out = Array2::<T>::zeros(z.raw_dim());
    let mut norms = vec![0.0; order.len()];
    out.outer_iter_mut()
        .into_par_iter()
        .zip(norms.par_iter_mut())
        .zip(order.par_iter())
        .for_each(|((mut row, norm), &i)| {
            let row = row
                .as_slice_mut()
                .expect("a row of a new standard-layout matrix is contiguous");
            *norm = centre_row(z, i, &mean, row);
        });
    (out, norms)
}

/// [`centred`] stored as the packed Gram kernel's panels (f32), with the same norms.
pub(crate) fn centred_panels(z: ArrayView2<'_, f32>, order: &[usize]) -> (Panels, Vec<f64>) {
    let mean = column_means(z);
    Panels::build(order.len(), z.ncols(), |p, row| {
        centre_row(z, order[p], &mean, row)
    })
}

/// The centred rows in the form the pass's Gram blocks are computed from: the packed f32
/// panels where the AVX-512 kernel runs (f32 input, a tile that is a whole number of panels,
/// H > 0), the row-major matrix for the BLAS otherwise; with the rows' squared norms.
pub fn centred_rows<T: Element>(
    z: ArrayView2<'_, T>,
    order: &[usize],
    tile: usize,
) -> (Rows<T>, Vec<f64>) {
    let packable = tile.is_multiple_of(PANEL) && z.ncols() > 0 && Panels::available();
    match T::as_f32_view(z).filter(|_| packable) {
        Some(z) => {
            let (panels, norms) = centred_panels(z, order);
            (Rows::Packed(panels), norms)
        }
        None => {
            let (zc, norms) = centred(z, order);
            (Rows::Blas(zc), norms)
        }
    }
}
