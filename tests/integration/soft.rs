//! The soft-binning estimator: against a reference computed here from its definition, closed
//! forms (one-hot assignments, identical samples), and batches summed as a stream.
#![allow(clippy::unwrap_used)]

use infoplane::estimator::smi::directions;
use infoplane::estimator::soft::{SoftCounts, SoftParams};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

fn h(p: &[f64]) -> f64 {
    p.iter().filter(|&&v| v > 0.0).map(|v| -v * v.ln()).sum()
}

/// I(X;K), I(Y;K) from the definition, sample by sample, without the library's sums.
fn reference(z: &Array2<f32>, labels: &[u32], p: &SoftParams, seed: u64) -> (f64, f64) {
    let (n, width) = z.dim();
    let r = directions(width, p.soft_bins, seed);
    let beta = p.soft_spread * (width as f64).sqrt();
    let k = p.soft_bins;
    let mut mean = vec![0.0; k];
    let mut by: std::collections::BTreeMap<u32, (Vec<f64>, f64)> = Default::default();
    let mut cond = 0.0;
    for (i, row) in z.rows().into_iter().enumerate() {
        let norm = row
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum::<f64>()
            .sqrt();
        let logits: Vec<f64> = (0..k)
            .map(|j| {
                beta * row
                    .iter()
                    .zip(r.row(j))
                    .map(|(&a, &b)| f64::from(a) / norm * b)
                    .sum::<f64>()
            })
            .collect();
        let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
        let s: f64 = e.iter().sum();
        let q: Vec<f64> = e.iter().map(|v| v / s).collect();
        cond += h(&q) / n as f64;
        let slot = by.entry(labels[i]).or_insert((vec![0.0; k], 0.0));
        for j in 0..k {
            mean[j] += q[j] / n as f64;
            slot.0[j] += q[j];
        }
        slot.1 += 1.0;
    }
    let h_k = h(&mean);
    let h_k_y: f64 = by
        .values()
        .map(|(s, c)| c / n as f64 * h(&s.iter().map(|v| v / c).collect::<Vec<_>>()))
        .sum();
    (h_k - cond, h_k - h_k_y)
}

fn data(n: usize, width: usize, seed: u64) -> (Array2<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(seed);
    let labels: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
    let z = Array2::from_shape_fn((n, width), |(i, j)| {
        (rng.normal() + if j == labels[i] as usize { 2.0 } else { 0.0 }) as f32
    });
    (z, labels)
}

#[test]
fn soft_counts_equal_the_definition_and_stream_in_batches() {
    let (z, labels) = data(300, 8, 1);
    let p = SoftParams {
        soft_bins: 32,
        soft_spread: 3.0,
    };
    let mut whole = SoftCounts::new(8, 3, &p, 5).unwrap();
    whole.add(z.view(), &labels).unwrap();
    let (ixz, iyz, _, _) = whole.estimate();
    let (want_x, want_y) = reference(&z, &labels, &p, 5);
    assert!(
        (ixz - want_x).abs() < 1e-12 && (iyz - want_y).abs() < 1e-12,
        "{ixz} {iyz} vs {want_x} {want_y}"
    );
    assert!(ixz > 0.0 && ixz <= 32f64.ln() && iyz > 0.05 && iyz <= 3f64.ln());
    // Batches of 7 rows: the same sums in another order.
    let mut streamed = SoftCounts::new(8, 3, &p, 5).unwrap();
    for start in (0..300).step_by(7) {
        let end = (start + 7).min(300);
        streamed
            .add(z.slice(ndarray::s![start..end, ..]), &labels[start..end])
            .unwrap();
    }
    let (sx, sy, _, _) = streamed.estimate();
    assert!((sx - ixz).abs() < 1e-12 && (sy - iyz).abs() < 1e-12);
}

#[test]
fn one_hot_assignments_and_identical_samples_give_closed_forms() {
    // Samples exactly on 4 of the reference points with a huge spread: each assignment is
    // one-hot, so I(X;K) = H(K) = ln 4, and labels i mod 2 give I(Y;K) = H(Y) = ln 2.
    let p = SoftParams {
        soft_bins: 16,
        soft_spread: 1000.0,
    };
    let r = directions(16, 16, 9);
    let z = Array2::from_shape_fn((400, 16), |(i, j)| (r[[i % 4, j]] * 3.0) as f32);
    let labels: Vec<u32> = (0..400).map(|i| (i % 2) as u32).collect();
    let mut c = SoftCounts::new(16, 2, &p, 9).unwrap();
    c.add(z.view(), &labels).unwrap();
    let (ixz, iyz, hk, _) = c.estimate();
    assert!(
        (ixz - 4f64.ln()).abs() < 1e-9 && (hk - 4f64.ln()).abs() < 1e-9,
        "{ixz} {hk}"
    );
    assert!((iyz - 2f64.ln()).abs() < 1e-9, "{iyz}");
    // Every sample the same: nothing about X or Y.
    let same = Array2::from_elem((50, 16), 0.5f32);
    let mut c = SoftCounts::new(16, 2, &SoftParams::default(), 0).unwrap();
    c.add(same.view(), &labels[..50]).unwrap();
    let (ixz, iyz, _, _) = c.estimate();
    assert!(ixz.abs() < 1e-12 && iyz.abs() < 1e-12);
}

#[test]
fn soft_refuses_bad_parameters_and_batches() {
    let bad = SoftParams {
        soft_bins: 1,
        ..SoftParams::default()
    };
    let e = SoftCounts::new(4, 2, &bad, 0).unwrap_err().to_string();
    assert!(
        e.contains("soft_bins") && e.contains("from 2 to 65536"),
        "{e}"
    );
    let mut c = SoftCounts::new(4, 2, &SoftParams::default(), 0).unwrap();
    let e = c
        .add(Array2::zeros((3, 5)).view(), &[0, 1, 0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("for width 4"), "{e}");
    let e = c
        .add(Array2::zeros((2, 4)).view(), &[0, 2])
        .unwrap_err()
        .to_string();
    assert!(e.contains("label 2 is not below the 2 classes"), "{e}");
    assert!(c.estimate().0.is_nan());
}

#[test]
fn several_label_sets_share_the_assignments_and_equal_one_set_each() {
    let z = Array2::from_shape_fn((600, 5), |(i, h)| ((i * 5 + h) as f32 * 0.91).sin());
    let a: Vec<u32> = (0..600).map(|i| (i % 3) as u32).collect();
    let b: Vec<u32> = (0..600).map(|i| ((i / 7) % 4) as u32).collect();
    let p = SoftParams::default();
    let mut both = SoftCounts::with_sets(5, &[3, 4], &p, 2).unwrap();
    both.add_sets(z.view(), &[&a, &b]).unwrap();
    for (s, (labels, classes)) in [(&a, 3), (&b, 4)].into_iter().enumerate() {
        let mut one = SoftCounts::new(5, classes, &p, 2).unwrap();
        one.add(z.view(), labels).unwrap();
        let (x1, y1, h1, c1) = one.estimate();
        let (x2, y2, h2, c2) = both.estimate_set(s);
        // The same additions in the same order: equal to the bit.
        assert_eq!(
            [x1, y1, h1, c1].map(f64::to_bits),
            [x2, y2, h2, c2].map(f64::to_bits)
        );
    }
    assert!(both.estimate_set(2).0.is_nan());
    let err = both.add(z.view(), &a).unwrap_err().to_string();
    assert!(err.contains("1 label sets given, the sums have 2"), "{err}");
}
