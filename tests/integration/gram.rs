//! The packed AVX-512 Gram kernel against f64 products, the BLAS path of the same pass, and
//! thread counts; and the non-finite scan that guards every estimate.
#![allow(clippy::unwrap_used)]

use infoplane::archive::first_non_finite;
use infoplane::estimator::pairwise::distances::centred_rows;
use infoplane::estimator::pairwise::gram::{Panels, Rows, PANEL};
use infoplane::estimator::pairwise::{pairwise_estimates, PassOptions, SaturationRule, Stats};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

/// Rows around class centres (f32), labels cycling over `classes`.
fn clustered(n: usize, h: usize, classes: u32, seed: u64) -> (Array2<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(seed);
    let centres: Vec<f64> = (0..classes as usize * h)
        .map(|_| 2.0 * rng.normal())
        .collect();
    let labels: Vec<u32> = (0..n).map(|i| (i as u32 * 7 + 3) % classes).collect();
    let z = Array2::from_shape_fn((n, h), |(i, k)| {
        (centres[labels[i] as usize * h + k] + 0.7 * rng.normal() + 1.5) as f32
    });
    (z, labels)
}

/// Whether the packed kernel runs here (see `common::avx512_or_skip`).
fn packed_available(test: &str) -> bool {
    crate::common::avx512_or_skip(test, "the packed-kernel checks", "the BLAS")
}

#[test]
fn packed_blocks_equal_f64_products() {
    if !packed_available("packed_blocks_equal_f64_products") {
        return;
    }
    // Widths below, at and above one K block (512), row counts that are not whole panels.
    for (n, h, seed) in [(77, 37, 1), (200, 600, 2), (40, 1, 3), (96, 1030, 4)] {
        let (z, _) = clustered(n, h, 3, seed);
        let (panels, sums) = Panels::build(n, h, |i, row| {
            row.copy_from_slice(z.row(i).as_slice().unwrap());
            i
        });
        assert_eq!(sums, (0..n).collect::<Vec<_>>());
        // Rows 8.. against columns 32..n (a block that starts inside the matrix), and all
        // rows against all columns.
        for (r0, c0) in [(8, PANEL), (0, 0)] {
            let rows = n - r0;
            let width = (n - c0).div_ceil(PANEL) * PANEL;
            let mut g = vec![f32::NAN; rows.div_ceil(8) * 8 * width];
            panels.block(r0, rows, (c0, n), &mut g, width);
            for i in 0..rows {
                for j in 0..n - c0 {
                    let (a, b) = (z.row(r0 + i), z.row(c0 + j));
                    let exact: f64 = a
                        .iter()
                        .zip(b)
                        .map(|(&x, &y)| f64::from(x) * f64::from(y))
                        .sum();
                    let scale: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x * y).abs()).sum();
                    let got = f64::from(g[i * width + j]);
                    // f32 accumulation over h terms: within h·ε·Σ|x y| (a loose Wilkinson bound).
                    let tol = h as f64 * f64::from(f32::EPSILON) * scale + 1e-30;
                    assert!(
                        (got - exact).abs() <= tol,
                        "n {n} h {h} ({i},{j}): {got} vs {exact}"
                    );
                }
            }
        }
    }
}

#[test]
fn packed_pass_agrees_with_the_blas_pass_and_f64() {
    let (z, y) = clustered(333, 70, 4, 5);
    let sigmas = [0.3, 3.0, 30.0];
    let run = |tile: usize| {
        let opts = PassOptions {
            tile,
            stats: Stats::All,
        };
        pairwise_estimates(z.view(), &y, &sigmas, &opts, &SaturationRule::default())
    };
    // Tile 64 is whole panels (the packed kernel where AVX-512F exists), tile 50 is not
    // (the BLAS); the f64 pass is the reference for both.
    let packed = run(64);
    let blas = run(50);
    let wide = z.mapv(f64::from);
    let f64_opts = PassOptions {
        tile: 64,
        stats: Stats::All,
    };
    let exact = pairwise_estimates(
        wide.view(),
        &y,
        &sigmas,
        &f64_opts,
        &SaturationRule::default(),
    );
    // Which path each pass took.
    let order: Vec<usize> = (0..z.nrows()).collect();
    let packed_here = packed_available("packed_pass_agrees_with_the_blas_pass_and_f64");
    let is_packed = |tile| matches!(centred_rows(z.view(), &order, tile).0, Rows::Packed(_));
    assert_eq!(is_packed(64), packed_here);
    assert!(!is_packed(50));
    assert!(matches!(
        centred_rows(wide.view(), &order, 64).0,
        Rows::Blas(_)
    ));
    for ((p, b), e) in packed
        .estimates
        .iter()
        .zip(&blas.estimates)
        .zip(&exact.estimates)
    {
        for (x, w, v) in [
            (p.kl.i_xz, b.kl.i_xz, e.kl.i_xz),
            (p.bd.i_xz, b.bd.i_xz, e.bd.i_xz),
            (p.kl.i_yz, b.kl.i_yz, e.kl.i_yz),
            (p.bd.i_yz, b.bd.i_yz, e.bd.i_yz),
        ] {
            assert!((x - v).abs() < 2e-6, "packed {x} vs f64 {v}");
            assert!((w - v).abs() < 2e-6, "blas {w} vs f64 {v}");
        }
    }
    let (dp, de) = (&packed.distances, &exact.distances);
    for (a, b) in dp.nn_d2.iter().zip(&de.nn_d2) {
        assert!(
            (a - b).abs() <= 1e-4 * b.max(1.0),
            "nearest neighbour {a} vs {b}"
        );
    }
    assert_eq!(dp.within_pairs, de.within_pairs);
    assert_eq!(dp.between_pairs + dp.within_pairs, 333 * 332 / 2);
    assert!((dp.within_sum_d2 / de.within_sum_d2 - 1.0).abs() < 1e-6);
}

#[test]
fn packed_pass_does_not_depend_on_the_thread_count() {
    let (z, y) = clustered(300, 45, 3, 6);
    let go = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let opts = PassOptions {
            tile: 96,
            stats: Stats::Nearest,
        };
        pool.install(|| {
            pairwise_estimates(z.view(), &y, &[0.5, 5.0], &opts, &SaturationRule::default())
        })
    };
    let a = go(1);
    for b in [go(2), go(3)] {
        for (x, w) in a.estimates.iter().zip(&b.estimates) {
            for (p, q) in [
                (x.kl.i_xz, w.kl.i_xz),
                (x.bd.i_yz, w.bd.i_yz),
                (x.i_yz_lo, w.i_yz_lo),
            ] {
                assert_eq!(p.to_bits(), q.to_bits(), "{p} vs {q}");
            }
        }
        assert_eq!(a.distances.nn_d2, b.distances.nn_d2);
    }
}

#[test]
fn the_first_non_finite_value_is_found_wherever_it_is() {
    let (n, h) = (100, 123); // 12300 values: three scan blocks of 4096 and a remainder
    let clean = Array2::from_shape_fn((n, h), |(i, k)| (i * h + k) as f32 * 1e-3 - 5.0);
    assert_eq!(first_non_finite(clean.view()), None);
    for (at, bad) in [
        (0, f32::NAN),
        (4095, f32::INFINITY),
        (4096, f32::NEG_INFINITY),
        (8191, f32::NAN),
        (n * h - 1, f32::INFINITY),
    ] {
        let mut z = clean.clone();
        z[[at / h, at % h]] = bad;
        if at + 1 < n * h {
            // A later bad value too: the first one is reported.
            z[[n - 1, h - 1]] = f32::NAN;
        }
        let (i, k, v) = first_non_finite(z.view()).unwrap();
        assert_eq!((i, k), (at / h, at % h));
        assert_eq!(v.to_bits(), bad.to_bits());
        // A non-contiguous view takes the element-wise path, with the same answer.
        let t = z.t();
        let (ti, tk, _) = first_non_finite(t).unwrap();
        let first_t = (0..h)
            .flat_map(|k| (0..n).map(move |i| (k, i)))
            .find(|&(k, i)| !z[[i, k]].is_finite())
            .unwrap();
        assert_eq!((ti, tk), first_t);
    }
    // The largest finite values are finite.
    let mut z = clean;
    z[[3, 3]] = f32::MAX;
    z[[4, 4]] = -f32::MAX;
    assert_eq!(first_non_finite(z.view()), None);
}
