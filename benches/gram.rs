//! Benchmark: the pairwise pass's Gram products, the packed AVX-512 kernel against the BLAS
//! (OpenBLAS `sgemm`, single-threaded per task, as the pass calls it), both timed in the same
//! run on the same centred rows and the same tile pairs (N = 8000, H = 1024, tile 1024, the
//! upper triangle only, 2 threads of rayon). Prints each one's best of 3, GFLOP/s and the
//! ratio, and the largest difference between the two products relative to Σ|x y|'s scale.
//!
//! Run: `cargo bench --bench gram` (`-- --n 4000 --h 512` for another size). On a processor
//! without AVX-512F only the BLAS is timed.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use infoplane::estimator::pairwise::distances::{centred, centred_rows};
use infoplane::estimator::pairwise::gram::{self, Rows};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Seconds for every tile pair (I, J ≥ I) of the pass, best of 3; the last pair's block.
fn all_tiles(rows: &Rows<f32>, n: usize, tile: usize) -> (f64, Array2<f32>) {
    let mut g = gram::buffer::<f32>(tile.min(n));
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        for i0 in (0..n).step_by(tile) {
            for j0 in (i0..n).step_by(tile) {
                gram::tile(
                    rows,
                    (i0, (i0 + tile).min(n)),
                    (j0, (j0 + tile).min(n)),
                    &mut g,
                );
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, g)
}

fn main() {
    let (n, h, tile) = (arg("--n", 8000), arg("--h", 1024), 1024);
    infoplane::util::blas::single_threaded();
    let mut rng = SplitMix64::new(11);
    let centres: Vec<f64> = (0..10 * h).map(|_| rng.normal()).collect();
    let z = Array2::from_shape_fn((n, h), |(i, k)| {
        (centres[(i % 10) * h + k] + 0.6 * rng.normal()) as f32
    });
    let order: Vec<usize> = (0..n).collect();
    // Multiply-adds of the upper triangle as the pass computes it (whole 128-row tasks).
    let tiles = n.div_ceil(tile);
    let flops = 2.0 * (n * n) as f64 / 2.0 * h as f64 * (1.0 + 128.0 * tiles as f64 / n as f64);
    println!(
        "Gram products of the pairwise pass, N = {n}, H = {h}, tile {tile}, {} threads",
        rayon::current_num_threads()
    );
    let blas = Rows::Blas(centred(z.view(), &order).0);
    let (t_blas, g_blas) = all_tiles(&blas, n, tile);
    println!(
        "blas (OpenBLAS sgemm)  {t_blas:7.3} s  {:6.0} GFLOP/s",
        flops / t_blas / 1e9
    );
    let (packed, _) = centred_rows(z.view(), &order, tile);
    if !matches!(packed, Rows::Packed(_)) {
        println!("packed kernel: not available on this processor (no AVX-512F)");
        return;
    }
    let (t_packed, g_packed) = all_tiles(&packed, n, tile);
    println!(
        "packed (AVX-512)       {t_packed:7.3} s  {:6.0} GFLOP/s",
        flops / t_packed / 1e9
    );
    println!(
        "packed / blas time: {:.3}x (the packed kernel is {:.2}x faster)",
        t_packed / t_blas,
        t_blas / t_packed
    );
    // The last tile pair's block: both paths against each other, relative to the row norms.
    let rows_last = n - (tiles - 1) * tile;
    let zc = match &blas {
        Rows::Blas(zc) => zc,
        Rows::Packed(_) => unreachable!(),
    };
    let norm: Vec<f64> = (n - rows_last..n)
        .map(|i| {
            zc.row(i)
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let mut worst = 0.0f64;
    for i in 0..rows_last {
        for j in (i / 128 * 128)..rows_last {
            let (a, b) = (f64::from(g_blas[[i, j]]), f64::from(g_packed[[i, j]]));
            let scale = norm[i] * norm[j];
            worst = worst.max((a - b).abs() / scale);
        }
    }
    println!(
        "largest |packed - blas| / (‖z_i‖ ‖z_j‖) on the last tile: {worst:.1e} (f32 ε = {:.1e})",
        f32::EPSILON
    );
}
