//! A Parquet `ChunkReader` over a file that hashes the bytes the decoder reads, in file order,
//! as they pass: checking a matrix against its content hash costs no second read of the file,
//! only the CRC of bytes that are in the cache already (about 1.8 ms for 32 MB here).
//!
//! (Hashing on a second thread was measured slower in this 2-core VM: handing the page
//! buffers over cost more in wake-ups and freed-elsewhere memory than the CRC itself.)
//!
//! Parquet's page reader asks for each page's header through `get_read(offset)` (a buffered
//! reader that reads ahead) and then for the page's data through `get_bytes(start, len)`, in
//! file order. [`HashedFile`] keeps what the header reader read, and when the page's data
//! follows the bytes hashed so far, hashes the header (`offset..start`) and the data. Reads
//! out of that order (the footer, read first) are not hashed; whatever is left at the end (the footer, or everything after a read that did
//! not fit) is read from the file by [`digest_while`], so the digest is always of the file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use parquet::errors::Result as ParquetResult;
use parquet::file::reader::{ChunkReader, Length};

use super::content::{Digest, HashingWriter};

/// The largest header prefix kept from a header reader (page headers are a few dozen bytes).
const KEEP: usize = 1 << 16;

struct State {
    /// The hash of the bytes `0..fed`; `None` once the decoder is done.
    hash: Option<HashingWriter<std::io::Sink>>,
    /// Bytes `0..fed` of the file were sent to the hasher.
    fed: u64,
    /// What the last header reader read from its start offset.
    header: Option<(u64, Vec<u8>)>,
}

/// A file whose reads by the Parquet decoder are hashed on the way (see the module docs).
/// Clones share the file and the hash.
#[derive(Clone)]
pub struct HashedFile {
    file: Arc<File>,
    len: u64,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for HashedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashedFile")
            .field("len", &self.len)
            .finish()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A decoder that panicked (caught by `untrusted::decode`) leaves the state usable.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `decode` on a [`HashedFile`] over `file` (of length `len`), hashing what it reads;
/// returns the decoder's result and the digest of the whole file.
pub fn digest_while<T>(
    file: File,
    len: u64,
    decode: impl FnOnce(HashedFile) -> T,
) -> (T, std::io::Result<Digest>) {
    let hashed = HashedFile {
        file: Arc::new(file),
        len,
        state: Arc::new(Mutex::new(State {
            hash: Some(HashingWriter::new(std::io::sink())),
            fed: 0,
            header: None,
        })),
    };
    let head = hashed.feed_head(4);
    let result = decode(hashed.clone());
    let (w, fed) = {
        let mut s = lock(&hashed.state);
        (s.hash.take(), s.fed)
    };
    let digest = match (head, w) {
        (Ok(()), Some(w)) => hashed.finish(w, fed),
        (Err(e), _) => Err(e),
        (_, None) => Err(std::io::Error::other("the hash was lost")),
    };
    (result, digest)
}

impl HashedFile {
    /// Hashes the rest of the file from `fed` on, after what `hasher` was given.
    fn finish(
        &self,
        mut hasher: HashingWriter<std::io::Sink>,
        fed: u64,
    ) -> std::io::Result<Digest> {
        let mut at = fed;
        let mut buf = vec![0u8; (self.len - at.min(self.len)).min(1 << 20) as usize];
        while at < self.len {
            let n = (self.len - at).min(buf.len() as u64) as usize;
            self.file.read_exact_at(&mut buf[..n], at)?;
            hasher.write_all(&buf[..n])?;
            at += n as u64;
        }
        Ok(hasher.finish().1)
    }

    fn send(s: &mut State, piece: Bytes) {
        if let Some(w) = &mut s.hash {
            if w.write_all(&piece).is_ok() {
                s.fed += piece.len() as u64;
            }
        }
    }

    fn feed(&self, start: u64, data: &Bytes) {
        let mut guard = lock(&self.state);
        let s = &mut *guard;
        if s.hash.is_none() {
            return;
        }
        if start != s.fed {
            // A page whose header we did not see from where the hash stands: the header's
            // bytes are what the last header reader kept.
            let Some((h_start, kept)) = s.header.take() else {
                return;
            };
            let gap = start.wrapping_sub(h_start) as usize;
            if h_start != s.fed || start < h_start || gap > kept.len() {
                return;
            }
            let mut kept = kept;
            kept.truncate(gap);
            Self::send(s, Bytes::from(kept));
        }
        Self::send(s, data.clone());
        s.header = None;
    }

    /// Sends the first bytes (the magic `PAR1`) now: no page read starts there.
    fn feed_head(&self, bytes: usize) -> std::io::Result<()> {
        let n = (bytes as u64).min(self.len) as usize;
        let mut head = vec![0u8; n];
        self.file.read_exact_at(&mut head, 0)?;
        self.feed(0, &Bytes::from(head));
        Ok(())
    }
}

impl Length for HashedFile {
    fn len(&self) -> u64 {
        self.len
    }
}

/// The reader `get_read` returns: the file from an offset, keeping the first [`KEEP`] bytes
/// it reads as the page header's candidates.
pub struct HeaderReader {
    file: File,
    start: u64,
    kept: Vec<u8>,
    state: Arc<Mutex<State>>,
}

impl Read for HeaderReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if self.kept.len() < KEEP {
            let take = n.min(KEEP - self.kept.len());
            self.kept.extend_from_slice(&buf[..take]);
            lock(&self.state).header = Some((self.start, self.kept.clone()));
        }
        Ok(n)
    }
}

impl ChunkReader for HashedFile {
    type T = std::io::BufReader<HeaderReader>;

    fn get_read(&self, start: u64) -> ParquetResult<Self::T> {
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(start))?;
        Ok(std::io::BufReader::new(HeaderReader {
            file,
            start,
            kept: Vec::new(),
            state: Arc::clone(&self.state),
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> ParquetResult<Bytes> {
        // As parquet's own reader for `File` does: no zero-filling of the buffer.
        let mut buffer = Vec::with_capacity(length);
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(start))?;
        let read = file.take(length as u64).read_to_end(&mut buffer)?;
        if read != length {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "Expected to read {length} bytes, read only {read}"
            )));
        }
        let bytes = Bytes::from(buffer);
        self.feed(start, &bytes);
        Ok(bytes)
    }
}
