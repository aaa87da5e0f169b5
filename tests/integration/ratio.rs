//! The compression ratio I(Y;Z) / I(X;Z): its table column (unitless, derived, not read back)
//! and its plot, one chart per estimator.
#![allow(clippy::unwrap_used)]

use crate::diagnostics::row;
use infoplane::plot;
use infoplane::table::estimates::{self, Unit};

#[test]
fn the_compression_ratio_is_written_and_plotted_per_estimator() {
    let t = tempfile::tempdir().unwrap();
    let nan = f64::NAN;
    let rows = vec![
        row("r", "kl", 0, "linear", 1, 2.0, 0.5, nan, nan),
        row("r", "kl", 0, "linear", 2, 0.0, 0.5, nan, nan),
        row("r", "kl", 1, "linear", 1, 1.0, nan, nan, nan),
        row("r", "bd", 0, "linear", 1, 4.0, 1.0, nan, nan),
    ];
    let path = t.path().join("t.csv");
    estimates::write(&rows, Unit::Bits, &path).unwrap();
    let ratio = infoplane::table::Table::read(&path)
        .unwrap()
        .f64s("ratio")
        .unwrap()
        .unwrap();
    // Unitless: the same in bits as in nats; unknown when I(X;Z) ≤ 0 or I(Y;Z) is unknown.
    assert_eq!(ratio[0], 0.25);
    assert!(ratio[1].is_nan() && ratio[2].is_nan());
    assert_eq!(ratio[3], 0.25);
    // Read back, the rows are the same (the column is derived, not stored).
    assert_eq!(estimates::read(&path).unwrap().rows.len(), 4);
    let files = plot::lines::plot_ratio("r", &rows, &t.path().join("ratio-r")).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "ratio-r-kl.png",
            "ratio-r-kl.svg",
            "ratio-r-bd.png",
            "ratio-r-bd.svg"
        ]
    );
}
