//! Label alphabets of a vocabulary's size (50 000 labels, most of them once): every estimator
//! with a discrete Y gives a bounded value, and Ross's nearest-neighbour I(Y;Z) says when it
//! cannot be trusted.
#![allow(clippy::unwrap_used)]

use infoplane::prelude::*;
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;

#[test]
fn vocabulary_sized_label_sets_work_or_say_why_not() {
    let mut rng = SplitMix64::new(3);
    let n = 1500;
    let z = Array2::from_shape_fn((n, 16), |_| (rng.normal() as f32).tanh());
    let labels: Vec<u32> = (0..n).map(|_| rng.below(50_000) as u32).collect();
    let arrays = Arrays {
        z: z.view(),
        labels: &labels,
        classes: 50_000,
        inputs: None,
    };
    let mut req = EstimateRequest::new(&["kl", "bd", "bin", "soft", "renyi", "ksg", "smi"]);
    req.params.pairwise.sigma2 = "0.1".parse().unwrap();
    req.params.renyi.convention = "linear".parse().unwrap();
    req.params.smi.slices = 8;
    let rows = estimate_arrays(arrays, &req).unwrap();
    let h_y = rows[0].h_y;
    assert!(h_y > 7.0 && h_y <= (n as f64).ln(), "H(Y) {h_y}");
    for r in &rows {
        let name = r.estimator.as_ref();
        if name == "ksg" || name == "smi" {
            assert!(
                r.warning_text()
                    .contains("I(Y;Z) unreliable: only 0 of 1500 samples"),
                "{name}: {:?}",
                r.warnings
            );
            continue;
        }
        assert!(
            r.i_yz.is_finite() && r.i_yz >= -1e-9 && r.i_yz <= h_y + 1e-9,
            "{name}: {}",
            r.i_yz
        );
        assert!(r.warnings.is_empty(), "{name}: {:?}", r.warnings);
    }
}
