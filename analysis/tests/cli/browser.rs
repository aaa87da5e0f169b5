//! The report in a real browser (Debian's chromium through chromedriver and selenium, both
//! installed by scripts/setup.sh): loads from file:// with no console error and no network
//! request, the σ² slider and the estimator switch draw the table's values, the epoch scrubber
//! moves the highlighted epoch, a redraw takes under 100 ms, and a screenshot is kept.

use std::path::Path;

use infoplane::table::estimates;

use crate::common::*;

#[test]
fn the_interactive_plane_works_in_chromium() {
    for need in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            Path::new(need).exists(),
            "{need} is missing: run scripts/setup.sh (the README's set-up) first"
        );
    }
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_inputs(d);
    import_ok(d, "run", "parquet");
    let r = infoplane(
        d,
        &[
            "report",
            "run",
            "--estimator",
            "kl,bd",
            "--sigma2",
            "0.001,0.1,thesis",
            "--out",
            "rep",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check_report.py");
    let out = std::process::Command::new(venv_python())
        .args([
            script.to_str().unwrap(),
            d.join("rep").to_str().unwrap(),
            shot.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(o["resources"], serde_json::json!([]), "no network request");
    assert_eq!(
        o["console"],
        serde_json::json!([]),
        "no console error or warning"
    );
    let ms = o["redraw_ms_max"].as_f64().unwrap();
    assert!(ms < 100.0, "a redraw took {ms} ms");
    eprintln!(
        "browser: {} bytes, slowest redraw {ms:.1} ms, screenshot {}",
        o["bytes"],
        shot.display()
    );
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
    // Every (estimator, σ² position) draws the table's values for that setting at the last epoch.
    let rows = estimates::read(
        &d.join("rep").join(
            std::fs::read_dir(d.join("rep"))
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|f| f.starts_with("estimates-") && f.ends_with(".csv"))
                .unwrap(),
        ),
    )
    .unwrap()
    .rows;
    let last = rows.iter().map(|r| r.epoch).max().unwrap();
    let states = o["states"].as_object().unwrap();
    assert_eq!(states.len(), 2 * 3, "2 estimators x 3 σ² positions");
    let mut seen = Vec::new();
    for (key, s) in states {
        let est = key.split('|').next().unwrap();
        let label = s["label"].as_str().unwrap();
        let setting = label
            .trim_start_matches("σ² = ")
            .split(" (σ² ≈")
            .next()
            .unwrap();
        let pts = s["points"].as_array().unwrap();
        assert_eq!(pts.len(), 2, "{key}: one point per layer");
        for p in pts {
            let layer = p[0].as_str().unwrap();
            let row = rows
                .iter()
                .find(|r| {
                    r.estimator == est
                        && r.setting == setting
                        && r.layer == layer
                        && r.epoch == last
                })
                .unwrap_or_else(|| panic!("{key}: no row for {setting} {layer}"));
            assert_eq!(p[1].as_u64().unwrap(), u64::from(last));
            let bits = |v: f64| v / std::f64::consts::LN_2;
            for (drawn, want) in [
                (p[2].as_f64().unwrap(), bits(row.i_xz)),
                (p[3].as_f64().unwrap(), bits(row.i_yz)),
            ] {
                assert!(
                    (drawn - want).abs() <= 1e-5 * want.abs().max(1e-3),
                    "{key} {layer}: {drawn} vs {want}"
                );
            }
        }
        seen.push(format!("{pts:?}"));
    }
    seen.sort();
    seen.dedup();
    assert!(
        seen.len() > 3,
        "moving σ² or the estimator changes the plane"
    );
    // The scrubber at 0 highlights the first epoch.
    let first = rows.iter().map(|r| r.epoch).min().unwrap();
    let pts = o["first_epoch_points"].as_array().unwrap();
    assert!(!pts.is_empty() && pts.iter().all(|p| p[1].as_u64() == Some(u64::from(first))));
    // The I(X;Z)-against-σ² view at the last epoch: one point per (layer, σ² setting) of kl,
    // each the table's value.
    let sig = o["sigma_view"].as_array().unwrap();
    assert_eq!(sig.len(), 2 * 3, "{sig:?}");
    for p in sig {
        let (layer, x) = (p[0].as_str().unwrap(), p[1].as_f64().unwrap());
        let hit = rows.iter().any(|r| {
            r.estimator == "kl"
                && r.layer == layer
                && r.epoch == last
                && ((r.i_xz / std::f64::consts::LN_2) - x).abs() <= 1e-5 * x.abs().max(1e-3)
        });
        assert!(hit, "σ² view: {layer} {x} is not a kl value of the table");
    }
}

/// The text elements of an SVG, in order.
fn svg_texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            t.split_once('>')
                .and_then(|(_, rest)| rest.split_once("</text>"))
        })
        .map(|(text, _)| text.to_string())
        .collect()
}

/// The labels of the static plots (axis ticks without float noise, titles, direct labels), as
/// snapshots.
#[test]
fn static_plot_labels() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let arch = fixture_archive();
    let arch = arch.to_str().unwrap();
    let r = infoplane(d, &["plot", arch, "--kind", "snr", "--out", "snr"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("svg_snr_labels", svg_texts(&d.join("snr.svg")).join("\n"));
    let r = infoplane(d, &["plot", arch, "--kind", "distances", "--out", "dist"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(
        "svg_distances_labels",
        svg_texts(&d.join("dist/distances-00-h1.svg")).join("\n")
    );
    let r = infoplane(d, &["estimate", arch, "--sigma2", "0.1", "--out", "e.csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = infoplane(d, &["plot", "e.csv", "--estimator", "kl", "--out", "plane"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let texts = svg_texts(&d.join("plane.svg"));
    for t in &texts {
        assert!(!t.contains("000000"), "float noise in a label: {t}");
    }
    insta::assert_snapshot!("svg_plane_labels", texts.join("\n"));
}
