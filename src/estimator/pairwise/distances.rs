//! Distance statistics of one representation without kernels (for `distances`, and for σ²
//! rules that must see the distances before the kernels are chosen), the precision of the
//! Gram matrix that every pass uses, and the centred rows every pass starts from.

use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

use super::exp::Element;
use super::kernel::{pairwise_pass, DistanceStats, PassOptions, Stats};

/// Precision of the Gram matrix (everything after it is f64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Precision {
    /// f32 GEMM on the stored activations (fast); σ² whose f32 rounding bound exceeds
    /// 2e-6 nats are computed again in f64 (`Pairwise::ROUNDING_TOLERANCE`).
    #[default]
    F32,
    /// Activations widened to f64 before the GEMM (slower; distances exact to f64 rounding).
    F64,
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
pub fn with_matrix<R>(
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

/// A distance-only pass (no kernel) gathering every statistic ([`Stats::All`]).
pub fn stats<T: Element>(z: ArrayView2<'_, T>, labels: &[u32], tile: usize) -> DistanceStats {
    pairwise_pass(
        z,
        labels,
        &[],
        &PassOptions {
            tile,
            stats: Stats::All,
        },
    )
    .distances
}

/// [`stats`] in the requested precision.
pub fn stats_in(
    z: ArrayView2<'_, f32>,
    labels: &[u32],
    precision: Precision,
    tile: usize,
) -> DistanceStats {
    with_matrix(
        z,
        precision,
        |z| stats(z, labels, tile),
        |z| stats(z, labels, tile),
    )
}

/// Lanes of the f64 squared norms (one AVX-512 register of f64).
const NORM_LANES: usize = 8;

/// The rows of Z in `order`, minus the column means (means and differences in f64, rounded
/// once to T), and their squared norms (from the rounded values, in [`NORM_LANES`] partial
/// sums); rows in parallel.
pub fn centred<T: Element>(z: ArrayView2<'_, T>, order: &[usize]) -> (Array2<T>, Vec<f64>) {
    // Row by row, so that the (row-major) matrix is read in order.
    let mut mean = Array1::<f64>::zeros(z.ncols());
    for row in z.outer_iter() {
        for (m, &v) in mean.iter_mut().zip(row.iter()) {
            *m += v.into();
        }
    }
    mean /= z.nrows().max(1) as f64;
    let mut out = Array2::<T>::zeros(z.raw_dim());
    let mut norms = vec![0.0; order.len()];
    out.outer_iter_mut()
        .into_par_iter()
        .zip(norms.par_iter_mut())
        .zip(order.par_iter())
        .for_each(|((mut row, norm), &i)| {
            for ((v, &x), &m) in row.iter_mut().zip(z.row(i).iter()).zip(mean.iter()) {
                *v = T::from_f64(x.into() - m);
            }
            let row = row
                .as_slice()
                .expect("a row of a new standard-layout matrix is contiguous");
            let mut lanes = [0.0f64; NORM_LANES];
            let mut chunks = row.chunks_exact(NORM_LANES);
            for c in &mut chunks {
                for l in 0..NORM_LANES {
                    lanes[l] += c[l].into() * c[l].into();
                }
            }
            *norm = lanes.iter().sum::<f64>()
                + chunks
                    .remainder()
                    .iter()
                    .map(|&v| v.into() * v.into())
                    .sum::<f64>();
        });
    (out, norms)
}
