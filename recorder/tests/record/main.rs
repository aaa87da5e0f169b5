//! End-to-end tests of `infoplane-record`: every model records a few epochs on the committed
//! fixtures (`fixtures/datasets`) into both backends and reads back with the expected layers,
//! shapes, metrics and gradient statistics; recordings are reproducible; the stored parameters
//! reproduce the stored activations; Ctrl-C closes the archive cleanly; bad input is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use infoplane::archive::{Archive, LayerKind, Summary};
use ndarray::{Array1, Array2, Axis};

mod hostile;
mod stream;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_infoplane-record"))
}

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/datasets")
        .join(p)
}

fn record(args: &[&str], out: &Path) -> Output {
    let out = bin()
        .args(args)
        .args(["--quiet", "--threads", "1", "--out"])
        .arg(out)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Case {
    args: Vec<String>,
    layers: Vec<(&'static str, LayerKind, usize)>,
    n: usize,
    batches: u32,
    input_shape: Vec<usize>,
}

fn cases() -> Vec<Case> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let dir = |p: &str| fixture(p).display().to_string();
    vec![
        Case {
            args: s(&[
                "--model",
                "fcn",
                "--dataset",
                "tishby",
                "--hidden",
                "6,4",
                "--batch-size",
                "1024",
            ]),
            layers: vec![
                ("fc1", LayerKind::Linear, 6),
                ("fc2", LayerKind::Linear, 4),
                ("output", LayerKind::Output, 2),
            ],
            n: 4096,
            batches: 4, // 3277 training samples in batches of 1024
            input_shape: vec![12],
        },
        Case {
            args: [
                s(&[
                    "--model",
                    "lenet",
                    "--dataset",
                    "mnist",
                    "--subset",
                    "100",
                    "--batch-size",
                    "32",
                    "--data-dir",
                ]),
                vec![dir("mnist")],
            ]
            .concat(),
            layers: vec![
                ("conv1", LayerKind::Conv, 1440),
                ("conv2", LayerKind::Conv, 320),
                ("fc1", LayerKind::Linear, 50),
                ("output", LayerKind::Output, 10),
            ],
            n: 100,
            batches: 4,
            input_shape: vec![1, 28, 28],
        },
        Case {
            args: [
                s(&[
                    "--model",
                    "rnn",
                    "--dataset",
                    "names",
                    "--hidden",
                    "16,8",
                    "--per-class",
                    "10",
                    "--data-dir",
                ]),
                vec![dir("names")],
            ]
            .concat(),
            layers: vec![
                ("rnn1", LayerKind::Recurrent, 16),
                ("rnn2", LayerKind::Recurrent, 8),
                ("output", LayerKind::Output, 3),
            ],
            n: 30,
            batches: 1, // 24 training names, batch 32
            input_shape: vec![12, 57],
        },
        Case {
            args: [
                s(&[
                    "--model",
                    "gcn",
                    "--dataset",
                    "cora",
                    "--hidden",
                    "8,8,8",
                    "--split",
                    "random:0.5",
                    "--data-dir",
                ]),
                vec![dir("cora_linqs")],
            ]
            .concat(),
            layers: vec![
                ("gcn1", LayerKind::Graph, 8),
                ("gcn2", LayerKind::Graph, 8),
                ("gcn3", LayerKind::Graph, 8),
                ("output", LayerKind::Output, 3),
            ],
            n: 45,
            batches: 1, // full batch
            input_shape: vec![20],
        },
        Case {
            args: [
                s(&[
                    "--model",
                    "fcn",
                    "--dataset",
                    "names",
                    "--hidden",
                    "10",
                    "--per-class",
                    "10",
                    "--data-dir",
                ]),
                vec![dir("names")],
            ]
            .concat(),
            layers: vec![
                ("fc1", LayerKind::Linear, 10),
                ("output", LayerKind::Output, 3),
            ],
            n: 30,
            batches: 1,
            input_shape: vec![12, 57],
        },
    ]
}

#[test]
fn every_model_records_into_both_backends() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (i, case) in cases().iter().enumerate() {
        for format in ["parquet", "hdf5"] {
            let out = tmp.path().join(format!("run{i}-{format}"));
            let mut args: Vec<&str> = case.args.iter().map(String::as_str).collect();
            args.extend(["--epochs", "2", "--format", format]);
            record(&args, &out);
            let a = Archive::open(&out).expect("open");
            let what = format!("{} ({format})", case.args[1]);
            assert!(a.is_complete(), "{what}");
            let got: Vec<(&str, LayerKind, usize)> = a
                .layers()
                .iter()
                .map(|l| (l.name.as_str(), l.kind, l.width))
                .collect();
            assert_eq!(got, case.layers, "{what}");
            assert_eq!(a.n_samples(), case.n, "{what}");
            assert_eq!(a.epochs(), [0, 1, 2], "{what}");
            assert_eq!(a.activation_epochs(), [0, 1, 2], "{what}");
            assert_eq!(
                a.manifest().analysis_set.input_shape.as_deref(),
                Some(&case.input_shape[..]),
                "{what}"
            );
            let x = a.inputs().expect("inputs").expect("stored");
            assert_eq!(
                x.dim(),
                (case.n, case.input_shape.iter().product()),
                "{what}"
            );
            for (li, l) in a.layers().iter().enumerate() {
                for e in [0, 2] {
                    let z = a.activations_at(li, e).expect("activations");
                    assert_eq!(z.dim(), (case.n, l.width), "{what} {} epoch {e}", l.name);
                    assert!(z.iter().all(|v| v.is_finite()));
                }
            }
            // Training changes the representation.
            assert_ne!(
                a.activations_at(0, 0).expect("z"),
                a.activations_at(0, 2).expect("z"),
                "{what}"
            );
            let metrics = a.metrics().expect("metrics");
            assert_eq!(metrics.len(), 3);
            for (_, m) in &metrics {
                for v in [m.train_accuracy, m.validation_accuracy] {
                    let v = v.expect("accuracy recorded");
                    assert!((0.0..=1.0).contains(&v), "{what}: accuracy {v}");
                }
                assert!(m.train_loss.expect("loss") > 0.0);
                assert!(m.wall_time_s.expect("time") >= 0.0);
            }
            let params = &a.manifest().parameters;
            assert!(!params.is_empty());
            let g0 = a.gradients(0).expect("gradients");
            let g2 = a.gradients(2).expect("gradients");
            for ((p, s0), s2) in params.iter().zip(&g0).zip(&g2) {
                assert_eq!(s0.n_batches, 0);
                assert!(s0.mean.iter().all(|v| v.is_nan()));
                assert_eq!(s2.n_batches, case.batches, "{what} {}", p.name);
                assert_eq!(s2.mean.len(), p.size());
                assert_eq!(s2.value.len(), p.size());
                assert!(s2.std.iter().all(|&v| v >= 0.0));
                assert_ne!(s0.value, s2.value, "{what}: {} did not change", p.name);
            }
        }
    }
}

#[test]
fn same_seed_and_threads_give_identical_recordings() {
    let tmp = tempfile::tempdir().expect("tmp");
    let args = [
        "--model",
        "fcn",
        "--hidden",
        "8,5",
        "--epochs",
        "3",
        "--batch-size",
        "512",
    ];
    let run = |name: &str, seed: &str| {
        let out = tmp.path().join(name);
        let mut a = args.to_vec();
        a.extend(["--seed", seed]);
        record(&a, &out);
        Archive::open(&out).expect("open")
    };
    let (a, b, c) = (run("a", "4"), run("b", "4"), run("c", "5"));
    for e in 0..=3 {
        for l in 0..3 {
            let za = a.activations_at(l, e).expect("z");
            let zb = b.activations_at(l, e).expect("z");
            let bits = |z: &Array2<f32>| z.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&za), bits(&zb), "layer {l} epoch {e}");
            assert_ne!(za, c.activations_at(l, e).expect("z"));
        }
    }
}

/// The stored parameter values at an epoch reproduce the stored activations of that epoch:
/// fc1 = tanh(X W1ᵀ + b1), fc2 = tanh(fc1 W2ᵀ + b2), output = fc2 W3ᵀ + b3, computed here in f64.
#[test]
fn stored_parameters_reproduce_stored_activations() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    record(
        &[
            "--model",
            "fcn",
            "--hidden",
            "7,5",
            "--epochs",
            "4",
            "--batch-size",
            "256",
            "--format",
            "hdf5",
        ],
        &out,
    );
    let a = Archive::open(&out).expect("open");
    let x = a.inputs().expect("x").expect("stored").mapv(f64::from);
    let names: Vec<&str> = a
        .manifest()
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "output.weight",
            "output.bias"
        ]
    );
    let shapes: Vec<Vec<usize>> = a
        .manifest()
        .parameters
        .iter()
        .map(|p| p.shape.clone())
        .collect();
    let g = a.gradients(4).expect("gradients");
    let mut h = x;
    for l in 0..3 {
        let (w, b) = (&g[2 * l], &g[2 * l + 1]);
        let w = Array2::from_shape_vec(
            (shapes[2 * l][0], shapes[2 * l][1]),
            w.value.iter().map(|&v| f64::from(v)).collect(),
        )
        .expect("w");
        let b = Array1::from_iter(b.value.iter().map(|&v| f64::from(v)));
        let mut z = h.dot(&w.t()) + &b.insert_axis(Axis(0));
        if l < 2 {
            z.mapv_inplace(f64::tanh);
        }
        let stored = a.activations_at(l, 4).expect("z");
        let worst = z
            .iter()
            .zip(stored.iter())
            .map(|(r, &s)| (r - f64::from(s)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-5, "layer {l}: max |difference| {worst}");
        h = z;
    }
}

/// With `--grads full`, the stored batch gradients give back the stored mean and (population)
/// standard deviation, computed here independently in f64.
#[test]
fn batch_gradients_agree_with_streaming_statistics() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    record(
        &[
            "--model",
            "fcn",
            "--hidden",
            "5,3",
            "--epochs",
            "2",
            "--batch-size",
            "500",
            "--grads",
            "full",
            "--record-epochs",
            "none",
        ],
        &out,
    );
    let a = Archive::open(&out).expect("open");
    assert_eq!(a.manifest().batch_gradients, Some(7)); // 3277 / 500 rounded up
    assert!(a.activation_epochs().is_empty());
    for e in 1..=2 {
        let stats = a.gradients(e).expect("stats");
        for (p, s) in a.manifest().parameters.iter().zip(&stats) {
            let g = a
                .batch_gradients(e, &p.name)
                .expect("batch gradients")
                .mapv(f64::from);
            assert_eq!(g.dim(), (7, p.size()));
            let mean = g.mean_axis(Axis(0)).expect("mean");
            let std = g.std_axis(Axis(0), 0.0);
            for k in 0..p.size() {
                let tol = 1e-6 * (1.0 + mean[k].abs() + std[k]);
                assert!(
                    (mean[k] - f64::from(s.mean[k])).abs() < tol,
                    "{} mean[{k}]",
                    p.name
                );
                assert!(
                    (std[k] - f64::from(s.std[k])).abs() < tol,
                    "{} std[{k}]",
                    p.name
                );
            }
        }
    }
}

#[test]
fn ctrl_c_finishes_the_epoch_and_closes_the_archive() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    let child = bin()
        .args([
            "--model",
            "fcn",
            "--epochs",
            "100000",
            "--record-epochs",
            "every:1000",
            "--quiet",
            "--threads",
            "1",
            "--out",
        ])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until a few epochs are committed.
    let t0 = std::time::Instant::now();
    loop {
        let n = std::fs::read_dir(out.join("epochs"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("epoch-"))
                    .count()
            })
            .unwrap_or(0);
        if n >= 3 {
            break;
        }
        assert!(
            t0.elapsed().as_secs() < 60,
            "no epochs committed after 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("interrupted: finishing the current epoch"),
        "{stderr}"
    );
    assert!(stderr.contains("(stopped early)"), "{stderr}");
    let a = Archive::open(&out).expect("open");
    assert!(a.is_complete());
    let s = Summary::of(&a).expect("summary");
    let done = a.epochs().len();
    assert!((3..100_001).contains(&done));
    assert_eq!(
        s.status(),
        format!("complete (stopped early: {done} of 100001 planned epochs)")
    );
}

#[test]
fn time_limit_stops_after_the_first_training_epoch_past_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    record(
        &[
            "--model",
            "fcn",
            "--hidden",
            "4",
            "--epochs",
            "50",
            "--time-limit",
            "0",
        ],
        &out,
    );
    let a = Archive::open(&out).expect("open");
    assert_eq!(a.epochs(), [0, 1]);
    assert_eq!(
        Summary::of(&a).expect("summary").status(),
        "complete (stopped early: 2 of 51 planned epochs)"
    );
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    let fail = |args: &[&str]| -> String {
        let o = bin()
            .args(args)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        String::from_utf8_lossy(&o.stderr)
            .trim_end()
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        fail(&["--model", "fcn", "--dataset", "mnist"]),
        "error: --dataset mnist needs --data-dir dir (the directory with its files)"
    );
    assert_eq!(
        fail(&["--model", "lenet"]),
        "error: --model lenet needs --dataset mnist (28 x 28 images)"
    );
    assert_eq!(
        fail(&["--model", "gcn", "--dataset", "mnist"]),
        "error: --model gcn needs --dataset cora (a graph)"
    );
    assert_eq!(
        fail(&["--model", "fcn", "--subset", "5"]),
        "error: --subset does not apply to --dataset tishby"
    );
    let missing = tmp.path().join("nowhere");
    let e = fail(&[
        "--model",
        "fcn",
        "--dataset",
        "cora",
        "--data-dir",
        missing.to_str().expect("utf8"),
    ]);
    assert!(
        e.starts_with(&format!(
            "error: {}: ",
            missing.join("cora.content").display()
        )),
        "{e}"
    );
    // Argument syntax errors are clap's usage errors: exit code 2.
    let o = bin()
        .args(["--model", "fcn", "--record-epochs", "every:0", "--out"])
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("'every:0': K must be at least 1"));
    // An existing archive is not replaced without --force.
    record(&["--model", "fcn", "--hidden", "3", "--epochs", "1"], &out);
    let e = fail(&["--model", "fcn", "--hidden", "3", "--epochs", "1"]);
    assert!(
        e.starts_with(&format!("error: {}: ", out.display())) && e.contains("--force"),
        "{e}"
    );
    assert!(Archive::open(&out).expect("still readable").is_complete());
}
