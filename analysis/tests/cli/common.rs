//! Shared helpers of the CLI tests: running the binary, asserting one-line errors, writing
//! NumPy inputs and copying fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use infoplane::archive::numpy;

pub const N: usize = 12;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn infoplane(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_infoplane"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts a failure with exactly one line on stderr, `error: ` followed by `expected`.
pub fn fails_with(r: &Run, expected: &str) {
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "one line expected: {}",
        r.stderr
    );
    assert_eq!(r.stderr.trim_end(), format!("error: {expected}"));
}

/// Asserts a usage error of a flag's value (clap's exit status 2) whose message contains
/// `expected`.
pub fn fails_usage(r: &Run, expected: &str) {
    assert_eq!(r.code, 2, "stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(
        r.stderr.contains(expected),
        "expected '{expected}' in: {}",
        r.stderr
    );
}

/// Like [`fails_with`] but only the start of the message is ours (the rest comes from a
/// Parquet or HDF5 library).
pub fn fails_starting_with(r: &Run, prefix: &str) {
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "one line expected: {}",
        r.stderr
    );
    assert!(
        r.stderr.starts_with(&format!("error: {prefix}")),
        "expected 'error: {prefix}...', got {}",
        r.stderr
    );
}

pub fn act(layer: usize, e: usize, i: usize, h: usize) -> f32 {
    ((layer * 131 + e * 17 + i * 7 + h) as f32 * 0.173).sin()
}

/// Writes acts.npz (layer a: 3 x N x 5, layer b: 3 x N x 2 x 3), y.npy and x.npy into `dir`.
pub fn write_inputs(dir: &Path) -> (Vec<f32>, Vec<f32>) {
    let a: Vec<f32> = (0..3 * N * 5)
        .map(|k| act(0, k / (N * 5), (k / 5) % N, k % 5))
        .collect();
    let b: Vec<f32> = (0..3 * N * 6)
        .map(|k| act(1, k / (N * 6), (k / 6) % N, k % 6))
        .collect();
    numpy::write_npz_f32(
        &dir.join("acts.npz"),
        &[("a", &[3, N, 5], &a), ("b", &[3, N, 2, 3], &b)],
    )
    .unwrap();
    let y: Vec<i64> = (0..N as i64).map(|i| i % 3).collect();
    numpy::write_npy_i64(&dir.join("y.npy"), &[N], &y).unwrap();
    let x: Vec<f32> = (0..N * 4).map(|k| k as f32).collect();
    numpy::write_npy_f32(&dir.join("x.npy"), &[N, 4], &x).unwrap();
    (a, b)
}

pub fn read_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let a = numpy::read_npy(path).unwrap();
    match a.values {
        numpy::Values::F32(v) => (a.shape, v),
        other => panic!("not f32: {other:?}"),
    }
}

pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

pub fn import_ok(d: &Path, out: &str, format: &str) {
    let r = infoplane(
        d,
        &[
            "import",
            "--activations",
            "acts.npz",
            "--labels",
            "y.npy",
            "--format",
            format,
            "--out",
            out,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

pub fn npy_raw(path: &Path, descr: &str, shape: &str, data: &[u8]) {
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest: PathBuf = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

pub fn truncate(path: &Path, len: u64) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len).unwrap();
}

pub fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    (
        header,
        lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect(),
    )
}

pub fn fixture_archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/v1/tiny-parquet")
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Every file below `dir` with its bytes (paths relative to `dir`), to prove that a command
/// changed nothing: compare the snapshots taken before and after.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

/// How a limited run ended.
#[derive(Debug)]
pub struct Limited {
    /// Exit code; None when killed by a signal or by the timeout.
    pub code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    /// True when the timeout killed it.
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `infoplane args` in `dir` through `sh -c "PRELUDE; exec infoplane ..."` (for `ulimit`
/// and `trap`), killed after `timeout`.
pub fn infoplane_limited(
    dir: &Path,
    prelude: &str,
    args: &[&str],
    timeout: std::time::Duration,
) -> Limited {
    use std::io::Read as _;
    use std::os::unix::process::ExitStatusExt as _;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{prelude}\nexec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_infoplane"))
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = std::time::Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Limited {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
    }
}

/// The venv's Python (`INFOPLANE_PYTHON`, else the project's `.venv`); the README's set-up
/// creates it.
pub fn venv_python() -> PathBuf {
    std::env::var("INFOPLANE_PYTHON").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"),
        PathBuf::from,
    )
}
