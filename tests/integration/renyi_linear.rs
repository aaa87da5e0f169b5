//! The linear- and cosine-kernel Rényi entropies through the H x H dual: equal to the N x N
//! eigenvalue computation, a closed form, and the estimator at N above `max_n`.
#![allow(clippy::unwrap_used)]

use infoplane::estimator::renyi::{self, linear, Convention, Renyi, RenyiParams};
use infoplane::util::rng::SplitMix64;
use ndarray::{Array2, ArrayView2};

fn normal(n: usize, h: usize, seed: u64) -> Array2<f64> {
    let mut rng = SplitMix64::new(seed);
    // Columns of different scales, so that the spectrum is far from flat.
    Array2::from_shape_fn((n, h), |(_, j)| rng.normal() * (1.0 + j as f64 * 0.3))
}

/// A = K / tr K for the linear kernel, N x N.
fn primal(z: ArrayView2<'_, f64>) -> Array2<f64> {
    let k = z.dot(&z.t());
    let tr = k.diag().sum();
    k / tr
}

const ALPHAS: [f64; 4] = [1.0, 1.01, 2.0, 3.0];

#[test]
fn dual_entropy_equals_the_n_by_n_eigenvalues() {
    let z = normal(400, 30, 1);
    for alpha in ALPHAS {
        let dual = linear::entropy(z.view(), alpha).unwrap();
        let full = renyi::entropy(&primal(z.view()), alpha).unwrap();
        assert!((dual - full).abs() < 1e-9, "α {alpha}: {dual} vs {full}");
        assert!(dual > 0.0 && dual <= 30f64.ln() + 1e-12);
    }
}

#[test]
fn joint_with_labels_equals_the_hadamard_product() {
    // Three classes: two larger than H (the H x H side), one smaller (the N_c x N_c side).
    let z = normal(300, 20, 2);
    let labels: Vec<u32> = (0..300u32)
        .map(|i| if i < 10 { 2 } else { i % 2 })
        .collect();
    assert_eq!(labels.iter().filter(|&&l| l == 2).count(), 10);
    for alpha in ALPHAS {
        let dual = linear::joint_label_entropy(z.view(), &labels, alpha).unwrap();
        let full =
            renyi::joint_entropy(&primal(z.view()), &renyi::label_gram(&labels), alpha).unwrap();
        assert!((dual - full).abs() < 1e-9, "α {alpha}: {dual} vs {full}");
    }
}

#[test]
fn joint_with_inputs_equals_the_hadamard_product_on_both_paths() {
    let z = normal(200, 20, 3);
    // D·H = 100 (the Kronecker dual) and 2400 (> 2048: the N x N path, N ≤ max_n).
    for (d, seed) in [(5, 4), (120, 5)] {
        let x = normal(200, d, seed);
        for alpha in [1.01, 2.0] {
            let got = linear::joint_input_entropy(x.view(), z.view(), alpha, 5000)
                .unwrap()
                .unwrap();
            let want = renyi::joint_entropy(&primal(x.view()), &primal(z.view()), alpha).unwrap();
            assert!(
                (got - want).abs() < 1e-9,
                "D {d}, α {alpha}: {got} vs {want}"
            );
        }
    }
    // Neither path: D·H > 2048 and N > max_n.
    let x = normal(200, 120, 6);
    assert_eq!(
        linear::joint_input_entropy(x.view(), z.view(), 1.01, 100).unwrap(),
        None
    );
}

#[test]
fn one_hot_codes_give_i_yz_equal_to_h_y() {
    // Z_i = e_{y_i}: K = K_Y, so S(Z) = H_α(Y) = ln 4 (4 balanced classes) and I(Y;Z) = H(Y);
    // shuffled labels of the same code give less.
    let labels: Vec<u32> = (0..400).map(|i| (i % 4) as u32).collect();
    let z = Array2::from_shape_fn((400, 4), |(i, j)| {
        f64::from(u8::from(labels[i] as usize == j))
    });
    for alpha in [1.01, 2.0] {
        let e = Renyi::new(RenyiParams {
            alpha,
            convention: Convention::Linear,
            ..RenyiParams::default()
        })
        .unwrap()
        .estimate(z.view(), None, &labels)
        .unwrap();
        assert!((e.s_z - 4f64.ln()).abs() < 1e-12, "S(Z) {}", e.s_z);
        assert!((e.i_yz - 4f64.ln()).abs() < 1e-12, "I(Y;Z) {}", e.i_yz);
        assert!(e.i_yz_baseline < 0.1, "baseline {}", e.i_yz_baseline);
    }
}

#[test]
fn cosine_kernel_and_n_above_max_n_stay_exact() {
    // N = 3000 > max_n = 100: the linear kernels take the dual, not subsets or quadrature.
    let z = normal(3000, 16, 7);
    let x = normal(3000, 8, 8);
    let labels: Vec<u32> = (0..3000).map(|i| (i % 5) as u32).collect();
    let o = RenyiParams {
        convention: Convention::Cosine,
        max_n: 100,
        ..RenyiParams::default()
    };
    let e = Renyi::new(o.clone())
        .unwrap()
        .estimate(z.view(), Some(x.view()), &labels)
        .unwrap();
    assert_eq!((e.subsets, e.se.0.is_nan()), (0, true));
    let (zc, xc) = (
        linear::kernel_rows(z.view(), true),
        linear::kernel_rows(x.view(), true),
    );
    let s_z = linear::entropy(zc.view(), o.alpha).unwrap();
    let s_x = linear::entropy(xc.view(), o.alpha).unwrap();
    let joint = linear::joint_input_entropy(xc.view(), zc.view(), o.alpha, 100)
        .unwrap()
        .unwrap();
    assert!((e.i_xz - (s_x + s_z - joint)).abs() < 1e-12);
    // Cosine rows have unit length: the N x N matrix on a 400-row part agrees.
    let part = zc.slice(ndarray::s![..400, ..]);
    let full = renyi::entropy(&primal(part), o.alpha).unwrap();
    assert!((linear::entropy(part, o.alpha).unwrap() - full).abs() < 1e-9);
    // The kernel's name parses, and an unknown one is refused with the list.
    assert_eq!("cosine".parse::<Convention>().unwrap(), Convention::Cosine);
    let err = "dot".parse::<Convention>().unwrap_err().to_string();
    assert!(err.contains("linear or cosine"), "{err}");
}
