//! The fused AVX-512 kernel loop of the pairwise pass: its table exponential against exp in
//! f64, and its row, same-class and column sums against a direct f64 computation, for one and
//! two rows, every group shape the f32 path produces, and lengths that are not whole chunks.
#![allow(clippy::unwrap_used)]

use infoplane::estimator::pairwise::kernel_rows::{exp_neg_lanes, group_rows};
use infoplane::util::rng::SplitMix64;

/// Whether the fused loop runs here (see `common::avx512_or_skip`).
fn fused_available(test: &str) -> bool {
    crate::common::avx512_or_skip(test, "the fused-loop checks", "the generic kernel loop")
}

#[test]
fn table_exponential_is_within_2_5e_7_of_exp() {
    if !fused_available("table_exponential_is_within_2_5e_7_of_exp") {
        return;
    }
    let mut worst = 0.0f64;
    let mut lanes = [0.0f32; 16];
    let mut x = 0.0f32;
    // Every 2^-12 from 0 down to -87, plus the exact zero and the clamp below -87.
    while x >= -87.0 {
        for (l, v) in lanes.iter_mut().enumerate() {
            *v = (x - l as f32 / 65_536.0).max(-87.0);
        }
        for (&xi, &e) in lanes.iter().zip(&exp_neg_lanes(lanes)) {
            let truth = f64::from(xi).exp();
            worst = worst.max((f64::from(e) - truth).abs() / truth);
        }
        x -= 1.0 / 4096.0;
    }
    assert!(worst < 2.5e-7, "worst relative error {worst:e}");
    assert_eq!(exp_neg_lanes([0.0; 16])[0], 1.0);
    let floor = exp_neg_lanes([-87.0; 16])[0];
    let mut args = [0.0f32; 16];
    args[..4].copy_from_slice(&[-1e4, f32::NEG_INFINITY, -87.5, -200.0]);
    let below = exp_neg_lanes(args);
    assert_eq!(
        &below[..4],
        &[floor; 4],
        "arguments below -87 give exp(-87)"
    );
}

/// Member values of one pair in f64: exp(max(-a d, -87)), then the squarings of each step.
fn members(d: f32, na: f32, steps: &[u32]) -> Vec<f64> {
    let mut x = f64::from(d * na).max(-87.0).exp();
    steps
        .iter()
        .map(|&s| {
            for _ in 0..s {
                x *= x;
            }
            x
        })
        .collect()
}

#[test]
fn group_sums_match_direct_f64_sums() {
    if !fused_available("group_sums_match_direct_f64_sums") {
        return;
    }
    let mut rng = SplitMix64::new(11);
    // The KL/BD pair (compiled for its steps), single exponentials, halving ladders with and
    // without BD, and longer jumps (steps read at run time).
    let shapes: [&[u32]; 6] = [
        &[0, 2],
        &[0],
        &[0, 1],
        &[0, 1, 1, 1, 1],
        &[0, 3],
        &[0, 1, 2],
    ];
    for steps in shapes {
        for len in [1usize, 15, 16, 17, 64, 65, 100, 256] {
            for rows in 1..=2usize {
                let stride = 256 + 3;
                let na = -0.01f32;
                // Distances from 0 to ~500, a few pairs not counted (+∞).
                let d: Vec<Vec<f32>> = (0..rows)
                    .map(|_| {
                        (0..len)
                            .map(|_| {
                                let u = rng.unit();
                                if u < 0.05 {
                                    f32::INFINITY
                                } else {
                                    (500.0 * u * u) as f32
                                }
                            })
                            .collect()
                    })
                    .collect();
                // A class range inside the row, or none (the usual case: another class's block).
                let same = if len % 2 == 1 {
                    (len, len)
                } else {
                    (len / 3, len - len / 4)
                };
                let m = steps.len();
                let mut v = vec![7.0f32; m * stride + 5];
                let mut sums = vec![(f64::NAN, f64::NAN); rows * m];
                let segs: Vec<&[f32]> = d.iter().map(Vec::as_slice).collect();
                group_rows(&segs, na, steps, same, &mut v, stride, &mut sums);
                let what = format!("steps {steps:?}, len {len}, rows {rows}");
                for r in 0..rows {
                    for k in 0..m {
                        let vals: Vec<f64> =
                            d[r].iter().map(|&x| members(x, na, steps)[k]).collect();
                        let total: f64 = vals.iter().sum();
                        let in_class: f64 = vals[same.0..same.1].iter().sum();
                        let (t, s) = sums[r * m + k];
                        assert!(
                            (t - total).abs() <= 4e-6 * total,
                            "{what}: row sum {t} vs {total}"
                        );
                        assert!(
                            (s - in_class).abs() <= 4e-6 * in_class.max(1e-30),
                            "{what}: same-class sum {s} vs {in_class}"
                        );
                    }
                }
                for k in 0..m {
                    for j in 0..stride {
                        let got = f64::from(v[k * stride + j]);
                        if j < len {
                            let want = 7.0
                                + (0..rows)
                                    .map(|r| members(d[r][j], na, steps)[k])
                                    .sum::<f64>();
                            assert!(
                                (got - want).abs() <= 4e-6 * want,
                                "{what}: column {j} of member {k}: {got} vs {want}"
                            );
                        } else {
                            assert_eq!(got, 7.0, "{what}: column {j} past the row was written");
                        }
                    }
                }
                assert!(
                    v[m * stride..].iter().all(|&x| x == 7.0),
                    "{what}: past the last member"
                );
            }
        }
    }
}
