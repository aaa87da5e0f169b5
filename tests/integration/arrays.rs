//! `estimate_arrays` (the Python module's `estimate` on NumPy arrays) against `estimate_archive`
//! on an archive holding the same matrix: the same numbers, bit for bit.

use infoplane::archive::{Archive, Backend};
use infoplane::estimator::pairwise::sigma::SigmaSpec;
use infoplane::run::{estimate_archive, estimate_arrays, Arrays, EstimateRequest};
use infoplane::selection::Epochs;

use crate::common::{self, write_full};

fn request() -> EstimateRequest {
    let mut req = EstimateRequest::new(&["kl", "bd", "mc", "bin"]);
    // A fixed σ² and a rule that reads the last recorded epoch (the reference path; the
    // archive is estimated at that epoch, so that both see the same reference).
    req.params.pairwise.sigma2 = SigmaSpec::parse("0.1,nn*4").unwrap();
    req.layers = Some(vec!["fc1".into()]);
    req.epochs = Epochs::parse("9").unwrap();
    req
}

#[test]
fn arrays_give_the_archives_numbers_bit_for_bit() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("a");
    write_full(&out, Backend::Parquet);
    let archive = Archive::open(&out).unwrap();
    let req = request();
    let from_archive = estimate_archive(&archive, &req, &mut |_, _| {}, None).unwrap();
    let z = archive.activations_at(0, 9).unwrap();
    let labels = archive.labels().unwrap();
    let arrays = Arrays {
        z: z.view(),
        labels: &labels,
        classes: 3,
        inputs: None,
    };
    let from_arrays = estimate_arrays(arrays, &req).unwrap();
    assert_eq!(from_archive.len(), from_arrays.len());
    // kl, bd and mc at two σ² each, bin once.
    assert_eq!(from_archive.len(), 7);
    for (a, b) in from_archive.iter().zip(&from_arrays) {
        assert_eq!((&a.estimator, &a.setting), (&b.estimator, &b.setting));
        for (x, y) in [
            (a.i_xz, b.i_xz),
            (a.i_yz, b.i_yz),
            (a.sigma2, b.sigma2),
            (a.i_yz_lo, b.i_yz_lo),
            (a.i_yz_hi, b.i_yz_hi),
            (a.h_y, b.h_y),
        ] {
            assert_eq!(x.to_bits(), y.to_bits(), "{} {}", a.estimator, a.setting);
        }
        assert_eq!(
            (b.run.as_str(), b.layer.as_str(), b.epoch),
            ("arrays", "z", 0)
        );
    }
}

#[test]
fn arrays_that_do_not_fit_are_refused_with_the_reason() {
    let z = common::matrix(0, 0);
    let req = request();
    let labels = vec![0u32; common::N - 1];
    let e = |labels: &[u32], z: &ndarray::Array2<f32>| {
        let a = Arrays {
            z: z.view(),
            labels,
            classes: 3,
            inputs: None,
        };
        estimate_arrays(a, &req).unwrap_err().to_string()
    };
    assert_eq!(e(&labels, &z), "6 labels for 7 rows of Z");
    let labels = vec![0, 1, 2, 3, 0, 1, 2];
    assert_eq!(
        e(&labels, &z),
        "label 3 of sample 3 is not below the number of classes (3)"
    );
    let mut bad = z.clone();
    bad[[2, 1]] = f32::NAN;
    assert_eq!(
        e(&[0; 7], &bad),
        "non-finite activation NaN at sample 2, unit 1; estimates need finite values"
    );
}
