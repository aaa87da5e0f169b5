//! Rényi entropies by stochastic Lanczos quadrature: closed-form spectra (where deflation and
//! the control variates make the estimate exact), agreement with the exact eigenvalue path,
//! and the estimator's rows above `--renyi-max-n`.

use infoplane::estimator::renyi::{self, large, slq, Convention, Large, Renyi, RenyiParams, Width};
use infoplane::estimator::{self, ArchiveCache, Estimate, EstimatorParams, LayerEpoch};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

const BITS: f64 = std::f64::consts::LN_2;

/// Z (n x 16): a tanh layer over 4 classes' clusters in 12 dimensions (X), and the labels.
fn layer(n: usize, seed: u64) -> (Array2<f64>, Array2<f64>, Vec<u32>) {
    let mut rng = SplitMix64::new(seed);
    let labels: Vec<u32> = (0..n).map(|i| (i % 4) as u32).collect();
    let x = Array2::from_shape_fn((n, 12), |(i, j)| {
        f64::from(u8::from((labels[i] as usize + j).is_multiple_of(4))) + 0.6 * rng.normal()
    });
    let w = Array2::from_shape_simple_fn((12, 16), || rng.normal() * 0.5);
    (x.clone(), x.dot(&w).mapv(f64::tanh), labels)
}

/// The `renyi` estimator's row for [`layer`]`(n, seed)` with its inputs, through the trait.
fn fit_layer(p: &EstimatorParams, n: usize, seed: u64) -> Estimate {
    let (x, z, labels) = layer(n, seed);
    let (z32, x32) = (z.mapv(|v| v as f32), x.mapv(|v| v as f32));
    let data = LayerEpoch {
        layer: "fc1",
        z: z32.view(),
        labels: &labels,
        classes: 4,
        inputs: Some(x32.view()),
    };
    let est = &estimator::build(p, &["renyi".to_string()]).unwrap()[0];
    let mut fit = est.fit(&data, &mut ArchiveCache::default(), false).unwrap();
    fit.estimates.remove(0)
}

fn slq_params(deflate: usize) -> slq::Slq {
    slq::Slq {
        deflate,
        probes: 16,
        steps: 20,
    }
}

/// A = I/N has S_α = ln N for every α; a block matrix Σ_c p_c J_c / b_c has eigenvalues p_c
/// and zeros, S_α = ln Σ p_c^α / (1 − α). With two of its four eigenvectors deflated, the
/// control variates c₁λ + c₂λ² interpolate f at the other two, so the estimate is exact (for
/// α ≥ 1; see below for α < 1).
#[test]
fn closed_form_spectra_are_exact() {
    let n = 400;
    let identity =
        Array2::from_shape_fn((n, n), |(i, j)| if i == j { 1.0 / n as f32 } else { 0.0 });
    for alpha in [1.01, 1.0, 0.5, 3.0] {
        let e = slq::entropy(identity.view(), alpha, &slq_params(8), 1).unwrap();
        assert!(
            (e.entropy - (n as f64).ln()).abs() < 1e-5,
            "α={alpha}: {e:?}"
        );
        assert!(e.se < 1e-6, "{e:?}");
    }
    let sizes = [200usize, 100, 60, 40];
    let p = [0.5, 0.25, 0.15, 0.1];
    let block: Vec<usize> = sizes
        .iter()
        .enumerate()
        .flat_map(|(c, &b)| std::iter::repeat_n(c, b))
        .collect();
    let a = Array2::from_shape_fn((n, n), |(i, j)| {
        if block[i] == block[j] {
            (p[block[i]] / sizes[block[i]] as f64) as f32
        } else {
            0.0
        }
    });
    for alpha in [1.01, 1.0, 0.5, 3.0] {
        let want = if alpha == 1.0 {
            -p.iter().map(|q: &f64| q * q.ln()).sum::<f64>()
        } else {
            p.iter().map(|q: &f64| q.powf(alpha)).sum::<f64>().ln() / (1.0 - alpha)
        };
        let e = slq::entropy(a.view(), alpha, &slq_params(2), 7).unwrap();
        // α < 1 weights the 396 zero eigenvalues at the f32 products' rounding floor (λ^α is
        // steep at 0): within 0.01 bits, not exact.
        let tol = if alpha < 1.0 { 0.01 * BITS } else { 1e-5 };
        assert!(
            (e.entropy - want).abs() < tol,
            "α={alpha}: {} vs {want}",
            e.entropy
        );
        assert_eq!(e.deflated, 2);
    }
}

/// On a tanh layer's Gram matrix (N = 800), the quadrature is within 0.01 bits of the exact
/// eigenvalues for α = 1.01, 1, 0.5 and 3, and its standard error is reported.
#[test]
fn quadrature_agrees_with_exact_eigenvalues() {
    let (_, z, _) = layer(800, 3);
    let d2 = renyi::squared_distances(z.view());
    let sigma = renyi::resolve_width(Width::Silverman(0.8), &d2, 16);
    let div = Convention::TwoSigma2.divisor(sigma);
    let exact_gram = renyi::normalized_gram(&d2, div);
    let gram = large::gram(z.view(), div);
    let max_diff = exact_gram
        .iter()
        .zip(gram.iter())
        .map(|(a, b)| (a - f64::from(*b)).abs())
        .fold(0.0, f64::max);
    assert!(max_diff < 1e-9, "f32 gram differs by {max_diff}");
    for alpha in [1.01, 1.0, 0.5, 3.0] {
        let exact = renyi::entropy(&exact_gram, alpha).unwrap();
        let e = slq::entropy(gram.view(), alpha, &slq_params(128), 11).unwrap();
        let err = (e.entropy - exact) / BITS;
        assert!(
            err.abs() < 0.01,
            "α={alpha}: error {err} bits ({e:?}, exact {exact})"
        );
        assert!(e.se > 0.0 && e.se / BITS < 0.01, "α={alpha}: {e:?}");
    }
}

/// Above `--renyi-max-n` the estimator uses every sample through the quadrature: I(X;Z) and
/// I(Y;Z) within 0.02 bits of the exact path, the same widths (median and Silverman), and
/// standard errors.
#[test]
fn estimate_above_max_n_agrees_with_the_exact_path() {
    let (x, z, labels) = layer(600, 5);
    for width in [Width::Silverman(0.8), Width::Median] {
        let exact_o = RenyiParams {
            width,
            width_x: width,
            ..RenyiParams::default()
        };
        let slq_o = RenyiParams {
            max_n: 100,
            ..exact_o.clone()
        };
        let e = Renyi::new(exact_o.clone())
            .unwrap()
            .estimate(z.view(), Some(x.view()), &labels)
            .unwrap();
        let s = Renyi::new(slq_o.clone())
            .unwrap()
            .estimate(z.view(), Some(x.view()), &labels)
            .unwrap();
        assert!(
            ((s.sigma - e.sigma) / e.sigma).abs() < 1e-6,
            "{} vs {}",
            s.sigma,
            e.sigma
        );
        assert!(((s.sigma_x - e.sigma_x) / e.sigma_x).abs() < 1e-6);
        for (a, b, what) in [
            (s.i_xz, e.i_xz, "I(X;Z)"),
            (s.i_yz, e.i_yz, "I(Y;Z)"),
            (s.i_yz_baseline, e.i_yz_baseline, "baseline"),
        ] {
            assert!(
                ((a - b) / BITS).abs() < 0.02,
                "{width:?} {what}: {a} vs {b}"
            );
        }
        assert!(
            s.se.0 > 0.0 && s.se.1 > 0.0 && s.se.0 < 0.01 && s.se.1 < 0.01,
            "{:?}",
            s.se
        );
        assert!(e.se.0.is_nan() && s.subsets == 0 && s.log_n == 600f64.ln());
    }
}

/// The estimator's rows say `approximate=slq_...` and carry the standard errors; bad settings
/// are refused with the flag's name.
#[test]
fn rows_are_labelled_and_bad_settings_refused() {
    let mut p = EstimatorParams::default();
    p.renyi.max_n = 50;
    let row = &fit_layer(&p, 300, 9);
    assert!(
        row.setting
            .contains("approximate=slq_probes_16_steps_20_deflate_128"),
        "{}",
        row.setting
    );
    assert!(row.i_xz_se > 0.0 && row.i_yz_se > 0.0, "{row:?}");
    let bad = RenyiParams {
        probes: 1,
        ..RenyiParams::default()
    };
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "renyi_probes must be between 2 and 1000 (got 1)"
    );
    let subsets = RenyiParams {
        max_n: 50,
        large: Large::Subsets,
        ..RenyiParams::default()
    };
    let (_, z, labels) = layer(300, 9);
    let s = Renyi::new(subsets.clone())
        .unwrap()
        .estimate(z.view(), None, &labels)
        .unwrap();
    assert!(s.subsets == 5 && s.se.1.is_nan());
}

/// With a tiny width every sample is its own: A = I/N on the quadrature path too, so
/// I(X;Z) = ln N exactly, and the row is saturated against the N samples it used.
#[test]
fn tiny_width_saturates_at_ln_n_on_all_samples() {
    let mut p = EstimatorParams::default();
    p.renyi.max_n = 50;
    p.renyi.width = "1e-6".parse().unwrap();
    p.renyi.width_x = "1e-6".parse().unwrap();
    let r = &fit_layer(&p, 200, 13);
    assert!((r.i_xz - 200f64.ln()).abs() < 1e-5, "{}", r.i_xz);
    assert_eq!(r.saturated, Some(true));
}
