//! End-to-end tests of the `infoplane` binary: import/export/convert round trips, inspect
//! output (snapshot), and one clear error line with a non-zero exit for every kind of bad input.
#![allow(clippy::unwrap_used)]

use infoplane::archive::numpy;

mod browser;
mod common;
mod estimators;
mod fuzz;
mod hostile;
mod nothing_silent;
mod report_table;
mod science;
mod seeds;
mod sweep;

use common::*;

#[test]
fn import_export_round_trip_in_both_backends_and_convert() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (a, b) = write_inputs(d);
    for format in ["parquet", "hdf5"] {
        let r = infoplane(
            d,
            &[
                "import",
                "--activations",
                "acts.npz",
                "--labels",
                "y.npy",
                "--inputs",
                "x.npy",
                "--format",
                format,
                "--out",
                format,
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.stdout.trim(),
            format!("wrote {format} ({format}): N = 12, 3 epoch(s), layers a (5), b (6)")
        );
        for e in 0..3 {
            let r = infoplane(
                d,
                &[
                    "export",
                    format,
                    "--layer",
                    "b",
                    "--epoch",
                    &e.to_string(),
                    "--out",
                    "z.npy",
                ],
            );
            assert_eq!(r.code, 0, "{}", r.stderr);
            let (shape, z) = read_f32(&d.join("z.npy"));
            assert_eq!(shape, vec![N, 6]);
            assert_eq!(bits(&z), bits(&b[e * N * 6..(e + 1) * N * 6]));
            let r = infoplane(
                d,
                &[
                    "export",
                    format,
                    "--layer",
                    "a",
                    "--epoch",
                    &e.to_string(),
                    "--out",
                    "z.npy",
                ],
            );
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert_eq!(
                bits(&read_f32(&d.join("z.npy")).1),
                bits(&a[e * N * 5..(e + 1) * N * 5])
            );
        }
        let r = infoplane(
            d,
            &["export", format, "--labels", "yy.npy", "--inputs", "xx.npy"],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let y = numpy::read_npy(&d.join("yy.npy")).unwrap();
        assert_eq!(
            y.values,
            numpy::Values::Int((0..N as i64).map(|i| i % 3).collect())
        );
        let (xs, x) = read_f32(&d.join("xx.npy"));
        assert_eq!(xs, vec![N, 4]);
        assert_eq!(x, (0..N * 4).map(|k| k as f32).collect::<Vec<_>>());
    }
    // parquet -> hdf5 -> parquet keeps every bit.
    let r = infoplane(
        d,
        &["convert", "parquet", "--to", "hdf5", "--out", "conv-h"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = infoplane(
        d,
        &["convert", "conv-h", "--to", "parquet", "--out", "conv-p"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = infoplane(
        d,
        &[
            "export", "conv-p", "--layer", "b", "--epoch", "2", "--out", "z.npy",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(bits(&read_f32(&d.join("z.npy")).1), bits(&b[2 * N * 6..]));
}

#[test]
fn inspect_text_and_json() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    let r = infoplane(
        d,
        &[
            "import",
            "--activations",
            "acts.npz",
            "--labels",
            "y.npy",
            "--kinds",
            "linear,conv",
            "--classes",
            "cat,dog,eel",
            "--model",
            "fcn",
            "--dataset",
            "toy",
            "--out",
            "run",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = infoplane(d, &["inspect", "run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::with_settings!({filters => vec![(r"size         .*", "size         [size]")]}, {
        insta::assert_snapshot!(r.stdout);
    });
    let r = infoplane(d, &["inspect", "run", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["n"], 12);
    assert_eq!(v["backend"], "parquet");
    assert_eq!(v["complete"], true);
    assert_eq!(v["h_y_bits"], 3f64.log2());
    assert_eq!(v["epochs"], serde_json::json!([0, 1, 2]));
    assert_eq!(v["metrics"].as_array().unwrap().len(), 3);
    assert_eq!(v["metrics"][1]["epoch"], 1);
    assert_eq!(v["layers"][1]["shape"], serde_json::json!([2, 3]));
}

#[test]
fn bad_archives_give_one_clear_line() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "p", "parquet");
    import_ok(d, "h", "hdf5");

    fails_with(
        &infoplane(d, &["inspect", "nowhere"]),
        "nowhere: no such archive directory",
    );
    std::fs::create_dir(d.join("empty")).unwrap();
    fails_with(
        &infoplane(d, &["inspect", "empty"]),
        "empty/manifest.json: missing: this directory is not an infoplane archive",
    );
    // Unparsable manifest.
    copy_dir(&d.join("p"), &d.join("badjson"));
    std::fs::write(d.join("badjson/manifest.json"), "{\"format\": ").unwrap();
    fails_with(
        &infoplane(d, &["inspect", "badjson"]),
        "badjson/manifest.json: unparsable manifest: EOF while parsing a value at line 1 column 11",
    );
    // A manifest from the future.
    copy_dir(&d.join("p"), &d.join("future"));
    let m = std::fs::read_to_string(d.join("future/manifest.json")).unwrap();
    std::fs::write(
        d.join("future/manifest.json"),
        m.replace("\"schema_version\": 1", "\"schema_version\": 99"),
    )
    .unwrap();
    fails_with(
        &infoplane(d, &["inspect", "future"]),
        "future/manifest.json: schema version 99 is newer than this infoplane supports (1); upgrade infoplane",
    );
    // Missing layer or epoch.
    for a in ["p", "h"] {
        fails_with(
            &infoplane(
                d,
                &[
                    "export", a, "--layer", "zz", "--epoch", "0", "--out", "z.npy",
                ],
            ),
            &format!("{a}: no layer named 'zz' (layers: a, b)"),
        );
        fails_with(
            &infoplane(
                d,
                &[
                    "export", a, "--layer", "a", "--epoch", "7", "--out", "z.npy",
                ],
            ),
            &format!("{a}: epoch 7 has no recorded activations (epochs with activations: 0-2)"),
        );
    }
    // Truncated Parquet data file.
    copy_dir(&d.join("p"), &d.join("trunc"));
    let f = d.join("trunc/epochs/epoch-000001/layer-000.parquet");
    let len = std::fs::metadata(&f).unwrap().len();
    truncate(&f, len / 2);
    fails_starting_with(
        &infoplane(
            d,
            &[
                "export", "trunc", "--layer", "a", "--epoch", "1", "--out", "z.npy",
            ],
        ),
        &format!(
            "trunc/epochs/epoch-000001/layer-000.parquet: is {} bytes long, its content hash says {len}: the data are damaged",
            len / 2
        ),
    );
    // Corrupted Parquet footer of the samples table.
    copy_dir(&d.join("p"), &d.join("corrupt"));
    let f = d.join("corrupt/samples.parquet");
    let mut bytes = std::fs::read(&f).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 40..n - 8] {
        *b ^= 0x5a;
    }
    std::fs::write(&f, bytes).unwrap();
    fails_starting_with(
        &infoplane(d, &["inspect", "corrupt"]),
        "corrupt/samples.parquet: does not match its content hash (crc32 ",
    );
    // Missing data file.
    copy_dir(&d.join("p"), &d.join("gone"));
    std::fs::remove_file(d.join("gone/epochs/epoch-000002/layer-001.parquet")).unwrap();
    fails_with(
        &infoplane(
            d,
            &[
                "export", "gone", "--layer", "b", "--epoch", "2", "--out", "z.npy",
            ],
        ),
        "gone/epochs/epoch-000002/layer-001.parquet: missing from the archive",
    );
    // Truncated and corrupted HDF5.
    copy_dir(&d.join("h"), &d.join("htrunc"));
    let f = d.join("htrunc/data.h5");
    truncate(&f, 1000);
    fails_starting_with(
        &infoplane(d, &["inspect", "htrunc"]),
        "htrunc/data.h5: is 1000 bytes long, the manifest says ",
    );
    copy_dir(&d.join("h"), &d.join("hcorrupt"));
    let f = d.join("hcorrupt/data.h5");
    let mut bytes = std::fs::read(&f).unwrap();
    for b in &mut bytes[0..64] {
        *b = 0;
    }
    std::fs::write(&f, bytes).unwrap();
    fails_with(
        &infoplane(d, &["inspect", "hcorrupt"]),
        "hcorrupt/data.h5: its HDF5 metadata does not match the checksum in the manifest; the file is damaged (refusing to hand it to the HDF5 library)",
    );
    // Nothing above touched the originals.
    assert_eq!(infoplane(d, &["inspect", "p"]).code, 0);
    assert_eq!(infoplane(d, &["inspect", "h"]).code, 0);
}

#[test]
fn bad_numpy_input_gives_one_clear_line_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    let import = |acts: &str, labels: &str, extra: &[&str]| {
        let mut args = vec![
            "import",
            "--activations",
            acts,
            "--labels",
            labels,
            "--out",
            "new",
        ];
        args.extend(extra);
        infoplane(d, &args)
    };
    // Label count differs from N.
    numpy::write_npy_i64(&d.join("y11.npy"), &[11], &[0; 11]).unwrap();
    fails_with(
        &import("acts.npz", "y11.npy", &[]),
        "acts.npz[a]: shape [3, 12, 5]: neither axis 0 (samples) nor axis 1 (E x N x ...) has N = 11 entries, the number of labels",
    );
    // Wrong rank.
    numpy::write_npy_f32(&d.join("r1.npy"), &[N], &[0.0; N]).unwrap();
    fails_with(
        &import("r1.npy", "y.npy", &[]),
        "r1.npy: expected an N x H or E x N x H array, got shape [12] (rank 1)",
    );
    numpy::write_npy_f32(&d.join("y2.npy"), &[N, 2], &[0.0; 2 * N]).unwrap();
    fails_with(
        &import("acts.npz", "y2.npy", &[]),
        "y2.npy: labels must be a 1-D array of length N, got shape [12, 2]",
    );
    // Wrong dtypes.
    numpy::write_npy_i64(&d.join("int.npy"), &[N, 2], &[1; 2 * N]).unwrap();
    fails_with(
        &import("int.npy", "y.npy", &[]),
        "int.npy: activations must be floating point, got int64",
    );
    let mut fractional = [0.0f32; N];
    fractional[3] = 0.5;
    numpy::write_npy_f32(&d.join("yf.npy"), &[N], &fractional).unwrap();
    fails_with(
        &import("acts.npz", "yf.npy", &[]),
        "yf.npy: label 0.5 of sample 3 is not an integer; labels must be class indices 0, 1, 2, ...",
    );
    npy_raw(&d.join("c8.npy"), "<c8", "(12, 2)", &[0; 12 * 2 * 8]);
    fails_with(
        &import("c8.npy", "y.npy", &[]),
        "c8.npy: unsupported dtype '<c8' (expected bool, integer or float16/32/64)",
    );
    npy_raw(&d.join("neg.npy"), "<i8", "(12,)", &[0xff; 12 * 8]);
    fails_with(
        &import("acts.npz", "neg.npy", &[]),
        "neg.npy: label -1 of sample 0 is negative; labels must be class indices 0, 1, 2, ...",
    );
    // Not a zip, truncated npy.
    std::fs::write(d.join("junk.npz"), b"hello").unwrap();
    fails_starting_with(
        &import("junk.npz", "y.npy", &[]),
        "junk.npz: not a valid .npz (zip) file",
    );
    npy_raw(&d.join("short.npy"), "<f4", "(12, 3)", &[0; 100]);
    fails_with(
        &import("short.npy", "y.npy", &[]),
        "short.npy: truncated or padded data: shape [12, 3] of float32 needs 144 bytes, found 100",
    );
    // Non-finite values: refused with count and place, accepted with --allow-nonfinite.
    let mut v = vec![0.5f32; 2 * N * 3];
    v[N * 3 + 4 * 3 + 1] = f32::NAN;
    v[N * 3 + 5 * 3] = f32::INFINITY;
    v[N * 3 + 6 * 3] = f32::NAN;
    numpy::write_npz_f32(&d.join("nan.npz"), &[("h1", &[2, N, 3], &v)]).unwrap();
    fails_with(
        &import("nan.npz", "y.npy", &[]),
        "nan.npz[h1]: 3 non-finite values (2 NaN, 1 infinite), the first at epoch 1, sample 4, unit 1; pass --allow-nonfinite to import anyway",
    );
    assert!(!d.join("new").exists(), "a failed import wrote nothing");
    let r = import("nan.npz", "y.npy", &["--allow-nonfinite"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "note: imported 3 non-finite values (--allow-nonfinite)"
    );
    // An existing archive is refused without --force, and survives a failed forced import.
    fails_with(
        &import("acts.npz", "y.npy", &[]),
        "new: already holds an infoplane archive (pass --force to replace it)",
    );
    fails_with(
        &import("int.npy", "y.npy", &["--force"]),
        "int.npy: activations must be floating point, got int64",
    );
    let r = infoplane(
        d,
        &[
            "export", "new", "--layer", "h1", "--epoch", "1", "--out", "z.npy",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(bits(&read_f32(&d.join("z.npy")).1), bits(&v[N * 3..]));
    let r = import("acts.npz", "y.npy", &["--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Unknown .npz key, and usage errors.
    fails_with(
        &import("acts.npz", "y.npy", &["--force", "--layers", "b,q"]),
        "acts.npz: has no array 'q' (keys: a)",
    );
    let r = infoplane(d, &["export", "new"]);
    fails_with(
        &r,
        "nothing to export: give --layer/--epoch/--out, --labels or --inputs",
    );
}

#[test]
fn estimate_writes_the_tidy_table_and_matches_the_library() {
    use infoplane::estimator::pairwise::{pairwise_estimates, PassOptions, SaturationRule};
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (a, _) = write_inputs(d);
    import_ok(d, "run", "hdf5");
    let r = infoplane(
        d,
        &[
            "estimate",
            "run",
            "--sigma2",
            "0.5,run_layer=1,2",
            "--layers",
            "a",
            "--epochs",
            "0,2",
            "--out",
            "est.csv",
        ],
    );
    fails_with(&r, "run: no layer named 'run_layer' (layers: a, b)");
    let r = infoplane(
        d,
        &[
            "estimate",
            "run",
            "--sigma2",
            "0.5,a=2,nn*4",
            "--layers",
            "a",
            "--epochs",
            "0,2",
            "--unit",
            "nats",
            "--out",
            "est.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "wrote est.csv (12 rows; 0 saturated)");
    let (header, rows) = csv(&d.join("est.csv"));
    insta::assert_snapshot!("estimate_header", header.join(","));
    assert_eq!(rows.len(), 2 * 3 * 2);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let labels: Vec<u32> = (0..N as u32).map(|i| i % 3).collect();
    let z = ndarray::Array2::from_shape_vec((N, 5), a[2 * N * 5..].to_vec()).unwrap();
    let direct = pairwise_estimates(
        z.view(),
        &labels,
        &[0.5, 2.0],
        &PassOptions::default(),
        &SaturationRule::default(),
    );
    // σ² whose f32 rounding bound is above the tolerance are computed in f64 (their rows say
    // precision=f64): the same library call on the widened matrix.
    let direct64 = pairwise_estimates(
        z.mapv(f64::from).view(),
        &labels,
        &[0.5, 2.0],
        &PassOptions::default(),
        &SaturationRule::default(),
    );
    // The nn rule reads the last epoch (2) once per layer: the same σ² at epochs 0 and 2,
    // 4 × the median squared nearest-neighbour distance of epoch 2, computed here naively.
    let nn_d2: Vec<f64> = (0..N)
        .map(|i| {
            (0..N)
                .filter(|&j| j != i)
                .map(|j| {
                    (0..5)
                        .map(|k| f64::from(z[[i, k]] - z[[j, k]]).powi(2))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let want_nn = 4.0 * infoplane::estimator::pairwise::sigma::median(&nn_d2);
    let nn_rows: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[col("sigma2_rule")] == "4*median_nn(d²)@last")
        .collect();
    assert_eq!(nn_rows.len(), 4, "kl and bd at epochs 0 and 2");
    for row in &nn_rows {
        let s2: f64 = row[col("sigma2")].parse().unwrap();
        assert!((s2 / want_nn - 1.0).abs() < 1e-5, "{s2} vs {want_nn}");
        assert_eq!(row[col("sigma2")], nn_rows[0][col("sigma2")]);
        assert!(row[col("params")].starts_with("sigma2_ref_epoch=2 sigma2_ref_distance="));
        assert_eq!(row[col("setting")], "4*median_nn(d²)@last");
    }
    for row in rows.iter().filter(|r| r[col("epoch")] == "2") {
        let s2: f64 = row[col("sigma2")].parse().unwrap();
        let rule = &row[col("sigma2_rule")];
        let wide = row[col("params")].contains("precision=f64");
        let direct = if wide { &direct64 } else { &direct };
        let want = match s2 {
            0.5 => (&direct.estimates[0], "fixed"),
            2.0 => (&direct.estimates[1], "layer"),
            _ => continue,
        };
        assert_eq!(rule, want.1);
        let b = if row[col("estimator")] == "kl" {
            want.0.kl
        } else {
            want.0.bd
        };
        assert_eq!(row[col("i_xz")].parse::<f64>().unwrap(), b.i_xz);
        assert_eq!(row[col("i_yz")].parse::<f64>().unwrap(), b.i_yz);
        assert_eq!(row[col("i_yz_lo")].parse::<f64>().unwrap(), want.0.i_yz_lo);
        assert_eq!(row[col("unit")], "nats");
        assert_eq!(row[col("n")], "12");
    }
    // Bits by default, Parquet by extension.
    let r = infoplane(
        d,
        &["estimate", "run", "--sigma2", "0.5", "--out", "est.parquet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read(d.join("est.parquet"))
        .unwrap()
        .starts_with(b"PAR1"));
}

#[test]
fn estimate_and_distances_refuse_bad_requests() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "run", "parquet");
    let est = |extra: &[&str]| {
        let mut args = vec!["estimate", "run", "--out", "e.csv"];
        args.extend(extra);
        infoplane(d, &args)
    };
    fails_with(
        &est(&["--estimator", "kl,knn"]),
        "unknown estimator 'knn' (available: kl, bd, mc, bin, renyi, mine, ksg, smi, soft)",
    );
    fails_with(
        &est(&["--estimator", "kl,mine"]),
        "run: the archive stores no inputs X, which MINE needs for I(X;Z) (record them, or import with --inputs)",
    );
    fails_with(
        &est(&["--estimator", "bin", "--bin-size", "0"]),
        "invalid binning bin_size=0: sizes must be positive, bin counts between 1 and 16777216 (edges at least 2), ranges increasing",
    );
    fails_with(
        &est(&["--estimator", "renyi", "--renyi-alpha", "0"]),
        "--renyi-alpha must be a positive number (got 0)",
    );
    fails_with(
        &est(&["--estimator", "renyi", "--renyi-probes", "1"]),
        "--renyi-probes must be between 2 and 1000 (got 1)",
    );
    fails_usage(
        &est(&["--estimator", "mine", "--mine-variant", "js"]),
        "unknown MINE variant 'js' (expected dv, nwj, infonce or smile)",
    );
    fails_usage(
        &est(&["--sigma2", "0.1,abc"]),
        "σ² specification 'abc': 'abc' is not a number",
    );
    fails_with(
        &est(&["--epochs", "9"]),
        "run: epoch 9 has no recorded activations (epochs with activations: 0-2)",
    );
    fails_with(
        &est(&["--layers", "zz"]),
        "run: no layer named 'zz' (layers: a, b)",
    );
    fails_usage(
        &est(&["--unit", "bytes"]),
        "invalid value 'bytes' for '--unit <UNIT>'",
    );
    assert!(!d.join("e.csv").exists());
    fails_with(
        &infoplane(d, &["distances", "run", "--epochs", "5", "--out", "d.csv"]),
        "run: epoch 5 has no recorded activations (epochs with activations: 0-2)",
    );
}

#[test]
fn distances_table_and_histograms() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "run", "parquet");
    let r = infoplane(
        d,
        &["distances", "run", "--out", "dist.csv", "--plot", "plots"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "wrote dist.csv (6 rows) and dist-histogram.csv\nwrote 4 plots in plots\n"
    );
    // One PNG (900 x 560, with drawn content) and one SVG per layer.
    for stem in ["distances-00-a", "distances-01-b"] {
        let png = std::fs::read(d.join("plots").join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 900);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 560);
        assert!(
            png.len() > 10_000,
            "{stem}.png looks empty ({} bytes)",
            png.len()
        );
        let svg = std::fs::read_to_string(d.join("plots").join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("width=\"900\"") && svg.contains("epoch 2"));
        assert!(svg.matches("<polyline").count() >= 3, "one line per epoch");
    }
    let (header, rows) = csv(&d.join("dist.csv"));
    insta::assert_snapshot!("distances_header", header.join(","));
    assert_eq!(rows.len(), 6);
    let pairs = (N * (N - 1) / 2).to_string();
    assert!(rows.iter().all(|r| r[5] == pairs));
    let (hh, hist) = csv(&d.join("dist-histogram.csv"));
    assert_eq!(
        hh,
        vec!["layer", "layer_index", "epoch", "lower", "upper", "count"]
    );
    let total: u64 = hist
        .iter()
        .filter(|r| r[0] == "b" && r[2] == "1")
        .map(|r| r[5].parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, (N * (N - 1) / 2) as u64);
    // --squared: percentiles and histograms of d², the quantity the σ² rules read: p90 of d²
    // is p90 of d squared, and over 1000 it is the thesis rule's σ².
    let r = infoplane(
        d,
        &[
            "distances",
            "run",
            "--squared",
            "--out",
            "sq.csv",
            "--plot",
            "sq",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (sh, sq) = csv(&d.join("sq.csv"));
    let at = |h: &[String], name: &str| h.iter().position(|c| c == name).unwrap();
    for (plain, squared) in rows.iter().zip(&sq) {
        let p90: f64 = plain[at(&header, "p90")].parse().unwrap();
        let p90_d2: f64 = squared[at(&sh, "p90_d2")].parse().unwrap();
        assert!(
            (p90_d2 / (p90 * p90) - 1.0).abs() < 1e-12,
            "{p90_d2} vs {p90}"
        );
        let thesis: f64 = squared[at(&sh, "sigma2_thesis_p90_d2_over_1000")]
            .parse()
            .unwrap();
        assert!((thesis / (p90_d2 / 1000.0) - 1.0).abs() < 1e-12);
    }
    let svg = std::fs::read_to_string(d.join("sq").join("distances-00-a.svg")).unwrap();
    assert!(svg.contains("squared pairwise distance"));
}

#[test]
fn dpi_snr_compare_plot_and_report_end_to_end() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let arch = fixture_archive();
    let arch = arch.to_str().unwrap();
    let r = infoplane(
        d,
        &["estimate", arch, "--sigma2", "0.1,1", "--out", "est.csv"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    let r = infoplane(d, &["dpi", "est.csv", "--out", "violations.csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("24 rows checked, "), "{}", r.stdout);
    let (header, _) = csv(&d.join("violations.csv"));
    insta::assert_snapshot!("violations_header", header.join(","));

    // A definite violation: BD of layer b above KL of layer a. --fail-on-violation exits 3.
    let head = "run,layer,layer_index,layer_kind,epoch,estimator,sigma2,sigma2_rule,i_xz,i_yz,i_yz_lo,i_yz_hi,n,h_y,log_n,n_eff,saturated,unit";
    let body = [
        "r,a,0,linear,1,kl,0.1,fixed,2.0,0.5,0.1,0.6,8,1,3,2,false,bits",
        "r,a,0,linear,1,bd,0.1,fixed,1.5,0.4,0.1,0.6,8,1,3,2,false,bits",
        "r,b,1,linear,1,kl,0.1,fixed,2.9,0.5,0.1,0.6,8,1,3,2,false,bits",
        "r,b,1,linear,1,bd,0.1,fixed,2.5,0.4,0.1,0.6,8,1,3,2,false,bits",
    ];
    std::fs::write(d.join("bad.csv"), format!("{head}\n{}\n", body.join("\n"))).unwrap();
    let r = infoplane(d, &["dpi", "bad.csv"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains(
            "r: b > a for I(X;Z) with kl at σ²=0.1, 1 of 1 epochs (definite: 1; first at epoch 1)"
        ),
        "{}",
        r.stdout
    );
    let r = infoplane(d, &["dpi", "bad.csv", "--fail-on-violation"]);
    assert_eq!(r.code, 3);
    std::fs::write(d.join("other.csv"), "a,b\n1,2\n").unwrap();
    fails_with(
        &infoplane(d, &["dpi", "other.csv"]),
        "other.csv: not an estimates table: missing columns run, layer, layer_index, epoch, estimator, sigma2, i_xz, i_yz, n, h_y, log_n (write one with `infoplane estimate`)",
    );

    let r = infoplane(d, &["snr", arch, "--out", "snr.csv", "--plot", "snrplot"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (header, rows) = csv(&d.join("snr.csv"));
    insta::assert_snapshot!("snr_header", header.join(","));
    assert!(!rows.is_empty());
    assert!(d.join("snrplot/snr.png").is_file() && d.join("snrplot/snr.svg").is_file());

    let r = infoplane(
        d,
        &[
            "compare",
            "est.csv",
            "--by",
            "estimator",
            "--out",
            "cmp.csv",
            "--plot",
            "cmp",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (header, rows) = csv(&d.join("cmp.csv"));
    insta::assert_snapshot!("compare_header", header.join(","));
    // Groups (estimator, σ²): kl 0.1 is the reference for kl 1, bd 0.1 and bd 1; 3 layers x 2 epochs each.
    assert_eq!(rows.len(), 18);
    let (header, _) = csv(&d.join("cmp-ranks.csv"));
    insta::assert_snapshot!("compare_ranks_header", header.join(","));
    fails_with(
        &infoplane(d, &["compare", "est.csv", "--by", "run", "--out", "x.csv"]),
        "nothing to compare: every row has the same run (tiny)",
    );

    for (kind, input) in [("infoplane", "est.csv"), ("accuracy", arch), ("snr", arch)] {
        let r = infoplane(
            d,
            &["plot", input, "--kind", kind, "--out", &format!("p-{kind}")],
        );
        assert_eq!(r.code, 0, "{kind}: {}", r.stderr);
        assert!(d.join(format!("p-{kind}.png")).is_file());
    }
    let r = infoplane(d, &["plot", arch, "--kind", "distances", "--out", "p-dist"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    fails_usage(
        &infoplane(d, &["plot", "est.csv", "--kind", "pie", "--out", "x"]),
        "invalid value 'pie' for '--kind <KIND>'",
    );

    let r = infoplane(d, &["report", arch, "--out", "rep"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut files: Vec<String> = Vec::new();
    for e in walk(&d.join("rep")) {
        files.push(e.strip_prefix(d.join("rep")).unwrap().display().to_string());
    }
    files.sort();
    insta::assert_snapshot!("report_files", files.join("\n"));
    let html = std::fs::read_to_string(d.join("rep/index.html")).unwrap();
    assert!(html.contains("<img") && html.contains("data:image/png;base64,"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the report must not need the network"
    );
    assert!(html.contains("gradient SNR"));
    // It opens with the verdict, one line per layer, before the summary.
    let verdict = html.find("<h2>Verdict</h2>").expect("a verdict section");
    assert!(verdict < html.find("<h2>Summary</h2>").unwrap());
    assert!(html.contains("<li>h1: no trend can be judged (fewer than 3 epochs)</li>"));
    // Two archives that are not seeds of one configuration (both have seed 7): not aggregated,
    // and the page says why.
    let hdf5 = arch.replace("tiny-parquet", "tiny-hdf5");
    let r = infoplane(d, &["report", arch, &hdf5, "--out", "rep2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(d.join("rep2/index.html")).unwrap();
    assert!(
        html.contains("<h2>Over seeds</h2>\n<p>not aggregated over seeds: two archives have the run name &#39;tiny&#39;</p>"),
        "{}",
        &html[..html.len().min(3000)]
    );
    assert!(!d.join("rep2/aggregate.csv").exists());
    // The report takes its distances (squared: what the σ² rules read) from its estimate
    // passes: the same bytes as `distances --squared`.
    let r = infoplane(d, &["distances", arch, "--squared", "--out", "dist.csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run_csv = files
        .iter()
        .find(|f| f.starts_with("distances-") && f.ends_with(".csv"))
        .expect("the report writes a distances table");
    assert_eq!(
        std::fs::read(d.join("dist.csv")).unwrap(),
        std::fs::read(d.join("rep").join(run_csv)).unwrap()
    );
    report_table::report_of_a_table(d, arch);
}
