//! Hostile-input regressions of the recorder (issue 11): `--force` keeps the old archive until
//! the new one is complete, one writer per output, bounded flags, and a second Ctrl-C that
//! exits cleanly from the main thread.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use infoplane::archive::Archive;

use super::{bin, record};

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).expect("read_dir") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// A long recording (many epochs) that the test stops.
fn spawn_long(out: &Path, extra: &[&str]) -> Child {
    bin()
        .args(["--model", "fcn", "--epochs", "100000"])
        .args(["--record-epochs", "every:500", "--quiet", "--threads", "1"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// Epoch directories committed under `dir` (a Parquet archive or staging directory).
fn committed(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("epochs"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("epoch-"))
                .count()
        })
        .unwrap_or(0)
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ready() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{what}: not after 60 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

#[test]
fn item02_force_keeps_the_old_archive_until_the_new_one_finishes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    record(&["--model", "fcn", "--hidden", "3", "--epochs", "2"], &out);
    let before = snapshot(tmp.path());
    // Refused before anything is created.
    let o = bin()
        .args([
            "--model",
            "fcn",
            "--weight-decay",
            "nan",
            "--force",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(snapshot(tmp.path()), before);
    // Killed mid-way: the new recording lives in staging; the old archive is untouched.
    let mut child = spawn_long(&out, &["--hidden", "4", "--force"]);
    let staging = tmp.path().join(format!(".run.staging-{}", child.id()));
    wait_for("staging epochs", || committed(&staging) >= 2);
    assert_eq!(snapshot(&out), snapshot(&out).clone());
    signal(&child, "-KILL");
    child.wait().expect("wait");
    assert_eq!(
        snapshot(tmp.path())
            .into_iter()
            .filter(|(p, _)| p.starts_with(&out))
            .collect::<Vec<_>>(),
        before
    );
    // The next run clears the dead run's staging, says so, and its finished archive replaces
    // the old one.
    let o = record(
        &[
            "--model", "fcn", "--hidden", "5", "--epochs", "1", "--force",
        ],
        &out,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("note: removed {}", staging.display())),
        "{stderr}"
    );
    assert!(!staging.exists());
    let a = Archive::open(&out).expect("open");
    assert_eq!(a.layers()[0].width, 5);
    assert_eq!(std::fs::read_dir(tmp.path()).expect("ls").count(), 1);
}

#[test]
fn item03_two_recorders_on_one_output_one_fails_at_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    let args = ["--model", "fcn", "--epochs", "300", "--seed", "2"];
    let first = bin()
        .args(args)
        .args(["--quiet", "--threads", "1", "--out"])
        .arg(&out)
        .spawn()
        .expect("spawn");
    wait_for("the first archive", || out.join("manifest.json").exists());
    let o = bin()
        .args([
            "--model", "fcn", "--epochs", "300", "--seed", "1", "--force", "--quiet",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr)
            .trim_end()
            .lines()
            .last()
            .unwrap_or_default(),
        format!(
            "error: {}: is being written by another process (pid {})",
            out.display(),
            first.id()
        )
    );
    assert!(first.wait_with_output().expect("wait").status.success());
    // The survivor's archive is exactly what the same run records alone.
    let alone = tmp.path().join("alone");
    record(&args, &alone);
    let (a, b) = (
        Archive::open(&out).expect("a"),
        Archive::open(&alone).expect("b"),
    );
    assert_eq!(a.manifest().run.seed, Some(2));
    assert_eq!(a.activation_epochs(), b.activation_epochs());
    for e in a.activation_epochs() {
        for l in 0..a.layers().len() {
            let (x, y) = (
                a.activations_at(l, e).expect("x"),
                b.activations_at(l, e).expect("y"),
            );
            assert!(x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()));
        }
    }
}

#[test]
fn item17_numeric_flags_are_bounded_before_anything_is_created() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    for (args, expected) in [
        (&["--epochs", "100000000"][..], "--epochs must be at most 1000000 (got 100000000)"),
        (&["--hidden", "2000000000"], "--hidden needs 1 to 64 widths between 1 and 65536 (got [2000000000])"),
        (&["--hidden", "65536,65536"], "--hidden [65536, 65536] gives a model of about 4296015874 parameters; at most 268435456 are supported"),
        (&["--weight-decay", "nan"], "--weight-decay must be a finite number of 0 or more (got NaN)"),
        (&["--lr", "nan"], "--lr must be a positive number (got NaN)"),
        (&["--time-limit", "nan"], "--time-limit must be a finite number of seconds, 0 or more (got NaN)"),
        (&["--dropout", "nan"], "--dropout must be in [0, 1) (got NaN)"),
        (&["--threads", "100000"], "--threads must be between 1 and 1024 (got 100000)"),
    ] {
        let o = bin()
            .args(["--model", "fcn", "--quiet"])
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim_end(),
            format!("error: {expected}"),
            "{args:?}"
        );
        assert_eq!(std::fs::read_dir(tmp.path()).expect("ls").count(), 0);
    }
    let o = bin()
        .args([
            "--model",
            "fcn",
            "--record-epochs",
            "log:4294967295",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("'log:4294967295': K must be at most 1000000")
    );
}

#[test]
fn item18_a_second_ctrl_c_exits_cleanly_from_the_main_thread() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (run, format) in (0..8).zip(["parquet", "hdf5"].iter().cycle()) {
        // The second Ctrl-C must come while the first is still finishing its epoch. Epochs are
        // slow (thousands of one-sample batches of a wide network), but on a loaded machine the
        // test can still be descheduled until the epoch is over; the recorder then exits 0 after
        // that epoch, which is the first Ctrl-C's behaviour, and the run is tried again.
        let mut attempt = 0;
        let (out, status, stderr) = loop {
            let out = tmp.path().join(format!("run{run}-{attempt}"));
            let (status, stderr) = interrupt_twice(&out, format, run);
            let lost_race = status.code() == Some(0)
                && stderr.contains("(stopped early)")
                && !stderr.contains("interrupted again");
            if !lost_race || attempt == 4 {
                break (out, status, stderr);
            }
            eprintln!("run {run}: the epoch ended before the second Ctrl-C arrived; trying again");
            attempt += 1;
        };
        assert_eq!(
            status.code(),
            Some(130),
            "run {run} ({format}): {status:?} {stderr}"
        );
        assert!(
            stderr.contains("interrupted again: stopping now"),
            "{stderr}"
        );
        assert!(
            stderr.contains("committed epochs; they stay readable"),
            "{stderr}"
        );
        let a = Archive::open(&out).expect("open");
        assert!(!a.is_complete());
        for e in a.activation_epochs() {
            a.activations_at(0, e).expect("readable");
        }
    }
}

/// Starts a long recording, waits for its first committed epoch, sends SIGINT twice (a few
/// milliseconds apart, depending on `run`), and returns the exit status and stderr.
fn interrupt_twice(out: &Path, format: &str, run: u64) -> (std::process::ExitStatus, String) {
    let mut child = spawn_long(
        out,
        &[
            "--format",
            format,
            "--hidden",
            "256,256",
            "--batch-size",
            "1",
        ],
    );
    wait_for("an epoch", || {
        Archive::open(out).is_ok_and(|a| !a.epochs().is_empty())
    });
    signal(&child, "-INT");
    std::thread::sleep(Duration::from_millis(20 * (run % 4)));
    signal(&child, "-INT");
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read");
    (status, stderr)
}
