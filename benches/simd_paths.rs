//! Benchmark: the pairwise pass on each instruction-set level this processor runs (portable,
//! AVX2 with FMA, AVX-512F; `infoplane::util::simd`), timed in the same run on the same data: N =
//! 8000, H = 1024 clustered f32 activations (10 classes, as `scripts/bench_pairwise.py` (f)),
//! 16 σ² from 1e2 to 1e4 (KL and Bhattacharyya), f32 and f64 Gram precision. Prints each
//! level's best of 3, its ratio to the level the library picks by default, and the largest
//! relative difference of its I(X;Z) from that level's.
//!
//! Run: `cargo bench --bench simd_paths` (`-- --n 4000 --h 512` for another size, `--level
//! avx2` for one level besides the default). Build it
//! with and without `RUSTFLAGS="-C target-cpu=native"` to compare a portable binary with one
//! compiled for this machine (docs/benchmarks.md).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use infoplane::estimator::pairwise::{pairwise_estimates, PassOptions, SaturationRule};
use infoplane::util::rng::SplitMix64;
use infoplane::util::simd::{self, Level};
use ndarray::{Array2, ArrayView2};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Ten Gaussian clusters: centres N(0, 1), spread 0.6.
fn clustered(n: usize, h: usize) -> (Array2<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(7);
    let centres: Vec<f64> = (0..10 * h).map(|_| rng.normal()).collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.below(10) as u32).collect();
    let z = Array2::from_shape_fn((n, h), |(i, j)| {
        (centres[labels[i] as usize * h + j] + 0.6 * rng.normal()) as f32
    });
    (z, labels)
}

/// Seconds (best of 3) and the I(X;Z) of the KL bound per σ².
fn timed<T: infoplane::estimator::pairwise::Element>(
    z: ArrayView2<'_, T>,
    labels: &[u32],
    sigma2: &[f64],
) -> (f64, Vec<f64>) {
    let mut best = f64::INFINITY;
    let mut values = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = pairwise_estimates(
            z,
            labels,
            sigma2,
            &PassOptions::default(),
            &SaturationRule::default(),
        );
        best = best.min(t.elapsed().as_secs_f64());
        values = r.estimates.iter().map(|e| e.kl.i_xz).collect();
    }
    (best, values)
}

fn main() {
    let (n, h) = (arg("--n", 8000), arg("--h", 1024));
    let (z, labels) = clustered(n, h);
    let z64 = z.mapv(f64::from);
    let sigma2: Vec<f64> = (0..16)
        .map(|k| 1e2 * 100f64.powf(k as f64 / 15.0))
        .collect();
    let default = simd::level();
    let compiled = if cfg!(target_feature = "avx512f") {
        "AVX-512 (target-cpu)"
    } else if cfg!(target_feature = "avx2") {
        "AVX2 (target-cpu)"
    } else {
        "x86-64 baseline (portable)"
    };
    println!(
        "pairwise pass, N = {n}, H = {h}, 16 σ², {} threads; compiled for {compiled}; \
         processor: {}; default level: {default}",
        rayon::current_num_threads(),
        simd::detected()
    );
    for precision in ["f32", "f64"] {
        let run = |level| {
            simd::set_max_level(Some(level));
            let r = if precision == "f32" {
                timed(z.view(), &labels, &sigma2)
            } else {
                timed(z64.view(), &labels, &sigma2)
            };
            simd::set_max_level(None);
            r
        };
        let (t0, v0) = run(default);
        let only = std::env::args().skip_while(|a| a != "--level").nth(1);
        for level in Level::ALL
            .into_iter()
            .filter(|&l| l <= simd::detected() && only.as_deref().is_none_or(|o| o == l.name()))
        {
            let (t, v) = if level == default {
                (t0, v0.clone())
            } else {
                run(level)
            };
            let diff = v
                .iter()
                .zip(&v0)
                .map(|(a, b)| ((a - b) / b).abs())
                .fold(0.0, f64::max);
            println!(
                "{precision} {:<9} {t:8.3} s  {:5.2}x the default  max |ΔI/I| {diff:.1e}",
                level.name(),
                t / t0
            );
        }
    }
}
