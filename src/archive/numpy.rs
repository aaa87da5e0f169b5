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

    /// Floating-point values as f32, taken without a copy when they are f32 already. float16
    /// and float32 convert exactly; float64 is rounded to nearest (the returned flag says so).
    /// Integer arrays are refused.
    pub(crate) fn into_f32(self, what: &str) -> Result<(Vec<f32>, bool)> {
        match self.values {
            Values::F32(v) => Ok((v, false)),
            Values::F64(v) => {
                let mut out = crate::error::try_with_capacity(v.len(), &self.source, what)?;
                out.extend(v.iter().map(|&x| x as f32));
                Ok((out, true))
            }
            Values::Int(_) => Err(Error::format(
                &self.source,
                format!("{what} must be floating point, got {}", self.dtype),
            )),
        }
    }

    /// Any numeric values as f32 (integers and bools convert exactly up to 2^24).
    pub(crate) fn into_f32_any(self) -> (Vec<f32>, bool) {
        match self.values {
            Values::F32(v) => (v, false),
            Values::F64(v) => (v.iter().map(|&x| x as f32).collect(), true),
            Values::Int(v) => (
                v.iter().map(|&x| x as f32).collect(),
                v.iter().any(|&x| x.unsigned_abs() > 1 << 24),
            ),
        }
    }

    /// The values as class indices ([`crate::labels::class_indices`]: integers, or floats
    /// that are integers, within the class limit); an error naming the file otherwise.
    pub fn class_indices(&self) -> Result<Vec<u32>> {
        use crate::labels::{class_indices, RawLabels};
        let raw = match &self.values {
            Values::Int(v) => RawLabels::Int(v),
            Values::F64(v) => RawLabels::Float(v),
            Values::F32(v) => RawLabels::Float32(v),
        };
        class_indices(raw).map_err(|m| Error::format(&self.source, m))
    }
}

struct Header {
    dtype: DType,
    big_endian: bool,
    fortran: bool,
    shape: Vec<usize>,
}

impl Header {
    fn item_size(&self) -> usize {
        match self.dtype {
            DType::Bool => 1,
            DType::Int(s) | DType::UInt(s) | DType::Float(s) => s as usize,
        }
    }
}

/// The longest header accepted (numpy writes at most a few hundred bytes).
const MAX_HEADER: usize = 1 << 20;

/// Bytes decoded per read while streaming the data.
const CHUNK: usize = 1 << 20;

fn parse_header(src: &Path, h: &str) -> Result<Header> {
    let bad = |m: &str| Error::format(src, format!("invalid .npy header: {m}"));
    if !h.is_ascii() {
        return Err(bad("not ASCII text"));
    }
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
    let (big_endian, rest) = match descr.as_bytes().first() {
        Some(b'<' | b'|' | b'=') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        Some(_) => (false, descr),
        None => return Err(bad("empty dtype")),
    };
    let unsupported = || {
        Error::format(
            src,
            format!("unsupported dtype '{descr}' (expected bool, integer or float16/32/64)"),
        )
    };
    let kind = rest.chars().next().ok_or_else(|| bad("empty dtype"))?;
    let size: u8 = rest[1..].parse().map_err(|_| unsupported())?;
    let dtype = match (kind, size) {
        ('b', 1) => DType::Bool,
        ('i', 1 | 2 | 4 | 8) => DType::Int(size),
        ('u', 1 | 2 | 4 | 8) => DType::UInt(size),
        ('f', 2 | 4 | 8) => DType::Float(size),
        _ => return Err(unsupported()),
    };
    let fortran = value_after("fortran_order")
        .map(|v| v.starts_with("True"))
        .ok_or_else(|| bad("no 'fortran_order'"))?;
    let shape_text = value_after("shape").ok_or_else(|| bad("no 'shape'"))?;
    let tuple = shape_text
        .strip_prefix('(')
        .and_then(|t| t.split_once(')'))
        .map(|(inside, _)| inside)
        .ok_or_else(|| bad("'shape' is not a tuple"))?;
    let shape = tuple
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

/// Reads up to `buf.len()` bytes, fewer only at the end of the stream.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads and parses the header of a `.npy` stream.
fn read_header(src: &Path, r: &mut impl Read) -> Result<Header> {
    let io = |e: std::io::Error| Error::format(src, format!("cannot read: {e}"));
    let mut lead = [0u8; 12];
    let got = read_full(r, &mut lead[..10]).map_err(io)?;
    if got < 10 || &lead[..6] != b"\x93NUMPY" {
        return Err(Error::format(src, "not a .npy file (bad magic bytes)"));
    }
    let header_len = match lead[6] {
        1 => u16::from_le_bytes([lead[8], lead[9]]) as usize,
        2 | 3 => {
            if read_full(r, &mut lead[10..12]).map_err(io)? < 2 {
                return Err(Error::format(src, "truncated .npy header"));
            }
            u32::from_le_bytes([lead[8], lead[9], lead[10], lead[11]]) as usize
        }
        v => {
            return Err(Error::format(
                src,
                format!("unsupported .npy format version {v}"),
            ))
        }
    };
    if header_len > MAX_HEADER {
        return Err(Error::format(
            src,
            format!("invalid .npy header: {header_len} bytes long"),
        ));
    }
    let mut text = vec![0u8; header_len];
    if read_full(r, &mut text).map_err(io)? < header_len {
        return Err(Error::format(src, "truncated .npy header"));
    }
    let text = std::str::from_utf8(&text)
        .map_err(|_| Error::format(src, "invalid .npy header: not text"))?;
    parse_header(src, text)
}

/// Number of elements of `shape` and its size in bytes, refused when either overflows (or
/// exceeds what one array may address).
fn checked_size(src: &Path, h: &Header) -> Result<(usize, usize)> {
    let too_large = || Error::format(src, format!("shape {:?} is too large", h.shape));
    let count = h
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(too_large)?;
    // Arrays address every axis, zero-length ones included: their product must fit isize.
    let nonzero = h
        .shape
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .and_then(|c| c.checked_mul(h.item_size().max(8)))
        .ok_or_else(too_large)?;
    if nonzero > isize::MAX as usize {
        return Err(too_large());
    }
    Ok((count, count * h.item_size()))
}

/// Decodes the data that follows a header, streaming: at most `CHUNK` raw bytes are held at
/// a time, and memory is reserved up to `capacity_hint` bytes of data (what the source can
/// hold), never up to what the header merely claims.
fn read_values(src: &Path, h: &Header, r: &mut impl Read, capacity_hint: u64) -> Result<Values> {
    let (count, bytes) = checked_size(src, h)?;
    let item = h.item_size();
    let reserve = count.min((capacity_hint / item as u64).min(usize::MAX as u64) as usize);
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
    let what = "the array's values";
    let mut values = match h.dtype {
        DType::Float(2 | 4) => Values::F32(crate::error::try_with_capacity(reserve, src, what)?),
        DType::Float(_) => Values::F64(crate::error::try_with_capacity(reserve, src, what)?),
        _ => Values::Int(crate::error::try_with_capacity(reserve, src, what)?),
    };
    let mut buf = vec![0u8; CHUNK - CHUNK % item];
    let mut done = 0usize;
    while done < bytes {
        let want = buf.len().min(bytes - done);
        let got = read_full(r, &mut buf[..want])
            .map_err(|e| Error::format(src, format!("corrupt or truncated data: {e}")))?;
        if got < want {
            return Err(Error::format(
                src,
                format!(
                    "truncated or padded data: shape {:?} of {} needs {bytes} bytes, found {}",
                    h.shape,
                    h.dtype,
                    done + got
                ),
            ));
        }
        decode_chunk(src, h, &buf[..got], &word, &mut values)?;
        done += got;
    }
    let mut extra = [0u8; 1];
    if read_full(r, &mut extra).unwrap_or(0) > 0 {
        return Err(Error::format(
            src,
            format!(
                "truncated or padded data: shape {:?} of {} needs {bytes} bytes, found more",
                h.shape, h.dtype
            ),
        ));
    }
    Ok(if h.fortran && h.shape.len() > 1 {
        fortran_to_c(&h.shape, values)
    } else {
        values
    })
}

fn decode_chunk(
    src: &Path,
    h: &Header,
    raw: &[u8],
    word: &impl Fn(&[u8]) -> u64,
    values: &mut Values,
) -> Result<()> {
    let chunks = raw.chunks_exact(h.item_size());
    match (h.dtype, values) {
        (DType::Float(2), Values::F32(v)) => v.extend(chunks.map(|c| f16_to_f32(word(c) as u16))),
        (DType::Float(_), Values::F32(v)) => {
            v.extend(chunks.map(|c| f32::from_bits(word(c) as u32)))
        }
        (DType::Float(_), Values::F64(v)) => v.extend(chunks.map(|c| f64::from_bits(word(c)))),
        (DType::Bool, Values::Int(v)) => v.extend(chunks.map(|c| i64::from(c[0] != 0))),
        (DType::Int(s), Values::Int(v)) => {
            let shift = 64 - 8 * s as u32;
            v.extend(chunks.map(|c| ((word(c) << shift) as i64) >> shift));
        }
        (DType::UInt(_), Values::Int(v)) => {
            for c in chunks {
                let x = word(c);
                if x > i64::MAX as u64 {
                    return Err(Error::format(src, format!("uint64 value {x} is too large")));
                }
                v.push(x as i64);
            }
        }
        _ => {
            return Err(Error::Invalid(
                "internal: dtype and value buffer differ".into(),
            ))
        }
    }
    Ok(())
}

/// Reads one `.npy` array from a stream; `capacity_hint` bounds the memory reserved up front.
fn read_array(src: &Path, r: &mut impl Read, capacity_hint: u64) -> Result<NpyArray> {
    let h = read_header(src, r)?;
    let values = read_values(src, &h, r, capacity_hint)?;
    Ok(NpyArray {
        source: src.to_path_buf(),
        shape: h.shape,
        dtype: h.dtype,
        values,
    })
}

/// Parses a whole `.npy` byte buffer; `src` names it in messages.
#[cfg(test)]
fn parse_npy(src: &Path, bytes: &[u8]) -> Result<NpyArray> {
    read_array(src, &mut &bytes[..], bytes.len() as u64)
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
    let file = crate::util::fsutil::open_regular(path)?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    read_array(path, &mut std::io::BufReader::new(file), len)
}

/// The most a DEFLATE stream expands (1032:1), which bounds what a member can really hold.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Reads every member of a `.npz` file, in archive order, as (key, array). Members are
/// streamed into their arrays (a declared size is never trusted for allocation) and must hold
/// exactly the data their header describes; two members with one key are refused.
pub(crate) fn read_npz(path: &Path) -> Result<Vec<(String, NpyArray)>> {
    crate::util::untrusted::decode(path, ".npz (zip) file", || read_npz_unguarded(path))
}

fn read_npz_unguarded(path: &Path) -> Result<Vec<(String, NpyArray)>> {
    let mut file = crate::util::fsutil::open_regular(path)?;
    let declared = declared_entries(&mut file);
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| Error::format(path, format!("not a valid .npz (zip) file: {e}")))?;
    // The zip reader indexes members by name, keeping the last of a repeated name; numpy
    // keeps another. Either way one array would vanish: refuse.
    if declared.is_some_and(|d| d > zip.len() as u64) {
        return Err(Error::format(
            path,
            "holds two or more arrays with the same name; numpy would read only one of them",
        ));
    }
    let mut out: Vec<(String, NpyArray)> = Vec::new();
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| Error::format(path, format!("corrupt .npz member {i}: {e}")))?;
        let name = member.name().to_string();
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let src = PathBuf::from(format!(
            "{}[{}]",
            path.display(),
            crate::util::text::escape_controls(&key)
        ));
        if out.iter().any(|(k, _)| *k == key) {
            return Err(Error::format(
                path,
                format!(
                    "holds two arrays named '{}'; numpy would read only one of them",
                    crate::util::text::escape_controls(&key)
                ),
            ));
        }
        let hint = member
            .compressed_size()
            .saturating_mul(MAX_DEFLATE_RATIO)
            .min(member.size());
        let array = read_array(&src, &mut member, hint).map_err(|e| match e {
            Error::Format { path, message } if message.starts_with("corrupt or truncated data") => {
                Error::format(
                    path,
                    message.replace("corrupt or truncated data", "corrupt or truncated member"),
                )
            }
            other => other,
        })?;
        out.push((key, array));
    }
    if out.is_empty() {
        return Err(Error::format(path, "the .npz file holds no arrays"));
    }
    Ok(out)
}

/// The number of members a zip file's end-of-central-directory record declares (zip64
/// included), or None when it cannot be found.
fn declared_entries(file: &mut std::fs::File) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let len = file.metadata().ok()?.len();
    let tail_len = len.min(65_557);
    file.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail).ok()?;
    file.seek(SeekFrom::Start(0)).ok()?;
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])?;
    let total = u16::from_le_bytes([tail[at + 10], tail[at + 11]]);
    if total != u16::MAX {
        return Some(u64::from(total));
    }
    // zip64: the locator sits just before the record and points at the zip64 record.
    let loc = at.checked_sub(20)?;
    if tail[loc..loc + 4] != [0x50, 0x4b, 0x06, 0x07] {
        return None;
    }
    let mut off = [0u8; 8];
    off.copy_from_slice(&tail[loc + 8..loc + 16]);
    let record = u64::from_le_bytes(off);
    file.seek(SeekFrom::Start(record.checked_add(32)?)).ok()?;
    let mut n = [0u8; 8];
    file.read_exact(&mut n).ok()?;
    file.seek(SeekFrom::Start(0)).ok()?;
    Some(u64::from_le_bytes(n))
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
    crate::util::fsutil::write_atomic(path, bytes)
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

/// Writes a `.npz` file (stored, not compressed) of float32 arrays, in the given order,
/// atomically.
pub fn write_npz_f32(path: &Path, arrays: &[(&str, &[usize], &[f32])]) -> Result<()> {
    crate::util::fsutil::write_via_temp(path, |tmp| {
        let file = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        for (name, shape, values) in arrays {
            zip.start_file(format!("{name}.npy"), opts)
                .map_err(|e| Error::format(tmp, e.to_string()))?;
            zip.write_all(&npy_bytes("<f4", shape, &f32_bytes(values)))
                .map_err(|e| Error::io(tmp, e))?;
        }
        let mut w = zip
            .finish()
            .map_err(|e| Error::format(tmp, e.to_string()))?;
        w.flush().map_err(|e| Error::io(tmp, e))
    })
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
