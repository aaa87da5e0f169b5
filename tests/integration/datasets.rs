//! Dataset loaders: generated Tishby task, MAT v5 reader, MNIST IDX, names, Cora — on the
//! committed fixtures (`fixtures/datasets`) always, on `../shared/datasets` when present, and on
//! malformed files (exact errors naming file and line).

use std::path::{Path, PathBuf};

use infoplane::datasets::{cora, matlab::MatFile, mnist, names, tishby, Graph};
use infoplane::util::rng::random_split;

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/datasets")
        .join(p)
}

/// `../shared/datasets/<p>`, or None, saying on stderr which test is skipped (its twin on the
/// committed fixtures runs anyway).
fn shared(p: &str) -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/datasets")
        .join(p);
    if !d.exists() {
        // Written to the stderr handle itself, not through `eprintln!`, so that the test
        // harness does not capture it: the skip shows in every run's output.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {} is missing, so the real-data test on {p} did not run (the fixture test of the same loader did)",
            d.display()
        );
    }
    d.exists().then_some(d)
}

fn err<T: std::fmt::Debug>(r: infoplane::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn tishby_rule_is_balanced_and_symmetric() {
    let d = tishby::generate(0);
    assert_eq!(d.inputs.dim(), (4096, 12));
    let ones: u32 = d.labels.iter().sum();
    assert_eq!(ones, 2040);
    // Row i is the binary expansion of i, most significant bit first.
    assert_eq!(
        d.inputs.row(5).to_vec(),
        [0., 0., 0., 0., 0., 0., 0., 0., 0., 1., 0., 1.]
    );
    // The label is invariant under rotation and reflection of the 12 points.
    let rotate = |i: usize| ((i << 1) | (i >> 11)) & 0xfff;
    let reflect = |i: usize| (0..12).fold(0, |acc, k| acc | (((i >> k) & 1) << (11 - k)));
    for i in 0..4096 {
        assert_eq!(
            tishby::label(i),
            tishby::label(rotate(i)),
            "rotation of {i}"
        );
        assert_eq!(
            tishby::label(i),
            tishby::label(reflect(i)),
            "reflection of {i}"
        );
    }
    // Harmonic power closed forms: all spins equal → 0; alternating spins → 0; one flipped spin
    // of twelve equal ones → |2 e^{0}|² = 4.
    assert!(tishby::harmonic_power(0).abs() < 1e-12);
    assert!(tishby::harmonic_power(0b101010101010).abs() < 1e-12);
    assert!((tishby::harmonic_power(0b100000000000) - 4.0).abs() < 1e-12);
    assert_eq!((d.train.len(), d.validation.len()), (3277, 819));
    assert_eq!(tishby::generate(0).train, d.train);
    assert_ne!(tishby::generate(1).train, d.train);
}

#[test]
fn random_split_partitions() {
    let (a, b) = random_split(10, 0.3, 4);
    assert_eq!(a.len(), 3);
    let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
}

#[test]
fn mat_fixture_equals_generated_task() {
    let d = tishby::load_mat(&fixture("tishby/var_u.mat"), 0).expect("load");
    let g = tishby::generate(0);
    assert_eq!(d.inputs, g.inputs);
    assert_eq!(d.labels, g.labels);
}

#[test]
fn mat_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("bad.mat");
    std::fs::write(&p, b"MATLAB 7.3 MAT-file").expect("write");
    assert_eq!(
        err(MatFile::read(&p)),
        format!(
            "{}: not a MATLAB v5 .mat file: 19 bytes, shorter than the 128-byte header",
            p.display()
        )
    );
    let good = std::fs::read(fixture("tishby/var_u.mat")).expect("read");
    std::fs::write(&p, &good[..good.len() - 100]).expect("write");
    let e = err(tishby::load_mat(&p, 0));
    assert!(
        e.starts_with(&format!("{}: truncated: element at byte", p.display())),
        "{e}"
    );
    // A file without F.
    let mut only_header = good[..128].to_vec();
    // The last element is y: tag 8 + flags 16 + dims 16 + name 8 + data tag 8 + 4096 bytes.
    only_header.extend(&good[good.len() - 4152..]);
    std::fs::write(&p, &only_header).expect("write");
    assert_eq!(
        err(tishby::load_mat(&p, 0)),
        format!(
            "{}: no numeric variable 'F' (numeric variables: y)",
            p.display()
        )
    );
}

#[test]
fn mat_real_var_u() {
    let Some(dir) = shared("tishby_12bit") else {
        return;
    };
    let d = tishby::load_mat(&dir.join("var_u.mat"), 0).expect("load");
    assert_eq!(d.labels.iter().sum::<u32>(), 2118); // p(y=1) = 0.51709 (SOURCE.txt)
                                                    // Every one of the 2^12 patterns exactly once.
    let mut seen = vec![false; 4096];
    for row in d.inputs.rows() {
        let i = row.iter().fold(0usize, |acc, &b| acc * 2 + b as usize);
        assert!(!seen[i]);
        seen[i] = true;
    }
    for g in ["g1.mat", "g2.mat"] {
        let m = MatFile::read(&dir.join(g)).expect("read");
        assert!(m
            .variables
            .iter()
            .any(|v| v.name == "ref_coeff" && v.dims == [3, 12]));
        tishby::load_mat(&dir.join(g), 0).expect("load");
    }
}

#[test]
fn mnist_fixture() {
    let d = mnist::load(&fixture("mnist"), Some(100), None).expect("load");
    assert_eq!(
        (d.train.len(), d.validation.len(), d.inputs.ncols()),
        (100, 40, 784)
    );
    assert_eq!(d.input_shape, [1, 28, 28]);
    assert_eq!(d.sample_ids[100], 60_000);
    // Image 0 of the fixture is digit (0·7 + 120) mod 10 = 0: its square starts at (2, 2).
    assert_eq!(d.labels[0], 0);
    assert!(d.inputs[[0, 2 * 28 + 2]] >= 215.0 / 255.0);
    assert!(d.inputs.iter().all(|&v| (0.0..=1.0).contains(&v)));
    let e = err(mnist::load(&fixture("mnist"), Some(121), None));
    assert!(
        e.ends_with("subset of 121 asked for, the file has 120 images"),
        "{e}"
    );
}

#[test]
fn mnist_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    for f in std::fs::read_dir(fixture("mnist")).expect("dir") {
        let f = f.expect("entry").path();
        std::fs::copy(&f, dir.path().join(f.file_name().expect("name"))).expect("copy");
    }
    let labels = dir.path().join("t10k-labels-idx1-ubyte.gz");
    // An uncompressed file is accepted, under the name without .gz; a wrong magic number is not.
    std::fs::remove_file(&labels).expect("rm");
    let plain = dir.path().join("t10k-labels-idx1-ubyte");
    let mut bytes = vec![0, 0, 8, 1, 0, 0, 0, 40];
    bytes.extend([3u8; 40]);
    std::fs::write(&plain, &bytes).expect("write");
    assert!(mnist::load(dir.path(), None, None).is_ok());
    bytes[3] = 3;
    std::fs::write(&plain, &bytes).expect("write");
    assert_eq!(
        err(mnist::load(dir.path(), None, None)),
        format!(
            "{}: not an IDX label file: magic number 2051, expected 2049",
            plain.display()
        )
    );
    bytes[3] = 1;
    bytes.truncate(30);
    std::fs::write(&plain, &bytes).expect("write");
    assert_eq!(
        err(mnist::load(dir.path(), None, None)),
        format!(
            "{}: header declares 40 labels but the file has 22 bytes after the header",
            plain.display()
        )
    );
    std::fs::write(
        dir.path().join("train-images-idx3-ubyte.gz"),
        b"\x1f\x8b garbage",
    )
    .expect("write");
    let e = err(mnist::load(dir.path(), None, None));
    assert!(
        e.starts_with(&format!(
            "{}: corrupt gzip stream",
            dir.path().join("train-images-idx3-ubyte.gz").display()
        )),
        "{e}"
    );
    std::fs::remove_file(dir.path().join("train-images-idx3-ubyte.gz")).expect("rm");
    assert_eq!(
        err(mnist::load(dir.path(), None, None)),
        format!(
            "{}: MNIST file not found (expected the original IDX file, gzip-compressed or not)",
            dir.path().join("train-images-idx3-ubyte.gz").display()
        )
    );
}

#[test]
fn mnist_real() {
    let Some(dir) = shared("mnist") else { return };
    let d = mnist::load(&dir, None, None).expect("load");
    assert_eq!((d.train.len(), d.validation.len()), (60_000, 10_000));
    assert_eq!(&d.labels[..5], [5, 0, 4, 1, 9]);
    assert_eq!(&d.labels[60_000..60_005], [7, 2, 1, 0, 4]);
    // Reference computed with numpy from the same file: sum of image 0's pixels / 255.
    let s: f64 = d.inputs.row(0).iter().map(|&v| f64::from(v)).sum();
    assert!((s - 107.941_176_470_6).abs() < 1e-4, "{s}");
    let sub = mnist::load(&dir, Some(4000), Some(1000)).expect("load");
    assert_eq!((sub.train.len(), sub.validation.len()), (4000, 1000));
}

#[test]
fn names_folding_and_encoding() {
    assert_eq!(names::fold("Ślusarski"), "Slusarski");
    assert_eq!(names::fold("Müller"), "Muller");
    assert_eq!(names::fold("Großmann"), "Gromann"); // ß has no decomposition: dropped
    assert_eq!(names::fold("O'Néill-Smith"), "O'NeillSmith"); // '-' is not in the alphabet
    assert_eq!(names::ALPHABET.len(), 57);
    let mut m = vec![0f32; 12 * 57];
    names::encode("Ab", &mut m);
    // 'A' (index 26) at step 0, 'b' (index 1) at step 1, then 10 zero rows.
    assert_eq!(m.iter().sum::<f32>(), 2.0);
    assert_eq!(m[26], 1.0);
    assert_eq!(m[57 + 1], 1.0);
    let mut long = vec![0f32; 12 * 57];
    names::encode("abcdefghijklmnop", &mut long);
    assert_eq!(long[11 * 57 + 11], 1.0); // truncated after the 12th letter, 'l'
}

#[test]
fn names_fixture() {
    let d = names::load(&fixture("names"), None, 0).expect("load");
    assert_eq!(d.classes, ["Alpha", "Beta", "Gamma"]);
    assert_eq!(d.len(), 36);
    assert_eq!(d.input_shape, [12, 57]);
    assert_eq!(d.sample_ids[12], (1u64 << 32) | 1);
    let d = names::load(&fixture("names"), Some(5), 3).expect("load");
    assert_eq!(d.len(), 15);
    assert_eq!((d.train.len(), d.validation.len()), (12, 3));
    let e = err(names::load(&fixture("names"), Some(13), 3));
    assert!(
        e.ends_with("13 names per language asked for, this language has 12"),
        "{e}"
    );
}

#[test]
fn names_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("A.txt"), "Anna\n").expect("write");
    assert_eq!(
        err(names::load(dir.path(), None, 0)),
        format!(
            "{}: names data needs one <Language>.txt per class; found 1 .txt files",
            dir.path().display()
        )
    );
    let b = dir.path().join("B.txt");
    std::fs::write(&b, b"Bob\nBo\xffb\n").expect("write");
    assert_eq!(
        err(names::load(dir.path(), None, 0)),
        format!("{}: line 2: not valid UTF-8", b.display())
    );
    std::fs::write(&b, "Bob\n\n--\n").expect("write");
    assert_eq!(
        err(names::load(dir.path(), None, 0)),
        format!(
            "{}: line 3: '--' has no letter of the alphabet a-z A-Z",
            b.display()
        )
    );
}

#[test]
fn names_real() {
    let Some(dir) = shared("names") else { return };
    let all = names::load(&dir, None, 0).expect("load");
    assert_eq!((all.len(), all.classes.len()), (20074, 18));
    let thesis = names::load(&dir, Some(60), 0).expect("load");
    assert_eq!(thesis.len(), 1080);
    assert_eq!(thesis.inputs.ncols(), 684);
}

#[test]
fn normalized_adjacency_closed_form() {
    // Path 0 - 1 - 2: degrees with self-loops 2, 3, 2.
    let g = Graph::normalized_adjacency(3, &[(0, 1), (1, 2)]);
    let mut dense = [[0f64; 3]; 3];
    for ((&r, &c), &v) in g.rows.iter().zip(&g.cols).zip(&g.values) {
        dense[r as usize][c as usize] += f64::from(v);
    }
    let s6 = 1.0 / 6f64.sqrt();
    let want = [[0.5, s6, 0.0], [s6, 1.0 / 3.0, s6], [0.0, s6, 0.5]];
    for i in 0..3 {
        for j in 0..3 {
            assert!((dense[i][j] - want[i][j]).abs() < 1e-7);
        }
    }
}

#[test]
fn cora_fixture() {
    let d = cora::load(&fixture("cora_linqs"), cora::CoraSplit::Random(0.5), 0).expect("load");
    assert_eq!((d.len(), d.input_width()), (45, 20));
    assert_eq!(
        d.classes,
        ["Genetic_Algorithms", "Neural_Networks", "Theory"]
    );
    assert_eq!(d.sample_ids[2], 1014);
    let g = d.graph.as_ref().expect("graph");
    // 45 ring edges (i, i+3) + 9 cross-class edges; the duplicates add nothing.
    assert_eq!(g.undirected_edges, 54);
    assert_eq!(g.values.len(), 45 + 2 * 54);
    for r in d.inputs.rows() {
        assert!((r.sum() - 1.0).abs() < 1e-6);
    }
    let e = err(cora::load(
        &fixture("cora_linqs"),
        cora::CoraSplit::Standard,
        0,
    ));
    assert!(
        e.ends_with("45 nodes: too few for the 140/1000 split"),
        "{e}"
    );
    assert_eq!(
        "random:1.5".parse::<cora::CoraSplit>().expect_err("bad").to_string(),
        "unknown split 'random:1.5' (expected standard (140/1000), reverse (1000/140) or random:F with 0 < F < 1)"
    );
}

#[test]
fn cora_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let content = dir.path().join("cora.content");
    let cites = dir.path().join("cora.cites");
    std::fs::write(&content, "1\t0\t1\tA\n2\t1\t0\tB\n3\t1\tC\n").expect("write");
    std::fs::write(&cites, "1\t2\n").expect("write");
    let split = cora::CoraSplit::Random(0.5);
    assert_eq!(
        err(cora::load(dir.path(), split, 0)),
        format!(
            "{}: line 3: 1 features, earlier lines have 2",
            content.display()
        )
    );
    std::fs::write(&content, "1\t0\t1\tA\n2\t1\t2\tB\n").expect("write");
    assert_eq!(
        err(cora::load(dir.path(), split, 0)),
        format!(
            "{}: line 2: feature 2 is '2', expected 0 or 1",
            content.display()
        )
    );
    std::fs::write(&content, "1\t0\t1\tA\n2\t1\t0\tB\n").expect("write");
    std::fs::write(&cites, "1\t2\n1\t9\n").expect("write");
    assert_eq!(
        err(cora::load(dir.path(), split, 0)),
        format!(
            "{}: line 2: paper id 9 is not in cora.content",
            cites.display()
        )
    );
    std::fs::remove_file(&cites).expect("rm");
    let e = err(cora::load(dir.path(), split, 0));
    assert!(e.starts_with(&format!("{}: ", cites.display())), "{e}");
}

#[test]
fn cora_real() {
    let Some(dir) = shared("cora_linqs") else {
        return;
    };
    let d = cora::load(&dir, cora::CoraSplit::Standard, 0).expect("load");
    assert_eq!((d.len(), d.input_width(), d.classes.len()), (2708, 1433, 7));
    assert_eq!(d.sample_ids[0], 31336);
    let g = d.graph.as_ref().expect("graph");
    assert_eq!(g.undirected_edges, 5278);
    // Node 0 has 5 distinct neighbours: Â_00 = 1/6 (numpy reference).
    let a00 = g
        .rows
        .iter()
        .zip(&g.cols)
        .zip(&g.values)
        .find(|((&r, &c), _)| r == 0 && c == 0)
        .map(|(_, &v)| v);
    assert_eq!(a00, Some((1.0f64 / 6.0) as f32));
    assert_eq!((d.train.len(), d.validation.len()), (140, 1000));
    let mut per_class = [0; 7];
    for &i in &d.train {
        per_class[d.labels[i] as usize] += 1;
    }
    assert_eq!(per_class, [20; 7]);
    assert!(d
        .train
        .iter()
        .all(|i| d.validation.binary_search(i).is_err()));
    let r = cora::load(&dir, cora::CoraSplit::Reverse, 0).expect("load");
    assert_eq!(
        (r.train.clone(), r.validation.clone()),
        (d.validation, d.train)
    );
}
