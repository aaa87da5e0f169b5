//! A reader for numeric matrices in MATLAB v5 `.mat` files (the format of Tishby's `var_u.mat`).
//!
//! Level-5 MAT-file format (MathWorks, "MAT-File Format", 2019): a 128-byte header ending in the
//! endian indicator `IM` (little-endian), then data elements. Each element has an 8-byte tag
//! (type, byte count) or, for at most 4 bytes of data, a 4-byte "small element" tag. `miMATRIX`
//! (14) elements hold array flags, dimensions, the name and the real part; `miCOMPRESSED` (15)
//! elements are a zlib stream holding one element. Only real, non-sparse numeric arrays are
//! decoded (to f64, column-major as stored); cells, structs, strings and sparse arrays are listed
//! as skipped so that a missing variable gets a useful message.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;

/// One numeric variable of a MAT file.
#[derive(Debug, Clone, PartialEq)]
pub struct MatVariable {
    /// Variable name.
    pub name: String,
    /// Dimensions (MATLAB order: rows, columns, ...).
    pub dims: Vec<usize>,
    /// Values converted to f64, in MATLAB's column-major order.
    pub data: Vec<f64>,
}

impl MatVariable {
    /// The value at (row, col) of a 2-D variable.
    pub fn at(&self, row: usize, col: usize) -> f64 {
        self.data[col * self.dims[0] + row]
    }
}

/// The numeric variables of a MAT file, plus the names of variables it could not decode.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MatFile {
    /// Decoded numeric variables, in file order.
    pub variables: Vec<MatVariable>,
    /// Names (or `?`) of variables that are not real numeric arrays.
    pub skipped: Vec<String>,
}

impl MatFile {
    /// Reads and decodes `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = crate::datasets::read_file(path)?;
        Self::parse(&bytes).map_err(|m| Error::format(path, m))
    }

    /// Decodes a MAT v5 file held in memory; errors are one-line descriptions.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        if bytes.len() < 128 {
            return Err(format!(
                "not a MATLAB v5 .mat file: {} bytes, shorter than the 128-byte header",
                bytes.len()
            ));
        }
        if !bytes.starts_with(b"MATLAB 5.0 MAT-file") {
            return Err("not a MATLAB v5 .mat file: the header does not start with 'MATLAB 5.0 MAT-file' (v4 and v7.3/HDF5 files are not supported)".into());
        }
        match &bytes[126..128] {
            b"IM" => {}
            b"MI" => return Err("big-endian MAT files are not supported".into()),
            _ => return Err("not a MATLAB v5 .mat file: bad endian indicator at byte 126".into()),
        }
        let mut out = MatFile::default();
        let mut pos = 128;
        while pos < bytes.len() {
            let (ty, data, next) = element(bytes, pos)?;
            if ty == MI_COMPRESSED {
                let mut inner = Vec::new();
                flate2::read::ZlibDecoder::new(data)
                    .read_to_end(&mut inner)
                    .map_err(|e| format!("compressed element at byte {pos}: {e}"))?;
                let (ty, data, _) = element(&inner, 0)
                    .map_err(|e| format!("in the compressed element at byte {pos}: {e}"))?;
                if ty == MI_MATRIX {
                    out.matrix(data).map_err(|e| {
                        format!("matrix in the compressed element at byte {pos}: {e}")
                    })?;
                }
            } else if ty == MI_MATRIX {
                out.matrix(data)
                    .map_err(|e| format!("matrix element at byte {pos}: {e}"))?;
            }
            pos = next;
        }
        Ok(out)
    }

    /// The variable called `name`, or an error listing what the file has.
    pub fn variable(&self, path: &Path, name: &str) -> Result<&MatVariable> {
        self.variables
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| {
                let have: Vec<&str> = self.variables.iter().map(|v| v.name.as_str()).collect();
                Error::format(
                    path,
                    format!(
                        "no numeric variable '{name}' (numeric variables: {}{})",
                        if have.is_empty() {
                            "none".to_string()
                        } else {
                            have.join(", ")
                        },
                        if self.skipped.is_empty() {
                            String::new()
                        } else {
                            format!("; not numeric: {}", self.skipped.join(", "))
                        }
                    ),
                )
            })
    }

    fn matrix(&mut self, body: &[u8]) -> std::result::Result<(), String> {
        let (ty, flags, p) = element(body, 0)?;
        if ty != MI_UINT32 || flags.len() < 8 {
            return Err("array flags missing".into());
        }
        let class = flags[0];
        let complex = flags[1] & 0x08 != 0;
        let (ty, dims_raw, p) = element(body, p)?;
        if ty != MI_INT32 || dims_raw.len() % 4 != 0 || dims_raw.is_empty() {
            return Err("dimensions missing".into());
        }
        let mut dims = Vec::new();
        for c in dims_raw.chunks_exact(4) {
            let d = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            dims.push(usize::try_from(d).map_err(|_| format!("negative dimension {d}"))?);
        }
        let (_, name_raw, p) = element(body, p)?;
        let name = String::from_utf8_lossy(name_raw).into_owned();
        // Classes 6..=15 are double, single and the integer types; others are not numeric arrays.
        if !(6..=15).contains(&class) || complex {
            self.skipped.push(name);
            return Ok(());
        }
        let (ty, real, _) = element(body, p)?;
        let data = decode(ty, real)?;
        let count: usize = dims.iter().product();
        if data.len() != count {
            return Err(format!(
                "variable '{name}': {} values for dimensions {dims:?}",
                data.len()
            ));
        }
        self.variables.push(MatVariable { name, dims, data });
        Ok(())
    }
}

/// Reads the element starting at `pos`: (type, data, position of the next element).
fn element(bytes: &[u8], pos: usize) -> std::result::Result<(u32, &[u8], usize), String> {
    let word = |at: usize| -> std::result::Result<u32, String> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format!("truncated: element tag at byte {at} runs past the end"))
    };
    let first = word(pos)?;
    if first >> 16 != 0 {
        // Small data element: 2 bytes count, 2 bytes type, up to 4 bytes of data.
        let n = (first >> 16) as usize;
        if n > 4 {
            return Err(format!("bad small element at byte {pos}"));
        }
        let data = bytes
            .get(pos + 4..pos + 4 + n)
            .ok_or_else(|| format!("truncated: small element at byte {pos}"))?;
        return Ok((first & 0xffff, data, pos + 8));
    }
    let n = word(pos + 4)? as usize;
    let start = pos + 8;
    let data = bytes.get(start..start + n).ok_or_else(|| {
        format!(
            "truncated: element at byte {pos} declares {n} bytes, {} remain",
            bytes.len().saturating_sub(start)
        )
    })?;
    // Uncompressed elements are padded to 8 bytes; compressed ones are not.
    let next = if first == MI_COMPRESSED {
        start + n
    } else {
        start + n.div_ceil(8) * 8
    };
    Ok((first, data, next))
}

fn decode(ty: u32, raw: &[u8]) -> std::result::Result<Vec<f64>, String> {
    macro_rules! conv {
        ($t:ty) => {{
            const W: usize = std::mem::size_of::<$t>();
            #[allow(clippy::modulo_one)]
            let whole = raw.len() % W == 0;
            if !whole {
                return Err(format!(
                    "{} bytes of data is not a whole number of values",
                    raw.len()
                ));
            }
            raw.chunks_exact(W)
                .map(|c| {
                    let mut b = [0u8; W];
                    b.copy_from_slice(c);
                    <$t>::from_le_bytes(b) as f64
                })
                .collect()
        }};
    }
    Ok(match ty {
        MI_INT8 => conv!(i8),
        MI_UINT8 => conv!(u8),
        MI_INT16 => conv!(i16),
        MI_UINT16 => conv!(u16),
        MI_INT32 => conv!(i32),
        MI_UINT32 => conv!(u32),
        MI_SINGLE => conv!(f32),
        MI_DOUBLE => conv!(f64),
        MI_INT64 => conv!(i64),
        MI_UINT64 => conv!(u64),
        other => return Err(format!("unsupported data type {other} for array values")),
    })
}
