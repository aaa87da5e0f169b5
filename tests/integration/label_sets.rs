//! Several named label sets in one archive: written and read back in both backends (content
//! hashed, verified, converted, resumed), refused when malformed, and picked by name for
//! estimation with the same values as the arrays themselves.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use infoplane::archive::verify::verify;
use infoplane::archive::{
    convert, AnalysisSet, Archive, ArchiveSpec, ArchiveWriter, Backend, EpochRecord, LabelSet,
    LayerInfo, LayerKind, Overwrite, PlannedEpoch, Publish, RunInfo,
};
use infoplane::run::{estimate_archive, estimate_arrays, Arrays, EstimateRequest};
use ndarray::Array2;

const N: usize = 90;

fn z(epoch: u32) -> Array2<f32> {
    Array2::from_shape_fn((N, 3), |(i, h)| {
        ((i * 7 + h * 3) as f32 * 0.37 + epoch as f32).sin() + (i % 3) as f32 * 0.5
    })
}

fn spec() -> ArchiveSpec {
    ArchiveSpec {
        run: RunInfo {
            name: "sets".into(),
            model: "m".into(),
            dataset: "d".into(),
            ..RunInfo::default()
        },
        classes: vec!["a".into(), "b".into(), "c".into()],
        input_shape: None,
        analysis_description: "all".into(),
        layers: vec![LayerInfo {
            name: "h".into(),
            kind: LayerKind::Linear,
            width: 3,
            shape: None,
            activation: None,
        }],
        parameters: Vec::new(),
        batch_gradients: None,
        epochs: (0..2)
            .map(|epoch| PlannedEpoch {
                epoch,
                activations: true,
            })
            .collect(),
    }
}

fn parity() -> Vec<u32> {
    (0..N as u32).map(|i| i % 2).collect()
}

fn tokens() -> Vec<u32> {
    (0..N as u32).map(|i| (i * 13) % 50).collect()
}

fn set() -> AnalysisSet {
    AnalysisSet {
        label_name: Some("shape".into()),
        label_sets: vec![
            LabelSet {
                name: "parity".into(),
                classes: 2,
                labels: parity(),
            },
            LabelSet {
                name: "token_id".into(),
                classes: 50,
                labels: tokens(),
            },
        ],
        ..AnalysisSet::new(
            (0..N as u64).collect(),
            (0..N as u32).map(|i| i % 3).collect(),
        )
    }
}

fn write(dir: &Path, backend: Backend, set: &AnalysisSet) -> infoplane::Result<()> {
    let mut w = ArchiveWriter::create(
        dir,
        backend,
        spec(),
        set,
        Overwrite::Refuse,
        Publish::Immediately,
    )?;
    for epoch in 0..2 {
        w.commit_epoch(&EpochRecord {
            epoch,
            activations: vec![z(epoch)],
            ..EpochRecord::default()
        })?;
    }
    w.finish().map(|_| ())
}

#[test]
fn label_sets_round_trip_in_both_backends_and_through_convert() {
    let t = tempfile::tempdir().unwrap();
    for backend in [Backend::Parquet, Backend::Hdf5] {
        let dir = t.path().join(format!("{backend}"));
        write(&dir, backend, &set()).unwrap();
        let a = Archive::open(&dir).unwrap();
        let names: Vec<&str> = a
            .manifest()
            .analysis_set
            .label_sets()
            .iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(names, ["shape", "parity", "token_id"]);
        assert_eq!(a.labels_named(None).unwrap().0, "shape");
        assert_eq!(a.labels_named(Some("parity")).unwrap().1, parity());
        assert_eq!(a.labels_named(Some("token_id")).unwrap().1, tokens());
        assert_eq!(a.label_sets().unwrap(), set().label_sets);
        let err = a.labels_named(Some("next")).unwrap_err().to_string();
        assert!(
            err.contains("no label set named 'next' (label sets: shape, parity, token_id)"),
            "{err}"
        );
        assert!(verify(&a, &mut |_, _| {}).problems.is_empty());
        let summary = infoplane::archive::Summary::of(&a).unwrap().to_string();
        assert!(
            summary.contains("label sets   shape (the classes above), parity (2 classes, H = 1.0000 bits), token_id (50 classes"),
            "{summary}"
        );
        // Into the other backend: every set, bit for bit.
        let other = t.path().join(format!("{backend}-converted"));
        let to = match backend {
            Backend::Parquet => Backend::Hdf5,
            Backend::Hdf5 => Backend::Parquet,
        };
        convert(&a, &other, to, Overwrite::Refuse).unwrap();
        let b = Archive::open(&other).unwrap();
        assert_eq!(b.label_sets().unwrap(), set().label_sets);
        assert_eq!(b.labels_named(None).unwrap(), a.labels_named(None).unwrap());
    }
}

#[test]
fn a_damaged_or_malformed_label_set_is_refused_by_name() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("p");
    write(&dir, Backend::Parquet, &set()).unwrap();
    // One flipped bit in labels.parquet: its content hash no longer matches.
    let file = dir.join("labels.parquet");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let a = Archive::open(&dir).unwrap();
    let err = a.labels_named(Some("parity")).unwrap_err().to_string();
    assert!(err.contains("labels.parquet"), "{err}");
    assert!(!verify(&a, &mut |_, _| {}).problems.is_empty());

    let refused = |set: AnalysisSet, what: &str| {
        let d = t.path().join(what.replace(' ', "_"));
        let err = write(&d, Backend::Parquet, &set).unwrap_err().to_string();
        assert!(err.contains(what), "{err}");
        assert!(!d.exists(), "{what}: nothing is left behind");
    };
    let mut s = set();
    s.label_sets[0].labels[5] = 2;
    refused(
        s,
        "label 2 of sample 5 in label set 'parity' is not below the number of classes (2)",
    );
    let mut s = set();
    s.label_sets[1].name = "parity".into();
    refused(s, "label set name 'parity' appears twice");
    let mut s = set();
    s.label_sets[1].name = "a/b".into();
    refused(
        s,
        "label set name 'a/b' is not 1 to 64 letters, digits, '_', '-' or '.'",
    );
    let mut s = set();
    s.label_sets[0].labels.pop();
    refused(s, "label set 'parity' has 89 labels for 90 samples");
}

#[test]
fn resuming_with_other_label_sets_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("r");
    let mut w = ArchiveWriter::create(
        &dir,
        Backend::Hdf5,
        spec(),
        &set(),
        Overwrite::Refuse,
        Publish::Immediately,
    )
    .unwrap();
    w.commit_epoch(&EpochRecord {
        epoch: 0,
        activations: vec![z(0)],
        ..EpochRecord::default()
    })
    .unwrap();
    drop(w);
    let mut other = set();
    other.label_sets[0].labels[0] = 1;
    let err = ArchiveWriter::resume(&dir, Backend::Hdf5, spec(), &other)
        .unwrap_err()
        .to_string();
    assert!(err.contains("analysis set (its size or labels)"), "{err}");
    // The same sets: it goes on.
    let w = ArchiveWriter::resume(&dir, Backend::Hdf5, spec(), &set()).unwrap();
    assert_eq!(w.committed(), 1);
}

#[test]
fn estimation_picks_a_label_set_by_name() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("e");
    write(&dir, Backend::Parquet, &set()).unwrap();
    let a = Archive::open(&dir).unwrap();
    for (name, labels, classes) in [
        (None, (0..N as u32).map(|i| i % 3).collect::<Vec<_>>(), 3),
        (Some("parity"), parity(), 2),
        (Some("token_id"), tokens(), 50),
    ] {
        let mut req = EstimateRequest::new(&["kl", "bd", "bin"]);
        req.labels = name.map(String::from);
        let rows = estimate_archive(&a, &req, &mut |_, _| {}, None).unwrap();
        let zz = z(1);
        let direct = estimate_arrays(
            Arrays {
                z: zz.view(),
                labels: &labels,
                classes,
                inputs: None,
            },
            &EstimateRequest::new(&["kl", "bd", "bin"]),
        )
        .unwrap();
        assert_eq!(rows.len(), 2 * direct.len());
        let at_1: Vec<_> = rows.iter().filter(|r| r.epoch == 1).collect();
        for (r, d) in at_1.iter().zip(&direct) {
            assert_eq!(r.labels, name.unwrap_or("shape"));
            assert_eq!(
                r.i_yz.to_bits(),
                d.i_yz.to_bits(),
                "{name:?} {}",
                r.estimator
            );
            assert_eq!(r.i_xz.to_bits(), d.i_xz.to_bits());
            assert!((r.h_y - d.h_y).abs() < 1e-15);
            // Rows of another set than the first never share a key with the first's.
            let suffix = name.map_or(String::new(), |n| format!(" labels={n}"));
            assert_eq!(r.setting, format!("{}{suffix}", d.setting));
        }
        // Written and read back, a row keeps its label set and setting.
        let csv = t.path().join(format!("{}.csv", name.unwrap_or("first")));
        infoplane::table::estimates::write(&rows, infoplane::table::estimates::Unit::Bits, &csv)
            .unwrap();
        let back = infoplane::table::estimates::read(&csv).unwrap().rows;
        assert_eq!(
            back.iter()
                .map(|r| (&r.labels, &r.setting))
                .collect::<Vec<_>>(),
            rows.iter()
                .map(|r| (&r.labels, &r.setting))
                .collect::<Vec<_>>()
        );
        // The request's fingerprint (merge's check) says which set, when one is named.
        let default = EstimateRequest::new(&["kl", "bd", "bin"]).fingerprint();
        assert_eq!(req.fingerprint() == default, name.is_none());
    }
    let mut req = EstimateRequest::new(&["kl"]);
    req.labels = Some("nope".into());
    let err = estimate_archive(&a, &req, &mut |_, _| {}, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no label set named 'nope'"), "{err}");
}
