//! The fuzz suite (issue 11): seeded byte flips, truncations and header mutations of the
//! fixture archives (both backends), `.npy`/`.npz` inputs and result tables, each run through
//! a command of the `infoplane` binary in a child process with a timeout and a memory cap.
//!
//! Every case must end in a correct result (exit 0) or one clean error line (exit 1): never a
//! panic, an abort, a signal or a hang. `INFOPLANE_FUZZ_CASES` (default 2000) and
//! `INFOPLANE_FUZZ_SEED` (default 11) replay or widen a run; failures print both, and
//! `INFOPLANE_FUZZ_ONLY=K` runs case K alone and keeps its folder (the path is printed).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use infoplane::archive::numpy;

use super::common::*;

/// SplitMix64: a small seeded generator, so that case k of seed s is the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values that break parsers: huge, negative, non-finite, wrong type.
const TOKENS: [&str; 12] = [
    "-1",
    "0",
    "1e300",
    "4294967296",
    "18446744073709551615",
    "NaN",
    "inf",
    "null",
    "\"x\"",
    "[]",
    "9999999999999999999999",
    "\u{e9}",
];

/// The unmutated inputs every case starts from.
fn corpus(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/v1");
    copy_dir(&root.join("tiny-parquet"), &dir.join("parquet"));
    // The HDF5 archive as this version writes it (with its metadata checksum; the schema-v1
    // fixture has none, and libhdf5 itself can crash on damaged metadata, see README).
    let r = infoplane(
        dir,
        &["convert", "parquet", "--to", "hdf5", "--out", "hdf5"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    write_inputs(dir);
    let z: Vec<f32> = (0..N * 3).map(|k| (k as f32).cos()).collect();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dir.join("deflated.npz")).unwrap());
    w.start_file("z.npy", zip::write::SimpleFileOptions::default())
        .unwrap();
    let mut npy = Vec::new();
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({N}, 3), }}\n");
    npy.extend(b"\x93NUMPY\x01\x00");
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header.as_bytes());
    npy.extend(z.iter().flat_map(|v| v.to_le_bytes()));
    std::io::Write::write_all(&mut w, &npy).unwrap();
    w.finish().unwrap();
    numpy::write_npy_f32(&dir.join("x.npy"), &[N, 3], &z).unwrap();
    let r = infoplane(
        dir,
        &[
            "estimate", "parquet", "--sigma2", "0.1,nn", "--out", "t.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// One mutation of `bytes`: flipped bytes, a truncation, or (in text) a token replaced.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    if bytes.is_empty() {
        return "empty".into();
    }
    match rng.below(4) {
        0 => {
            let n = 1 + rng.below(4);
            for _ in 0..n {
                let i = rng.below(bytes.len());
                bytes[i] = rng.next() as u8;
            }
            format!("{n} random bytes")
        }
        1 => {
            let len = rng.below(bytes.len());
            bytes.truncate(len);
            format!("truncated to {len}")
        }
        2 => {
            // The header or footer, where formats keep their sizes and offsets.
            let tail = rng.below(2) == 0;
            let span = bytes.len().min(200);
            let i = if tail {
                bytes.len() - 1 - rng.below(span)
            } else {
                rng.below(span)
            };
            bytes[i] ^= 1 << rng.below(8);
            format!("bit flip at {i}")
        }
        _ => {
            // Replace a run of digits (a size, shape, epoch or label in a text header).
            let digits: Vec<usize> = (0..bytes.len())
                .filter(|&i| bytes[i].is_ascii_digit())
                .collect();
            if digits.is_empty() {
                return "no digits".into();
            }
            let start = *rng.pick(&digits);
            let end = (start..bytes.len())
                .find(|&i| !bytes[i].is_ascii_digit())
                .unwrap_or(bytes.len());
            let token = rng.pick(&TOKENS);
            bytes.splice(start..end, token.bytes());
            format!("number at {start} -> {token}")
        }
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v = walk(dir);
    v.sort();
    v
}

/// Builds case `k` in `dir` (a copy of the corpus with one file mutated) and returns the
/// command to run and a description.
fn case(rng: &mut Rng, corpus: &Path, dir: &Path) -> (Vec<String>, String) {
    let kind = rng.below(10);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let (target, args) = if kind < 6 {
        let backend = *rng.pick(&["parquet", "hdf5"]);
        copy_dir(&corpus.join(backend), &dir.join("a"));
        let target = rng.pick(&files(&dir.join("a"))).clone();
        let other = if backend == "parquet" {
            "hdf5"
        } else {
            "parquet"
        };
        let args = match rng.below(7) {
            0 => s(&["inspect", "a"]),
            1 => s(&["verify", "a"]),
            2 => s(&[
                "export", "a", "--layer", "h1", "--epoch", "2", "--out", "z.npy", "--labels",
                "y.npy", "--inputs", "x.npy",
            ]),
            3 => s(&[
                "estimate",
                "a",
                "--sigma2",
                "0.1,nn",
                "--estimator",
                "kl,bd,bin",
                "--out",
                "t.csv",
            ]),
            4 => s(&["convert", "a", "--to", other, "--out", "c"]),
            5 => s(&["snr", "a", "--out", "snr.csv"]),
            _ => s(&["distances", "a", "--out", "d.csv"]),
        };
        (target, args)
    } else if kind < 8 {
        for f in ["acts.npz", "y.npy", "x.npy", "deflated.npz"] {
            std::fs::copy(corpus.join(f), dir.join(f)).unwrap();
        }
        let acts = *rng.pick(&["acts.npz", "deflated.npz"]);
        let target = dir.join(*rng.pick(&[acts, "y.npy", "x.npy"]));
        let format = *rng.pick(&["parquet", "hdf5"]);
        let args = s(&[
            "import",
            "--activations",
            acts,
            "--labels",
            "y.npy",
            "--inputs",
            "x.npy",
            "--format",
            format,
            "--out",
            "o",
        ]);
        (target, args)
    } else {
        std::fs::copy(corpus.join("t.csv"), dir.join("t.csv")).unwrap();
        let args = match rng.below(3) {
            0 => s(&["dpi", "t.csv", "--out", "v.csv"]),
            1 => s(&["compare", "t.csv", "--by", "sigma2", "--out", "cmp.csv"]),
            _ => s(&["plot", "t.csv", "--kind", "infoplane", "--out", "plane"]),
        };
        (dir.join("t.csv"), args)
    };
    let mut bytes = std::fs::read(&target).unwrap();
    let how = mutate(rng, &mut bytes);
    std::fs::write(&target, &bytes).unwrap();
    let name = target.strip_prefix(dir).unwrap().display().to_string();
    (args, format!("{name}: {how}"))
}

/// Why a finished case is not acceptable, if it is not.
fn verdict(r: &Limited) -> Option<String> {
    if r.timed_out {
        return Some("hang (killed after the timeout)".into());
    }
    if let Some(sig) = r.signal {
        return Some(format!("killed by signal {sig}"));
    }
    if r.stderr.contains("panicked") || r.stderr.contains("RUST_BACKTRACE") {
        return Some("panic".into());
    }
    match r.code {
        Some(0) => None,
        Some(1) => {
            let last = r.stderr.trim_end().lines().last().unwrap_or_default();
            let clean = last.starts_with("error: ")
                && r.stderr
                    .lines()
                    .all(|l| l.starts_with("error: ") || l.starts_with("note: "));
            (!clean).then(|| "exit 1 without one clean error line".into())
        }
        other => Some(format!("exit code {other:?}")),
    }
}

#[test]
fn fuzz_hostile_inputs_never_panic_abort_or_hang() {
    let cases: usize = std::env::var("INFOPLANE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let seed: u64 = std::env::var("INFOPLANE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let t = tempfile::tempdir().unwrap();
    let corpus_dir = t.path().join("corpus");
    std::fs::create_dir(&corpus_dir).unwrap();
    corpus(&corpus_dir);
    let only: Option<usize> = std::env::var("INFOPLANE_FUZZ_ONLY")
        .ok()
        .and_then(|v| v.parse().ok());
    let next = AtomicUsize::new(only.unwrap_or(0));
    let cases = only.map_or(cases, |k| k + 1);
    let failures = Mutex::new(Vec::new());
    let outcomes = Mutex::new([0usize; 2]);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= cases {
                    break;
                }
                let dir = t.path().join(format!("case-{k}"));
                std::fs::create_dir(&dir).unwrap();
                let mut rng = Rng(seed.wrapping_mul(0x1000_0000_01b3) ^ k as u64);
                let (args, what) = case(&mut rng, &corpus_dir, &dir);
                let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                let r =
                    infoplane_limited(&dir, "ulimit -v 4000000", &argv, Duration::from_secs(30));
                if let Some(why) = verdict(&r) {
                    failures.lock().unwrap().push(format!(
                        "case {k} (seed {seed}): {why}: {what}; infoplane {}\n{}",
                        args.join(" "),
                        r.stderr
                    ));
                } else {
                    outcomes.lock().unwrap()[usize::from(r.code == Some(1))] += 1;
                }
                if only.is_some() {
                    eprintln!("case {k}: {what}; infoplane {}", args.join(" "));
                } else {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            });
        }
    });
    if only.is_some() {
        eprintln!("case folder kept: {}", t.keep().display());
        return;
    }
    let failures = failures.into_inner().unwrap();
    let [ok, refused] = outcomes.into_inner().unwrap();
    eprintln!(
        "fuzz: {cases} cases (seed {seed}) in {:.1} s: {ok} ran to a result, {refused} clean errors, {} failures",
        start.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Issue 26, item 1, in the fuzz suite: a bit flipped anywhere in any file of an archive with
/// content hashes (Parquet and HDF5, as this version writes them) makes `verify` exit 1 and
/// name the damaged file; `INFOPLANE_FUZZ_CASES` scales it too (a tenth of the cases).
#[test]
fn fuzz_a_flipped_bit_anywhere_fails_verify() {
    let cases: usize = std::env::var("INFOPLANE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(200, |c: usize| (c / 10).max(1));
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/v1");
    copy_dir(&root.join("tiny-parquet"), &d.join("v1"));
    for to in ["parquet", "hdf5"] {
        let r = infoplane(d, &["convert", "v1", "--to", to, "--out", to]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(infoplane(d, &["verify", to]).code, 0);
    }
    let mut rng = Rng(26);
    let mut failures = Vec::new();
    for k in 0..cases {
        let backend = *rng.pick(&["parquet", "hdf5"]);
        let all = files(&d.join(backend));
        let target = rng.pick(&all).clone();
        let good = std::fs::read(&target).unwrap();
        let at = rng.below(good.len());
        let bit = rng.below(8);
        let mut bad = good.clone();
        bad[at] ^= 1 << bit;
        std::fs::write(&target, &bad).unwrap();
        let r = infoplane_limited(
            d,
            "ulimit -v 4000000",
            &["verify", backend],
            Duration::from_secs(30),
        );
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        let named = r.stdout.contains(&name) || r.stderr.contains(&name);
        if r.code != Some(1) || !named || verdict(&r).is_some() {
            failures.push(format!(
                "case {k}: bit {bit} of byte {at} of {}: exit {:?}\n{}{}",
                target.display(),
                r.code,
                r.stdout,
                r.stderr
            ));
        }
        std::fs::write(&target, &good).unwrap();
    }
    eprintln!(
        "fuzz (content flips): {cases} cases, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
