//! Sharded sweeps through the binary: `estimate --shard` parts merged equal the unsharded
//! table row for row and bit for bit (n = 1, 3, 7, more shards than units, slices), `merge`
//! refuses missing, duplicated and foreign parts, `--only-missing` recomputes exactly what is
//! missing, and the Snakemake workflow of `examples/sweep` runs on 2 local cores.

use std::path::{Path, PathBuf};

use infoplane::table::estimates::{self, EstimateRow};

use crate::common::*;

fn archives() -> [String; 2] {
    let a = fixture_archive();
    let b = a.with_file_name("tiny-hdf5");
    [a.display().to_string(), b.display().to_string()]
}

const FLAGS: [&str; 8] = [
    "--estimator",
    "kl,bd,bin",
    "--sigma2",
    "0.1,thesis",
    "--unit",
    "nats",
    "--error",
    "subsample:2",
];

/// `estimate` over both fixture archives with `extra` flags.
fn estimate(d: &Path, extra: &[&str], out: &str) -> Run {
    let [a, b] = archives();
    let mut args = vec!["estimate", &a, &b];
    args.extend(FLAGS);
    args.extend(extra);
    args.extend(["--out", out]);
    infoplane(d, &args)
}

/// The rows of a table, the shard column cleared, as text: equal text = equal bits (Debug
/// prints the shortest round-trip form of every float).
fn rows(path: &Path) -> Vec<String> {
    estimates::read(path)
        .unwrap()
        .rows
        .into_iter()
        .map(|r| {
            format!(
                "{:?}",
                EstimateRow {
                    shard: String::new(),
                    ..r
                }
            )
        })
        .collect()
}

fn merge(d: &Path, parts: &[&str], out: &str) -> Run {
    let [a, b] = archives();
    let mut args = vec!["merge"];
    args.extend(parts);
    args.extend(["--expect", &a, &b, "--out", out]);
    infoplane(d, &args)
}

#[test]
fn sharded_parts_merge_into_the_unsharded_table() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    assert_eq!(estimate(d, &[], "full.parquet").code, 0);
    let full = rows(&d.join("full.parquet"));
    assert_eq!(
        full.len(),
        2 * 3 * 2 * 5,
        "2 archives x 3 layers x 2 epochs x 5 rows"
    );
    for (n, mode) in [(1, ""), (3, ""), (7, ""), (40, ""), (3, "slice:")] {
        let dir = format!("{mode}{n}").replace(':', "-");
        let mut sizes = Vec::new();
        for i in 1..=n {
            let part = format!("{dir}/part={i}/part.parquet");
            let r = estimate(d, &["--shard", &format!("{mode}{i}/{n}")], &part);
            assert_eq!(r.code, 0, "{}", r.stderr);
            sizes.push(estimates::read(&d.join(&part)).map_or(0, |e| e.rows.len()));
        }
        assert_eq!(sizes.iter().sum::<usize>(), full.len(), "{dir}: {sizes:?}");
        let r = merge(d, &[&dir], &format!("{dir}.parquet"));
        assert_eq!(r.code, 0, "{dir}: {}", r.stderr);
        assert_eq!(rows(&d.join(format!("{dir}.parquet"))), full, "{dir}");
        let labels: Vec<String> = estimates::read(&d.join(format!("{dir}.parquet")))
            .unwrap()
            .rows
            .iter()
            .map(|r| r.shard.clone())
            .collect();
        assert!(labels
            .iter()
            .all(|l| l.starts_with(mode) && l.ends_with(&format!("/{n}"))));
    }
}

/// Issue 26, item 8: a part whose rows are repeated (concatenated with itself) is refused, where
/// before it merged to more rows than the unsharded table and passed `--expect`.
#[test]
fn issue26_item08_merge_refuses_a_part_with_repeated_rows() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    assert_eq!(estimate(d, &[], "full.parquet").code, 0);
    let mut doubled = estimates::read(&d.join("full.parquet")).unwrap().rows;
    doubled.extend(doubled.clone());
    estimates::write(&doubled, estimates::Unit::Nats, &d.join("doubled.parquet")).unwrap();
    let first = &doubled[0];
    fails_with(
        &merge(d, &["doubled.parquet"], "m.parquet"),
        &format!(
            "doubled.parquet: holds the row of layer '{}' epoch {} ({} {}) twice (rows 1 and {}): a part holds each estimate once; was it concatenated with itself?",
            first.layer,
            first.epoch,
            first.estimator,
            first.setting,
            doubled.len() / 2 + 1
        ),
    );
    assert!(!d.join("m.parquet").exists());
}

/// Issue 26, item 10: the same part named twice says so; `--out` among the parts says so; and
/// a part estimated while an archive was being recorded merges once it is complete.
#[test]
fn issue26_item10_clear_merge_errors_and_parts_from_a_recording_archive() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    assert_eq!(estimate(d, &[], "full.parquet").code, 0);
    fails_with(
        &merge(d, &["full.parquet", "./full.parquet"], "m.parquet"),
        "./full.parquet: is given twice (also as full.parquet); name each part once",
    );
    fails_with(
        &merge(d, &["full.parquet"], "full.parquet"),
        "full.parquet: is also one of this command's inputs; write the output elsewhere",
    );
    // An archive still being recorded (complete: false), estimated, then completed.
    let src = fixture_archive();
    let copy = d.join("rec");
    copy_dir(&src, &copy);
    let manifest = copy.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();
    let r = infoplane(
        d,
        &[
            "estimate",
            "rec",
            "--estimator",
            "kl",
            "--sigma2",
            "0.1",
            "--out",
            "part.parquet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(&manifest, text).unwrap();
    let r = infoplane(
        d,
        &[
            "merge",
            "part.parquet",
            "--expect",
            "rec",
            "--out",
            "m.parquet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn merge_refuses_missing_duplicated_and_foreign_parts_and_only_missing_fills_the_gap() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for i in 1..=3 {
        let r = estimate(
            d,
            &["--shard", &format!("{i}/3")],
            &format!("parts/part={i}/part.parquet"),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let [a, b] = archives();
    let part2 = rows(&d.join("parts/part=2/part.parquet"));
    std::fs::rename(d.join("parts/part=2/part.parquet"), d.join("part2.parquet")).unwrap();
    let r = merge(d, &["parts"], "m.parquet");
    fails_with(
        &r,
        &format!(
            "merge: 5 of 12 expected units are missing (from shard 2/3): {a} layer 'map' epochs 0, 3; {b} layer 'h1' epochs 0, 3; {b} layer 'map' epochs 3; estimate them with `infoplane estimate ARCHIVES... --shard 2/3 --only-missing PARTS...` and merge again"
        ),
    );
    assert!(!d.join("m.parquet").exists());
    // --only-missing estimates exactly the missing units: the same rows as the lost part.
    let r = estimate(
        d,
        &["--shard", "2/3", "--only-missing", "parts"],
        "parts/part=2/part.parquet",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(rows(&d.join("parts/part=2/part.parquet")), part2);
    assert_eq!(merge(d, &["parts"], "m.parquet").code, 0);
    // Nothing missing: nothing estimated, an empty part that merges.
    let r = estimate(d, &["--only-missing", "m.parquet"], "none.parquet");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("wrote none.parquet (0 rows"),
        "{}",
        r.stdout
    );
    assert_eq!(merge(d, &["parts", "none.parquet"], "m2.parquet").code, 0);
    // A copy of a part given beside it: the first unit they share (in key order) is named.
    let first = estimates::read(&d.join("part2.parquet"))
        .unwrap()
        .rows
        .iter()
        .map(|r| (r.fingerprint.clone(), r.layer.clone(), r.epoch))
        .min()
        .unwrap();
    fails_with(
        &merge(d, &["parts", "part2.parquet"], "x.parquet"),
        &format!(
            "part2.parquet: layer '{}' epoch {} of archive {} is also in parts/part=2/part.parquet: a part was given twice, or two sweeps overlap",
            first.1, first.2, first.0
        ),
    );
    // Another request (σ²), another version.
    let r = infoplane(
        d,
        &[
            "estimate",
            &a,
            "--sigma2",
            "0.2",
            "--unit",
            "nats",
            "--out",
            "other.parquet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msg = merge(
        d,
        &["parts/part=1/part.parquet", "other.parquet"],
        "x.parquet",
    )
    .stderr;
    assert!(msg.starts_with("error: other.parquet: estimated by another request (estimators, parameters, layers or epochs: "), "{msg}");
    assert!(
        msg.trim_end().ends_with(
            "than parts/part=1/part.parquet; merge them with --force only if that is intended"
        ),
        "{msg}"
    );
    let mut old = estimates::read(&d.join("parts/part=3/part.parquet")).unwrap();
    old.rows.iter_mut().for_each(|r| r.version = "0.0.9".into());
    estimates::write(&old.rows, estimates::Unit::Nats, &d.join("old.parquet")).unwrap();
    fails_with(
        &merge(d, &["parts/part=1/part.parquet", "parts/part=2/part.parquet", "old.parquet"], "x.parquet"),
        &format!(
            "old.parquet: estimated by infoplane 0.0.9 (the first part: {}) than parts/part=1/part.parquet; merge them with --force only if that is intended",
            env!("CARGO_PKG_VERSION")
        ),
    );
    let r = infoplane(
        d,
        &[
            "merge",
            "parts/part=1/part.parquet",
            "parts/part=2/part.parquet",
            "old.parquet",
            "--force",
            "--out",
            "forced.parquet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!d.join("x.parquet").exists());
    fails_usage(
        &estimate(d, &["--shard", "4/3"], "y.parquet"),
        "--shard '4/3': expected i/n or slice:i/n with 1 ≤ i ≤ n ≤ 100000",
    );
}

/// The venv's snakemake (installed by scripts/setup.sh).
fn snakemake() -> PathBuf {
    let s = venv_python().with_file_name("snakemake");
    assert!(
        s.exists(),
        "{} is missing: run scripts/setup.sh (the README's set-up) first",
        s.display()
    );
    s
}

#[test]
fn the_snakemake_workflow_runs_on_two_local_cores() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let [a, b] = archives();
    let config = format!(
        "archives: [{a}, {b}]\nshards: 3\nout: out\ninfoplane: {}\nestimate: \"{}\"\nselect: \"\"\naggregate_by: null\nreport: false\n",
        env!("CARGO_BIN_EXE_infoplane"),
        FLAGS.join(" ")
    );
    std::fs::write(d.join("sweep.yaml"), config).unwrap();
    let snakefile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sweep/Snakefile");
    let out = std::process::Command::new(snakemake())
        .args([
            "-s",
            snakefile.to_str().unwrap(),
            "--configfile",
            "sweep.yaml",
            "--cores",
            "2",
            "--quiet",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(estimate(d, &[], "full.parquet").code, 0);
    assert_eq!(
        rows(&d.join("out/merged.parquet")),
        rows(&d.join("full.parquet"))
    );
    for f in ["dpi.txt", "violations.csv", "verdict.txt", "verdict.csv"] {
        assert!(d.join("out").join(f).exists(), "{f}");
    }
    // The parts folder is a Hive-style dataset that pyarrow and polars read as it is.
    let python = snakemake().with_file_name("python");
    let read = std::process::Command::new(python)
        .args([
            "-c",
            "import pyarrow.dataset as ds, polars as pl; t = ds.dataset('out/parts', format='parquet', partitioning='hive').to_table(); f = pl.scan_parquet('out/parts/**/*.parquet', hive_partitioning=True).collect(); print(t.num_rows, sorted(set(t.column('part').to_pylist())), f.height)",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read.stdout).trim(),
        "60 [1, 2, 3] 60",
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
}

/// Issue 26, item 17: archive paths with a space and a `$(...)` reach `infoplane` as paths (the
/// Snakefile passed them to the shell unquoted), and the report rule runs after the merge.
#[test]
fn issue26_item17_the_workflow_quotes_paths_and_the_report_follows_the_sweep() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let odd = d.join("runs/seed 1 $(touch PWNED)");
    copy_dir(&fixture_archive(), &odd);
    let config = format!(
        "archives: [\"{}\"]\nshards: 2\nout: \"out dir\"\ninfoplane: {}\nestimate: \"--estimator kl --sigma2 0.1\"\nselect: \"\"\naggregate_by: null\nreport: true\nreport_args: \"--estimator kl --sigma2 0.1\"\n",
        odd.display(),
        env!("CARGO_BIN_EXE_infoplane"),
    );
    std::fs::write(d.join("sweep.yaml"), config).unwrap();
    let snakefile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sweep/Snakefile");
    let out = std::process::Command::new(snakemake())
        .args([
            "-s",
            snakefile.to_str().unwrap(),
            "--configfile",
            "sweep.yaml",
        ])
        .args(["--cores", "2", "--quiet"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !d.join("PWNED").exists(),
        "a path reached the shell as a command"
    );
    assert!(d.join("out dir/merged.parquet").exists());
    let report = d.join("out dir/report/index.html");
    assert!(report.exists());
    let merged = std::fs::metadata(d.join("out dir/merged.parquet")).unwrap();
    let page = std::fs::metadata(&report).unwrap();
    assert!(page.modified().unwrap() >= merged.modified().unwrap());
}

#[test]
fn distance_shards_cover_the_unsharded_table() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let [a, _] = archives();
    let lines = |f: &str| -> Vec<String> {
        let text = std::fs::read_to_string(d.join(f)).unwrap();
        text.lines().skip(1).map(String::from).collect()
    };
    assert_eq!(infoplane(d, &["distances", &a, "--out", "all.csv"]).code, 0);
    let mut parts = Vec::new();
    for i in 1..=2 {
        let out = format!("d{i}.csv");
        let r = infoplane(
            d,
            &["distances", &a, "--shard", &format!("{i}/2"), "--out", &out],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        parts.extend(lines(&out));
    }
    let mut all = lines("all.csv");
    all.sort();
    parts.sort();
    assert_eq!(parts, all);
    assert_eq!(all.len(), 6);
}
