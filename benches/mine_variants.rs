//! Benchmark: MINE's InfoNCE against DV at the same number of steps, measured in the same run
//! (issue: "InfoNCE within 2x of DV"). InfoNCE scores all B² pairs of a batch of B = 64 (4096
//! critic evaluations a step) where DV scores 2B = 512 rows of its batch of 256; with the
//! separable critic g(x)ᵀh(z) (`--mine-critic separable`) InfoNCE's batch is 256 like DV's and
//! its 256² scores are one product of two embeddings.
//!
//! - correlated Gaussians, N = 5000, X and Z of width 2 (bmi's small tasks);
//! - X of width 12 and Z of width 256 (a hidden layer against the Tishby task's inputs).
//!
//! Every run trains exactly `--steps` steps (patience off). Run: `cargo bench --bench
//! mine_variants` (`-- --steps 300` for a quick look; `MINE_BENCH_ONLY=256` runs one case).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use infoplane::estimator::mine::{CriticKind, Mine, MineParams, Variant};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// X (n x dx) and Z (n x dz): every column of Z is ρ · (a column of X) + noise.
fn data(n: usize, dx: usize, dz: usize, rho: f64) -> (Array2<f64>, Array2<f64>) {
    let mut rng = SplitMix64::new(7);
    let x = Array2::from_shape_simple_fn((n, dx), || normal(&mut rng));
    let z = Array2::from_shape_fn((n, dz), |(i, j)| {
        rho * x[[i, j % dx]] + (1.0 - rho * rho).sqrt() * normal(&mut rng)
    });
    (x, z)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let steps = args
        .iter()
        .position(|a| a == "--steps")
        .and_then(|k| args.get(k + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    println!("MINE at {steps} steps each (patience off), one thread of work per estimate");
    let only: Option<usize> = std::env::var("MINE_BENCH_ONLY")
        .ok()
        .and_then(|v| v.parse().ok());
    for (dx, dz) in [(2, 2), (12, 256)] {
        if only.is_some_and(|o| o != dz) {
            continue;
        }
        let (x, z) = data(5000, dx, dz, 0.8);
        let mut seconds = Vec::new();
        for (variant, critic) in [
            (Variant::Dv, CriticKind::Joint),
            (Variant::InfoNce, CriticKind::Joint),
            (Variant::InfoNce, CriticKind::Separable),
        ] {
            let o = MineParams {
                variant,
                critic,
                steps,
                patience: usize::MAX,
                ..MineParams::default()
            };
            let t = Instant::now();
            let e = Mine::new(o.clone())
                .unwrap()
                .mutual_information(x.view(), z.view())
                .unwrap();
            let s = t.elapsed().as_secs_f64();
            println!(
                "  X {dx:>3}, Z {dz:>3}: {:<20} {s:7.2} s  value {:.3} ± {:.3} nats, batch {}, steps {}",
                format!("{} {critic:?}", variant.name()).to_lowercase(),
                e.value,
                e.std_error,
                e.batch,
                e.steps
            );
            seconds.push(s);
        }
        println!(
            "  X {dx:>3}, Z {dz:>3}: infonce joint / dv = {:.2}x, infonce separable / dv = {:.2}x (goal <= 2)",
            seconds[1] / seconds[0],
            seconds[2] / seconds[0]
        );
    }
}
