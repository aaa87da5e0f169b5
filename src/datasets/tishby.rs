//! Tishby's 12-bit task: all 4096 binary patterns with a deterministic binary label, generated in
//! code (the embedded default) or read from `var_u.mat` / `g1.mat` / `g2.mat`.
//!
//! Generated rule (documented, ours; the original `var_u.mat` labels come from a spherical
//! harmonic rule whose coefficients were not published): pattern i has bits x_k = bit (11 - k)
//! of i (most significant first), read as spins s_k = 2 x_k - 1 placed at 12 equally spaced
//! points of a circle. Its first circular harmonic power is
//! P = |Σ_k s_k e^{2πik/12}|², and the label is y = 1 iff P > 8.5 (P takes the values 8 and
//! 9.07 on either side). Like Shwartz-Ziv & Tishby's rule the label is invariant under
//! rotations and reflections of the circle; p(y = 1) = 2040/4096 = 0.498.
//!
//! Inputs are the bits as 0.0/1.0. The split is a seeded random 80/20 (Saxe et al. 2018).

use std::path::Path;

use ndarray::Array2;

use super::Dataset;
use crate::datasets::matlab::MatFile;
use crate::error::{Error, Result};
use crate::util::rng::random_split;

/// Number of input bits.
pub const BITS: usize = 12;
/// Number of patterns (2^12).
pub const PATTERNS: usize = 1 << BITS;
/// Fraction of samples used for training.
pub(crate) const TRAIN_FRACTION: f64 = 0.8;

/// First circular harmonic power P = |Σ_k s_k e^{2πik/12}|² of pattern `i`.
pub fn harmonic_power(i: usize) -> f64 {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for k in 0..BITS {
        let s = if (i >> (BITS - 1 - k)) & 1 == 1 {
            1.0
        } else {
            -1.0
        };
        let angle = 2.0 * std::f64::consts::PI * k as f64 / BITS as f64;
        re += s * angle.cos();
        im += s * angle.sin();
    }
    re * re + im * im
}

/// The label of pattern `i` under the generated rule: 1 iff its harmonic power exceeds 8.5.
pub fn label(i: usize) -> u32 {
    u32::from(harmonic_power(i) > 8.5)
}

fn patterns() -> Array2<f32> {
    Array2::from_shape_fn((PATTERNS, BITS), |(i, k)| {
        ((i >> (BITS - 1 - k)) & 1) as f32
    })
}

fn dataset(inputs: Array2<f32>, labels: Vec<u32>, description: String, seed: u64) -> Dataset {
    let n = labels.len();
    let (train, validation) = random_split(n, TRAIN_FRACTION, seed);
    Dataset {
        name: "tishby".into(),
        description,
        inputs,
        input_shape: vec![BITS],
        labels,
        classes: vec!["0".into(), "1".into()],
        sample_ids: (0..n as u64).collect(),
        train,
        validation,
        graph: None,
    }
}

/// The generated 12-bit task (no files needed); `seed` picks the 80/20 split.
pub fn generate(seed: u64) -> Dataset {
    let labels = (0..PATTERNS).map(label).collect();
    dataset(
        patterns(),
        labels,
        "Tishby 12-bit task, generated: y = 1 iff first circular harmonic power > 8.5".into(),
        seed,
    )
}

/// Reads `F` (N x 12, 0/1) and `y` (1 x N or N x 1, 0/1) from a MATLAB v5 file such as
/// `var_u.mat`, `g1.mat` or `g2.mat`.
pub fn load_mat(path: &Path, seed: u64) -> Result<Dataset> {
    let mat = MatFile::read(path)?;
    let f = mat.variable(path, "F")?;
    let y = mat.variable(path, "y")?;
    if f.dims.len() != 2 || f.dims[1] != BITS {
        return Err(Error::format(
            path,
            format!(
                "variable 'F' has dimensions {:?}, expected N x {BITS}",
                f.dims
            ),
        ));
    }
    let n = f.dims[0];
    if y.data.len() != n || y.dims.iter().filter(|&&d| d != 1).count() > 1 {
        return Err(Error::format(
            path,
            format!(
                "variable 'y' has dimensions {:?}, expected a vector of {n} labels",
                y.dims
            ),
        ));
    }
    let mut inputs = Array2::zeros((n, BITS));
    for i in 0..n {
        for k in 0..BITS {
            let v = f.at(i, k);
            if v != 0.0 && v != 1.0 {
                return Err(Error::format(
                    path,
                    format!("F({}, {}) = {v}: inputs must be 0 or 1", i + 1, k + 1),
                ));
            }
            inputs[[i, k]] = v as f32;
        }
    }
    let mut labels = Vec::with_capacity(n);
    for (i, &v) in y.data.iter().enumerate() {
        if v != 0.0 && v != 1.0 {
            return Err(Error::format(
                path,
                format!("y({}) = {v}: labels must be 0 or 1", i + 1),
            ));
        }
        labels.push(v as u32);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(dataset(
        inputs,
        labels,
        format!("Tishby 12-bit task from {name}"),
        seed,
    ))
}
