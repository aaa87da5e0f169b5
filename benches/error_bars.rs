//! Benchmark: the cost of error bars and of the `mc` estimator, as ratios to one plain kl/bd
//! pass on the same representation, measured in the same run.
//!
//! - `mc` at N = 10000, H = 1024, M = 1 (one σ²) against one kl/bd pass (f32, one σ²);
//! - `--error subsample:5` on kl/bd (Holmes–Nemenman: parts of N/2 .. N/5) against the plain
//!   pass, at the same N and H;
//! - both at the Tishby task's size (N = 4096, H = 10).
//!
//! Run: `cargo bench --bench error_bars` (or `scripts/bench.sh`). `--quick` uses N = 4000.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use infoplane::estimator::mc::{Mc, McParams};
use infoplane::estimator::pairwise::sigma::SigmaSpec;
use infoplane::estimator::{self, subsample, ArchiveCache, EstimatorParams, LayerEpoch};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

fn time<T>(repeats: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut v: Vec<Duration> = (0..repeats)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

/// Clustered tanh activations: 10 classes, N x H.
fn data(n: usize, h: usize) -> (Array2<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(1);
    let centres = Array2::from_shape_fn((10, h), |_| rng.normal());
    let labels: Vec<u32> = (0..n as u32).map(|i| i % 10).collect();
    let z = Array2::from_shape_fn((n, h), |(i, k)| {
        (centres[[labels[i] as usize, k]] + 0.5 * rng.normal()).tanh() as f32
    });
    (z, labels)
}

fn case(n: usize, h: usize, repeats: usize) {
    let (z, labels) = data(n, h);
    let mut p = EstimatorParams::default();
    p.pairwise.sigma2 = SigmaSpec::parse("0.1").unwrap();
    let kl = estimator::build(&p, &["kl".into(), "bd".into()])
        .unwrap()
        .remove(0);
    let layer = LayerEpoch {
        layer: "z",
        z: z.view(),
        labels: &labels,
        classes: 10,
        inputs: None,
    };
    let fit = || kl.fit(&layer, &mut ArchiveCache::default(), false).unwrap();
    let plain = time(repeats, fit);
    let full = fit().estimates;
    let sub = time(repeats, || {
        let mut c = ArchiveCache::default();
        let f = kl.fit(&layer, &mut c, false).unwrap();
        subsample::standard_errors(kl.as_ref(), &layer, &mut c, &f.estimates, (5, 0)).unwrap()
    });
    let _ = full;
    let z64 = z.mapv(f64::from);
    let mc = time(repeats, || {
        Mc::new(McParams { mc_samples: 1 }, 0)
            .unwrap()
            .estimate(z64.view(), &labels, 10, 0.1)
            .unwrap()
    });
    println!(
        "N = {n}, H = {h}: kl/bd pass {:.3} s; with --error subsample:5 {:.3} s ({:.2}x); mc M = 1 {:.3} s ({:.2}x)",
        plain.as_secs_f64(),
        sub.as_secs_f64(),
        sub.as_secs_f64() / plain.as_secs_f64(),
        mc.as_secs_f64(),
        mc.as_secs_f64() / plain.as_secs_f64()
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    case(4096, 10, 5);
    case(if quick { 4000 } else { 10_000 }, 1024, 3);
}
