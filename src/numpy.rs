//! NumPy `.npy` and `.npz` files: a reader for the numeric dtypes and a writer for f32 and i64.
//!
//! Format reference: numpy's `numpy/lib/format.py` (NEP 1). Supported: format versions 1-3,
//! little- and big-endian, C and Fortran order, dtypes bool, int8-64, uint8-64, float16/32/64.
//! `.npz` archives (`np.savez`, `np.savez_compressed`) are zip files of `.npy` members; their
//! order is kept.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};

use crate::error::{Error, Result};

/// The element type of an array as stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// `bool`
    Bool,
    /// Signed integer of the given byte size.
    Int(u8),
    /// Unsigned integer of the given byte size.
    UInt(u8),
    /// IEEE float of the given byte size (2, 4 or 8).
    Float(u8),
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DType::Bool => write!(f, "bool"),
            DType::Int(s) => write!(f, "int{}", s * 8),
            DType::UInt(s) => write!(f, "uint{}", s * 8),
            DType::Float(s) => write!(f, "float{}", s * 8),
        }
    }
}

/// Values of an array, in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// float16 (converted exactly) and float32.
    F32(Vec<f32>),
    /// float64.
    F64(Vec<f64>),
    /// Every integer dtype and bool.
    Int(Vec<i64>),
}

/// An array read from a `.npy` file or `.npz` member.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Where it came from (`A.npz[layer1]`), for messages.
    pub source: PathBuf,
    /// Shape.
    pub shape: Vec<usize>,
    /// Stored dtype.
    pub dtype: DType,
    /// Values in C order.
    pub values: Values,
}

impl NpyArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Floating-point values as f32. float16 and float32 convert exactly; float64 is rounded to
    /// nearest (the returned flag says so). Integer arrays are refused.
    pub fn to_f32(&self, what: &str) -> Result<(Vec<f32>, bool)> {
        match &self.values {
            Values::F32(v) => Ok((v.clone(), false)),
            Values::F64(v) => Ok((v.iter().map(|&x| x as f32).collect(), true)),
            Values::Int(_) => Err(Error::format(
                &self.source,
                format!("{what} must be floating point, got {}", self.dtype),
            )),
        }
    }

    /// Any numeric values as f32 (integers and bools convert exactly up to 2^24).
    pub fn to_f32_any(&self) -> (Vec<f32>, bool) {
        match &self.values {
            Values::F32(v) => (v.clone(), false),
            Values::F64(v) => (v.iter().map(|&x| x as f32).collect(), true),
            Values::Int(v) => (
                v.iter().map(|&x| x as f32).collect(),
                v.iter().any(|&x| x.unsigned_abs() > 1 << 24),
            ),
        }
    }

    /// Integer values; floating-point arrays are refused.
    pub fn to_i64(&self, what: &str) -> Result<&[i64]> {
        match &self.values {
            Values::Int(v) => Ok(v),
            _ => Err(Error::format(
                &self.source,
                format!(
                    "{what} must be integers, got {} (cast with .astype(int) first)",
                    self.dtype
                ),
            )),
        }
    }
}

struct Header {
    dtype: DType,
    big_endian: bool,
    fortran: bool,
    shape: Vec<usize>,
}

fn parse_header(src: &Path, h: &str) -> Result<Header> {
    let bad = |m: &str| Error::format(src, format!("invalid .npy header: {m}"));
    let value_after = |key: &str| -> Option<&str> {
        let i = h
            .find(&format!("'{key}'"))
            .or_else(|| h.find(&format!("\"{key}\"")))?;
        let rest = &h[i + key.len() + 2..];
        let colon = rest.find(':')?;
        Some(rest[colon + 1..].trim_start())
    };
    let descr = value_after("descr").ok_or_else(|| bad("no 'descr'"))?;
    let quote = descr.chars().next().ok_or_else(|| bad("empty 'descr'"))?;
    if quote != '\'' && quote != '"' {
        return Err(Error::format(
            src,
            "structured or record dtypes are not supported; save a plain numeric array",
        ));
    }
    let end = descr[1..]
        .find(quote)
        .ok_or_else(|| bad("unterminated 'descr'"))?;
    let descr = &descr[1..1 + end];
    let mut chars = descr.chars();
    let order = chars.next().ok_or_else(|| bad("empty dtype"))?;
    let (big_endian, rest) = match order {
        '<' | '|' | '=' => (false, &descr[1..]),
        '>' => (true, &descr[1..]),
        _ => (false, descr),
    };
    let kind = rest.chars().next().ok_or_else(|| bad("empty dtype"))?;
    let size: u8 = rest[1..]
        .parse()
        .map_err(|_| Error::format(src, format!("unsupported dtype '{descr}'")))?;
    let dtype = match (kind, size) {
        ('b', 1) => DType::Bool,
        ('i', 1 | 2 | 4 | 8) => DType::Int(size),
        ('u', 1 | 2 | 4 | 8) => DType::UInt(size),
        ('f', 2 | 4 | 8) => DType::Float(size),
        _ => {
            return Err(Error::format(
                src,
                format!("unsupported dtype '{descr}' (expected bool, integer or float16/32/64)"),
            ))
        }
    };
    let fortran = value_after("fortran_order")
        .map(|v| v.starts_with("True"))
        .ok_or_else(|| bad("no 'fortran_order'"))?;
    let shape_text = value_after("shape").ok_or_else(|| bad("no 'shape'"))?;
    let open = shape_text
        .find('(')
        .ok_or_else(|| bad("'shape' is not a tuple"))?;
    let close = shape_text
        .find(')')
        .ok_or_else(|| bad("'shape' is not a tuple"))?;
    let shape = shape_text[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad("'shape' holds something other than integers"))?;
    Ok(Header {
        dtype,
        big_endian,
        fortran,
        shape,
    })
}

/// IEEE half to single precision, exactly.
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let mant = (h & 0x3ff) as u32;
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: value = m * 2^-24.
            let v = m as f32 * f32::from_bits(0x3380_0000); // 2^-24
            return if sign != 0 { -v } else { v };
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Parses a whole `.npy` byte buffer; `src` names it in messages.
pub fn parse_npy(src: &Path, bytes: &[u8]) -> Result<NpyArray> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(Error::format(src, "not a .npy file (bad magic bytes)"));
    }
    let major = bytes[6];
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(Error::format(src, "truncated .npy header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => {
            return Err(Error::format(
                src,
                format!("unsupported .npy format version {v}"),
            ))
        }
    };
    let data_start = start + header_len;
    if bytes.len() < data_start {
        return Err(Error::format(src, "truncated .npy header"));
    }
    let header_text = std::str::from_utf8(&bytes[start..data_start])
        .map_err(|_| Error::format(src, "invalid .npy header: not text"))?;
    let h = parse_header(src, header_text)?;
    let count: usize = h.shape.iter().product();
    let item = match h.dtype {
        DType::Bool => 1,
        DType::Int(s) | DType::UInt(s) | DType::Float(s) => s as usize,
    };
    let data = &bytes[data_start..];
    let expected = count
        .checked_mul(item)
        .ok_or_else(|| Error::format(src, "shape too large"))?;
    if data.len() != expected {
        return Err(Error::format(
            src,
            format!(
                "truncated or padded data: shape {:?} of {} needs {expected} bytes, found {}",
                h.shape,
                h.dtype,
                data.len()
            ),
        ));
    }
    let word = |c: &[u8]| -> u64 {
        let mut b = [0u8; 8];
        if h.big_endian {
            for (k, x) in c.iter().rev().enumerate() {
                b[k] = *x;
            }
        } else {
            b[..c.len()].copy_from_slice(c);
        }
        u64::from_le_bytes(b)
    };
    let chunks = data.chunks_exact(item);
    let values = match h.dtype {
        DType::Float(2) => Values::F32(chunks.map(|c| f16_to_f32(word(c) as u16)).collect()),
        DType::Float(4) => Values::F32(chunks.map(|c| f32::from_bits(word(c) as u32)).collect()),
        DType::Float(_) => Values::F64(chunks.map(|c| f64::from_bits(word(c))).collect()),
        DType::Bool => Values::Int(chunks.map(|c| i64::from(c[0] != 0)).collect()),
        DType::Int(s) => {
            let shift = 64 - 8 * s as u32;
            Values::Int(
                chunks
                    .map(|c| ((word(c) << shift) as i64) >> shift)
                    .collect(),
            )
        }
        DType::UInt(s) => {
            let v: Vec<u64> = chunks.map(word).collect();
            if s == 8 {
                if let Some(big) = v.iter().find(|&&x| x > i64::MAX as u64) {
                    return Err(Error::format(
                        src,
                        format!("uint64 value {big} is too large"),
                    ));
                }
            }
            Values::Int(v.into_iter().map(|x| x as i64).collect())
        }
    };
    let values = if h.fortran && h.shape.len() > 1 {
        fortran_to_c(&h.shape, values)
    } else {
        values
    };
    Ok(NpyArray {
        source: src.to_path_buf(),
        shape: h.shape,
        dtype: h.dtype,
        values,
    })
}

fn fortran_to_c(shape: &[usize], values: Values) -> Values {
    fn conv<T: Clone>(shape: &[usize], v: Vec<T>) -> Vec<T> {
        let rev: Vec<usize> = shape.iter().rev().copied().collect();
        // Column-major data is the row-major layout of the reversed shape; reverse the axes back.
        match ArrayD::from_shape_vec(IxDyn(&rev), v) {
            Ok(a) => a
                .reversed_axes()
                .as_standard_layout()
                .iter()
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        }
    }
    match values {
        Values::F32(v) => Values::F32(conv(shape, v)),
        Values::F64(v) => Values::F64(conv(shape, v)),
        Values::Int(v) => Values::Int(conv(shape, v)),
    }
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_npy(path, &bytes)
}

/// Reads every member of a `.npz` file, in archive order, as (key, array).
pub fn read_npz(path: &Path) -> Result<Vec<(String, NpyArray)>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| Error::format(path, format!("not a valid .npz (zip) file: {e}")))?;
    let mut out = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| Error::format(path, format!("corrupt .npz member {i}: {e}")))?;
        let name = member.name().to_string();
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let src = PathBuf::from(format!("{}[{key}]", path.display()));
        let mut bytes = Vec::with_capacity(member.size() as usize);
        member
            .read_to_end(&mut bytes)
            .map_err(|e| Error::format(&src, format!("corrupt or truncated member: {e}")))?;
        out.push((key, parse_npy(&src, &bytes)?));
    }
    if out.is_empty() {
        return Err(Error::format(path, "the .npz file holds no arrays"));
    }
    Ok(out)
}

/// The bytes of a version-1.0 `.npy` file holding `data` (already little-endian).
fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_text = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad so that the data starts on a 64-byte boundary; the header ends with a newline.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Writes a little-endian float32 `.npy` file.
pub fn write_npy_f32(path: &Path, shape: &[usize], values: &[f32]) -> Result<()> {
    write_file(path, &npy_bytes("<f4", shape, &f32_bytes(values)))
}

/// Writes a little-endian int64 `.npy` file.
pub fn write_npy_i64(path: &Path, shape: &[usize], values: &[i64]) -> Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_file(path, &npy_bytes("<i8", shape, &bytes))
}

/// Writes a `.npz` file (stored, not compressed) of float32 arrays, in the given order.
pub fn write_npz_f32(path: &Path, arrays: &[(&str, &[usize], &[f32])]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for (name, shape, values) in arrays {
        zip.start_file(format!("{name}.npy"), opts)
            .map_err(|e| Error::format(path, e.to_string()))?;
        zip.write_all(&npy_bytes("<f4", shape, &f32_bytes(values)))
            .map_err(|e| Error::io(path, e))?;
    }
    zip.finish()
        .map_err(|e| Error::format(path, e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_is_exact() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    }

    #[test]
    fn header_round_trip_and_fortran_order() {
        let dir = std::env::temp_dir().join(format!("npy-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.npy");
        write_npy_f32(&p, &[2, 3], &[0., 1., 2., 3., 4., 5.]).unwrap();
        let a = read_npy(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.values, Values::F32(vec![0., 1., 2., 3., 4., 5.]));
        // The same 2x3 matrix stored column-major, as a big-endian int16.
        let header = "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        for v in [0i16, 3, 1, 4, 2, -5] {
            bytes.extend(v.to_be_bytes());
        }
        let b = parse_npy(Path::new("b.npy"), &bytes).unwrap();
        assert_eq!(b.values, Values::Int(vec![0, 1, 2, 3, 4, -5]));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn truncated_data_is_named() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend([0u8; 12]);
        let e = parse_npy(Path::new("z.npy"), &bytes)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "z.npy: truncated or padded data: shape [4] of float32 needs 16 bytes, found 12"
        );
    }
}
