//! "Readable without infoplane": pyarrow and h5py (in the project's venv) read archives of both
//! backends through `scripts/read_archive.py`, and every value matches infoplane's reader bit for bit.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::common::*;
use infoplane::archive::numpy::{self, Values};
use infoplane::archive::{Archive, Backend};

/// The venv's Python (`INFOPLANE_PYTHON` overrides); the README's set-up command creates it.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("INFOPLANE_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh (the README's set-up) first",
        p.display()
    );
    p
}

fn f32s(path: &Path) -> Vec<u32> {
    match numpy::read_npy(path).unwrap().values {
        Values::F32(v) => v.iter().map(|x| x.to_bits()).collect(),
        other => panic!("{}: not float32: {other:?}", path.display()),
    }
}

fn ints(path: &Path) -> Vec<i64> {
    match numpy::read_npy(path).unwrap().values {
        Values::Int(v) => v,
        other => panic!("{}: not integer: {other:?}", path.display()),
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn pyarrow_and_h5py_read_the_same_values() {
    let t = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/read_archive.py");
    for backend in [Backend::Parquet, Backend::Hdf5] {
        let dir = t.path().join(backend.to_string());
        write_full(&dir, backend);
        let out = t.path().join(format!("{backend}-py"));
        let status = Command::new(python())
            .arg(&script)
            .arg(&dir)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "{backend}: read_archive.py failed");
        let a = Archive::open(&dir).unwrap();
        let labels: Vec<i64> = a.labels().unwrap().into_iter().map(i64::from).collect();
        assert_eq!(ints(&out.join("labels.npy")), labels);
        let ids: Vec<i64> = a
            .sample_ids()
            .unwrap()
            .into_iter()
            .map(|i| i as i64)
            .collect();
        assert_eq!(ints(&out.join("sample_ids.npy")), ids);
        let x = a.inputs().unwrap().unwrap();
        assert_eq!(f32s(&out.join("inputs.npy")), bits(x.as_slice().unwrap()));
        let mut arrays = 0;
        for layer in a.layers() {
            for e in a.activation_epochs() {
                let z = a.activations(&layer.name, e).unwrap();
                let py = f32s(&out.join(format!("{}@{e}.npy", layer.name)));
                assert_eq!(
                    py,
                    bits(z.as_slice().unwrap()),
                    "{backend} {} @ {e}",
                    layer.name
                );
                arrays += 1;
            }
        }
        assert_eq!(arrays, 9);
        for e in a.epochs() {
            for (p, g) in a.manifest().parameters.iter().zip(a.gradients(e).unwrap()) {
                let f = |w: &str| f32s(&out.join(format!("gradients-{}@{e}-{w}.npy", p.name)));
                assert_eq!(f("mean"), bits(&g.mean));
                assert_eq!(f("std"), bits(&g.std));
                assert_eq!(f("value"), bits(&g.value));
            }
        }
        let metrics: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap())
                .unwrap();
        for (e, m) in a.metrics().unwrap() {
            let py = &metrics[e.to_string()];
            assert_eq!(
                py["train_loss"].as_f64(),
                m.train_loss,
                "{backend} epoch {e}"
            );
            assert_eq!(
                py["validation_loss"].as_f64(),
                m.validation_loss,
                "{backend} epoch {e}"
            );
            assert_eq!(
                py["wall_time_s"].as_f64(),
                m.wall_time_s,
                "{backend} epoch {e}"
            );
        }
    }
}
