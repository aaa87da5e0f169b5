//! Issue 13 through the CLI: σ² rules fixed per layer, so that growing activations are not
//! turned into apparent compression.

use super::common::*;
use infoplane::archive::numpy;

/// A Cora-like layer whose activations grow 300-fold during training: epoch e is
/// SCALES[e] × one fixed random matrix (N x H).
const SCALES: [f32; 6] = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0];
const NS: usize = 240;
const H: usize = 6;

fn base_matrix() -> Vec<f32> {
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..NS * H)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// The exact 90th percentile (rank ceil(0.9 P)) of the squared pairwise distances.
fn p90_d2(z: &[f32]) -> f64 {
    let mut d2: Vec<f64> = Vec::new();
    for i in 0..NS {
        for j in i + 1..NS {
            d2.push(
                (0..H)
                    .map(|k| f64::from(z[i * H + k] - z[j * H + k]).powi(2))
                    .sum(),
            );
        }
    }
    d2.sort_by(f64::total_cmp);
    d2[((0.9 * d2.len() as f64).ceil() as usize) - 1]
}

#[test]
fn sigma2_rules_are_fixed_per_layer_from_the_last_epoch() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let base = base_matrix();
    let acts: Vec<f32> = SCALES
        .iter()
        .flat_map(|&c| base.iter().map(move |&v| v * c))
        .collect();
    numpy::write_npz_f32(
        &d.join("acts.npz"),
        &[("fc", &[SCALES.len(), NS, H], &acts)],
    )
    .unwrap();
    let y: Vec<i64> = (0..NS as i64).map(|i| i % 3).collect();
    numpy::write_npy_i64(&d.join("y.npy"), &[NS], &y).unwrap();
    import_ok(d, "run", "parquet");
    let r = infoplane(
        d,
        &[
            "estimate",
            "run",
            "--estimator",
            "kl",
            "--sigma2",
            "thesis,thesis@each,thesis@0",
            "--unit",
            "nats",
            "--out",
            "est.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (header, rows) = csv(&d.join("est.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let of = |rule: &str| -> Vec<(f64, f64)> {
        let mut v: Vec<(u32, f64, f64)> = rows
            .iter()
            .filter(|r| r[col("sigma2_rule")] == rule)
            .map(|r| {
                let num = |c: &str| r[col(c)].parse::<f64>().unwrap();
                (r[col("epoch")].parse().unwrap(), num("sigma2"), num("i_xz"))
            })
            .collect();
        v.sort_by_key(|x| x.0);
        v.into_iter().map(|(_, s, i)| (s, i)).collect()
    };
    // The default: one σ², p90(d²)/1000 of the last epoch, at every epoch.
    let last: Vec<f32> = base.iter().map(|&v| v * 3.0).collect();
    let want = p90_d2(&last) / 1000.0;
    let fixed = of("p90(d²)/1000@last");
    assert_eq!(fixed.len(), SCALES.len());
    for &(s2, _) in &fixed {
        assert_eq!(s2, fixed[0].0, "the same σ² at every epoch");
        // The histogram's quantile is within its bin (2^-7 relative on d²) of the exact one.
        assert!((s2 / want - 1.0).abs() < 0.008, "{s2} vs {want}");
    }
    // Growing activations against a fixed σ²: I(X;Z) rises from ~0 (a fitting phase).
    for w in fixed.windows(2) {
        assert!(w[1].1 > w[0].1, "{fixed:?}");
    }
    assert!(fixed[0].1 < 0.01, "{fixed:?}");
    assert!(fixed[5].1 > 3.0, "{fixed:?}");
    // Per epoch the rule divides the scale out: the same I(X;Z) at every epoch (no fitting at
    // all), and at the early epochs far above the fixed rule's value.
    let each = of("p90(d²)/1000@each");
    for &(_, i) in &each {
        assert!((i - each[5].1).abs() < 1e-4, "{each:?}");
    }
    assert!((each[5].1 - fixed[5].1).abs() < 1e-9);
    // @0 reads the first epoch: σ² 90000 times smaller, every epoch near ln N.
    let first = of("p90(d²)/1000@0");
    assert!((first[0].0 / (want / 9e4) - 1.0).abs() < 0.01);
    assert!(first[3].1 > (NS as f64).ln() - 0.01);
    let r = infoplane(
        d,
        &["estimate", "run", "--sigma2", "nn@7", "--out", "bad.csv"],
    );
    fails_with(
        &r,
        "run: kl/bd: the reference epoch 7 has no recorded activations (epochs with activations: 0-5)",
    );
}
