//! Estimator options of issue 18 through the CLI: Rényi entropies above `--renyi-max-n` (the
//! quadrature's rows and error column) and MINE's separable critic.

use super::common::*;

/// Above `--renyi-max-n`, `estimate` uses every sample through the quadrature: its rows say so,
/// carry the standard error, and equal the library's call on the same matrix.
#[test]
fn renyi_above_max_n_is_the_quadrature_with_an_error_column() {
    use infoplane::estimator::renyi::{Renyi, RenyiParams};
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (a, _) = write_inputs(d);
    import_ok(d, "run", "parquet");
    let r = infoplane(
        d,
        &[
            "estimate",
            "run",
            "--estimator",
            "renyi",
            "--renyi-max-n",
            "5",
            "--layers",
            "a",
            "--epochs",
            "2",
            "--unit",
            "nats",
            "--out",
            "r.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (header, rows) = csv(&d.join("r.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = &rows[0];
    assert!(
        row[col("params")].contains("approximate=slq_probes_16_steps_20_deflate_5"),
        "{row:?}"
    );
    let z = ndarray::Array2::from_shape_vec((N, 5), a[2 * N * 5..].to_vec()).unwrap();
    let labels: Vec<u32> = (0..N as u32).map(|i| i % 3).collect();
    let o = RenyiParams {
        max_n: 5,
        ..RenyiParams::default()
    };
    let e = Renyi::new(o.clone())
        .unwrap()
        .estimate(z.mapv(f64::from).view(), None, &labels)
        .unwrap();
    let value = |name: &str| row[col(name)].parse::<f64>().unwrap();
    assert!(
        (value("i_yz") - e.i_yz).abs() < 1e-12,
        "{} vs {}",
        value("i_yz"),
        e.i_yz
    );
    assert!((value("i_yz_se") - e.se.1).abs() < 1e-12 && e.se.1.is_finite());
    assert!(value("i_xz").is_nan());
}

/// `--mine-critic separable` is InfoNCE's; with another bound it is refused before anything
/// is read.
#[test]
fn mine_separable_critic_is_for_infonce_only() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "run", "parquet");
    let r = infoplane(
        d,
        &[
            "estimate",
            "run",
            "--estimator",
            "mine",
            "--mine-critic",
            "separable",
            "--out",
            "m.csv",
        ],
    );
    fails_with(
        &r,
        "--mine-critic separable needs the infonce variant (the variant is dv)",
    );
    assert!(!d.join("m.csv").exists());
}
