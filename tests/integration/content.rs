//! Issue 26, item 1: content hashes. A flipped bit anywhere in any file of a Parquet or an HDF5
//! archive fails `verify` (and every reader of that file), naming the file; archives without
//! hashes still read and say so; the fingerprint depends on the data.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use super::common::*;
use infoplane::archive::{self, Archive, ArchiveWriter, Backend, Overwrite, Publish};

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `verify` of `out` (an archive that cannot even be opened counts): the problems.
fn problems(out: &Path) -> Vec<String> {
    match Archive::open(out) {
        Err(e) => vec![e.to_string()],
        Ok(a) => archive::verify::verify(&a, &mut |_, _| {}).problems,
    }
}

/// Offsets spread over a file of `len` bytes: every byte of short files, else the first and
/// last 64 and `spread` evenly spaced ones between them.
fn offsets(len: usize, spread: usize) -> Vec<usize> {
    if len <= 512 {
        return (0..len).collect();
    }
    let mut v: Vec<usize> = (0..64).chain(len - 64..len).collect();
    v.extend((0..spread).map(|k| 64 + k * (len - 128) / spread));
    v.sort_unstable();
    v.dedup();
    v
}

fn flip_everywhere(out: &Path, spread: usize) -> usize {
    assert!(problems(out).is_empty(), "{:?}", problems(out));
    let mut tried = 0;
    for file in files_of(out) {
        let good = std::fs::read(&file).unwrap();
        for (k, at) in offsets(good.len(), spread).into_iter().enumerate() {
            let mut bad = good.clone();
            bad[at] ^= 1 << (k % 8);
            std::fs::write(&file, &bad).unwrap();
            let found = problems(out);
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !found.is_empty(),
                "bit {} of byte {at} of {} flipped: verify passed",
                k % 8,
                file.display()
            );
            assert!(
                found.iter().any(|p| p.contains(&name)),
                "{}: {found:?}",
                file.display()
            );
            tried += 1;
        }
        std::fs::write(&file, &good).unwrap();
    }
    assert!(problems(out).is_empty());
    tried
}

#[test]
fn issue26_item01_a_flipped_bit_in_any_parquet_file_fails_verify() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    write_full(&out, Backend::Parquet);
    let tried = flip_everywhere(&out, 96);
    eprintln!("item01 (parquet): {tried} flips, every one refused");
}

#[test]
fn issue26_item01_a_flipped_bit_in_the_hdf5_file_fails_verify() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    write_full(&out, Backend::Hdf5);
    // data.h5 is small here (a few KB): every byte of it, and every bit across the bytes.
    let len = std::fs::metadata(out.join("data.h5")).unwrap().len() as usize;
    let tried = flip_everywhere(&out, len);
    eprintln!("item01 (hdf5): {tried} flips, every one refused");
}

#[test]
fn issue26_item01_readers_refuse_damaged_layers_and_name_the_file() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    write_full(&out, Backend::Parquet);
    let layer = out.join("epochs/epoch-000002/layer-001.parquet");
    let mut bytes = std::fs::read(&layer).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&layer, &bytes).unwrap();
    let a = Archive::open(&out).unwrap();
    let e = a.activations("conv", 2).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{}: does not match its content hash (crc32 ",
            layer.display()
        )),
        "{e}"
    );
    assert!(e.ends_with(
        "the data are damaged (a changed bit or a partial write); refusing to use them"
    ));
    // Other layers still read.
    assert_eq!(a.activations("fc1", 2).unwrap(), matrix(0, 2));

    let out = t.path().join("h5");
    write_full(&out, Backend::Hdf5);
    let a = Archive::open(&out).unwrap();
    drop(a);
    // A value of layer 0 at epoch 9 (activation slot 2) changed in place, through HDF5.
    let f = hdf5::File::open_rw(out.join("data.h5")).unwrap();
    f.dataset("activations/layer-000")
        .unwrap()
        .write_slice(
            &ndarray::Array2::from_elem((1, 1), 1.5f32),
            ndarray::s![2, 3..4, 1..2],
        )
        .unwrap();
    drop(f);
    let e = Archive::open(&out)
        .unwrap()
        .activations("fc1", 9)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}: dataset '/activations/layer-000' (epoch slot 4) does not match its content hash in /epochs/content",
            out.join("data.h5").display()
        )),
        "{e}"
    );
}

#[test]
fn issue26_item01_archives_without_hashes_read_and_verify_says_so() {
    let t = tempfile::tempdir().unwrap();
    for backend in [Backend::Parquet, Backend::Hdf5] {
        let out = t.path().join(backend.to_string());
        write_full(&out, backend);
        without_content_hashes(&out);
        let a = Archive::open(&out).unwrap();
        assert!(!a.has_content_hashes());
        assert_eq!(a.activations("fc1", 0).unwrap(), matrix(0, 0));
        let r = archive::verify::verify(&a, &mut |_, _| {});
        assert!(r.problems.is_empty(), "{r:?}");
        assert_eq!(
            r.notes,
            ["carries no content hashes (written before infoplane checked them): damage inside a data file can go unnoticed; `infoplane convert` writes a copy that has them"]
        );
        // A converted copy has them again and verifies clean.
        let copy = t.path().join(format!("{backend}-copy"));
        archive::convert(&a, &copy, backend, Overwrite::Refuse).unwrap();
        let c = Archive::open(&copy).unwrap();
        assert!(c.has_content_hashes());
        let r = archive::verify::verify(&c, &mut |_, _| {});
        assert!(r.problems.is_empty() && r.notes.is_empty(), "{r:?}");
    }
}

#[test]
fn issue26_item09_the_fingerprint_depends_on_the_data_and_not_on_completion() {
    let t = tempfile::tempdir().unwrap();
    for backend in [Backend::Parquet, Backend::Hdf5] {
        // Two archives with identical manifests but different activations.
        let a = t.path().join(format!("a-{backend}"));
        let b = t.path().join(format!("b-{backend}"));
        write_full(&a, backend);
        let mut w = ArchiveWriter::create(
            &b,
            backend,
            spec(),
            &set(),
            Overwrite::Refuse,
            Publish::Immediately,
        )
        .unwrap();
        let mut first = record(0);
        first.activations[0][[0, 0]] += 1.0;
        w.commit_epoch(&first).unwrap();
        // While recording: the fingerprint is already the one the finished archive has.
        let while_recording = Archive::open(&b).unwrap().fingerprint().unwrap();
        for slot in 1..PLAN.len() {
            w.commit_epoch(&record(slot)).unwrap();
        }
        w.finish().unwrap();
        let (fa, fb) = (
            Archive::open(&a).unwrap().fingerprint().unwrap(),
            Archive::open(&b).unwrap().fingerprint().unwrap(),
        );
        let mut ma = Archive::open(&a).unwrap().manifest().clone();
        let mb = Archive::open(&b).unwrap().manifest().clone();
        ma.run.name.clone_from(&mb.run.name);
        assert_eq!(ma.fingerprint(), mb.fingerprint(), "manifests agree");
        assert_ne!(fa, fb, "{backend}: different data, one fingerprint");
        assert_eq!(
            fb, while_recording,
            "{backend}: completion changed the fingerprint"
        );
    }
}
