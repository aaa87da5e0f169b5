//! Archive round trips in both backends, conversion, and the reader's and writer's refusals.
#![allow(clippy::unwrap_used)]

use super::common::*;
use infoplane::archive::{self, Archive, ArchiveWriter, Backend, EpochRecord, Overwrite, Publish};

fn check_everything(a: &Archive) {
    assert!(a.is_complete());
    assert_eq!(a.epochs(), vec![0, 1, 2, 5, 9]);
    assert_eq!(a.activation_epochs(), vec![0, 2, 9]);
    assert!(a.missing_epochs().is_empty());
    assert_eq!(a.n_samples(), N);
    let s = set();
    assert_eq!(a.labels().unwrap(), s.labels);
    assert_eq!(a.sample_ids().unwrap(), s.sample_ids);
    let x = a.inputs().unwrap().unwrap();
    assert!(same_bits(
        x.as_slice().unwrap(),
        s.inputs.unwrap().as_slice().unwrap()
    ));
    for (l, layer) in a.layers().iter().enumerate() {
        for e in [0, 2, 9] {
            let got = a.activations(&layer.name, e).unwrap();
            assert_eq!(got.dim(), (N, WIDTHS[l]));
            assert!(
                same_bits(got.as_slice().unwrap(), matrix(l, e).as_slice().unwrap()),
                "layer {l} epoch {e}"
            );
        }
    }
    let metrics = a.metrics().unwrap();
    assert_eq!(metrics.len(), PLAN.len());
    for (slot, (epoch, m)) in metrics.iter().enumerate() {
        let r = record(slot);
        assert_eq!(*epoch, r.epoch);
        assert_eq!(*m, r.metrics);
    }
    for slot in 0..PLAN.len() {
        let r = record(slot);
        let g = a.gradients(r.epoch).unwrap();
        assert_eq!(g.len(), 2);
        for (got, want) in g.iter().zip(&r.gradients) {
            assert_eq!(got.n_batches, want.n_batches);
            assert!(same_bits(&got.mean, &want.mean));
            assert!(same_bits(&got.std, &want.std));
            assert!(same_bits(&got.value, &want.value));
        }
        for (p, want) in r.batch_gradients.iter().enumerate() {
            let got = a.batch_gradients(r.epoch, &format!("p{p}.weight")).unwrap();
            assert_eq!(got.dim(), want.dim());
            assert!(same_bits(got.as_slice().unwrap(), want.as_slice().unwrap()));
        }
    }
}

#[test]
fn parquet_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    write_full(&out, Backend::Parquet);
    let a = Archive::open(&out).unwrap();
    assert_eq!(a.backend(), Backend::Parquet);
    check_everything(&a);
}

#[test]
fn hdf5_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    write_full(&out, Backend::Hdf5);
    let a = Archive::open(&out).unwrap();
    assert_eq!(a.backend(), Backend::Hdf5);
    check_everything(&a);
}

#[test]
fn convert_both_ways_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p");
    write_full(&p, Backend::Parquet);
    let h = dir.path().join("h");
    let p2 = dir.path().join("p2");
    archive::convert(
        &Archive::open(&p).unwrap(),
        &h,
        Backend::Hdf5,
        Overwrite::Refuse,
    )
    .unwrap();
    let ha = Archive::open(&h).unwrap();
    assert_eq!(ha.backend(), Backend::Hdf5);
    check_everything(&ha);
    archive::convert(&ha, &p2, Backend::Parquet, Overwrite::Refuse).unwrap();
    let pa = Archive::open(&p2).unwrap();
    check_everything(&pa);
    let mut m1 = Archive::open(&p).unwrap().manifest().clone();
    let m2 = pa.manifest().clone();
    m1.run.name = m2.run.name.clone();
    assert_eq!(m1, m2);
}

#[test]
fn unknown_layer_and_epoch_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    write_full(&out, Backend::Parquet);
    let a = Archive::open(&out).unwrap();
    let d = out.display();
    assert_eq!(
        a.activations("fc9", 0).unwrap_err().to_string(),
        format!("{d}: no layer named 'fc9' (layers: fc1, conv, out)")
    );
    assert_eq!(
        a.activations("fc1", 1).unwrap_err().to_string(),
        format!("{d}: epoch 1 has no recorded activations (epochs with activations: 0, 2, 9)")
    );
    assert_eq!(
        a.gradients(3).unwrap_err().to_string(),
        format!("{d}: epoch 3 is not recorded (recorded epochs: 0-2, 5, 9)")
    );
}

#[test]
fn writer_refuses_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut w = ArchiveWriter::create(
        &out,
        Backend::Hdf5,
        spec(),
        &set(),
        Overwrite::Refuse,
        Publish::Immediately,
    )
    .unwrap();
    let d = out.display();
    let mut r = record(1);
    assert_eq!(
        w.commit_epoch(&r).unwrap_err().to_string(),
        format!("{d}: epoch 1 committed out of order: the next planned epoch is 0")
    );
    r = record(0);
    r.activations[1] = matrix(0, 0);
    assert_eq!(
        w.commit_epoch(&r).unwrap_err().to_string(),
        format!("{d}: epoch 0: layer 'conv' has shape (7, 4), expected (7, 6)")
    );
    r = record(0);
    r.gradients.pop();
    assert_eq!(
        w.commit_epoch(&r).unwrap_err().to_string(),
        format!("{d}: epoch 0: 1 gradient statistics given for 2 parameters")
    );
    // Nothing was committed by the refused records.
    w.commit_epoch(&record(0)).unwrap();
    drop(w);
    let a = Archive::open(&out).unwrap();
    assert_eq!(a.epochs(), vec![0]);
    assert!(!a.is_complete());
    assert_eq!(a.missing_epochs(), vec![1, 2, 5, 9]);
}

#[test]
fn existing_archives_are_refused_unless_forced_and_survive_failures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    write_full(&out, Backend::Parquet);
    let d = out.display();
    let err = ArchiveWriter::create(
        &out,
        Backend::Hdf5,
        spec(),
        &set(),
        Overwrite::Refuse,
        Publish::OnFinish,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{d}: already holds an infoplane archive (pass --force to replace it)")
    );
    // A forced all-or-nothing write that is abandoned leaves the old archive untouched.
    let mut w = ArchiveWriter::create(
        &out,
        Backend::Hdf5,
        spec(),
        &set(),
        Overwrite::Replace,
        Publish::OnFinish,
    )
    .unwrap();
    w.commit_epoch(&record(0)).unwrap();
    drop(w);
    check_everything(&Archive::open(&out).unwrap());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no staging left behind"
    );
    // A forced write that finishes replaces it.
    let mut w = ArchiveWriter::create(
        &out,
        Backend::Hdf5,
        spec(),
        &set(),
        Overwrite::Replace,
        Publish::OnFinish,
    )
    .unwrap();
    for slot in 0..PLAN.len() {
        w.commit_epoch(&record(slot)).unwrap();
    }
    w.finish().unwrap();
    let a = Archive::open(&out).unwrap();
    assert_eq!(a.backend(), Backend::Hdf5);
    check_everything(&a);
    // A directory that is not an archive is never written into, even with force.
    let other = dir.path().join("notes");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "x").unwrap();
    let err = ArchiveWriter::create(
        &other,
        Backend::Parquet,
        spec(),
        &set(),
        Overwrite::Replace,
        Publish::OnFinish,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: exists and is not an infoplane archive; refusing to write into it, with or without --force",
            other.display()
        )
    );
    assert!(other.join("keep.txt").exists());
}

#[test]
fn stopped_early_is_complete_with_missing_epochs() {
    let dir = tempfile::tempdir().unwrap();
    for backend in [Backend::Parquet, Backend::Hdf5] {
        let out = dir.path().join(backend.to_string());
        let mut w = ArchiveWriter::create(
            &out,
            backend,
            spec(),
            &set(),
            Overwrite::Refuse,
            Publish::Immediately,
        )
        .unwrap();
        w.commit_epoch(&record(0)).unwrap();
        w.commit_epoch(&record(1)).unwrap();
        w.finish().unwrap();
        let a = Archive::open(&out).unwrap();
        assert!(a.is_complete());
        assert_eq!(a.epochs(), vec![0, 1]);
        assert_eq!(a.missing_epochs(), vec![2, 5, 9]);
        let s = archive::Summary::of(&a).unwrap();
        assert_eq!(
            s.status(),
            "complete (stopped early: 2 of 5 planned epochs)"
        );
        let _ = EpochRecord::default();
    }
}
