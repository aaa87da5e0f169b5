//! Benchmark: Rényi entropy of one N = 10000 Gram matrix (H = 256) by stochastic Lanczos
//! quadrature against the exact eigenvalue result, both timed in the same run (issue: "under
//! 5 s per Gram matrix, within 0.01 bits of the exact result"). Each time includes building the
//! Gram matrix from Z (f32 for the quadrature, f64 for the exact path).
//!
//! Cases, α = 1.01, Silverman width (the defaults):
//! - `mnist-tanh`: the 10000 MNIST test images through a seeded random 784 → 256 tanh layer
//!   (an untrained network's hidden layer; power-law spectrum); also its joint matrix with the
//!   labels, A_Z ∘ A_Y;
//! - `gauss`: 10000 standard normal points in 256 dimensions (a flat spectrum's tail, the hard
//!   case for probing).
//!
//! Without `../shared/datasets/mnist`, `mnist-tanh` uses generated images and says so. Run:
//! `cargo bench --bench renyi_slq` (`-- --n 4000` for a quick look, `-- --alpha 0.5` for
//! another α).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::time::Instant;

use infoplane::estimator::renyi::{self, large, slq, Convention, RenyiParams};
use infoplane::util::rng::SplitMix64;
use ndarray::{Array2, ArrayView2};

/// The MNIST test images as rows in [0, 1] and their labels, or generated stand-ins.
fn mnist(n: usize) -> (Array2<f64>, Vec<u32>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/mnist");
    let images = infoplane::datasets::mnist::read_images(&dir.join("t10k-images-idx3-ubyte.gz"));
    let labels = infoplane::datasets::mnist::read_labels(&dir.join("t10k-labels-idx1-ubyte.gz"));
    if let (Ok((count, px)), Ok(l)) = (images, labels) {
        let n = n.min(count);
        let x = Array2::from_shape_fn((n, 784), |(i, j)| f64::from(px[i * 784 + j]) / 255.0);
        return (x, l[..n].to_vec());
    }
    eprintln!("renyi_slq: ../shared/datasets/mnist not found; generated images instead");
    let mut rng = SplitMix64::new(3);
    let l: Vec<u32> = (0..n).map(|_| rng.below(10) as u32).collect();
    let x = Array2::from_shape_fn((n, 784), |(i, j)| {
        let on = (j * 7 + l[i] as usize * 13) % 10 < 3;
        if on {
            rng.unit()
        } else {
            0.0
        }
    });
    (x, l)
}

fn tanh_layer(x: ArrayView2<'_, f64>, width: usize) -> Array2<f64> {
    let mut rng = SplitMix64::new(11);
    let scale = 3.0 / (x.ncols() as f64).sqrt();
    let w = Array2::from_shape_fn((x.ncols(), width), |_| rng.normal() * scale);
    x.dot(&w).mapv(f64::tanh)
}

fn sigma(z: ArrayView2<'_, f64>) -> f64 {
    let (n, d) = (z.nrows() as f64, z.ncols() as f64);
    0.8 * d.sqrt() * n.powf(-1.0 / (4.0 + d))
}

/// (exact seconds, exact S, quadrature seconds, quadrature S, its standard error), nats.
fn compare(z: ArrayView2<'_, f64>, labels: Option<&[u32]>, o: &RenyiParams) -> [f64; 5] {
    let div = Convention::TwoSigma2.divisor(sigma(z));
    let t = Instant::now();
    let d2 = renyi::squared_distances(z);
    let mut a = renyi::normalized_gram(&d2, div);
    drop(d2);
    if let Some(l) = labels {
        a = &a * &renyi::label_gram(l);
        let tr = a.diag().sum();
        a /= tr;
    }
    let exact = renyi::entropy(&a, o.alpha).unwrap();
    let t_exact = t.elapsed().as_secs_f64();
    drop(a);
    let t = Instant::now();
    let mut g = large::gram(z, div);
    if let Some(l) = labels {
        for (i, mut row) in g.rows_mut().into_iter().enumerate() {
            row.iter_mut()
                .zip(l)
                .filter(|(_, &lj)| lj != l[i])
                .for_each(|(v, _)| *v = 0.0);
        }
        let tr = slq::trace(g.view());
        g.mapv_inplace(|v| (f64::from(v) / tr) as f32);
    }
    let e = slq::entropy(g.view(), o.alpha, &o.slq(), 1).unwrap();
    [t_exact, exact, t.elapsed().as_secs_f64(), e.entropy, e.se]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = args
        .iter()
        .position(|a| a == "--n")
        .and_then(|k| args.get(k + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let alpha = args
        .iter()
        .position(|a| a == "--alpha")
        .and_then(|k| args.get(k + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.01);
    let o = RenyiParams {
        alpha,
        ..RenyiParams::default()
    };
    println!(
        "Rényi α = {} at N = {n}, H = 256: exact (f64 Gram + LAPACK dsyev) against slq ({} probes, {} Lanczos steps, {} deflated), {} threads",
        o.alpha, o.probes, o.steps, o.deflate, rayon::current_num_threads()
    );
    let (x, labels) = mnist(n);
    let z = tanh_layer(x.view(), 256);
    let mut rng = SplitMix64::new(5);
    let gauss = Array2::from_shape_simple_fn((n, 256), || rng.normal());
    let bits = std::f64::consts::LN_2;
    for (name, z, l) in [
        ("mnist-tanh A_Z", z.view(), None),
        ("mnist-tanh A_Z∘A_Y", z.view(), Some(labels.as_slice())),
        ("gauss A_Z", gauss.view(), None),
    ] {
        let [te, se, ts, ss, err] = compare(z, l, &o);
        println!(
            "{name:20} exact {te:6.2} s  S = {:.5} bits | slq {ts:5.2} s  S = {:.5} ± {:.5} bits | error {:+.5} bits | speed-up {:.1}x",
            se / bits, ss / bits, err / bits, (ss - se) / bits, te / ts
        );
    }
}
