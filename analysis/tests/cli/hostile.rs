//! Regression tests for the hostile-input campaign (issue 11), one per item through the CLI:
//! the exact error, no panic, and the files around it byte-for-byte unchanged. Items that need
//! a damaged archive's internals are in the library's `tests/hostile.rs`, the recorder's in
//! `recorder/tests/record.rs`.

use std::path::Path;
use std::time::Duration;

use infoplane::archive::numpy;

use super::common::*;

/// A `.npz` with one layer `z`: 1 x rows x 20 float32 (rows x 20 x 4 bytes of data).
fn big_layer(d: &Path, rows: usize) {
    let z: Vec<f32> = (0..rows * 20).map(|k| (k as f32 * 0.37).sin()).collect();
    numpy::write_npz_f32(&d.join("big.npz"), &[("z", &[1, rows, 20], &z)]).unwrap();
    let y: Vec<i64> = (0..rows as i64).map(|i| i % 2).collect();
    numpy::write_npy_i64(&d.join("ybig.npy"), &[rows], &y).unwrap();
}

#[test]
fn item01_force_never_deletes_a_directory_that_is_not_an_archive() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    std::fs::create_dir(d.join("webext")).unwrap();
    std::fs::write(d.join("webext/manifest.json"), r#"{"manifest_version":3}"#).unwrap();
    std::fs::write(d.join("webext/background.js"), "x").unwrap();
    let before = snapshot(d);
    for force in [false, true] {
        let mut args = vec![
            "import",
            "--activations",
            "acts.npz",
            "--labels",
            "y.npy",
            "--out",
            "webext",
        ];
        if force {
            args.push("--force");
        }
        fails_with(
            &infoplane(d, &args),
            "webext: exists and is not an infoplane archive (its manifest.json is not an infoplane manifest); refusing to write into it, with or without --force",
        );
    }
    assert_eq!(snapshot(d), before);
}

#[test]
fn item03_a_second_writer_fails_at_once_with_the_lock_message() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    let lock = infoplane::util::fsutil::lock_output(&d.join("run")).unwrap();
    fails_with(
        &infoplane(
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
        ),
        &format!(
            "run: is being written by another process (pid {})",
            std::process::id()
        ),
    );
    assert!(!d.join("run").exists());
    drop(lock);
    // Two imports racing for one output: exactly one wins; the archive is the winner's, whole.
    big_layer(d, 60_000);
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_infoplane"))
            .args(["import", "--activations", "big.npz", "--labels", "ybig.npy"])
            .args(["--format", "hdf5", "--out", "race"])
            .current_dir(d)
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    let codes = [a.status.code(), b.status.code()];
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(1)),
        "{codes:?}"
    );
    let loser = if a.status.success() { &b } else { &a };
    let msg = String::from_utf8_lossy(&loser.stderr);
    assert!(
        msg.starts_with("error: race: is being written by another process (pid ")
            || msg.starts_with("error: race: already holds an infoplane archive"),
        "{msg}"
    );
    let r = infoplane(
        d,
        &[
            "export", "race", "--layer", "z", "--epoch", "0", "--out", "z.npy",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let z: Vec<f32> = (0..60_000 * 20).map(|k| (k as f32 * 0.37).sin()).collect();
    assert_eq!(bits(&read_f32(&d.join("z.npy")).1), bits(&z));
    assert_eq!(
        std::fs::read_dir(d).unwrap().count(),
        7,
        "no lock or staging left"
    );
}

#[test]
fn item04_force_refuses_to_replace_a_directory_holding_other_files_or_inputs() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "run", "parquet");
    std::fs::copy(d.join("acts.npz"), d.join("run/acts.npz")).unwrap();
    std::fs::copy(d.join("y.npy"), d.join("run/y.npy")).unwrap();
    let before = snapshot(d);
    fails_with(
        &infoplane(
            d,
            &["import", "--activations", "run/acts.npz", "--labels", "run/y.npy", "--out", "run", "--force"],
        ),
        "run: holds the input run/acts.npz; replacing it would delete the input, choose another output",
    );
    fails_with(
        &infoplane(
            d,
            &["import", "--activations", "acts.npz", "--labels", "y.npy", "--out", "run", "--force"],
        ),
        "run: holds files that are not part of the archive (acts.npz, y.npy); refusing to replace it (move them elsewhere first)",
    );
    assert_eq!(snapshot(d), before);
    // convert outer/inner --out outer would delete its own source.
    std::fs::create_dir(d.join("outer")).unwrap();
    import_ok(d, "outer/inner", "parquet");
    let before = snapshot(d);
    fails_with(
        &infoplane(d, &["convert", "outer/inner", "--to", "hdf5", "--out", "outer", "--force"]),
        "outer: holds the source archive outer/inner; replacing it would delete the source, choose another output",
    );
    assert_eq!(snapshot(d), before);
}

/// `sh` prelude: writes past `blocks` 512-byte blocks fail with EFBIG (the signal ignored).
fn file_size_limit(blocks: u32) -> String {
    format!("trap '' XFSZ\nulimit -f {blocks}")
}

#[test]
fn item05_a_failed_write_leaves_the_existing_file_intact_and_no_temporary() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    big_layer(d, 400);
    let r = infoplane(
        d,
        &[
            "import",
            "--activations",
            "big.npz",
            "--labels",
            "ybig.npy",
            "--out",
            "run",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    write_inputs(d);
    // Valid small files where the outputs go.
    let r = infoplane(d, &["export", "run", "--labels", "y-old.npy"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::copy(d.join("y-old.npy"), d.join("z.npy")).unwrap();
    std::fs::write(d.join("t.csv"), "old table\n").unwrap();
    let before = snapshot(d);
    let limit = file_size_limit(8);
    let runs: [&[&str]; 3] = [
        &[
            "export", "run", "--layer", "z", "--epoch", "0", "--out", "z.npy",
        ],
        &[
            "estimate",
            "run",
            "--sigma2",
            "1e-3..1e1:2000",
            "--out",
            "t.csv",
        ],
        &["plot", "run", "--kind", "accuracy", "--out", "t"],
    ];
    for args in runs {
        let r = infoplane_limited(d, &limit, args, Duration::from_secs(60));
        assert_eq!(r.code, Some(1), "{args:?}: {r:?}");
        assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
        assert!(r.stderr.contains("File too large"), "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert_eq!(snapshot(d), before, "{args:?} changed files");
    }
}

#[test]
fn item06_outputs_inside_an_input_archive_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "A", "parquet");
    let before = snapshot(d);
    let inside = |out: &str| {
        format!("{out}: lies inside A, which this command reads; write the output elsewhere")
    };
    fails_with(
        &infoplane(d, &["estimate", "A", "--out", "A/manifest.json"]),
        &inside("A/manifest.json"),
    );
    fails_with(
        &infoplane(
            d,
            &[
                "export",
                "A",
                "--layer",
                "a",
                "--epoch",
                "0",
                "--out",
                "A/epochs/epoch-000002/layer-000.parquet",
            ],
        ),
        &inside("A/epochs/epoch-000002/layer-000.parquet"),
    );
    fails_with(
        &infoplane(
            d,
            &[
                "convert",
                "A",
                "--to",
                "hdf5",
                "--out",
                "A/epochs/epoch-000003",
            ],
        ),
        &inside("A/epochs/epoch-000003"),
    );
    fails_with(
        &infoplane(
            d,
            &["distances", "A", "--out", "d.csv", "--plot", "A/epochs"],
        ),
        &inside("A/epochs"),
    );
    fails_with(
        &infoplane(d, &["report", "A", "--out", "A/report"]),
        &inside("A/report"),
    );
    fails_with(
        &infoplane(
            d,
            &["export", "A", "--labels", "x.npy", "--inputs", "./x.npy"],
        ),
        "./x.npy: is given for two outputs of the same command; name each output differently",
    );
    assert_eq!(snapshot(d), before);
}

#[test]
fn item07_symbolic_links_at_outputs_are_replaced_never_followed() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "run", "parquet");
    std::fs::write(d.join("victim.txt"), "precious").unwrap();
    std::fs::create_dir(d.join("rep")).unwrap();
    for link in ["y.link.npy", "rep/acc.png", "rep/acc.svg", "t.csv"] {
        std::os::unix::fs::symlink(d.join("victim.txt"), d.join(link)).unwrap();
    }
    for args in [
        &["export", "run", "--labels", "y.link.npy"][..],
        &["plot", "run", "--kind", "accuracy", "--out", "rep/acc"],
        &["estimate", "run", "--sigma2", "0.1", "--out", "t.csv"],
    ] {
        let r = infoplane(d, args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(d.join("victim.txt")).unwrap(),
        "precious"
    );
    for out in ["y.link.npy", "rep/acc.png", "rep/acc.svg", "t.csv"] {
        let meta = std::fs::symlink_metadata(d.join(out)).unwrap();
        assert!(meta.file_type().is_file(), "{out} is still a link");
    }
}

#[test]
fn item09_control_characters_are_refused_at_import_and_escaped_when_printed() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    let z: Vec<f32> = (0..N * 2).map(|k| k as f32).collect();
    numpy::write_npz_f32(&d.join("esc.npz"), &[("a\x1b[31mred", &[N, 2], &z)]).unwrap();
    numpy::write_npz_f32(&d.join("nul.npz"), &[("a\0b", &[N, 2], &z)]).unwrap();
    let r = infoplane(
        d,
        &[
            "import",
            "--activations",
            "esc.npz",
            "--labels",
            "y.npy",
            "--out",
            "e",
        ],
    );
    fails_with(
        &r,
        "esc.npz: layer name 'a\\x1b[31mred' holds the control character '\\u{1b}'; rename the array (or pass --layer)",
    );
    assert!(!r.stderr.contains('\x1b'));
    fails_with(
        &infoplane(
            d,
            &["import", "--activations", "nul.npz", "--labels", "y.npy", "--format", "hdf5", "--out", "e"],
        ),
        "nul.npz: layer name 'a\\x00b' holds the control character '\\0'; rename the array (or pass --layer)",
    );
    // An archive whose manifest (written by someone else) holds one is printed escaped.
    import_ok(d, "run", "parquet");
    let m = std::fs::read_to_string(d.join("run/manifest.json")).unwrap();
    let m = m.replace("\"name\": \"a\"", "\"name\": \"a\\u001b[2J\\u009b\"");
    let m = infoplane::archive::content::reseal_json(m.as_bytes()).unwrap();
    std::fs::write(d.join("run/manifest.json"), m).unwrap();
    let r = infoplane(d, &["inspect", "run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("a\\x1b[2J\\u{9b}"), "{}", r.stdout);
    assert!(!r.stdout.contains('\x1b') && !r.stdout.contains('\u{9b}'));
    let r = infoplane(
        d,
        &[
            "estimate",
            "run",
            "--layers",
            "a\x1b[2J\u{9b}x",
            "--out",
            "t.csv",
        ],
    );
    assert!(
        r.stderr.contains("no layer named 'a\\x1b[2J\\u{9b}x'"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains('\x1b'));
}

#[test]
fn item10_labels_outside_the_class_range_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    for (label, expected) in [
        (100_000_000i64, "y2.npy: label 100000000 of sample 11 is too large: infoplane supports at most 65536 classes (labels 0 to 65535)"),
        (4_000_000_000, "y2.npy: label 4000000000 of sample 11 is too large: infoplane supports at most 65536 classes (labels 0 to 65535)"),
        (1_000_000_000_000_000_000, "y2.npy: label 1000000000000000000 of sample 11 is too large: infoplane supports at most 65536 classes (labels 0 to 65535)"),
        (-1, "y2.npy: label -1 of sample 11 is negative; labels must be class indices 0, 1, 2, ..."),
    ] {
        let mut y: Vec<i64> = (0..N as i64).map(|i| i % 3).collect();
        y[N - 1] = label;
        numpy::write_npy_i64(&d.join("y2.npy"), &[N], &y).unwrap();
        let r = infoplane_limited(
            d,
            "ulimit -v 4000000",
            &["import", "--activations", "acts.npz", "--labels", "y2.npy", "--out", "run"],
            Duration::from_secs(30),
        );
        assert_eq!(r.code, Some(1), "{r:?}");
        assert_eq!(r.stderr.trim_end(), format!("error: {expected}"));
    }
}

#[test]
fn item11_malformed_npy_headers_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    npy_raw(&d.join("e.npy"), "\u{e9}4", "(12,)", &[0; 48]);
    npy_raw(&d.join("s.npy"), "<i8", ")64, 8(", &[]);
    npy_raw(&d.join("q.npy"), "<i8", "(12", &[]);
    for (file, expected) in [
        ("e.npy", "e.npy: invalid .npy header: not ASCII text"),
        (
            "s.npy",
            "s.npy: invalid .npy header: 'shape' is not a tuple",
        ),
        (
            "q.npy",
            "q.npy: invalid .npy header: 'shape' is not a tuple",
        ),
    ] {
        fails_with(
            &infoplane(
                d,
                &[
                    "import",
                    "--activations",
                    "acts.npz",
                    "--labels",
                    file,
                    "--out",
                    "o",
                ],
            ),
            expected,
        );
    }
}

#[test]
fn item12_shapes_whose_size_overflows_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    npy_raw(
        &d.join("big3.npy"),
        "<f4",
        "(4611686018427387904, 64, 4)",
        &[],
    );
    npy_raw(&d.join("big2.npy"), "<f4", "(0, 4611686018427387904)", &[]);
    for (file, shape) in [
        ("big3.npy", "[4611686018427387904, 64, 4]"),
        ("big2.npy", "[0, 4611686018427387904]"),
    ] {
        fails_with(
            &infoplane(
                d,
                &[
                    "import",
                    "--activations",
                    file,
                    "--labels",
                    "y.npy",
                    "--out",
                    "o",
                ],
            ),
            &format!("{file}: shape {shape} is too large"),
        );
    }
}

/// Patches every little-endian `u32` equal to `from` in `bytes` (zip size fields).
fn patch_u32(bytes: &mut [u8], from: u32, to: u32) -> usize {
    let mut n = 0;
    for i in 0..bytes.len().saturating_sub(3) {
        if bytes[i..i + 4] == from.to_le_bytes() {
            bytes[i..i + 4].copy_from_slice(&to.to_le_bytes());
            n += 1;
        }
    }
    n
}

#[test]
fn item13_npz_members_with_lying_sizes_are_refused_without_allocating_them() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    let cap = "ulimit -v 2000000";
    // A stored member whose zip headers declare 4 GB instead of its 1,088 bytes.
    let z: Vec<f32> = (0..N * 20).map(|k| k as f32).collect();
    numpy::write_npz_f32(&d.join("lie.npz"), &[("z", &[N, 20], &z)]).unwrap();
    let mut bytes = std::fs::read(d.join("lie.npz")).unwrap();
    let size = 128 + (N * 20 * 4) as u32;
    assert!(patch_u32(&mut bytes, size, 0xffff_fff0) >= 2);
    std::fs::write(d.join("lie.npz"), bytes).unwrap();
    // A deflated member whose npy header claims 64 GiB but holds 1 MiB of zeros.
    let mut w = zip::ZipWriter::new(std::fs::File::create(d.join("bomb.npz")).unwrap());
    w.start_file("z.npy", zip::write::SimpleFileOptions::default())
        .unwrap();
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 16), }\n";
    use std::io::Write as _;
    w.write_all(b"\x93NUMPY\x01\x00").unwrap();
    w.write_all(&(header.len() as u16).to_le_bytes()).unwrap();
    w.write_all(header.as_bytes()).unwrap();
    w.write_all(&vec![0u8; 1 << 20]).unwrap();
    w.finish().unwrap();
    for (file, expected) in [
        ("lie.npz", "error: lie.npz"),
        ("bomb.npz", "error: bomb.npz[z]: truncated or padded data: shape [1073741824, 16] of float32 needs 68719476736 bytes, found 1048576"),
    ] {
        let r = infoplane_limited(
            d,
            cap,
            &["import", "--activations", file, "--labels", "y.npy", "--out", "o"],
            Duration::from_secs(60),
        );
        assert_eq!(r.code, Some(1), "{file}: {r:?}");
        assert!(r.stderr.starts_with(expected), "{file}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
}

#[test]
fn item16_plotting_infinite_values_and_huge_epochs_finishes() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let head = "run,layer,layer_index,epoch,estimator,sigma2,i_xz,i_yz,n,h_y,log_n";
    std::fs::write(
        d.join("inf.csv"),
        format!("{head}\nr,a,0,0,kl,0.1,1.0,inf,10,1,3.3\nr,a,0,1,kl,0.1,1.5,0.5,10,1,3.3\nr,b,1,1,kl,0.1,inf,1e308,10,inf,3.3\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("late.csv"),
        format!(
            "{head}\nr,a,0,0,kl,0.1,1.0,0.5,10,1,3.3\nr,a,0,4294967295,kl,0.1,2.0,0.9,10,1,3.3\n"
        ),
    )
    .unwrap();
    for table in ["inf.csv", "late.csv"] {
        let r = infoplane_limited(
            d,
            "",
            &[
                "plot",
                table,
                "--kind",
                "infoplane",
                "--out",
                &format!("p-{table}"),
            ],
            Duration::from_secs(60),
        );
        assert_eq!(r.code, Some(0), "{table}: {r:?}");
        assert!(d.join(format!("p-{table}")).with_extension("png").exists());
    }
}

#[test]
fn item19_estimate_options_are_bounded() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let a = fixture_archive();
    let a = a.to_str().unwrap();
    for (args, expected) in [
        (&["--estimator", "bin", "--bins", "18446744073709551615"][..], "invalid binning bins=18446744073709551615 range=[-1,1]: sizes must be positive, bin counts between 1 and 16777216 (edges at least 2), ranges increasing"),
        (&["--estimator", "mine", "--mine-hidden", "100000000"], "--mine-hidden needs 1 to 8 widths between 1 and 4096 (got [100000000])"),
        (&["--estimator", "mine", "--mine-hidden", "0"], "--mine-hidden needs 1 to 8 widths between 1 and 4096 (got [0])"),
        (&["--estimator", "mine", "--mine-lr", "nan"], "--mine-lr must be a positive number (got NaN)"),
        (&["--saturation-margin", "nan"], "--saturation-margin must be a finite number of 0 or more (got NaN)"),
        (&["--tile", "100000000"], "--tile must be between 1 and 16384 (got 100000000)"),
        (&["--estimator", "renyi", "--renyi-subsamples", "1000000"], "--renyi-subsamples must be between 1 and 1000 (got 1000000)"),
    ] {
        let mut all = vec!["estimate", a, "--out", "t.csv"];
        all.extend(args);
        fails_with(&infoplane(d, &all), expected);
    }
    std::fs::write(d.join("t.csv"), "run,layer,layer_index,epoch,estimator,sigma2,i_xz,i_yz,n,h_y,log_n\nr,a,0,0,kl,0.1,1,0.5,10,1,3.3\n").unwrap();
    fails_with(
        &infoplane(d, &["dpi", "t.csv", "--tolerance", "nan"]),
        "--tolerance must be a finite number of 0 or more (got NaN)",
    );
}

#[test]
fn item20_a_fifo_is_refused_not_waited_on() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir(d.join("arch")).unwrap();
    let ok = std::process::Command::new("mkfifo")
        .arg(d.join("arch/manifest.json"))
        .status()
        .unwrap();
    assert!(ok.success());
    let r = infoplane_limited(d, "", &["inspect", "arch"], Duration::from_secs(20));
    assert!(!r.timed_out, "inspect blocked on the FIFO");
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr.trim_end(),
        "error: arch/manifest.json: is not a regular file (a FIFO, socket or device); refusing to read it"
    );
}

#[test]
fn item22_duplicate_npz_keys_and_nonfinite_inputs_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    let z: Vec<f32> = (0..N * 2).map(|k| k as f32).collect();
    numpy::write_npz_f32(
        &d.join("dup.npz"),
        &[("a", &[N, 2], &z), ("b", &[N, 2], &z)],
    )
    .unwrap();
    let mut bytes = std::fs::read(d.join("dup.npz")).unwrap();
    // Rename member b.npy to a.npy in the local and central headers (same length).
    let mut renamed = 0;
    for i in 0..bytes.len() - 4 {
        if &bytes[i..i + 5] == b"b.npy" {
            bytes[i] = b'a';
            renamed += 1;
        }
    }
    assert_eq!(renamed, 2);
    std::fs::write(d.join("dup.npz"), bytes).unwrap();
    fails_with(
        &infoplane(
            d,
            &[
                "import",
                "--activations",
                "dup.npz",
                "--labels",
                "y.npy",
                "--out",
                "o",
            ],
        ),
        "dup.npz: holds two or more arrays with the same name; numpy would read only one of them",
    );
    let mut x: Vec<f32> = (0..N * 3).map(|k| k as f32).collect();
    x[7] = f32::NAN;
    numpy::write_npy_f32(&d.join("xnan.npy"), &[N, 3], &x).unwrap();
    fails_with(
        &infoplane(
            d,
            &["import", "--activations", "acts.npz", "--labels", "y.npy", "--inputs", "xnan.npy", "--out", "o"],
        ),
        "xnan.npy: 1 non-finite input values, the first at sample 2; pass --allow-nonfinite to import anyway",
    );
    assert!(!d.join("o").exists());
}

#[test]
fn item23_tables_from_other_tools_are_read_and_bad_ones_named() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let head = "run,layer,layer_index,epoch,estimator,sigma2,i_xz,i_yz,n,h_y,log_n";
    let row = "r,a,0,3,kl,0.1,1.0,0.5,10,1,3.3";
    std::fs::write(
        d.join("bom.csv"),
        format!("\u{feff}{head}\r\n{row}\r\n\r\n"),
    )
    .unwrap();
    let r = infoplane(d, &["dpi", "bom.csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(d.join("empty.csv"), format!("{head}\n")).unwrap();
    fails_with(
        &infoplane(d, &["dpi", "empty.csv"]),
        "empty.csv: holds no estimate rows (only a header)",
    );
    std::fs::write(
        d.join("text.csv"),
        format!("{head}\n{row}\n\nr,a,0,x4,kl,0.1,1,0.5,10,1,3.3\n"),
    )
    .unwrap();
    fails_with(
        &infoplane(d, &["dpi", "text.csv"]),
        "text.csv: line 4: column 'epoch' holds 'x4', which is not a number",
    );
}

#[test]
fn item24_nan_and_out_of_range_counts_in_tables_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let head = "run,layer,layer_index,epoch,estimator,sigma2,i_xz,i_yz,n,h_y,log_n";
    for (cells, expected) in [
        ("0,NaN,kl,0.1,1,0.5,10", "line 2: column 'epoch' holds NaN, which is not a whole number from 0 to 4294967295"),
        ("0,1e20,kl,0.1,1,0.5,10", "line 2: column 'epoch' holds 1e20, which is not a whole number from 0 to 4294967295"),
        ("0,2.5,kl,0.1,1,0.5,10", "line 2: column 'epoch' holds 2.5, which is not a whole number from 0 to 4294967295"),
        ("0,3,kl,0.1,1,0.5,1e300", "line 2: column 'n' holds 1e300, which is not a whole number from 0 to 9007199254740992"),
        ("-1,3,kl,0.1,1,0.5,10", "line 2: column 'layer_index' holds -1, which is not a whole number from 0 to 4294967295"),
    ] {
        std::fs::write(d.join("t.csv"), format!("{head}\nr,a,{cells},1,3.3\n")).unwrap();
        fails_with(&infoplane(d, &["dpi", "t.csv"]), &format!("t.csv: {expected}"));
    }
}

#[test]
fn item25_leftovers_of_killed_commands_are_cleaned_up_and_reported() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    // A dead process's staging directory and temporary file, and a live one's (ours).
    std::fs::create_dir(d.join(".run.staging-999999")).unwrap();
    std::fs::write(d.join(".run.staging-999999/junk"), "x").unwrap();
    std::fs::write(d.join(".t.csv.tmp-999998"), "half a table").unwrap();
    let mine = format!(".run.staging-{}", std::process::id());
    std::fs::create_dir(d.join(&mine)).unwrap();
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
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim_end(),
        "note: removed ./.run.staging-999999, left by process 999999 (no longer running)"
    );
    assert!(!d.join(".run.staging-999999").exists() && d.join(&mine).exists());
    let r = infoplane(d, &["estimate", "run", "--sigma2", "0.1", "--out", "t.csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stderr
        .contains("note: removed ./.t.csv.tmp-999998, left by process 999998"));
    assert!(!d.join(".t.csv.tmp-999998").exists());
    // A replacement killed between its two renames: the old archive is put back.
    std::fs::rename(d.join("run"), d.join(".run.replaced-999997")).unwrap();
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
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim_end(),
        "note: restored run from ./.run.replaced-999997: process 999997 was replacing it when it stopped\nerror: run: already holds an infoplane archive (pass --force to replace it)"
    );
    assert_eq!(infoplane(d, &["verify", "run"]).code, 0);
}

#[test]
fn item26_verify_reads_every_file_and_names_the_damaged_one() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "p", "parquet");
    let r = infoplane(d, &["verify", "p"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "read 3 epochs: 6 activation matrices, 0 gradient records; 0 non-finite values\np: ok\n"
    );
    // Damage the data pages of one layer file: inspect still says complete, verify does not.
    let f = d.join("p/epochs/epoch-000001/layer-001.parquet");
    let mut bytes = std::fs::read(&f).unwrap();
    for b in &mut bytes[4..40] {
        *b = 0xff;
    }
    std::fs::write(&f, bytes).unwrap();
    let r = infoplane(d, &["inspect", "p"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("status       complete"));
    let r = infoplane(d, &["verify", "p"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("problem: p/epochs/epoch-000001/layer-001.parquet: "),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stderr.trim_end(),
        "error: p: 1 problem found (listed above)"
    );
}
