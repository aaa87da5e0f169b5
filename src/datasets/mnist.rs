//! MNIST from the four original IDX files (gzip-compressed or not): training images form the
//! training split (optionally only the first `subset`), test images the validation split.
//!
//! IDX format (LeCun et al., yann.lecun.com/exdb/mnist): big-endian u32 magic 2051 (images) or
//! 2049 (labels), then the dimensions, then u8 values. Pixels are scaled to [0, 1] (÷255);
//! sample ids are the index in the training file, or 60000 + the index in the test file.

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::Dataset;
use crate::error::{Error, Result};

/// Image side length.
pub(crate) const SIDE: usize = 28;

fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::format(
        dir.join(format!("{stem}.gz")),
        "MNIST file not found (expected the original IDX file, gzip-compressed or not)",
    ))
}

fn read_idx(path: &Path) -> Result<Vec<u8>> {
    let raw = crate::datasets::read_file(path)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("corrupt gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Reads an IDX image file: (count, pixels as count x 784 u8).
pub fn read_images(path: &Path) -> Result<(usize, Vec<u8>)> {
    let b = read_idx(path)?;
    if b.len() < 16 {
        return Err(Error::format(
            path,
            format!("truncated IDX header ({} bytes)", b.len()),
        ));
    }
    let magic = be_u32(&b, 0);
    if magic != 2051 {
        return Err(Error::format(
            path,
            format!("not an IDX image file: magic number {magic}, expected 2051"),
        ));
    }
    let (n, rows, cols) = (
        be_u32(&b, 4) as usize,
        be_u32(&b, 8) as usize,
        be_u32(&b, 12) as usize,
    );
    if rows != SIDE || cols != SIDE {
        return Err(Error::format(
            path,
            format!("images are {rows} x {cols}, expected 28 x 28"),
        ));
    }
    let want = 16 + n * SIDE * SIDE;
    if b.len() != want {
        return Err(Error::format(
            path,
            format!(
                "header declares {n} images ({want} bytes) but the file has {} bytes",
                b.len()
            ),
        ));
    }
    Ok((n, b[16..].to_vec()))
}

/// Reads an IDX label file (values 0..=9).
pub fn read_labels(path: &Path) -> Result<Vec<u32>> {
    let b = read_idx(path)?;
    if b.len() < 8 {
        return Err(Error::format(
            path,
            format!("truncated IDX header ({} bytes)", b.len()),
        ));
    }
    let magic = be_u32(&b, 0);
    if magic != 2049 {
        return Err(Error::format(
            path,
            format!("not an IDX label file: magic number {magic}, expected 2049"),
        ));
    }
    let n = be_u32(&b, 4) as usize;
    if b.len() != 8 + n {
        return Err(Error::format(
            path,
            format!(
                "header declares {n} labels but the file has {} bytes after the header",
                b.len() - 8
            ),
        ));
    }
    if let Some(i) = b[8..].iter().position(|&l| l > 9) {
        return Err(Error::format(
            path,
            format!("label {} at index {i} is not a digit", b[8 + i]),
        ));
    }
    Ok(b[8..].iter().map(|&l| u32::from(l)).collect())
}

/// Loads MNIST from `dir`: the first `subset` training images (all when `None`) as the training
/// split and the first `validation_subset` test images (all when `None`) as the validation split.
pub fn load(
    dir: &Path,
    subset: Option<usize>,
    validation_subset: Option<usize>,
) -> Result<Dataset> {
    let parts = [
        read_part(dir, "train", subset, 0)?,
        read_part(dir, "t10k", validation_subset, 60_000)?,
    ];
    let total: usize = parts.iter().map(|p| p.0).sum();
    let px = SIDE * SIDE;
    let mut inputs = Array2::<f32>::zeros((total, px));
    let (mut labels, mut ids) = (Vec::with_capacity(total), Vec::with_capacity(total));
    let mut row = 0;
    let mut splits = Vec::new();
    for (take, pixels, l, id_base) in parts {
        let start = row;
        for i in 0..take {
            let image = &pixels[i * px..(i + 1) * px];
            for (dst, &p) in inputs.row_mut(row).iter_mut().zip(image) {
                *dst = f32::from(p) / 255.0;
            }
            labels.push(l[i]);
            ids.push(id_base + i as u64);
            row += 1;
        }
        splits.push((start..row).collect::<Vec<usize>>());
    }
    let validation = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok(Dataset {
        name: "mnist".into(),
        description: format!(
            "MNIST from {}: {} training images, {} test images as validation, pixels / 255",
            dir.display(),
            train.len(),
            validation.len()
        ),
        inputs,
        input_shape: vec![1, SIDE, SIDE],
        labels,
        classes: (0..10).map(|d| d.to_string()).collect(),
        sample_ids: ids,
        train,
        validation,
        graph: None,
    })
}

/// One part (`train` or `t10k`): how many images to take (the first `limit`), their pixels,
/// their labels, and the base of their sample ids.
fn read_part(
    dir: &Path,
    prefix: &str,
    limit: Option<usize>,
    id_base: u64,
) -> Result<(usize, Vec<u8>, Vec<u32>, u64)> {
    let ipath = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let lpath = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let (n, pixels) = read_images(&ipath)?;
    let l = read_labels(&lpath)?;
    if l.len() != n {
        return Err(Error::format(
            &lpath,
            format!("{} labels for {n} images in {}", l.len(), ipath.display()),
        ));
    }
    let take = match limit {
        Some(k) if k > n => {
            return Err(Error::request(
                &ipath,
                format!("subset of {k} asked for, the file has {n} images"),
            ))
        }
        Some(k) => k,
        None => n,
    };
    Ok((take, pixels, l, id_base))
}
