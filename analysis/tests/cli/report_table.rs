//! `report --table`: a report of an existing estimates table, nothing estimated again.

use crate::common::*;

/// `report --table`: the report of an existing table, nothing estimated again: the same
/// estimates, DPI and verdict tables as the report that estimated them; with the archive its
/// accuracy and SNR, without it a line saying so; an archive of another run is refused.
pub fn report_of_a_table(d: &std::path::Path, arch: &str) {
    let est = "rep/estimates-tiny.csv";
    let r = infoplane(d, &["report", "--table", est, "--out", "rep-t"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The same tables, up to the last bit of a unit conversion (bits -> nats -> bits).
    for f in ["estimates-tiny.csv", "violations-tiny.csv", "verdict.csv"] {
        let (a, b) = (csv(&d.join("rep").join(f)), csv(&d.join("rep-t").join(f)));
        assert_eq!((&a.0, a.1.len()), (&b.0, b.1.len()), "{f}");
        for (x, y) in a.1.iter().flatten().zip(b.1.iter().flatten()) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(u), Ok(v)) if u.is_finite() => {
                    assert!((u - v).abs() <= 1e-14 * u.abs().max(1.0), "{f}: {x} vs {y}")
                }
                _ => assert_eq!(x, y, "{f}"),
            }
        }
    }
    assert!(!d.join("rep-t/distances-tiny.csv").exists());
    let html = std::fs::read_to_string(d.join("rep-t/index.html")).unwrap();
    assert!(html.contains("the report was made from a table without this run's archive"));
    let r = infoplane(d, &["report", "--table", est, arch, "--out", "rep-ta"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        d.join("rep-ta/accuracy-tiny.png").is_file() && d.join("rep-ta/snr-tiny.csv").is_file()
    );
    let other = d.join("other.csv");
    let text = std::fs::read_to_string(d.join(est))
        .unwrap()
        .replace("\ntiny,", "\nsomeone,");
    std::fs::write(&other, text).unwrap();
    fails_with(
        &infoplane(
            d,
            &["report", "--table", "other.csv", arch, "--out", "rep-x"],
        ),
        &format!("{arch}: its run 'tiny' is not in other.csv (runs there: someone)"),
    );
}
