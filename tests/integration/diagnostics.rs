//! DPI classification, gradient SNR, transition detection, comparisons, results round trips and
//! plots, on constructed inputs with known answers.

use infoplane::archive::GradientStats;
use infoplane::diagnostics::compare::{self, By};
use infoplane::diagnostics::dpi::{self, Category, Check};
use infoplane::diagnostics::snr;
use infoplane::estimator::Estimate;
use infoplane::plot::{self, PlanePanel};
use infoplane::table::estimates::{self, EstimateRow, Estimates, Unit};
use infoplane::table::{frame, Values};

#[allow(clippy::too_many_arguments)]
pub(crate) fn row(
    run: &str,
    est: &str,
    layer: usize,
    kind: &str,
    epoch: u32,
    i_xz: f64,
    i_yz: f64,
    lo: f64,
    hi: f64,
) -> EstimateRow {
    EstimateRow {
        run: run.into(),
        layer: format!("l{layer}"),
        layer_index: layer,
        layer_kind: kind.into(),
        epoch,
        estimate: Estimate {
            estimator: est.to_string().into(),
            setting: "0.1".into(),
            sigma2: 0.1,
            sigma2_rule: "fixed".into(),
            i_xz,
            i_yz,
            i_yz_lo: lo,
            i_yz_hi: hi,
            saturated: Some(false),
            ..Estimate::new("", "")
        },
        n: 100,
        h_y: 1.0,
        log_n: 100f64.log2(),
        ..EstimateRow::blank()
    }
}

fn find(v: &[dpi::Violation], est: &str, check: Check, layer: &str) -> Option<Category> {
    v.iter()
        .find(|x| x.estimator == est && x.check == check && x.layer == layer)
        .map(|x| x.category)
}

#[test]
fn dpi_classifies_every_category() {
    // Layers 0 → 1 → 2 linear, 3 graph. KL (upper) and BD (lower) at the same σ².
    let rows = vec![
        row("r", "kl", 0, "linear", 5, 3.0, 0.5, 0.2, 0.6),
        row("r", "bd", 0, "linear", 5, 2.0, 0.4, 0.2, 0.6),
        // l1: KL 3.5 > KL(l0) 3.0, and BD(l1) 3.2 > KL(l0) 3.0: definite.
        row("r", "kl", 1, "linear", 5, 3.5, 0.55, 0.3, 0.7),
        row("r", "bd", 1, "linear", 5, 3.2, 0.45, 0.3, 0.7),
        // l2: KL 3.8 > 3.5 but BD(l2) 3.4 < KL(l1) 3.5: within the gap. I(Y;Z) bracket of l2
        // [0.75, 0.9] lies above l1's [0.3, 0.7]: definite for I(Y;Z).
        row("r", "kl", 2, "linear", 5, 3.8, 0.8, 0.75, 0.9),
        row("r", "bd", 2, "linear", 5, 3.4, 0.78, 0.75, 0.9),
        // l3 is a graph layer: its increase is not applicable; its I(Y;Z) 1.2 > H(Y) = 1.
        row("r", "kl", 3, "graph", 5, 5.0, 1.2, 0.8, 1.0),
        row("r", "bd", 3, "graph", 5, 4.0, 0.9, 0.8, 1.0),
    ];
    let v = dpi::check(&rows, 1e-3).unwrap();
    assert_eq!(find(&v, "kl", Check::DpiX, "l1"), Some(Category::Definite));
    assert_eq!(find(&v, "bd", Check::DpiX, "l1"), Some(Category::Definite));
    assert_eq!(find(&v, "kl", Check::DpiX, "l2"), Some(Category::WithinGap));
    assert_eq!(find(&v, "bd", Check::DpiX, "l2"), Some(Category::WithinGap));
    assert_eq!(find(&v, "kl", Check::DpiY, "l2"), Some(Category::Definite));
    assert_eq!(find(&v, "kl", Check::DpiY, "l1"), Some(Category::WithinGap));
    assert_eq!(
        find(&v, "kl", Check::DpiX, "l3"),
        Some(Category::NotApplicable)
    );
    assert_eq!(
        find(&v, "kl", Check::DpiY, "l3"),
        Some(Category::NotApplicable)
    );
    assert_eq!(
        find(&v, "kl", Check::BoundY, "l3"),
        Some(Category::Definite)
    );
    let bound = v.iter().find(|x| x.check == Check::BoundY).expect("bound");
    assert!((bound.excess - 0.2).abs() < 1e-12);
    assert_eq!(bound.reference, 1.0);
    // A missing partner row (bd of l1 absent) leaves the gap unknown, never definite: the
    // KL rows alone (3.0 → 3.5) would otherwise be compared with nothing.
    let partial: Vec<EstimateRow> = rows
        .iter()
        .filter(|r| !(r.estimator == "bd" && r.layer_index == 1))
        .cloned()
        .collect();
    let v = dpi::check(&partial, 1e-3).unwrap();
    assert_eq!(
        find(&v, "kl", Check::DpiX, "l1"),
        Some(Category::UnknownGap)
    );
    assert_eq!(find(&v, "kl", Check::DpiX, "l2"), Some(Category::WithinGap));
    // Without a partner estimator the gap is unknown; saturation is a flag; tolerance works.
    let mut lone = vec![
        row("r", "mine", 0, "linear", 1, 1.0, 0.1, f64::NAN, f64::NAN),
        row("r", "mine", 1, "linear", 1, 1.5, 0.1, f64::NAN, f64::NAN),
    ];
    lone[0].saturated = Some(true);
    let v = dpi::check(&lone, 1e-3).unwrap();
    assert_eq!(
        find(&v, "mine", Check::DpiX, "l1"),
        Some(Category::UnknownGap)
    );
    assert_eq!(
        find(&v, "mine", Check::Saturation, "l0"),
        Some(Category::Flag)
    );
    assert!(!dpi::has_definite(&v));
    assert!(dpi::check(&lone, 0.6)
        .unwrap()
        .iter()
        .all(|x| x.check == Check::Saturation));
    // The output of a graph network is not a Markov step either; after a recurrent layer it is.
    let rows = vec![
        row("g", "kl", 0, "graph", 0, 1.0, 0.1, 0.0, 0.2),
        row("g", "kl", 1, "output", 0, 2.0, 0.1, 0.0, 0.2),
    ];
    assert_eq!(
        find(&dpi::check(&rows, 0.0).unwrap(), "kl", Check::DpiX, "l1"),
        Some(Category::NotApplicable)
    );
    let rows = vec![
        row("g", "kl", 0, "recurrent", 0, 1.0, 0.1, 0.0, 0.2),
        row("g", "kl", 1, "output", 0, 2.0, 0.1, 0.0, 0.2),
    ];
    assert_eq!(
        find(&dpi::check(&rows, 0.0).unwrap(), "kl", Check::DpiX, "l1"),
        Some(Category::UnknownGap)
    );
    let summary = dpi::summary(&dpi::check(&lone, 1e-3).unwrap(), &lone, Unit::Nats);
    assert!(summary.contains("r: l1 > l0 for I(X;Z) with mine at σ²=0.1, 1 of 1 epochs (definite: 0; first at epoch 1)"), "{summary}");
    assert!(
        summary
            .contains("r: I(X;Z) of l0 is saturated at log N with mine at σ²=0.1, 1 of 1 epochs"),
        "{summary}"
    );
    assert!(summary.contains("definite = beyond the estimators' own upper-lower gap"));
    // One sentence per layer pair over the σ² where it happens: at σ² = 0.1 both epochs
    // violate, at 0.3 one, at 1 none.
    let mut sweep = Vec::new();
    for (s2, bad_epochs) in [(0.1, vec![1, 2]), (0.3, vec![2]), (1.0, vec![])] {
        for epoch in [1u32, 2] {
            let up = if bad_epochs.contains(&epoch) {
                2.0
            } else {
                0.5
            };
            let mut a = row(
                "r",
                "mine",
                0,
                "linear",
                epoch,
                1.0,
                0.1,
                f64::NAN,
                f64::NAN,
            );
            let mut b = row("r", "mine", 1, "output", epoch, up, 0.1, f64::NAN, f64::NAN);
            for r in [&mut a, &mut b] {
                r.sigma2 = s2;
                r.setting = s2.to_string();
            }
            sweep.extend([a, b]);
        }
    }
    let f = dpi::findings(&dpi::check(&sweep, 1e-3).unwrap(), &sweep);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].sentence(),
        "r: l1 > l0 for I(X;Z) with mine at σ² 0.1 to 0.3 (2 values), 1–2 of 2 epochs (definite: 0; first at epoch 1)"
    );
}

fn stats(mean: &[f32], std: &[f32], value: &[f32]) -> GradientStats {
    GradientStats {
        n_batches: 4,
        mean: mean.to_vec(),
        std: std.to_vec(),
        value: value.to_vec(),
    }
}

#[test]
fn snr_closed_forms() {
    // W = diag(3, 4) as 2 x 2: ||W||_F = 5, ||W||_2 = 4. Mean = (1, 0, 0, 2): ||Mean|| = √5.
    // STD = (1, 1, 1, 1): ||STD|| = 2, tr(Cov) = 4.
    let g = stats(&[1.0, 0.0, 0.0, 2.0], &[1.0; 4], &[3.0, 0.0, 0.0, 4.0]);
    let r = snr::layer_row("l", 3, &[(&g, &[2, 2])]);
    let s5 = 5f64.sqrt();
    assert!((r.w_norm - 5.0).abs() < 1e-12);
    assert!((r.w_spectral - 4.0).abs() < 1e-9);
    assert!((r.mean_over_w - s5 / 5.0).abs() < 1e-12);
    assert!((r.std_over_w - 2.0 / 5.0).abs() < 1e-12);
    assert!((r.mean_over_std - s5 / 2.0).abs() < 1e-12);
    assert!((r.snr_trace - 5.0 / 4.0).abs() < 1e-12);
    assert!((r.mean_over_spectral - s5 / 4.0).abs() < 1e-9);
    assert_eq!(r.n_batches, 4);
    // Two tensors of one layer (2 x 1 and 2 x 2) combine: Frobenius by summed squares, the
    // spectral norm of [a | B] = [[1, 2, 0], [0, 0, 2]] is √(4.5 + √(4.5² - 16)) ... computed
    // from its Gram matrix [[5, 0], [0, 4]]: √5.
    let a = stats(&[0.0; 2], &[1.0; 2], &[1.0, 0.0]);
    let b = stats(&[0.0; 4], &[1.0; 4], &[2.0, 0.0, 0.0, 2.0]);
    let r = snr::layer_row("l", 1, &[(&a, &[2, 1]), (&b, &[2, 2])]);
    assert!((r.w_norm - 3.0).abs() < 1e-12);
    assert!((r.w_spectral - 5f64.sqrt()).abs() < 1e-9);
    // Rank one u vᵀ: the spectral norm is |u| |v| = 5 · √2.
    let m = [3.0, 3.0, 4.0, 4.0];
    assert!((snr::spectral_norm(&m, 2, 2) - 5.0 * 2f64.sqrt()).abs() < 1e-9);
}

#[test]
fn transition_and_stability_on_synthetic_curves() {
    // Drift (mean/std = 10) for epochs 1..=20, then diffusion (0.1): the running median at 20
    // is median(10, 10, 0.1) = 10, at 21 it is median(10, 0.1, 0.1) = 0.1 < 1.
    let series: Vec<(u32, f64)> = (0..=40)
        .map(|e| (e, if e <= 20 { 10.0 } else { 0.1 }))
        .collect();
    assert_eq!(snr::transition_epoch(&series), Some(21));
    // A single dip below 1 is not a transition.
    let blip: Vec<(u32, f64)> = (1..=30)
        .map(|e| (e, if e == 10 { 0.01 } else { 5.0 }))
        .collect();
    assert_eq!(snr::transition_epoch(&blip), None);
    let acc = [
        (0, 0.1),
        (1, 0.5),
        (2, 0.9),
        (3, 0.85),
        (4, 0.95),
        (5, 0.94),
        (6, 0.96),
    ];
    // Best 0.96; the last epoch below 0.94 is 3, so stable from 4.
    assert_eq!(snr::stable_epoch(&acc, 0.02), Some(4));
    assert_eq!(snr::stable_epoch(&[], 0.02), None);
}

#[test]
fn compare_two_known_tables() {
    // Estimator a and b on 3 layers at 2 epochs; at epoch 1 b swaps the order of l1 and l2.
    let mut rows = Vec::new();
    for (est, vals) in [
        ("kl", [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]]),
        ("bd", [[2.5, 1.5, 0.5], [2.0, 0.5, 1.0]]),
    ] {
        for (e, v) in vals.iter().enumerate() {
            for (l, &x) in v.iter().enumerate() {
                rows.push(row("r", est, l, "linear", e as u32, x, x / 10.0, 0.0, 1.0));
            }
        }
    }
    let c = compare::compare(&rows, By::Estimator, false).expect("compare");
    assert_eq!(c.groups, ["kl 0.1", "bd 0.1"]);
    assert_eq!(c.diffs.len(), 6);
    let d = c
        .diffs
        .iter()
        .find(|d| d.epoch == 1 && d.layer_index == 1)
        .expect("row");
    assert_eq!(d.i_xz, (2.0, 0.5));
    let r0 = c
        .ranks
        .iter()
        .find(|r| r.epoch == 0 && r.quantity == "i_xz")
        .expect("rank");
    assert_eq!((r0.spearman, r0.flips.len()), (1.0, 0));
    let r1 = c
        .ranks
        .iter()
        .find(|r| r.epoch == 1 && r.quantity == "i_xz")
        .expect("rank");
    // Ranks (2, 1, 0) vs (2, 0, 1): Σd² = 2, ρ = 1 - 6·2 / (3·8) = 0.5.
    assert!((r1.spearman - 0.5).abs() < 1e-12);
    assert_eq!(r1.flips, ["l1<l2"]); // the order in b, where a has l1 > l2
    assert!((compare::spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    // Runs with different N are refused unless forced; one group is refused.
    let mut other: Vec<EstimateRow> = rows
        .iter()
        .filter(|r| r.estimator == "kl")
        .cloned()
        .collect();
    for r in &mut other {
        r.run = "s".into();
        r.n = 50;
    }
    let mine: Vec<EstimateRow> = rows
        .iter()
        .filter(|r| r.estimator == "kl")
        .cloned()
        .chain(other)
        .collect();
    let e = compare::compare(&mine, By::Run, false)
        .expect_err("refused")
        .to_string();
    assert_eq!(e, "the runs have different analysis sets (r: N = 100, s: N = 50); their estimates are not comparable (pass --force to compare anyway)");
    assert_eq!(
        compare::compare(&mine, By::Run, true)
            .expect("forced")
            .diffs
            .len(),
        6
    );
    let e = compare::compare(&rows, By::Run, false)
        .expect_err("one run")
        .to_string();
    assert_eq!(e, "nothing to compare: every row has the same run (r)");
}

#[test]
fn results_tables_round_trip_and_refuse_other_tables() {
    let rows = [
        row("r", "kl", 0, "linear", 5, 3.0, 0.5, 0.2, 0.6),
        row("r", "bd", 1, "conv", 7, 2.0, 0.4, f64::NAN, 0.6),
    ];
    let t = tempfile::tempdir().expect("tmp");
    // A table as another tool writes it: only some columns, values in bits, no setting.
    let bits = std::f64::consts::LN_2;
    let col = |f: fn(&EstimateRow) -> f64| Values::F64(rows.iter().map(|r| f(r) / bits).collect());
    let mut df = frame(vec![
        (
            "run",
            Values::Str(rows.iter().map(|r| r.run.clone()).collect()),
        ),
        (
            "layer",
            Values::Str(rows.iter().map(|r| r.layer.clone()).collect()),
        ),
        (
            "layer_index",
            Values::I64(rows.iter().map(|r| r.layer_index as i64).collect()),
        ),
        (
            "layer_kind",
            Values::Str(rows.iter().map(|r| r.layer_kind.clone()).collect()),
        ),
        (
            "epoch",
            Values::I64(rows.iter().map(|r| i64::from(r.epoch)).collect()),
        ),
        (
            "estimator",
            Values::Str(rows.iter().map(|r| r.estimator.to_string()).collect()),
        ),
        ("sigma2", Values::F64(vec![0.1, 0.1])),
        (
            "sigma2_rule",
            Values::Str(vec!["fixed".into(), "fixed".into()]),
        ),
        ("i_xz", col(|r| r.i_xz)),
        ("i_yz", col(|r| r.i_yz)),
        ("i_yz_lo", col(|r| r.i_yz_lo)),
        ("i_yz_hi", col(|r| r.i_yz_hi)),
        ("n", Values::I64(vec![100, 100])),
        ("h_y", col(|r| r.h_y)),
        ("log_n", col(|r| r.log_n)),
        ("saturated", Values::Bool(vec![false, false])),
        ("unit", Values::Str(vec!["bits".into(), "bits".into()])),
    ])
    .unwrap();
    for name in ["r.csv", "r.parquet"] {
        let p = t.path().join(name);
        infoplane::table::write(&mut df, &p).expect("write");
        let back = estimates::read(&p).expect("read");
        assert_eq!(back.unit, Unit::Bits);
        assert_eq!(back.rows.len(), 2);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-15 * b.abs();
        assert!(close(back.rows[0].i_xz, 3.0) && close(back.rows[0].h_y, 1.0));
        assert_eq!(back.rows[0].setting, "0.1");
        assert!(back.rows[1].i_yz_lo.is_nan());
        assert_eq!(
            (back.rows[1].layer_kind.as_str(), back.rows[1].epoch),
            ("conv", 7)
        );
    }
    // The rows `estimate` writes come back equal, in any unit.
    for unit in [Unit::Bits, Unit::Nats] {
        let p = t.path().join(format!("own-{unit}.csv"));
        estimates::write(&rows, unit, &p).expect("write");
        let back = estimates::read(&p).expect("read");
        assert_eq!(back.unit, unit);
        for (a, b) in back.rows.iter().zip(&rows) {
            assert!(
                (a.i_xz - b.i_xz).abs() < 1e-12 && a.setting == b.setting && a.layer == b.layer
            );
        }
    }
    std::fs::write(t.path().join("other.csv"), "run,layer\na,b\n").unwrap();
    let e = estimates::read(&t.path().join("other.csv")).expect_err("refused");
    assert_eq!(e.to_string(), format!("{}: not an estimates table: missing columns layer_index, epoch, estimator, sigma2, i_xz, i_yz, n, h_y, log_n (write one with `infoplane estimate`)", t.path().join("other.csv").display()));
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let b = std::fs::read(path).expect("png");
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

#[test]
fn plots_are_valid_png_and_svg_with_content() {
    let t = tempfile::tempdir().expect("tmp");
    let points: Vec<(u32, usize, f64, f64, f64, f64)> = (0..5u32)
        .flat_map(|e| {
            (0..4usize).map(move |l| {
                (
                    e * 10,
                    l,
                    6.0 - l as f64 + f64::from(e) * 0.1,
                    0.2 + 0.1 * l as f64,
                    0.1,
                    0.9,
                )
            })
        })
        .collect();
    let panel = PlanePanel {
        title: "run · kl · σ² = 0.1".into(),
        points,
        intervals: Default::default(),
        h_y: 1.0,
        log_n: 100f64.log2(),
        unit: "bits".into(),
        axes: ("I(X;Z)", "I(Y;Z)"),
        layers: Vec::new(),
    };
    let files = plot::information_plane(
        &t.path().join("plane"),
        &[panel.clone(), panel.clone(), panel],
        true,
    )
    .expect("plot");
    assert_eq!(files.len(), 2);
    // 3 panels: a 2 x 2 grid plus the colour bar.
    assert_eq!(png_size(&files[0]), (560 * 2 + 90, 460 * 2));
    let img = image::open(&files[0]).expect("decode").to_rgb8();
    let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 50, "only {} colours", colours.len());
    let svg = std::fs::read_to_string(&files[1]).expect("svg");
    assert!(
        svg.starts_with("<svg") && svg.contains("width=\"1210\"") && svg.contains("I(X;Z) [bits]")
    );
    let curves = vec![
        ("a".to_string(), 0, false, vec![(1.0, 0.1), (10.0, 0.01)]),
        ("b".to_string(), 1, true, vec![(1.0, 1.0), (10.0, 0.5)]),
    ];
    let files =
        plot::lines(&t.path().join("lines"), "t", "x", "y", &curves, 2, true).expect("lines");
    assert_eq!(png_size(&files[0]), (900, 600));
}

/// A row of run `run` (seed `seed`) at `epoch` of layer 0, estimator `est` at σ² `setting`.
fn seeded(
    run: &str,
    seed: &str,
    est: &str,
    setting: &str,
    epoch: u32,
    x: f64,
    y: f64,
) -> EstimateRow {
    let mut r = EstimateRow {
        seed: seed.into(),
        config: "model=fcn dataset=tishby layers=l0:4".into(),
        ..row(run, est, 0, "linear", epoch, x, y, f64::NAN, f64::NAN)
    };
    r.setting = setting.into();
    r.sigma2 = setting.parse().unwrap_or(f64::NAN);
    r
}

fn table_of(rows: Vec<EstimateRow>) -> Estimates {
    Estimates {
        rows,
        unit: Unit::Nats,
    }
}

#[test]
fn aggregate_equals_a_hand_computation_and_refuses_what_differs() {
    use infoplane::diagnostics::aggregate::{aggregate, aggregate_table, By};
    let t = |run: &str, seed: &str, x: f64, y: f64| {
        (
            std::path::PathBuf::from(format!("{run}.csv")),
            table_of(vec![
                seeded(run, seed, "kl", "0.1", 0, x, y),
                seeded(run, seed, "kl", "0.1", 10, x + 1.0, y),
            ]),
        )
    };
    let tables = vec![
        t("a", "1", 1.0, 0.5),
        t("b", "2", 2.0, 0.7),
        t("c", "3", 4.0, 0.6),
    ];
    let agg = aggregate(&tables, By::Seed).unwrap();
    assert_eq!(agg.rows.len(), 2);
    let r = &agg.rows[0];
    // Hand computation: mean 7/3, sd sqrt(((1-7/3)^2+(2-7/3)^2+(4-7/3)^2)/2) = sqrt(7/3),
    // sem sd/sqrt(3), 95 % interval mean ± t_{0.975,2} sem with t = 4.302653.
    let (mean, sd) = (7.0 / 3.0, (7.0f64 / 3.0).sqrt());
    let sem = sd / 3f64.sqrt();
    assert!((r.i_xz - mean).abs() < 1e-15);
    assert!((agg.extra[0].i_xz_sd - sd).abs() < 1e-15);
    assert!((r.i_xz_se - sem).abs() < 1e-15);
    assert!((r.i_xz_ci.0 - (mean - 4.302653 * sem)).abs() < 1e-12);
    assert!((r.i_xz_ci.1 - (mean + 4.302653 * sem)).abs() < 1e-12);
    assert!((r.i_yz - 0.6).abs() < 1e-15);
    assert_eq!(r.run, "mean of 3 runs");
    assert_eq!(agg.extra[0].seeds, "1;2;3");
    assert_eq!(agg.rows[1].epoch, 10);
    assert!((agg.rows[1].i_xz - (mean + 1.0)).abs() < 1e-15);
    let df = aggregate_table(&agg, Unit::Nats).unwrap();
    assert_eq!(df.height(), 2);
    assert!(df.column("i_xz_sd").is_ok() && df.column("runs").is_ok());
    // One run: n = 1, no interval, a note.
    let one = aggregate(&tables[..1], By::Seed).unwrap();
    assert!(one.rows[0].i_xz_ci.0.is_nan() && one.rows[0].i_xz_se.is_nan());
    assert_eq!(
        one.notes,
        ["one run ('a'): n = 1, no spread and no interval"]
    );
    // A different architecture, a repeated seed, a different N, another unit: refused.
    let mut other = t("d", "4", 1.0, 0.5);
    other
        .1
        .rows
        .iter_mut()
        .for_each(|r| r.config = "model=fcn dataset=tishby layers=l0:5".into());
    let e = aggregate(&[tables[0].clone(), other], By::Seed).unwrap_err();
    assert_eq!(
        e.to_string(),
        "d.csv: run 'd' is not a seed of run 'a': layers l0:4 vs l0:5"
    );
    let e = aggregate(&[tables[0].clone(), t("e", "1", 1.0, 0.5)], By::Seed).unwrap_err();
    assert_eq!(e.to_string(), "e.csv: runs 'a' and 'e' both have seed 1");
    let mut small = t("f", "5", 1.0, 0.5);
    small.1.rows.iter_mut().for_each(|r| r.n = 50);
    let e = aggregate(&[tables[0].clone(), small], By::Seed).unwrap_err();
    assert_eq!(
        e.to_string(),
        "runs 'a' and 'f' estimate layer 'l0' epoch 0 on different numbers of samples (100 and 50)"
    );
    let mut bits = t("g", "6", 1.0, 0.5);
    bits.1.unit = Unit::Bits;
    let e = aggregate(&[tables[0].clone(), bits], By::Seed).unwrap_err();
    assert_eq!(
        e.to_string(),
        "g.csv: is in bits, a.csv in nats: write the tables in one unit (estimate --unit)"
    );
    // By run: seeds are not needed.
    let mut unseeded = tables.clone();
    unseeded
        .iter_mut()
        .for_each(|(_, t)| t.rows.iter_mut().for_each(|r| r.seed.clear()));
    assert!(aggregate(&unseeded, By::Seed)
        .unwrap_err()
        .to_string()
        .ends_with("has no seed: aggregate --by run instead"));
    assert_eq!(aggregate(&unseeded, By::Run).unwrap().extra[0].runs, 3);
}

#[test]
fn verdict_classifies_constructed_trajectories() {
    use infoplane::diagnostics::verdict::{verdict, Phase};
    // x rises to epoch 3 then falls by 1.5; y rises and holds: compression after epoch ~3.
    let compress = [
        (0.5, 0.1),
        (1.5, 0.3),
        (2.5, 0.5),
        (3.0, 0.6),
        (2.5, 0.6),
        (2.0, 0.6),
        (1.5, 0.6),
        (1.5, 0.6),
    ];
    // x rises all the way: fitting, no compression.
    let rise = [
        (0.5, 0.1),
        (1.0, 0.3),
        (1.5, 0.5),
        (2.0, 0.6),
        (2.5, 0.6),
        (3.0, 0.6),
        (3.5, 0.6),
        (4.0, 0.6),
    ];
    // x and y both fall after the peak: not compression.
    let forget = [
        (0.5, 0.1),
        (1.5, 0.3),
        (2.5, 0.5),
        (3.0, 0.6),
        (2.5, 0.4),
        (2.0, 0.2),
        (1.5, 0.1),
        (1.5, 0.1),
    ];
    let traj = |run: &str, seed: &str, est: &str, s: &str, v: &[(f64, f64)]| -> Vec<EstimateRow> {
        v.iter()
            .enumerate()
            .map(|(e, &(x, y))| seeded(run, seed, est, s, e as u32 * 100, x, y))
            .collect()
    };
    let mut rows = Vec::new();
    for (run, seed) in [("a", "1"), ("b", "2")] {
        rows.extend(traj(run, seed, "kl", "0.001", &compress));
        rows.extend(traj(run, seed, "kl", "0.1", &rise));
        rows.extend(traj(run, seed, "bin", "edges=30", &forget));
    }
    let v = verdict(&rows, 0.05).unwrap();
    let find = |est: &str, s: &str| {
        v.settings
            .iter()
            .find(|x| x.estimator == est && x.setting == s)
            .unwrap()
    };
    assert_eq!(find("kl", "0.001").count(Phase::Compression), 2);
    assert_eq!(find("kl", "0.001").onset_epoch, 300);
    assert_eq!(find("kl", "0.001").fitting, 2);
    assert_eq!(find("kl", "0.1").count(Phase::NoCompression), 2);
    assert_eq!(find("bin", "edges=30").count(Phase::Falls), 2);
    assert_eq!(
        v.layers,
        ["l0: compresses after epoch ~300 in 2 of 2 runs under kl for σ² = 0.001. Not under bin (edges=30); kl for σ² = 0.1. Depends on σ² and on the estimator; a fitting phase in 3 of 3 settings."]
    );
    // The same flip with σ² only: "depends on σ²".
    let kl_only: Vec<EstimateRow> = rows
        .iter()
        .filter(|r| r.estimator == "kl")
        .cloned()
        .collect();
    let v = verdict(&kl_only, 0.05).unwrap();
    assert!(
        v.layers[0].ends_with("Depends on σ²; a fitting phase in 2 of 2 settings."),
        "{}",
        v.layers[0]
    );
    // Saturated at the peak: void, never compression.
    let mut sat = traj("a", "1", "kl", "0.001", &compress);
    sat[3].saturated = Some(true);
    let v = verdict(&sat, 0.05).unwrap();
    assert_eq!(v.settings[0].count(Phase::Saturated), 1);
    assert!(
        v.layers[0].contains("Void (saturated) under kl for σ² = 0.001."),
        "{}",
        v.layers[0]
    );
    // Error bars wider than the fall: no compression.
    let mut noisy = traj("a", "1", "kl", "0.001", &compress);
    noisy.iter_mut().for_each(|r| r.i_xz_se = 1.0);
    assert_eq!(
        verdict(&noisy, 0.05).unwrap().settings[0].count(Phase::NoCompression),
        1
    );
    // One epoch: it says it cannot judge.
    let v = verdict(&traj("a", "1", "kl", "0.001", &compress[..1]), 0.05).unwrap();
    assert_eq!(
        v.note.as_deref(),
        Some("every trajectory has fewer than 3 epochs: no trend can be judged (estimate more epochs)")
    );
}

/// Issue 26, item 13: a layer whose activations only change scale (Z_e = c_e Z_0: the same
/// information at every epoch) shows "compression" at a fixed σ² for kl and bd; the verdict
/// says it is a scale change, by the factor the distances moved.
#[test]
fn issue26_item13_verdict_flags_a_scale_only_layer() {
    use infoplane::archive::{
        AnalysisSet, ArchiveSpec, ArchiveWriter, Backend, EpochRecord, LayerInfo, LayerKind,
        Overwrite, PlannedEpoch, Publish, RunInfo,
    };
    use infoplane::diagnostics::verdict;
    use infoplane::estimator::pairwise::sigma::SigmaSpec;
    use infoplane::run::{estimate_archive, EstimateRequest};
    use infoplane::util::rng::SplitMix64;
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("scale");
    let (n, h) = (300usize, 4usize);
    let mut rng = SplitMix64::new(5);
    let labels: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
    let base = ndarray::Array2::from_shape_fn((n, h), |(i, k)| {
        f32::from(k as u8 == labels[i] as u8) * 6.0 + 0.7 * rng.normal() as f32
    });
    let scales = [0.1f32, 0.3, 1.0, 0.7, 0.5, 0.35, 0.25];
    let spec = ArchiveSpec {
        run: RunInfo {
            name: "scale".into(),
            ..RunInfo::default()
        },
        classes: vec!["a".into(), "b".into(), "c".into()],
        input_shape: None,
        analysis_description: "all".into(),
        layers: vec![LayerInfo {
            name: "z".into(),
            kind: LayerKind::Linear,
            width: h,
            shape: None,
            activation: None,
        }],
        parameters: Vec::new(),
        batch_gradients: None,
        epochs: (0..scales.len() as u32)
            .map(|epoch| PlannedEpoch {
                epoch,
                activations: true,
            })
            .collect(),
    };
    let set = AnalysisSet {
        sample_ids: (0..n as u64).collect(),
        labels,
        label_name: None,
        label_sets: Vec::new(),
        inputs: None,
    };
    let mut w = ArchiveWriter::create(
        &out,
        Backend::Parquet,
        spec,
        &set,
        Overwrite::Refuse,
        Publish::OnFinish,
    )
    .unwrap();
    for (e, c) in scales.iter().enumerate() {
        w.commit_epoch(&EpochRecord {
            epoch: e as u32,
            activations: vec![base.mapv(|v| v * c)],
            ..Default::default()
        })
        .unwrap();
    }
    w.finish().unwrap();
    let archive = infoplane::archive::Archive::open(&out).unwrap();
    let mut req = EstimateRequest::new(&["kl", "bd"]);
    req.params.pairwise.sigma2 = SigmaSpec::parse("0.1").unwrap();
    let rows = estimate_archive(&archive, &req, &mut |_, _| {}, None).unwrap();
    let v = verdict::verdict(&rows, verdict::DEFAULT_TOLERANCE).unwrap();
    let s = v
        .settings
        .iter()
        .find(|s| s.estimator == "kl")
        .expect("a kl setting");
    assert_eq!(s.count(verdict::Phase::Compression), 1, "{v:?}");
    assert_eq!(s.scale_change, 1);
    // The smoothed I(X;Z) peaks at epoch 3 (scale 0.7): the distances moved by (0.7 / 0.25)²
    // = 7.84 from there to the last epoch.
    assert!(
        (s.scale_factor / 7.84 - 1.0).abs() < 1e-3,
        "{}",
        s.scale_factor
    );
    let sentence = &v.layers[0];
    assert!(
        sentence.starts_with("z: compresses (scale change ×7.8) after epoch ~3"),
        "{sentence}"
    );
    assert!(sentence.contains("Scale change under bd, kl for σ² = 0.1: the layer's squared distances moved by a factor of 7.8 over the compression phase"), "{sentence}");
    let table = verdict::verdict_table(&v).unwrap();
    assert!(table.column("scale_change_runs").is_ok());
}
