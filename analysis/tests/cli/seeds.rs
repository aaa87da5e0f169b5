//! Error bars, seeds and the verdict through the binary: `estimate --error`, the `mc`
//! estimator, `aggregate` (against a hand computation, and its refusals), `plot` of an
//! aggregate, and `verdict`.

use infoplane::table::estimates::{self, Unit};

use crate::common::*;

/// Writes the estimates of `src` as run `name` with seed `seed` and I(X;Z) shifted by `shift`.
fn as_seed(src: &std::path::Path, dst: &std::path::Path, name: &str, seed: &str, shift: f64) {
    let mut t = estimates::read(src).unwrap();
    for r in &mut t.rows {
        r.run = name.into();
        r.seed = seed.into();
        r.i_xz += shift;
    }
    estimates::write(&t.rows, Unit::Nats, dst).unwrap();
}

#[test]
fn error_bars_mc_aggregate_plot_and_verdict_end_to_end() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let run = fixture_archive();
    let run = run.to_str().unwrap();
    let r = infoplane(
        d,
        &[
            "estimate",
            run,
            "--estimator",
            "kl,bd,mc,bin",
            "--sigma2",
            "0.1,1",
            "--error",
            "subsample:2",
            "--unit",
            "nats",
            "--out",
            "e.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let e = estimates::read(&d.join("e.csv")).unwrap();
    assert!(e
        .rows
        .iter()
        .all(|r| r.params_text().contains("error=subsample:2")));
    assert!(e.rows.iter().all(|r| r.seed == "7"
        && r.config
            .starts_with("model=fcn dataset=fixture layers=h1:3")));
    // Every row has its error bar and interval, value ± 1.96 SE.
    for r in &e.rows {
        assert!(r.i_xz_se.is_finite() && r.i_xz_se >= 0.0, "{r:?}");
        assert!((r.i_xz_ci.1 - (r.i_xz + 1.959963984540054 * r.i_xz_se)).abs() < 1e-12);
    }
    // mc lies inside [bd, kl] at each (layer, epoch, σ²).
    for m in e.rows.iter().filter(|r| r.estimator == "mc") {
        let at = |est: &str| {
            e.rows
                .iter()
                .find(|r| {
                    r.estimator == est
                        && r.layer == m.layer
                        && r.epoch == m.epoch
                        && r.setting == m.setting
                })
                .unwrap()
                .i_xz
        };
        assert!(
            at("bd") - 1e-9 <= m.i_xz && m.i_xz <= at("kl") + 1e-9,
            "{m:?}"
        );
    }
    // Three seeds: I(X;Z) shifted by 0.1, 0.2, 0.3.
    for (k, s) in ["1", "2", "3"].iter().enumerate() {
        as_seed(
            &d.join("e.csv"),
            &d.join(format!("s{s}.csv")),
            &format!("seed{s}"),
            s,
            0.1 * (k + 1) as f64,
        );
    }
    let r = infoplane(
        d,
        &[
            "aggregate",
            "s1.csv",
            "s2.csv",
            "s3.csv",
            "--out",
            "agg.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("wrote agg.csv ("), "{}", r.stdout);
    let agg = estimates::read(&d.join("agg.csv")).unwrap();
    assert_eq!(agg.rows.len(), e.rows.len());
    let (_, lines) = csv(&d.join("agg.csv"));
    assert_eq!(lines.len(), e.rows.len());
    for (a, r) in agg.rows.iter().zip(&e.rows) {
        // Mean = value + 0.2, sd = 0.1, sem = 0.1/√3, interval ± t_{0.975,2} sem.
        assert!((a.i_xz - (r.i_xz + 0.2)).abs() < 1e-12, "{a:?}");
        let sem = 0.1 / 3f64.sqrt();
        assert!((a.i_xz_se - sem).abs() < 1e-12);
        assert!((a.i_xz_ci.1 - a.i_xz - 4.302653 * sem).abs() < 1e-9);
        assert_eq!(a.run, "mean of 3 runs");
    }
    let r = infoplane(
        d,
        &["plot", "agg.csv", "--estimator", "mc", "--out", "plane"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read(d.join("plane.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
    // Refusals: a repeated seed, another configuration; one run is a note, not an error.
    as_seed(&d.join("e.csv"), &d.join("dup.csv"), "other", "1", 0.0);
    fails_with(
        &infoplane(d, &["aggregate", "s1.csv", "dup.csv", "--out", "x.csv"]),
        "s1.csv: runs 'other' and 'seed1' both have seed 1",
    );
    let mut lenet = estimates::read(&d.join("s2.csv")).unwrap();
    for r in &mut lenet.rows {
        r.run = "lenet".into();
        r.config = r.config.replace("model=fcn", "model=lenet");
    }
    estimates::write(&lenet.rows, Unit::Nats, &d.join("lenet.csv")).unwrap();
    fails_with(
        &infoplane(d, &["aggregate", "s1.csv", "lenet.csv", "--out", "x.csv"]),
        "s1.csv: run 'seed1' is not a seed of run 'lenet': model lenet vs fcn",
    );
    let r = infoplane(d, &["aggregate", "s1.csv", "--out", "one.csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .starts_with("note: one run ('seed1'): n = 1, no spread and no interval\n"));
    assert!(!d.join("x.csv").exists());
    // The verdict over three seeds of an archive with 3 epochs: one sentence per layer, and
    // its table.
    write_inputs(d);
    import_ok(d, "run", "parquet");
    let r = infoplane(
        d,
        &[
            "estimate",
            "run",
            "--estimator",
            "kl,bd,mc,bin",
            "--sigma2",
            "0.1,1",
            "--unit",
            "nats",
            "--out",
            "r.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for s in ["1", "2", "3"] {
        as_seed(
            &d.join("r.csv"),
            &d.join(format!("r{s}.csv")),
            &format!("r{s}"),
            s,
            0.0,
        );
    }
    // The animated plane: one APNG frame per epoch (3 here), of one estimator and σ².
    let r = infoplane(
        d,
        &[
            "plot",
            "r.csv",
            "--kind",
            "movie",
            "--estimator",
            "kl",
            "--sigma2",
            "0.1",
            "--out",
            "mv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let png = std::fs::read(d.join("mv.png")).unwrap();
    let at = png.windows(4).position(|w| w == b"acTL").expect("an APNG");
    assert_eq!(
        u32::from_be_bytes(png[at + 4..at + 8].try_into().unwrap()),
        3
    );
    let r = infoplane(
        d,
        &[
            "plot",
            "r.csv",
            "--kind",
            "movie",
            "--estimator",
            "kl",
            "--out",
            "mv2",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.starts_with("error: r.csv: a movie shows one run, estimator and σ²; choose them with the estimator and σ² filters (the table has run · kl · σ² = 0.1; run · kl · σ² = 1)"), "{}", r.stderr);
    let r = infoplane(
        d,
        &["verdict", "r1.csv", "r2.csv", "r3.csv", "--out", "v.csv"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let layers: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with("DPI") && !l.starts_with("wrote"))
        .collect();
    assert_eq!(layers.len(), 2, "{}", r.stdout);
    for (l, name) in layers.iter().zip(["a: ", "b: "]) {
        assert!(l.starts_with(name) && !l.contains("no trend"), "{l}");
    }
    let (header, rows) = csv(&d.join("v.csv"));
    assert_eq!(
        header[..4],
        ["layer", "layer_index", "estimator", "setting"]
    );
    assert_eq!(rows.len(), 2 * 7, "2 layers x (kl, bd, mc at 2 σ², bin)");
    // (The binning setting holds a quoted comma: its rows are not split by column here.)
    assert!(
        rows.iter().filter(|r| r[2] != "bin").all(|r| r[5] == "3"),
        "3 runs each"
    );
    // One epoch: no trend can be judged, and it says so.
    let r = infoplane(
        d,
        &[
            "estimate", run, "--epochs", "last", "--sigma2", "0.1", "--out", "last.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = infoplane(d, &["verdict", "last.csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "note: every trajectory has fewer than 3 epochs: no trend can be judged (estimate more epochs)\n\
         h1: no trend can be judged (fewer than 3 epochs)\n\
         map: no trend can be judged (fewer than 3 epochs)\n\
         out: no trend can be judged (fewer than 3 epochs)\n"
    );
    // A mix of bits and nats: refused.
    let r = infoplane(
        d,
        &["estimate", run, "--sigma2", "0.1", "--out", "bits.csv"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    fails_with(
        &infoplane(d, &["verdict", "s1.csv", "bits.csv"]),
        "bits.csv: is in bits, the tables before it in nats: write them in one unit",
    );
}
