//! Benchmark: the linear-kernel Rényi estimator through the H x H dual.
//!
//! - N = 4000, H = 256: S_α(Z) through Zᵀ Z against the N x N eigenvalues of Z Zᵀ / tr (the
//!   difference, which must stay below 1e-9, and both times: the ratio is the dual's gain);
//! - N = 100 000, H = 1024, 10 classes: S_α(Z) alone, and the whole estimate (S(Z), I(Y;Z)
//!   and the shuffled-label baseline), exact.
//!
//! Run: `cargo bench --bench renyi_linear` (or `scripts/bench.sh`); `--n N` changes the large N.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use infoplane::estimator::renyi::{self, linear, Convention, Renyi, RenyiParams};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

fn normal(n: usize, h: usize, seed: u64) -> Array2<f64> {
    let mut rng = SplitMix64::new(seed);
    Array2::from_shape_fn((n, h), |(_, j)| rng.normal() * (1.0 + j as f64 * 0.01))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let big = args
        .iter()
        .position(|a| a == "--n")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000usize);
    let alpha = RenyiParams::default().alpha;

    let z = normal(4000, 256, 1);
    let t = Instant::now();
    let dual = linear::entropy(z.view(), alpha).unwrap();
    let t_dual = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let k = z.dot(&z.t());
    let tr = k.diag().sum();
    let full = renyi::entropy(&(k / tr), alpha).unwrap();
    let t_full = t.elapsed().as_secs_f64();
    println!(
        "N = 4000, H = 256: S_α(Z) dual {dual:.12} in {t_dual:.3} s, N x N {full:.12} in \
         {t_full:.3} s: |difference| {:.1e} (must be < 1e-9), dual {:.0}x faster",
        (dual - full).abs(),
        t_full / t_dual
    );
    assert!((dual - full).abs() < 1e-9);

    let z = normal(big, 1024, 2);
    let labels: Vec<u32> = (0..big).map(|i| (i % 10) as u32).collect();
    let t = Instant::now();
    let s = linear::entropy(z.view(), alpha).unwrap();
    let t_s = t.elapsed().as_secs_f64();
    let o = RenyiParams {
        convention: Convention::Linear,
        ..RenyiParams::default()
    };
    let t = Instant::now();
    let e = Renyi::new(o.clone())
        .unwrap()
        .estimate(z.view(), None, &labels)
        .unwrap();
    let t_e = t.elapsed().as_secs_f64();
    println!(
        "N = {big}, H = 1024: S_α(Z) = {s:.6} nats in {t_s:.2} s (goal ≤ 10 s); whole estimate \
         (S(Z), I(Y;Z) over 10 classes, shuffled baseline) in {t_e:.2} s: I(Y;Z) = {:.2e}, \
         baseline {:.2e}",
        e.i_yz, e.i_yz_baseline
    );
}
