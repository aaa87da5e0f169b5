//! Benchmark: time to read one 8000 x 1024 (layer, epoch) matrix from an archive, against a raw
//! read of the same 33 MB from a flat file, measured in the same run (page cache warm for both),
//! and the cost of the content-hash check: the same archive read with its hashes (checked) and
//! rewritten as an archive without them (an older archive: nothing checked). Goal (issue 26):
//! checked ≤ 1.10x unchecked.
//!
//! Run: `cargo bench --bench read_matrix` (or `scripts/bench.sh`). Prints medians and ratios.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use infoplane::archive::{
    AnalysisSet, Archive, ArchiveSpec, ArchiveWriter, Backend, EpochRecord, LayerInfo, LayerKind,
    Overwrite, PlannedEpoch, Publish, RunInfo,
};
use ndarray::Array2;

const N: usize = 8_000;
const H: usize = 1024;
const REPEATS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(mut f: impl FnMut() -> T) -> Duration {
    let _ = f(); // warm the page cache
    median(
        (0..REPEATS)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

/// One layer of N x H values at one epoch.
fn layout() -> (ArchiveSpec, AnalysisSet) {
    let spec = ArchiveSpec {
        run: RunInfo::default(),
        classes: vec!["a".into(), "b".into()],
        input_shape: None,
        analysis_description: String::new(),
        layers: vec![LayerInfo {
            name: "z".into(),
            kind: LayerKind::Linear,
            width: H,
            shape: None,
            activation: None,
        }],
        parameters: Vec::new(),
        batch_gradients: None,
        epochs: vec![PlannedEpoch {
            epoch: 0,
            activations: true,
        }],
    };
    let set = AnalysisSet {
        sample_ids: (0..N as u64).collect(),
        labels: (0..N as u32).map(|i| i % 2).collect(),
        label_name: None,
        label_sets: Vec::new(),
        inputs: None,
    };
    (spec, set)
}

fn main() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let z = Array2::from_shape_fn((N, H), |(i, h)| ((i * 31 + h * 7) % 1013) as f32 * 1e-3);
    let raw_path = tmp.path().join("raw.f32");
    let bytes: Vec<u8> = z.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&raw_path, &bytes).unwrap();
    drop(bytes);
    let raw = time(|| {
        let b = std::fs::read(&raw_path).unwrap();
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<f32>>()
    });
    let raw_bytes_only = time(|| std::fs::read(&raw_path).unwrap());
    println!(
        "read one {N} x {H} f32 matrix ({} MB), median of {REPEATS}",
        N * H * 4 / 1_000_000
    );
    println!(
        "  raw file read, bytes           {:>8.1} ms   (reference: std::fs::read of the same 33 MB)",
        raw_bytes_only.as_secs_f64() * 1e3
    );
    println!(
        "  raw file read into Vec<f32>    {:>8.1} ms   ratio {:.2}x (bytes, then decoded)",
        raw.as_secs_f64() * 1e3,
        raw.as_secs_f64() / raw_bytes_only.as_secs_f64()
    );
    let raw = raw_bytes_only;
    for backend in [Backend::Parquet, Backend::Hdf5] {
        let dir = tmp.path().join(backend.to_string());
        let (spec, set) = layout();
        let t = Instant::now();
        let mut w = ArchiveWriter::create(
            &dir,
            backend,
            spec,
            &set,
            Overwrite::Refuse,
            Publish::Immediately,
        )
        .unwrap();
        w.commit_epoch(&EpochRecord {
            epoch: 0,
            activations: vec![z.clone()],
            ..Default::default()
        })
        .unwrap();
        w.finish().unwrap();
        let write = t.elapsed();
        let archive = Archive::open(&dir).unwrap();
        let read = time(|| archive.activations("z", 0).unwrap());
        let open_and_read = time(|| Archive::open(&dir).unwrap().activations("z", 0).unwrap());
        assert_eq!(archive.activations("z", 0).unwrap(), z);
        println!(
            "  {backend:<8} read {:>8.1} ms  ratio {:.2}x | open+read {:>8.1} ms  ratio {:.2}x | write (with fsync) {:>7.1} ms",
            read.as_secs_f64() * 1e3,
            read.as_secs_f64() / raw.as_secs_f64(),
            open_and_read.as_secs_f64() * 1e3,
            open_and_read.as_secs_f64() / raw.as_secs_f64(),
            write.as_secs_f64() * 1e3,
        );
        let plain = tmp.path().join(format!("{backend}-unhashed"));
        copy_without_hashes(&dir, &plain);
        let unhashed = Archive::open(&plain).unwrap();
        assert!(!unhashed.has_content_hashes());
        let (checked, unchecked) = alternate(
            || archive.activations("z", 0).unwrap(),
            || unhashed.activations("z", 0).unwrap(),
        );
        println!(
            "  {backend:<8} read with content-hash check {:>6.1} ms, without (older archive) {:>6.1} ms: ratio {:.3}x (goal ≤ 1.10x)",
            checked.as_secs_f64() * 1e3,
            unchecked.as_secs_f64() * 1e3,
            checked.as_secs_f64() / unchecked.as_secs_f64(),
        );
    }
}

/// Medians of `a` and `b` timed alternately (so that both see the same machine state).
fn alternate<T, U>(mut a: impl FnMut() -> T, mut b: impl FnMut() -> U) -> (Duration, Duration) {
    let (_, _) = (a(), b());
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..3 * REPEATS {
        let t = Instant::now();
        std::hint::black_box(a());
        ta.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(b());
        tb.push(t.elapsed());
    }
    (median(ta), median(tb))
}

/// A copy of the archive `src` as an older infoplane wrote it: the same data files, JSON
/// records without content hashes or checksums.
fn copy_without_hashes(src: &std::path::Path, dst: &std::path::Path) {
    for entry in walk(src) {
        let rel = entry.strip_prefix(src).unwrap();
        let to = dst.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        if entry.extension().is_some_and(|e| e == "json") {
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
            for k in ["content", "checksum", "files", "committed_epochs"] {
                v.as_object_mut().unwrap().remove(k);
            }
            std::fs::write(&to, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        } else {
            std::fs::copy(&entry, &to).unwrap();
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
