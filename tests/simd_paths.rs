//! The pairwise pass on every instruction-set level this processor runs (portable, AVX2 with
//! FMA, AVX-512F) gives the same estimates, to the rounding of each path's exponential. A test
//! binary of its own: capping the level is process-wide, and the integration tests compare
//! passes bit for bit.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use infoplane::estimator::pairwise::{pairwise_estimates, Element, PassOptions, SaturationRule};
use infoplane::util::rng::SplitMix64;
use infoplane::util::simd::{self, Level};
use ndarray::{Array2, ArrayView2};
use std::sync::Mutex;

/// The tests change the process-wide cap: one at a time.
static CAP: Mutex<()> = Mutex::new(());

/// Four Gaussian clusters, N × H, spread 0.8.
fn clustered(n: usize, h: usize, seed: u64) -> (Array2<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(seed);
    let centres: Vec<f64> = (0..4 * h).map(|_| 2.0 * rng.normal()).collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.below(4) as u32).collect();
    let z = Array2::from_shape_fn((n, h), |(i, j)| {
        (centres[labels[i] as usize * h + j] + 0.8 * rng.normal()) as f32
    });
    (z, labels)
}

/// (I_KL(X;Z), I_BD(X;Z), bracket low, bracket high) per σ², on `level`.
fn estimates<T: Element>(
    level: Level,
    z: ArrayView2<'_, T>,
    labels: &[u32],
    sigma2: &[f64],
) -> Vec<[f64; 4]> {
    simd::set_max_level(Some(level));
    assert!(simd::level() <= level.min(simd::detected()));
    let opts = PassOptions {
        tile: 128,
        ..PassOptions::default()
    };
    let r = pairwise_estimates(z, labels, sigma2, &opts, &SaturationRule::default());
    simd::set_max_level(None);
    r.estimates
        .iter()
        .map(|e| [e.kl.i_xz, e.bd.i_xz, e.i_yz_lo, e.i_yz_hi])
        .collect()
}

fn levels() -> Vec<Level> {
    let here: Vec<Level> = Level::ALL
        .into_iter()
        .filter(|&l| l <= simd::detected())
        .collect();
    for l in Level::ALL.into_iter().filter(|l| !here.contains(l)) {
        eprintln!(
            "skipped: this processor has no {l} path (detected: {})",
            simd::detected()
        );
    }
    here
}

#[test]
fn every_level_gives_the_same_estimates() {
    let _one = CAP.lock().unwrap_or_else(|e| e.into_inner());
    // 300 rows (not a multiple of 16: the loops' remainders run too), σ² from far below to far
    // above the cluster spread, and σ² related by 4 (kernels derived by squaring).
    let (z, labels) = clustered(300, 37, 3);
    let z64 = z.mapv(f64::from);
    let sigma2 = [0.01, 0.1, 0.4, 1.0, 4.0, 16.0, 100.0];
    let base32 = estimates(Level::Portable, z.view(), &labels, &sigma2);
    let base64 = estimates(Level::Portable, z64.view(), &labels, &sigma2);
    // Sanity: the values are informative (neither 0 nor ln N everywhere).
    let log_n = 300f64.ln();
    assert!(
        base64.iter().any(|v| v[0] > 0.5 && v[0] < log_n - 0.5),
        "{base64:?}"
    );
    for level in levels() {
        let v32 = estimates(level, z.view(), &labels, &sigma2);
        let v64 = estimates(level, z64.view(), &labels, &sigma2);
        for (k, s2) in sigma2.iter().enumerate() {
            for q in 0..4 {
                // f64: the exponentials agree to a few ulps (FMA or not), summed over N.
                let (a, b) = (v64[k][q], base64[k][q]);
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                    "{level} f64 σ²={s2} q{q}: {a} vs {b}"
                );
                // f32: kernel values agree to a few f32 ulps (the AVX-512 loop uses another
                // exponential), so the estimates to about 1e-6 nats.
                let (a, b) = (v32[k][q], base32[k][q]);
                assert!(
                    (a - b).abs() <= 2e-6,
                    "{level} f32 σ²={s2} q{q}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn a_cap_never_raises_the_level() {
    let _one = CAP.lock().unwrap_or_else(|e| e.into_inner());
    if std::env::var_os("INFOPLANE_SIMD").is_some() {
        eprintln!("skipped: INFOPLANE_SIMD is set, so the level is capped by it");
        return;
    }
    for cap in Level::ALL {
        simd::set_max_level(Some(cap));
        assert_eq!(simd::level(), cap.min(simd::detected()));
    }
    simd::set_max_level(None);
    assert_eq!(simd::level(), simd::detected());
    assert_eq!(Level::ALL.map(Level::name), ["portable", "avx2", "avx512"]);
}
