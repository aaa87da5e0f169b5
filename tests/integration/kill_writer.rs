//! Crash-safety test: a writer process is SIGKILLed at random moments, again and again, and the
//! archive it leaves must open, expose only whole epochs (bit-exact) and report itself incomplete.
//!
//! The writers are this test binary run again with `INFOPLANE_KILL_CHILD=DIR:BACKEND`, which
//! makes [`writer_child`] write an archive (and every other test do nothing).
//! `INFOPLANE_KILL_SEED` replays a run.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use infoplane::archive::{
    AnalysisSet, Archive, ArchiveSpec, ArchiveWriter, Backend, EpochMetrics, EpochRecord,
    GradientStats, LayerInfo, LayerKind, Overwrite, ParameterInfo, PlannedEpoch, Publish, RunInfo,
    Summary,
};
use ndarray::Array2;

const N: usize = 300;
const WIDTHS: [usize; 3] = [256, 128, 16];
const EPOCHS: u32 = 30;
const PARAM: usize = 512;
const KILLS_PER_BACKEND: usize = 40;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Arbitrary bit patterns (NaNs and infinities included) per (layer, epoch, index).
fn value(layer: usize, epoch: u32, k: usize) -> f32 {
    let h = splitmix(((layer as u64) << 56) ^ ((epoch as u64) << 40) ^ k as u64);
    f32::from_bits((h >> 32) as u32)
}

fn spec() -> ArchiveSpec {
    ArchiveSpec {
        run: RunInfo {
            model: "kill-test".into(),
            dataset: "synthetic".into(),
            ..RunInfo::default()
        },
        classes: vec!["a".into(), "b".into()],
        input_shape: None,
        analysis_description: "all".into(),
        layers: WIDTHS
            .iter()
            .enumerate()
            .map(|(i, &w)| LayerInfo {
                name: format!("l{i}"),
                kind: LayerKind::Linear,
                width: w,
                shape: None,
                activation: None,
            })
            .collect(),
        parameters: vec![ParameterInfo {
            name: "w".into(),
            shape: vec![PARAM],
            layer: None,
        }],
        batch_gradients: None,
        epochs: (0..EPOCHS)
            .map(|epoch| PlannedEpoch {
                epoch,
                activations: true,
            })
            .collect(),
    }
}

fn record(epoch: u32) -> EpochRecord {
    EpochRecord {
        epoch,
        metrics: EpochMetrics {
            train_loss: Some(epoch as f64 * 0.5),
            ..EpochMetrics::default()
        },
        activations: WIDTHS
            .iter()
            .enumerate()
            .map(|(l, &w)| Array2::from_shape_fn((N, w), |(i, h)| value(l, epoch, i * w + h)))
            .collect(),
        gradients: vec![GradientStats {
            n_batches: epoch,
            mean: (0..PARAM).map(|k| value(10, epoch, k)).collect(),
            std: (0..PARAM).map(|k| value(11, epoch, k)).collect(),
            value: (0..PARAM).map(|k| value(12, epoch, k)).collect(),
        }],
        batch_gradients: Vec::new(),
    }
}

fn child(dir: &Path, backend: Backend) {
    let set = AnalysisSet {
        sample_ids: (0..N as u64).collect(),
        labels: (0..N as u32).map(|i| i % 2).collect(),
        label_name: None,
        label_sets: Vec::new(),
        inputs: None,
    };
    let mut w = ArchiveWriter::create(
        dir,
        backend,
        spec(),
        &set,
        Overwrite::Refuse,
        Publish::Immediately,
    )
    .unwrap();
    for e in 0..EPOCHS {
        w.commit_epoch(&record(e)).unwrap();
    }
    w.finish().unwrap();
}

fn bits_equal(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Checks what a killed writer left; returns the number of committed epochs (None: no archive).
fn verify(dir: &Path, finished: bool) -> Result<Option<usize>, String> {
    if !dir.exists() {
        if finished {
            return Err("the writer finished but no archive exists".into());
        }
        return Ok(None);
    }
    let a = Archive::open(dir).map_err(|e| format!("cannot open: {e}"))?;
    let epochs = a.epochs();
    if epochs != (0..epochs.len() as u32).collect::<Vec<_>>() {
        return Err(format!("committed epochs are not a prefix: {epochs:?}"));
    }
    let status = Summary::of(&a).map_err(|e| e.to_string())?.status();
    // A writer killed after finish() but before exiting legitimately leaves a complete archive.
    if finished && !a.is_complete() {
        return Err(format!("the writer finished but status is {status}"));
    }
    if !a.is_complete() && !status.starts_with("INCOMPLETE") {
        return Err(format!("unfinished archive but status is {status}"));
    }
    if a.is_complete() && epochs.len() != EPOCHS as usize {
        return Err("complete archive is missing epochs".into());
    }
    let metrics = a.metrics().map_err(|e| e.to_string())?;
    for &e in &epochs {
        let want = record(e);
        for (l, m) in want.activations.iter().enumerate() {
            let got = a
                .activations_at(l, e)
                .map_err(|err| format!("epoch {e} layer {l}: {err}"))?;
            if !bits_equal(got.as_slice().unwrap(), m.as_slice().unwrap()) {
                return Err(format!("epoch {e} layer {l}: values differ"));
            }
        }
        let g = a.gradients(e).map_err(|err| err.to_string())?;
        let w = &want.gradients[0];
        if g[0].n_batches != w.n_batches
            || !bits_equal(&g[0].mean, &w.mean)
            || !bits_equal(&g[0].std, &w.std)
            || !bits_equal(&g[0].value, &w.value)
        {
            return Err(format!("epoch {e}: gradient statistics differ"));
        }
        if metrics[e as usize] != (e, want.metrics) {
            return Err(format!("epoch {e}: metrics differ"));
        }
    }
    Ok(Some(epochs.len()))
}

/// The writer, in the child process only.
#[test]
fn writer_child() {
    let Ok(spec) = std::env::var("INFOPLANE_KILL_CHILD") else {
        return;
    };
    let (dir, backend) = spec.rsplit_once(':').unwrap();
    child(Path::new(dir), backend.parse().unwrap());
}

/// Starts a writer process for `dir`.
fn writer(exe: &Path, dir: &Path, backend: Backend) -> Command {
    let mut c = Command::new(exe);
    c.args(["kill_writer::writer_child", "--exact", "--quiet"])
        .env(
            "INFOPLANE_KILL_CHILD",
            format!("{}:{backend}", dir.display()),
        )
        .stdout(std::process::Stdio::null());
    c
}

#[test]
fn writers_killed_at_random_moments_leave_whole_epochs() {
    let exe = std::env::current_exe().unwrap();
    let seed: u64 = std::env::var("INFOPLANE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("kill_writer: seed {seed} (replay with INFOPLANE_KILL_SEED={seed})");
    let mut rng = seed;
    let (mut passed, mut failed) = (0, 0);
    let tmp = tempfile::tempdir().unwrap();
    for backend in [Backend::Parquet, Backend::Hdf5] {
        // One uninterrupted run gives the time span to kill within.
        let full = tmp.path().join(format!("{backend}-full"));
        let t0 = Instant::now();
        let status = writer(&exe, &full, backend).status().unwrap();
        let span = t0.elapsed();
        match (status.success(), verify(&full, true)) {
            (true, Ok(Some(n))) if n == EPOCHS as usize => passed += 1,
            (ok, r) => {
                println!("FAIL {backend}: uninterrupted writer (exit ok {ok}): {r:?}");
                failed += 1;
            }
        }
        println!("{backend}: an uninterrupted writer takes {span:?}");
        let mut seen = Vec::new();
        for k in 0..KILLS_PER_BACKEND {
            rng = splitmix(rng);
            let delay = span.mul_f64((rng >> 11) as f64 / (1u64 << 53) as f64 * 1.05);
            let dir = tmp.path().join(format!("{backend}-{k}"));
            let mut c = writer(&exe, &dir, backend).spawn().unwrap();
            std::thread::sleep(delay);
            let _ = c.kill(); // SIGKILL
            let finished = c.wait().unwrap().success();
            match verify(&dir, finished) {
                Ok(n) => {
                    passed += 1;
                    seen.push(n.map_or(-1, |n| n as i64));
                }
                Err(e) => {
                    println!("FAIL {backend} kill {k} after {delay:?}: {e}");
                    failed += 1;
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
            std::thread::sleep(Duration::from_millis(5));
        }
        println!("{backend}: committed epochs seen after each kill (-1: before the archive existed): {seen:?}");
    }
    println!("kill_writer: {passed} passed, {failed} failed");
    assert_eq!(failed, 0, "see the FAIL lines above (seed {seed})");
}
