//! Prints MINE's estimates on correlated Gaussians against the truth, per variant
//! (`cargo run --release --example mine_gaussians`): d coordinate pairs of correlation ρ,
//! I = -d/2 ln(1 - ρ²) nats, N = 5000, default options, seed 0; each value ± its standard error
//! on the test part.
#![allow(clippy::print_stdout)]

use infoplane::estimator::mine::{CriticKind, Mine, MineParams, Variant};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = (rng.next_u64() as f64 + 1.0) / (u64::MAX as f64 + 2.0);
    let u2 = rng.next_u64() as f64 / u64::MAX as f64;
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn main() {
    println!("| d | ρ | truth (nats) | dv | nwj | infonce (B = 64, cap ln 64 = 4.16) | infonce separable (B = 256, cap ln 256 = 5.55) | smile |");
    println!("|---|---|---|---|---|---|---|---|");
    for (d, rho) in [
        (1usize, 0.574f64),
        (2, 0.6),
        (2, 0.795),
        (3, 0.75),
        (2, 0.93),
    ] {
        let n = 5000;
        let mut rng = SplitMix64::new(1);
        let mut x = Array2::zeros((n, d));
        let mut z = Array2::zeros((n, d));
        for i in 0..n {
            for k in 0..d {
                let (a, b) = (normal(&mut rng), normal(&mut rng));
                x[[i, k]] = a;
                z[[i, k]] = rho * a + (1.0 - rho * rho).sqrt() * b;
            }
        }
        let truth = -0.5 * d as f64 * (1.0 - rho * rho).ln();
        let mut cells = Vec::new();
        for (v, critic) in [
            (Variant::Dv, CriticKind::Joint),
            (Variant::Nwj, CriticKind::Joint),
            (Variant::InfoNce, CriticKind::Joint),
            (Variant::InfoNce, CriticKind::Separable),
            (Variant::Smile, CriticKind::Joint),
        ] {
            let o = MineParams {
                variant: v,
                critic,
                ..MineParams::default()
            };
            cells.push(
                match Mine::new(o).and_then(|m| m.mutual_information(x.view(), z.view())) {
                    Ok(e) => format!(
                        "{:.3} ± {:.3} ({:+.1} %)",
                        e.value,
                        e.std_error,
                        100.0 * (e.value - truth) / truth
                    ),
                    Err(e) => format!("error: {e}"),
                },
            );
        }
        println!("| {d} | {rho} | {truth:.3} | {} |", cells.join(" | "));
    }
}
