//! InfoNCE with the separable critic g(x)ᵀh(z): the closed form on correlated Gaussians, its
//! batch (not capped at 64), and its refusal with the other bounds.

use infoplane::estimator::mine::{batch_used, CriticKind, Mine, MineParams, Variant};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

/// (x, z) with d independent coordinate pairs of correlation ρ: I = -d/2 ln(1 - ρ²) nats.
fn gaussians(n: usize, d: usize, rho: f64, seed: u64) -> (Array2<f64>, Array2<f64>, f64) {
    let mut rng = SplitMix64::new(seed);
    let x = Array2::from_shape_simple_fn((n, d), || rng.normal());
    let z = Array2::from_shape_fn((n, d), |(i, k)| {
        rho * x[[i, k]] + (1.0 - rho * rho).sqrt() * rng.normal()
    });
    (x, z, -0.5 * d as f64 * (1.0 - rho * rho).ln())
}

fn separable() -> MineParams {
    MineParams {
        variant: Variant::InfoNce,
        critic: CriticKind::Separable,
        ..MineParams::default()
    }
}

#[test]
fn separable_infonce_recovers_gaussian_mutual_information() {
    // I = 0.2, 1.0 and 2.0 nats, N = 5000, batch 256 (cap ln 256 = 5.5 nats).
    for (d, rho) in [(1, 0.574_f64), (2, 0.795), (2, 0.930)] {
        let (x, z, truth) = gaussians(5000, d, rho, 1);
        let e = Mine::new(separable())
            .unwrap()
            .mutual_information(x.view(), z.view())
            .expect("infonce");
        assert_eq!(e.batch, 256);
        assert!(
            (e.value - truth).abs() <= 0.05 + 0.1 * truth,
            "d={d} ρ={rho}: {} vs truth {truth}",
            e.value
        );
    }
}

#[test]
fn separable_critic_batch_and_refusals() {
    let o = separable();
    assert_eq!(batch_used(5000, &o), 256);
    let joint = MineParams {
        critic: CriticKind::Joint,
        ..o.clone()
    };
    assert_eq!(batch_used(5000, &joint), 64);
    let dv = MineParams {
        variant: Variant::Dv,
        ..o
    };
    assert_eq!(
        dv.validate().unwrap_err().to_string(),
        "mine_critic separable needs the infonce variant (the variant is dv)"
    );
}
