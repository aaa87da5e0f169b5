//! Regression tests for the hostile-input campaign (issue 11) that need an archive's insides:
//! HDF5 links and types, commit records, corrupt Parquet footers, labels outside the classes,
//! inconsistent epoch records, tables from other tools, and a reader beside a live writer.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::common::*;
use infoplane::archive::{
    self, Archive, ArchiveSpec, ArchiveWriter, Backend, EpochRecord, LayerInfo, LayerKind,
    Overwrite, PlannedEpoch, Publish, RunInfo,
};
use infoplane::estimator::pairwise::sigma::SigmaSpec;
use infoplane::run::{estimate_archive, EstimateRequest};

fn archive_in(dir: &Path, backend: Backend) -> PathBuf {
    let out = dir.join(format!("{backend}"));
    write_full(&out, backend);
    out
}

/// Opens `data.h5` for editing, and removes the manifest's metadata checksum and content
/// hashes (as an archive from an older infoplane, or one laid out by another tool, has none),
/// so that the deeper checks behind them are what the test reaches.
fn h5(out: &Path) -> hdf5::File {
    without_content_hashes(out);
    let path = out.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m.as_object_mut().unwrap().remove("hdf5_metadata");
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    hdf5::File::open_rw(out.join("data.h5")).unwrap()
}

fn open_err(out: &Path) -> String {
    Archive::open(out).unwrap_err().to_string()
}

#[test]
fn item08_hdf5_metadata_is_checked_before_the_library_parses_it() {
    let t = tempfile::tempdir().unwrap();
    let out = archive_in(t.path(), Backend::Hdf5);
    let data = out.join("data.h5");
    let good = std::fs::read(&data).unwrap();
    let m = Archive::open(&out)
        .unwrap()
        .manifest()
        .hdf5_metadata
        .clone()
        .unwrap();
    assert_eq!(m.file_len, good.len() as u64);
    // A byte of metadata (the root group's B-tree, past the superblock) changed: refused
    // before libhdf5 sees it. One of raw data changed: read as it is.
    let mut bad = good.clone();
    bad[100] ^= 0x40;
    std::fs::write(&data, &bad).unwrap();
    assert_eq!(
        open_err(&out),
        format!(
            "{}: its HDF5 metadata does not match the checksum in the manifest; the file is damaged (refusing to hand it to the HDF5 library)",
            data.display()
        )
    );
    let raw = m.skipped.iter().find(|r| r[0] > 24).unwrap()[0] as usize;
    let mut bad = good.clone();
    bad[raw] ^= 0x40;
    std::fs::write(&data, &bad).unwrap();
    Archive::open(&out).unwrap();
    // Links added with the HDF5 library change the metadata too.
    std::fs::write(&data, &good).unwrap();
    let f = hdf5::File::open_rw(&data).unwrap();
    f.unlink("samples/label").unwrap();
    f.link_soft("/samples/sample_id", "samples/label").unwrap();
    drop(f);
    assert!(open_err(&out).contains("does not match the checksum"));
}

#[test]
fn item08_hdf5_links_and_foreign_storage_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let out = archive_in(t.path(), Backend::Hdf5);
    let data = out.join("data.h5");
    // A soft link in place of the labels.
    let f = h5(&out);
    f.unlink("samples/label").unwrap();
    f.link_soft("/samples/sample_id", "samples/label").unwrap();
    drop(f);
    assert_eq!(
        open_err(&out),
        format!(
            "{}: '/samples/label' is a soft link; archives hold their data in this file, refusing to follow it",
            data.display()
        )
    );
    // An external link to another file.
    let other = t.path().join("secret.h5");
    let g = hdf5::File::create(&other).unwrap();
    g.new_dataset::<u32>().shape([N]).create("label").unwrap();
    drop(g);
    let f = h5(&out);
    f.unlink("samples/label").unwrap();
    f.link_external(other.to_str().unwrap(), "label", "samples/label")
        .unwrap();
    drop(f);
    assert_eq!(
        open_err(&out),
        format!(
            "{}: '/samples/label' is an external link; archives hold their data in this file, refusing to follow it",
            data.display()
        )
    );
}

#[test]
fn item08_hdf5_datasets_with_external_raw_storage_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let out = archive_in(t.path(), Backend::Hdf5);
    std::fs::write(t.path().join("raw.bin"), vec![0u8; N * 4]).unwrap();
    let f = h5(&out);
    f.unlink("samples/label").unwrap();
    let raw = t.path().join("raw.bin");
    f.group("samples")
        .unwrap()
        .new_dataset::<u32>()
        .shape([N])
        .external(raw.to_str().unwrap(), 0, N * 4)
        .create("label")
        .unwrap();
    drop(f);
    let a = Archive::open(&out).unwrap();
    assert_eq!(
        a.labels().unwrap_err().to_string(),
        format!(
            "{}: dataset '/samples/label' draws its data from other files (virtual or external storage); refusing to read it",
            out.join("data.h5").display()
        )
    );
}

#[test]
fn item10_labels_beyond_the_classes_are_refused_on_read() {
    let t = tempfile::tempdir().unwrap();
    // HDF5: one label overwritten in place.
    let out = archive_in(t.path(), Backend::Hdf5);
    let f = h5(&out);
    f.dataset("samples/label")
        .unwrap()
        .write_slice(&[u32::MAX], ndarray::s![3..4])
        .unwrap();
    drop(f);
    let a = Archive::open(&out).unwrap();
    let expected = format!(
        "{}: label 4294967295 of sample 3 is not below the number of classes (3) in the manifest",
        out.join("data.h5").display()
    );
    assert_eq!(a.labels().unwrap_err().to_string(), expected);
    let mut req = EstimateRequest::new(&["kl"]);
    req.params.pairwise.sigma2 = SigmaSpec::parse("0.1").unwrap();
    let e = estimate_archive(&a, &req, &mut |_, _| {}, None).unwrap_err();
    assert_eq!(e.to_string(), expected);
    // Parquet: samples.parquet rewritten with label 99.
    let out = archive_in(t.path(), Backend::Parquet);
    without_content_hashes(&out);
    let mut labels: Vec<u32> = set().labels;
    labels[5] = 99;
    write_samples(
        &out,
        (0..N as u64).map(Some).collect(),
        labels.into_iter().map(Some).collect(),
    );
    assert_eq!(
        Archive::open(&out)
            .unwrap()
            .labels()
            .unwrap_err()
            .to_string(),
        format!(
            "{}: label 99 of sample 5 is not below the number of classes (3) in the manifest",
            out.join("samples.parquet").display()
        )
    );
}

fn write_samples(out: &Path, ids: Vec<Option<u64>>, labels: Vec<Option<u32>>) {
    use arrow::array::{RecordBatch, UInt32Array, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::UInt64, true),
        Field::new("label", DataType::UInt32, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(UInt64Array::from(ids)),
            Arc::new(UInt32Array::from(labels)),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(out.join("samples.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn item14_an_hdf5_commit_record_longer_than_the_plan_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let out = archive_in(t.path(), Backend::Hdf5);
    let f = h5(&out);
    f.unlink("epochs/committed").unwrap();
    f.group("epochs")
        .unwrap()
        .new_dataset::<u8>()
        .shape([PLAN.len() + 3])
        .create("committed")
        .unwrap()
        .write(&vec![1u8; PLAN.len() + 3])
        .unwrap();
    drop(f);
    assert_eq!(
        open_err(&out),
        format!(
            "{}: /epochs/committed has 8 slots for 5 planned epochs",
            out.join("data.h5").display()
        )
    );
}

#[test]
fn item15_corrupt_parquet_footers_never_panic() {
    let t = tempfile::tempdir().unwrap();
    let out = archive_in(t.path(), Backend::Parquet);
    without_content_hashes(&out);
    let path = out.join("samples.parquet");
    let good = std::fs::read(&path).unwrap();
    let (mut errors, mut decoder_failures) = (0, 0);
    for pos in good.len().saturating_sub(300)..good.len() - 4 {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[pos] ^= mask;
            std::fs::write(&path, &bad).unwrap();
            let r = Archive::open(&out).and_then(|a| {
                a.labels()?;
                a.sample_ids()
            });
            if let Err(e) = r {
                let e = e.to_string();
                assert!(e.starts_with(&path.display().to_string()), "{e}");
                errors += 1;
                decoder_failures += usize::from(e.contains("its decoder failed"));
            }
        }
    }
    eprintln!(
        "item15: {errors} of 888 footer mutations refused, {decoder_failures} of them by a caught decoder panic"
    );
    assert!(errors > 0);
    // A page-header byte that makes parquet 60 panic ("Decoder for dict should have been
    // set"), found by trying every value at every offset of this file.
    let mut bad = good.clone();
    bad[14] = 4;
    std::fs::write(&path, &bad).unwrap();
    assert_eq!(
        Archive::open(&out)
            .unwrap()
            .labels()
            .unwrap_err()
            .to_string(),
        format!(
            "{}: corrupt Parquet file: its decoder failed (Decoder for dict should have been set)",
            path.display()
        )
    );
}

#[test]
fn item22_inconsistent_archives_are_refused() {
    let t = tempfile::tempdir().unwrap();
    // Swapped epoch directories: each one's epoch record names the other epoch.
    let out = archive_in(t.path(), Backend::Parquet);
    let e = out.join("epochs");
    std::fs::rename(e.join("epoch-000000"), e.join("swap")).unwrap();
    std::fs::rename(e.join("epoch-000002"), e.join("epoch-000000")).unwrap();
    std::fs::rename(e.join("swap"), e.join("epoch-000002")).unwrap();
    let a = Archive::open(&out).unwrap();
    assert_eq!(
        a.activations("fc1", 0).unwrap_err().to_string(),
        format!(
            "{}: records epoch 2 inside the directory of epoch 0",
            e.join("epoch-000000/epoch.json").display()
        )
    );
    // Null sample ids and labels.
    let out = t.path().join("nulls");
    write_full(&out, Backend::Parquet);
    without_content_hashes(&out);
    let mut ids: Vec<Option<u64>> = (0..N as u64).map(Some).collect();
    ids[2] = None;
    write_samples(&out, ids, set().labels.into_iter().map(Some).collect());
    assert_eq!(
        Archive::open(&out)
            .unwrap()
            .labels()
            .unwrap_err()
            .to_string(),
        format!(
            "{}: column 'sample_id' has 1 missing values",
            out.join("samples.parquet").display()
        )
    );
    // HDF5: activation epochs that disagree with the plan; labels stored as floats or signed.
    let out = archive_in(t.path(), Backend::Hdf5);
    let data = out.join("data.h5");
    h5(&out)
        .dataset("activations/epoch")
        .unwrap()
        .write(&[0u32, 2, 5])
        .unwrap();
    assert_eq!(
        open_err(&out),
        format!(
            "{}: /activations/epoch does not match the epochs the manifest plans activations for",
            data.display()
        )
    );
    h5(&out)
        .dataset("activations/epoch")
        .unwrap()
        .write(&[0u32, 2, 9])
        .unwrap();
    for (kind, stored) in [("f32", "float32"), ("i32", "int32")] {
        let f = h5(&out);
        f.unlink("samples/label").unwrap();
        let g = f.group("samples").unwrap();
        match kind {
            "f32" => g
                .new_dataset::<f32>()
                .shape([N])
                .create("label")
                .unwrap()
                .write(&vec![1.7f32; N])
                .unwrap(),
            _ => g
                .new_dataset::<i32>()
                .shape([N])
                .create("label")
                .unwrap()
                .write(&vec![-1i32; N])
                .unwrap(),
        }
        drop(g);
        drop(f);
        assert_eq!(
            Archive::open(&out)
                .unwrap()
                .labels()
                .unwrap_err()
                .to_string(),
            format!(
                "{}: dataset '/samples/label' stores {stored}, expected uint32",
                data.display()
            )
        );
    }
}

#[test]
fn item23_parquet_tables_compressed_by_other_tools_are_read() {
    use infoplane::table::{frame, Table, Values};
    use parquet::basic::{Compression, ZstdLevel};
    let t = tempfile::tempdir().unwrap();
    let mut df = frame(vec![
        ("x", Values::F64(vec![0.5, 1.5])),
        ("s", Values::Str(vec!["a".into(), "b".into()])),
    ])
    .unwrap();
    let plain = t.path().join("plain.parquet");
    infoplane::table::write(&mut df, &plain).unwrap();
    let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&plain).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap()
    .next()
    .unwrap()
    .unwrap();
    for (name, codec) in [
        ("snappy", Compression::SNAPPY),
        ("zstd", Compression::ZSTD(ZstdLevel::default())),
        ("lz4", Compression::LZ4_RAW),
        ("gzip", Compression::GZIP(Default::default())),
    ] {
        let p = t.path().join(format!("{name}.parquet"));
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(codec)
            .build();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&p).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let back = Table::read(&p).unwrap();
        assert_eq!(back.f64s("x").unwrap().unwrap(), [0.5, 1.5], "{name}");
        assert_eq!(back.strs("s").unwrap().unwrap(), ["a", "b"], "{name}");
    }
}

#[test]
fn item23_names_hdf5_cannot_store_are_refused_before_writing() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    let mut s = spec();
    s.layers[1].name = "a\0b".into();
    let e = ArchiveWriter::create(
        &out,
        Backend::Hdf5,
        s,
        &set(),
        Overwrite::Refuse,
        Publish::OnFinish,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: layer name 'a\\x00b' holds the control character '\\0'; names must be printable",
            out.display()
        )
    );
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
}

#[test]
fn item26_verify_lists_every_damaged_file() {
    let t = tempfile::tempdir().unwrap();
    for backend in [Backend::Parquet, Backend::Hdf5] {
        let out = archive_in(t.path(), backend);
        let ok = archive::verify::verify(&Archive::open(&out).unwrap(), &mut |_, _| {});
        assert_eq!(
            (ok.epochs, ok.matrices, ok.gradient_records, ok.nonfinite),
            (5, 9, 5, 2)
        );
        assert!(ok.problems.is_empty() && ok.notes.is_empty(), "{ok:?}");
    }
    let out = t.path().join("parquet");
    std::fs::remove_file(out.join("epochs/epoch-000005/gradients.parquet")).unwrap();
    std::fs::write(
        out.join("epochs/epoch-000009/layer-002.parquet"),
        b"PAR1junk",
    )
    .unwrap();
    std::fs::create_dir(out.join("epochs/.tmp-epoch-000011")).unwrap();
    let r = archive::verify::verify(&Archive::open(&out).unwrap(), &mut |_, _| {});
    assert_eq!(r.problems.len(), 2, "{r:?}");
    assert_eq!(
        r.problems[0],
        format!(
            "{}: missing from the archive",
            out.join("epochs/epoch-000005/gradients.parquet").display()
        )
    );
    assert!(r.problems[1].starts_with(&format!(
        "{}: is 8 bytes long, its content hash says",
        out.join("epochs/epoch-000009/layer-002.parquet").display()
    )));
    assert_eq!(
        r.notes,
        [format!(
            "{}: an epoch whose writer stopped before committing it (harmless; never read)",
            out.join("epochs/.tmp-epoch-000011").display()
        )]
    );
}

// Item 21: readers beside a live HDF5 writer in another process.

const LIVE_N: usize = 400;
const LIVE_EPOCHS: u32 = 150;

fn live_value(epoch: u32, i: usize, h: usize) -> f32 {
    (epoch as f32 * 0.01 + i as f32 * 0.1 + h as f32).sin()
}

/// The writer: runs only in the child process started by the reader test.
#[test]
fn item21_writer_child() {
    let Ok(dir) = std::env::var("INFOPLANE_TEST_LIVE_WRITER") else {
        return;
    };
    let spec = ArchiveSpec {
        run: RunInfo::default(),
        classes: vec!["a".into(), "b".into()],
        input_shape: None,
        analysis_description: "all".into(),
        layers: vec![LayerInfo {
            name: "z".into(),
            kind: LayerKind::Linear,
            width: 64,
            shape: None,
            activation: None,
        }],
        parameters: Vec::new(),
        batch_gradients: None,
        epochs: (0..LIVE_EPOCHS)
            .map(|epoch| PlannedEpoch {
                epoch,
                activations: true,
            })
            .collect(),
    };
    let set = archive::AnalysisSet {
        sample_ids: (0..LIVE_N as u64).collect(),
        labels: (0..LIVE_N as u32).map(|i| i % 2).collect(),
        label_name: None,
        label_sets: Vec::new(),
        inputs: None,
    };
    let mut w = ArchiveWriter::create(
        Path::new(&dir),
        Backend::Hdf5,
        spec,
        &set,
        Overwrite::Refuse,
        Publish::Immediately,
    )
    .unwrap();
    for epoch in 0..LIVE_EPOCHS {
        let z = ndarray::Array2::from_shape_fn((LIVE_N, 64), |(i, h)| live_value(epoch, i, h));
        w.commit_epoch(&EpochRecord {
            epoch,
            activations: vec![z],
            ..Default::default()
        })
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    w.finish().unwrap();
}

#[test]
fn item21_hdf5_archives_read_while_being_written() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("live");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["hostile::item21_writer_child", "--exact", "--nocapture"])
        .env("INFOPLANE_TEST_LIVE_WRITER", &out)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut reads = 0;
    loop {
        let finished = child.try_wait().unwrap().is_some();
        if out.join("manifest.json").exists() {
            let a = Archive::open(&out).unwrap();
            if let Some(&last) = a.epochs().last() {
                let z = a.activations("z", last).unwrap();
                assert_eq!(z[[7, 3]].to_bits(), live_value(last, 7, 3).to_bits());
                assert_eq!(a.labels().unwrap().len(), LIVE_N);
                reads += 1;
            }
        }
        if finished {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
    assert!(Archive::open(&out).unwrap().is_complete());
    eprintln!("item21: {reads} reads beside the writer, all consistent");
    assert!(reads >= 20, "only {reads} reads overlapped the writer");
}
