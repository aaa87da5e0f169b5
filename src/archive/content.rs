//! Content hashes of an archive's data: a flipped bit anywhere is found before its numbers are used.
//!
//! Every data file (Parquet backend) and every array slot written at a commit (HDF5 backend)
//! has a [`Digest`]: its length and its CRC-32 (IEEE 802.3, the polynomial of zlib, PNG and
//! Parquet's own page checksums; `crc32fast`, which picks the processor's carry-less multiply
//! at run time). A CRC finds every flip of one, two or three bits and every burst of up to 32,
//! and any other change with probability 1 − 2⁻³²; it streams at full speed over pieces of any
//! size (readers hash a file's pages as the decoder reads them, [`super::hashed_reader`]) and
//! CRCs of consecutive pieces combine, so large arrays are hashed on every core. Writers store
//! the digests in the JSON that commits the data (the manifest for the data written at
//! creation, each epoch's record for its files) and readers compare before they use the data.
//!
//! The JSON files themselves carry a self-checksum ([`to_checked_json`]): the last member,
//! `"checksum": "crc32:<8 hex digits>"`, is the CRC-32 of the file's bytes without that
//! member, so a flip anywhere in a manifest or an epoch record is found too.

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crc32fast::Hasher as Crc;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Bytes per piece when a large input is hashed in parallel.
pub(crate) const BLOCK: usize = 1 << 20;

/// The length and CRC-32 of some bytes (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Digest {
    /// Length in bytes.
    pub bytes: u64,
    /// The CRC-32, as 8 lower-case hex digits in JSON.
    #[serde(with = "hex32")]
    pub crc32: u32,
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:08x}"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_hex(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("'{text}' is not 8 hex digits")))
    }
}

fn parse_hex(text: &str) -> Option<u32> {
    let lower = text
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (text.len() == 8 && lower)
        .then(|| u32::from_str_radix(text, 16).ok())
        .flatten()
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes, crc32 {:08x}", self.bytes, self.crc32)
    }
}

/// The CRC state of `bytes`, pieces hashed in parallel and combined in order.
fn crc_of(bytes: &[u8]) -> Crc {
    bytes
        .par_chunks(BLOCK)
        .map(|c| {
            let mut h = Crc::new();
            h.update(c);
            h
        })
        .reduce(Crc::new, |mut a, b| {
            a.combine(&b);
            a
        })
}

/// The digest of `bytes`.
pub(crate) fn digest_bytes(bytes: &[u8]) -> Digest {
    Digest {
        bytes: bytes.len() as u64,
        crc32: crc_of(bytes).finalize(),
    }
}

/// The digest of a slice of plain numbers, as their little-endian bytes (how both backends
/// store them); [`digest_f32`] hashes large f32 arrays without a copy.
pub(crate) fn digest_values<T: LeBytes>(values: &[T]) -> Digest {
    digest_bytes(&T::le_bytes(values))
}

/// Numbers whose little-endian bytes are hashed.
pub(crate) trait LeBytes: Copy {
    /// The values' little-endian bytes, in order.
    fn le_bytes(values: &[Self]) -> Vec<u8>;
}

macro_rules! le_bytes {
    ($($t:ty),*) => {$(
        impl LeBytes for $t {
            fn le_bytes(values: &[Self]) -> Vec<u8> {
                values.iter().flat_map(|v| v.to_le_bytes()).collect()
            }
        }
    )*};
}
le_bytes!(u8, u32, u64, f32, f64);

/// The digest of f32 values as their little-endian bytes, without a copy.
#[cfg(target_endian = "little")]
pub fn digest_f32(values: &[f32]) -> Digest {
    digest_bytes(bytemuck::cast_slice(values))
}

/// The digest of f32 values as their little-endian bytes.
#[cfg(not(target_endian = "little"))]
pub fn digest_f32(values: &[f32]) -> Digest {
    digest_values(values)
}

/// The digest of the file at `path`, read in 1 MiB pieces in parallel.
pub(crate) fn digest_file(path: &Path) -> Result<Digest> {
    let file = crate::util::fsutil::open_regular(path)?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let pieces = len.div_ceil(BLOCK as u64) as usize;
    let crc = (0..pieces)
        .into_par_iter()
        .map_init(
            || vec![0u8; BLOCK],
            |buf, k| {
                let start = k as u64 * BLOCK as u64;
                let n = (len - start).min(BLOCK as u64) as usize;
                file.read_exact_at(&mut buf[..n], start)
                    .map_err(|e| Error::io(path, e))?;
                let mut h = Crc::new();
                h.update(&buf[..n]);
                Ok(h)
            },
        )
        .try_reduce(Crc::new, |mut a, b| {
            a.combine(&b);
            Ok(a)
        })?;
    Ok(Digest {
        bytes: len,
        crc32: crc.finalize(),
    })
}

/// Checks the file at `path` against `expected`: an error naming the file when it differs.
pub(crate) fn check_file(path: &Path, expected: &Digest) -> Result<()> {
    let found = digest_file(path)?;
    check(path, expected, &found)
}

/// An error naming `path` when `found` is not `expected`.
pub fn check(path: &Path, expected: &Digest, found: &Digest) -> Result<()> {
    if found == expected {
        return Ok(());
    }
    let what = if found.bytes != expected.bytes {
        format!(
            "is {} bytes long, its content hash says {}",
            found.bytes, expected.bytes
        )
    } else {
        format!(
            "does not match its content hash (crc32 {:08x}, recorded {:08x})",
            found.crc32, expected.crc32
        )
    };
    Err(Error::format(
        path,
        format!(
            "{what}: the data are damaged (a changed bit or a partial write); refusing to use them"
        ),
    ))
}

/// A writer that hashes every byte that passes through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    crc: Crc,
    bytes: u64,
}

impl<W> std::fmt::Debug for HashingWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingWriter")
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            crc: Crc::new(),
            bytes: 0,
        }
    }

    /// The inner writer and the digest of everything written.
    pub fn finish(self) -> (W, Digest) {
        let digest = Digest {
            bytes: self.bytes,
            crc32: self.crc.finalize(),
        };
        (self.inner, digest)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

const CHECKSUM_MEMBER: &[u8] = b",\n  \"checksum\": \"crc32:";

/// `value` as pretty JSON whose last member is its own checksum (see the module
/// documentation): `{ ..., "checksum": "crc32:0123abcd" }`.
pub fn to_checked_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let body = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Invalid(format!("cannot serialise JSON: {e}")))?;
    let Some(head) = body.strip_suffix(b"\n}") else {
        return Err(Error::Invalid(
            "a checked JSON document must be a non-empty object".into(),
        ));
    };
    let sum = digest_bytes(&body).crc32;
    let mut out = head.to_vec();
    out.extend_from_slice(CHECKSUM_MEMBER);
    out.extend_from_slice(format!("{sum:08x}\"\n}}").as_bytes());
    Ok(out)
}

/// `bytes` (a checked JSON document edited by hand, or a plain one) sealed again: any
/// checksum member it has is dropped and a new one computed over the rest. For tools and
/// tests that change a manifest on purpose; the pretty-printed layout must end in `\n}`.
pub fn reseal_json(bytes: &[u8]) -> Result<Vec<u8>> {
    let body = match find_last(bytes, CHECKSUM_MEMBER) {
        Some(at) => [&bytes[..at], b"\n}"].concat(),
        None => bytes.to_vec(),
    };
    let Some(head) = body.strip_suffix(b"\n}") else {
        return Err(Error::Invalid(
            "a checked JSON document must end with a newline and '}'".into(),
        ));
    };
    let sum = digest_bytes(&body).crc32;
    let mut out = head.to_vec();
    out.extend_from_slice(CHECKSUM_MEMBER);
    out.extend_from_slice(format!("{sum:08x}\"\n}}").as_bytes());
    Ok(out)
}

/// What [`check_json`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonChecksum {
    /// The document carries a checksum and it matches.
    Valid,
    /// The document carries no checksum (written before content hashes existed).
    Absent,
}

/// Checks the self-checksum of a JSON document read from `path`. A checksum that does not
/// match, or a `checksum` member that is not the last one in the written form, is damage.
pub fn check_json(path: &Path, bytes: &[u8]) -> Result<JsonChecksum> {
    let damaged = |what: &str| {
        Err(Error::format(
            path,
            format!("{what}: the file is damaged (a changed bit or a partial write); refusing to use it"),
        ))
    };
    let Some(at) = find_last(bytes, CHECKSUM_MEMBER) else {
        if find_last(bytes, b"\"checksum\"").is_some() {
            return damaged("its checksum member is malformed");
        }
        return Ok(JsonChecksum::Absent);
    };
    let rest = &bytes[at + CHECKSUM_MEMBER.len()..];
    let (Some(hex), Some(b"\"\n}")) = (rest.get(..8), rest.get(8..)) else {
        return damaged("its checksum member is malformed");
    };
    let Some(recorded) = std::str::from_utf8(hex).ok().and_then(parse_hex) else {
        return damaged("its checksum is not 8 lower-case hex digits");
    };
    let mut body = bytes[..at].to_vec();
    body.extend_from_slice(b"\n}");
    let found = digest_bytes(&body).crc32;
    if found != recorded {
        return damaged(&format!(
            "does not match its checksum (crc32 {found:08x}, recorded {recorded:08x})"
        ));
    }
    Ok(JsonChecksum::Valid)
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_the_crc32_of_the_bytes_however_they_are_cut() {
        // The CRC-32 check value of "123456789" (the standard's test vector).
        assert_eq!(digest_bytes(b"123456789").crc32, 0xcbf4_3926);
        let data: Vec<u8> = (0..(2 * BLOCK + 123))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let d = digest_bytes(&data);
        assert_eq!(d.crc32, crc32fast::hash(&data));
        assert_eq!(d.bytes, data.len() as u64);
        let mut w = HashingWriter::new(Vec::new());
        for piece in data.chunks(77_777) {
            w.write_all(piece).unwrap();
        }
        let (inner, streamed) = w.finish();
        assert_eq!(inner, data);
        assert_eq!(streamed, d);
        let floats: Vec<f32> = (0..300_000).map(|i| i as f32 * 0.5 - 7.0).collect();
        let bytes: Vec<u8> = floats.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(digest_f32(&floats), digest_bytes(&bytes));
        assert_eq!(digest_values(&floats), digest_bytes(&bytes));
        assert_eq!(digest_bytes(&[]).crc32, 0);
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), &data).unwrap();
        assert_eq!(digest_file(t.path()).unwrap(), d);
    }

    #[test]
    fn checked_json_round_trip_and_every_flip_is_found() {
        let value = serde_json::json!({"epoch": 3, "metrics": {"loss": 0.25}, "name": "Xn"});
        let text = to_checked_json(&value).unwrap();
        let p = Path::new("epoch.json");
        assert_eq!(check_json(p, &text).unwrap(), JsonChecksum::Valid);
        let back: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(back["epoch"], 3);
        assert!(back["checksum"].as_str().unwrap().starts_with("crc32:"));
        for i in 0..text.len() {
            for bit in 0..8 {
                let mut bad = text.clone();
                bad[i] ^= 1 << bit;
                let passed = matches!(check_json(p, &bad), Ok(JsonChecksum::Valid));
                assert!(!passed, "flip of bit {bit} at byte {i} passed");
            }
        }
        let plain = serde_json::to_vec_pretty(&value).unwrap();
        assert_eq!(check_json(p, &plain).unwrap(), JsonChecksum::Absent);
        assert_eq!(reseal_json(&plain).unwrap(), text);
        let edited = String::from_utf8(text.clone()).unwrap().replace("Xn", "Yn");
        assert!(check_json(p, edited.as_bytes()).is_err());
        let resealed = reseal_json(edited.as_bytes()).unwrap();
        assert_eq!(check_json(p, &resealed).unwrap(), JsonChecksum::Valid);
    }
}
