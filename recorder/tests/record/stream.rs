//! `--stream soft`: the soft-binning plane estimated while recording equals `estimate
//! --estimator soft` on the stored activations, and needs none stored.

use infoplane::archive::Archive;
use infoplane::prelude::*;

use super::record;

#[test]
fn streamed_soft_equals_the_offline_estimate_and_needs_no_activations() {
    let tmp = tempfile::tempdir().expect("tmp");
    let args = [
        "--model",
        "fcn",
        "--hidden",
        "8,5",
        "--epochs",
        "3",
        "--batch-size",
        "512",
    ];
    let out = tmp.path().join("all");
    let mut a = args.to_vec();
    a.extend(["--record-epochs", "all", "--stream", "soft"]);
    record(&a, &out);
    let by_epoch = |mut rows: Vec<EstimateRow>| {
        rows.sort_by(|a, b| (a.epoch, &a.layer).cmp(&(b.epoch, &b.layer)));
        rows
    };
    let streamed = by_epoch(
        read_table(&tmp.path().join("all-soft.csv"))
            .expect("streamed table")
            .rows,
    );
    let archive = Archive::open(&out).expect("open");
    let offline = by_epoch(
        estimate_archive(
            &archive,
            &EstimateRequest::new(&["soft"]),
            &mut |_, _| {},
            None,
        )
        .expect("offline"),
    );
    assert_eq!(streamed.len(), 4 * 3, "epochs 0..3, three layers");
    assert_eq!(offline.len(), streamed.len());
    for (s, o) in streamed.iter().zip(&offline) {
        assert_eq!(
            (&s.layer, s.epoch, &s.setting),
            (&o.layer, o.epoch, &o.setting)
        );
        assert!(
            (s.i_xz - o.i_xz).abs() < 1e-9 && (s.i_yz - o.i_yz).abs() < 1e-9,
            "{} {}",
            s.layer,
            s.epoch
        );
    }
    // Nothing stored but the table: the same rows (same seed, same threads).
    let bare = tmp.path().join("bare");
    let mut b = args.to_vec();
    b.extend([
        "--record-epochs",
        "none",
        "--stream",
        "soft",
        "--stream-out",
    ]);
    let table = tmp.path().join("bare.csv");
    b.push(table.to_str().expect("utf-8"));
    record(&b, &bare);
    assert!(Archive::open(&bare)
        .expect("open")
        .activation_epochs()
        .is_empty());
    let rows = by_epoch(read_table(&table).expect("bare table").rows);
    for (s, o) in rows.iter().zip(&streamed) {
        assert!((s.i_xz - o.i_xz).abs() < 1e-12 && (s.i_yz - o.i_yz).abs() < 1e-12);
    }
}
