//! Schema v1 fixtures (`fixtures/v1/`, made by `fixtures/make_fixtures.rs`) still read back exactly.
//!
//! The expected values are the generator's closed forms, written out again here on purpose: if
//! the reader (or the generator) changes how archives are laid out, this test fails.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use infoplane::archive::{Archive, Backend, LayerKind};

fn open(name: &str) -> Archive {
    Archive::open(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/v1")
            .join(name),
    )
    .unwrap()
}

fn check(a: &Archive, backend: Backend) {
    let m = a.manifest();
    assert_eq!(m.schema_version, 1);
    assert_eq!(a.backend(), backend);
    assert!(a.is_complete());
    assert_eq!(m.run.name, "tiny");
    assert_eq!(m.run.seed, Some(7));
    assert_eq!(m.run.hyperparameters["hidden"], serde_json::json!([3, 4]));
    assert_eq!(m.analysis_set.classes, vec!["no", "yes"]);
    let kinds: Vec<LayerKind> = a.layers().iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        vec![LayerKind::Linear, LayerKind::Conv, LayerKind::Output]
    );
    assert_eq!(a.layers()[1].shape, Some(vec![2, 1, 2]));
    assert_eq!(a.epochs(), vec![0, 1, 3]);
    assert_eq!(a.activation_epochs(), vec![0, 3]);
    assert_eq!(a.sample_ids().unwrap(), vec![0, 10, 20, 30, 40]);
    assert_eq!(a.labels().unwrap(), vec![0, 1, 1, 0, 1]);
    let x = a.inputs().unwrap().unwrap();
    assert_eq!(x.row(3).to_vec(), vec![1.0, 1.0, 0.0]);
    assert_eq!(x.row(4).to_vec(), vec![0.0, 0.0, 1.0]);
    for (l, width) in [3usize, 4, 2].into_iter().enumerate() {
        for e in [0u32, 3] {
            let z = a.activations_at(l, e).unwrap();
            assert_eq!(z.dim(), (5, width));
            for i in 0..5 {
                for h in 0..width {
                    assert_eq!(
                        z[[i, h]],
                        (l * 100 + i) as f32 + e as f32 * 10.0 + h as f32 / 4.0
                    );
                }
            }
        }
    }
    let metrics = a.metrics().unwrap();
    assert_eq!(metrics[2].0, 3);
    assert_eq!(metrics[2].1.train_loss, Some(0.2));
    assert_eq!(metrics[2].1.train_accuracy, Some(0.875));
    assert_eq!(metrics[2].1.validation_loss, None);
    assert_eq!(metrics[2].1.validation_accuracy, Some(0.75));
    assert_eq!(metrics[1].1.wall_time_s, Some(2.0));
    let g = a.gradients(3).unwrap();
    assert_eq!(g[0].n_batches, 2);
    assert_eq!(g[0].mean, vec![1.5, 1.75, 2.0, 2.25, 2.5, 2.75]);
    assert_eq!(g[0].std, vec![1.625, 1.875, 2.125, 2.375, 2.625, 2.875]);
    assert_eq!(g[0].value, vec![-3.0, -4.0, -5.0, -6.0, -7.0, -8.0]);
    let b = a.batch_gradients(1, "h1.weight").unwrap();
    assert_eq!(b.dim(), (1, 6));
    assert_eq!(b.row(0).to_vec(), vec![0.0, 0.125, 0.25, 0.375, 0.5, 0.625]);
    assert_eq!(a.batch_gradients(3, "h1.weight").unwrap()[[1, 2]], 1.25);
    assert_eq!(a.batch_gradients(0, "h1.weight").unwrap().nrows(), 0);
}

#[test]
fn parquet_v1_fixture_reads_back() {
    check(&open("tiny-parquet"), Backend::Parquet);
}

#[test]
fn hdf5_v1_fixture_reads_back() {
    check(&open("tiny-hdf5"), Backend::Hdf5);
}
