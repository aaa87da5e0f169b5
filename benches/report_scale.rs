//! Benchmark: the interactive report at the scale, 100 epochs × 10 layers × 64 σ² × 5
//! estimators (320,000 rows): the size of the page it writes (goal < 20 MB). The redraw time
//! is measured in the browser by `analysis/tests/browser/check_report.py` on the page written
//! here (`cargo bench --bench report_scale -- OUT_DIR`, then run the script on OUT_DIR).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use infoplane::estimator::Estimate;
use infoplane::report::interactive;
use infoplane::table::estimates::{EstimateRow, Unit};

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let mut rows = Vec::with_capacity(320_000);
    for (k, est) in ["kl", "bd", "mc", "bin", "renyi"].iter().enumerate() {
        for s in 0..64 {
            let sigma2 = 1e-3 * 10f64.powf(s as f64 * 4.0 / 63.0);
            for layer in 0..10 {
                for epoch in 0..100u32 {
                    let t = f64::from(epoch) / 99.0;
                    let mut r = EstimateRow {
                        run: "run".into(),
                        layer: format!("fc{}", layer + 1),
                        layer_index: layer,
                        epoch: epoch * 30,
                        h_y: 0.69,
                        log_n: 8.3,
                        ..EstimateRow::blank()
                    };
                    r.estimate = Estimate {
                        sigma2,
                        i_xz: 8.3 * (1.0 - t * 0.3) / (1.0 + layer as f64 * 0.3) / (1.0 + sigma2)
                            + k as f64 * 0.01,
                        i_yz: 0.69 * t.sqrt() / (1.0 + sigma2 * 0.1),
                        i_yz_lo: 0.6 * t,
                        i_yz_hi: 0.69,
                        ..Estimate::new(est, format!("{sigma2:.6}"))
                    };
                    rows.push(r);
                }
            }
        }
    }
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>{}</body></html>",
        interactive::section(&rows, &[], Unit::Bits)
    );
    let path = dir.join("index.html");
    std::fs::write(&path, &html).unwrap();
    println!(
        "{} rows: {} ({:.1} MB, goal < 20 MB)",
        rows.len(),
        path.display(),
        html.len() as f64 / 1e6
    );
}
