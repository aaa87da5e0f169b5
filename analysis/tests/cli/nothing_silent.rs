//! Issue 26 ("nothing silent") through the binary: planted symbolic links are never followed
//! (item 5), a layer larger than the memory limit is a clear error (item 12), and the report's
//! attributes are escaped and only its own script runs (item 11).

use std::time::Duration;

use infoplane::archive::numpy;

use super::common::*;

/// Issue 26, item 12: a layer larger than the memory left to the process is a clear error
/// naming the file (before: "memory allocation of 2147483648 bytes failed" and an abort).
/// Scaled down: a 256 MiB layer under a 400 MB address-space limit (the binary's libraries
/// and thread arenas take about 300 MB of it).
#[test]
fn issue26_item12_a_layer_larger_than_the_memory_limit_is_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (n, h) = (16_384usize, 4096usize);
    let labels: Vec<i64> = (0..n as i64).map(|i| i % 2).collect();
    numpy::write_npy_i64(&d.join("y.npy"), &[n], &labels).unwrap();
    numpy::write_npy_f32(&d.join("big.npy"), &[n, h], &vec![0.25f32; n * h]).unwrap();
    let r = infoplane_limited(
        d,
        "ulimit -v 1200000",
        &[
            "import",
            "--activations",
            "big.npy",
            "--labels",
            "y.npy",
            "--out",
            "run",
        ],
        Duration::from_secs(120),
    );
    // With 1.2 GB the import works: the limit below is what makes it fail.
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = infoplane_limited(
        d,
        "ulimit -v 400000",
        &[
            "import",
            "--activations",
            "big.npy",
            "--labels",
            "y.npy",
            "--out",
            "run2",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(
        r.stderr.trim_end(),
        "error: big.npy: cannot allocate 256 MiB for the array's values: not enough memory (or a memory limit); free memory or read a smaller array"
    );
    assert!(!d.join("run2").exists());
}

/// The pids the next few processes will most likely get (Linux hands them out in order).
fn next_pids(count: u32) -> Vec<u32> {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1000);
    (last + 1..last + 1 + count).collect()
}

/// Issue 26, item 5: a symbolic link planted at an output's lock file or at its temporary
/// file is never followed: the file it points to keeps its bytes, the lock is refused with a
/// clear error, and a table is written as a plain file of its own.
#[test]
fn issue26_item05_planted_symlinks_are_never_followed() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    std::fs::write(d.join("victim.txt"), "precious").unwrap();
    std::os::unix::fs::symlink(d.join("victim.txt"), d.join(".run.lock")).unwrap();
    let r = infoplane(
        d,
        &[
            "import",
            "--activations",
            "acts.npz",
            "--labels",
            "y.npy",
            "--out",
            "run",
        ],
    );
    fails_with(
        &r,
        "./.run.lock: is a symbolic link, a hard link or not a plain file; refusing to use it as a lock file (remove it if no infoplane command is running)",
    );
    assert_eq!(
        std::fs::read_to_string(d.join("victim.txt")).unwrap(),
        "precious"
    );
    assert!(!d.join("run").exists());
    std::fs::remove_file(d.join(".run.lock")).unwrap();
    import_ok(d, "run", "parquet");
    // Temporary files: links at every name the next writer could pick.
    let pids = next_pids(400);
    for p in &pids {
        std::os::unix::fs::symlink(d.join("victim.txt"), d.join(format!(".est.csv.tmp-{p}")))
            .unwrap();
    }
    let r = infoplane(
        d,
        &["estimate", "run", "--sigma2", "0.1", "--out", "est.csv"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join("victim.txt")).unwrap(),
        "precious"
    );
    let meta = std::fs::symlink_metadata(d.join("est.csv")).unwrap();
    assert!(meta.file_type().is_file(), "est.csv is not a plain file");
    assert!(std::fs::read_to_string(d.join("est.csv"))
        .unwrap()
        .starts_with("run,"));
    // The planted links are not ours: they stay.
    assert!(pids.iter().all(|p| d
        .join(format!(".est.csv.tmp-{p}"))
        .symlink_metadata()
        .is_ok()));
}

/// Issue 26, item 11: text that reaches the report's attributes is escaped (a file name
/// with `"` and `onload=` once became an event handler that headless Chromium ran), and the
/// page's Content-Security-Policy runs only the viewer's own script, named by its hash.
#[test]
fn issue26_item11_report_attributes_are_escaped_and_only_its_script_runs() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "run", "parquet");
    let out = "r\" onload=\"document.title=1337;0";
    let r = infoplane(d, &["report", "run", "--sigma2", "0.1", "--out", out]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(d.join(out).join("index.html")).unwrap();
    assert!(
        !html.contains("onload=\""),
        "an attribute was broken out of"
    );
    // Images are named by their file name alone: the output folder never reaches the page.
    assert!(!html.contains("document.title=1337"));
    assert!(!html.contains("script-src 'unsafe-inline'"));
    let csp_hash = html
        .split("script-src 'sha256-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a script hash in the CSP");
    // The one executable script is the one the hash names.
    let scripts: Vec<&str> = html.split("<script>").skip(1).collect();
    assert_eq!(scripts.len(), 1, "one inline script");
    let body = scripts[0].split("</script>").next().unwrap();
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(body.as_bytes());
    let b64 = base64_std(&digest);
    assert_eq!(csp_hash, b64);
}

fn base64_std(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}
