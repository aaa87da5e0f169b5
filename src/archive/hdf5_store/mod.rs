//! The HDF5 backend: one file, `data.h5`, whose datasets are all allocated when the archive is created.
//!
//! ```text
//! /samples/sample_id    uint64 (N)
//! /samples/label        uint32 (N)
//! /labels/<name>        uint32 (N)      each further label set
//! /inputs               float32 (N, D)                       when inputs are stored
//! /epochs/epoch         uint32 (S)      planned epoch numbers, one slot each
//! /epochs/committed     uint8 (S)       1 once the slot's epoch is completely written
//! /epochs/content       uint32 (S, K)   CRC-32s of the arrays each slot wrote
//! /metrics/<name>       float64 (S)     NaN where not measured
//! /activations/epoch    uint32 (A)      planned epochs that record activations
//! /activations/layer-000  float32 (A, N, H)
//! /gradients/n_batches  uint32 (S, P)
//! /gradients/param-000/{mean,std,value}  float32 (S, size)
//! /gradients/param-000/batches           float32 (S, B, size)   with batch gradients
//! ```
//!
//! Crash safety: every dataset is contiguous with early allocation and no fill, created (and
//! the file closed) before the archive is published. Committing an epoch then writes raw data
//! only, into pre-allocated space: no HDF5 metadata (object headers, B-trees, heaps) is touched,
//! so a writer killed at any moment cannot corrupt the file's structure. The commit record
//! `/epochs/committed` is written last, after a flush and fsync of the epoch's data.
//!
//! Neither writers nor readers use HDF5's file locking: the writer's exclusive output lock
//! (`fsutil::OutputLock`) keeps writers apart, and the commit record, not a lock, is what makes
//! reading beside a writer safe. Readers refuse soft and external links, virtual datasets and
//! external raw storage (an archive reads only its own file), and check every dataset's stored
//! type (HDF5 would otherwise convert silently: -1 to 0, 1.7 to 1).
//!
//! Content hashes ([`super::content`]): the static datasets' digests are in the manifest
//! (`content`), and each commit writes the CRC-32 of every array slot it filled into its
//! row of `/epochs/content` before the commit byte. The columns, in order: one per layer (0 in
//! epochs without activations), the slot's five metrics as f64s, and with parameters the
//! slot's row of `/gradients/n_batches`, then per parameter `mean`, `std`, `value` and (with
//! batch gradients) the whole `batches` slot, NaN rows included. Readers check every array
//! they read against it; archives without `content` in their manifest carry no hashes.

use std::path::{Path, PathBuf};

use hdf5::plist::dataset_create::{AllocTime, FillTime};
use hdf5::{Dataset, File, Group, H5Type};
use ndarray::{s, Array2};

use std::collections::BTreeMap;

use super::content::{self, Digest};
use super::{AnalysisSet, EpochMetrics, EpochRecord, Hdf5Metadata, Manifest};

mod reader;
use crate::error::{Error, Result};
pub(super) use reader::Reader;

pub(super) const DATA_FILE: &str = "data.h5";

fn h5err(path: &Path, what: &str, e: hdf5::Error) -> Error {
    // HDF5 error stacks can span lines; the CLI prints one line per error.
    let detail = e.to_string().replace('\n', "; ");
    Error::format(path, format!("{what}: {detail}"))
}

fn layer_name(i: usize) -> String {
    format!("layer-{i:03}")
}

fn param_name(i: usize) -> String {
    format!("param-{i:03}")
}

/// Columns of `/epochs/content` (see the module documentation).
mod column {
    use super::Manifest;

    /// Arrays per parameter: mean, std, value, and batches when stored.
    fn per_param(m: &Manifest) -> usize {
        3 + usize::from(m.batch_gradients.is_some())
    }

    pub(super) fn count(m: &Manifest) -> usize {
        let params = if m.parameters.is_empty() {
            0
        } else {
            1 + m.parameters.len() * per_param(m)
        };
        m.layers.len() + 1 + params
    }

    pub(super) fn layer(i: usize) -> usize {
        i
    }

    pub(super) fn metrics(m: &Manifest) -> usize {
        m.layers.len()
    }

    pub(super) fn n_batches(m: &Manifest) -> usize {
        m.layers.len() + 1
    }

    /// `k`: 0 mean, 1 std, 2 value, 3 batches.
    pub(super) fn param(m: &Manifest, i: usize, k: usize) -> usize {
        m.layers.len() + 2 + i * per_param(m) + k
    }
}

/// The bytes of one slot's metrics, as hashed: five f64s, NaN where not measured.
fn metrics_values(metrics: &EpochMetrics) -> [f64; 5] {
    metrics.to_array().map(|v| v.unwrap_or(f64::NAN))
}

fn new_dataset<T: H5Type>(path: &Path, g: &Group, name: &str, shape: &[usize]) -> Result<Dataset> {
    g.new_dataset::<T>()
        .shape(shape.to_vec())
        .no_chunk()
        .alloc_time(Some(AllocTime::Early))
        .fill_time(FillTime::Never)
        .create(name)
        .map_err(|e| h5err(path, &format!("cannot create dataset '{name}'"), e))
}

fn write_attr_str(path: &Path, ds: &Dataset, name: &str, value: &str) -> Result<()> {
    let v: hdf5::types::VarLenUnicode = value.parse().map_err(|_| {
        Error::format(
            path,
            format!(
                "name '{}' cannot be stored in HDF5",
                crate::util::text::escape_controls(value)
            ),
        )
    })?;
    ds.new_attr::<hdf5::types::VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(|e| h5err(path, "cannot write attribute", e))
}

/// The content hashes of the datasets written at creation (their little-endian values).
fn static_digests(set: &AnalysisSet) -> BTreeMap<String, Digest> {
    let mut digests = BTreeMap::new();
    digests.insert(
        "/samples/sample_id".to_string(),
        content::digest_values(&set.sample_ids),
    );
    digests.insert(
        "/samples/label".to_string(),
        content::digest_values(&set.labels),
    );
    for l in &set.label_sets {
        digests.insert(
            format!("/labels/{}", l.name),
            content::digest_values(&l.labels),
        );
    }
    if let Some(x) = &set.inputs {
        let x = x.as_standard_layout();
        let values = x.as_slice().unwrap_or_default();
        digests.insert("/inputs".to_string(), content::digest_f32(values));
    }
    digests
}

/// Creates `dir/data.h5` with every dataset allocated, writes the analysis set, and closes it;
/// the content hashes of the static datasets, by dataset path.
pub(super) fn create(
    dir: &Path,
    m: &Manifest,
    set: &AnalysisSet,
) -> Result<BTreeMap<String, Digest>> {
    let path = dir.join(DATA_FILE);
    let p = path.as_path();
    let file = File::with_options()
        .with_fapl(|f| f.file_locking(false))
        .create(p)
        .map_err(|e| h5err(p, "cannot create HDF5 file", e))?;
    let grp = |name: &str| {
        file.create_group(name)
            .map_err(|e| h5err(p, &format!("cannot create group '{name}'"), e))
    };
    let n = m.analysis_set.n;
    let s_slots = m.epochs.len();
    let act_epochs: Vec<u32> = m
        .epochs
        .iter()
        .filter(|e| e.activations)
        .map(|e| e.epoch)
        .collect();

    let digests = static_digests(set);
    let samples = grp("samples")?;
    new_dataset::<u64>(p, &samples, "sample_id", &[n])?
        .write(&set.sample_ids)
        .map_err(|e| h5err(p, "cannot write sample ids", e))?;
    new_dataset::<u32>(p, &samples, "label", &[n])?
        .write(&set.labels)
        .map_err(|e| h5err(p, "cannot write labels", e))?;
    if !set.label_sets.is_empty() {
        let labels = grp("labels")?;
        for l in &set.label_sets {
            new_dataset::<u32>(p, &labels, &l.name, &[n])?
                .write(&l.labels)
                .map_err(|e| h5err(p, &format!("cannot write label set '{}'", l.name), e))?;
        }
    }
    if let Some(x) = &set.inputs {
        let root = file.as_group().map_err(|e| h5err(p, "no root group", e))?;
        new_dataset::<f32>(p, &root, "inputs", &[x.nrows(), x.ncols()])?
            .write(&x.as_standard_layout())
            .map_err(|e| h5err(p, "cannot write inputs", e))?;
    }

    let epochs = grp("epochs")?;
    let planned: Vec<u32> = m.epochs.iter().map(|e| e.epoch).collect();
    new_dataset::<u32>(p, &epochs, "epoch", &[s_slots])?
        .write(&planned)
        .map_err(|e| h5err(p, "cannot write epoch plan", e))?;
    new_dataset::<u8>(p, &epochs, "committed", &[s_slots])?
        .write(&vec![0u8; s_slots])
        .map_err(|e| h5err(p, "cannot write commit record", e))?;
    new_dataset::<u32>(p, &epochs, "content", &[s_slots, column::count(m)])?;

    let metrics = grp("metrics")?;
    for name in EpochMetrics::NAMES {
        new_dataset::<f64>(p, &metrics, name, &[s_slots])?;
    }

    let acts = grp("activations")?;
    new_dataset::<u32>(p, &acts, "epoch", &[act_epochs.len()])?
        .write(&act_epochs)
        .map_err(|e| h5err(p, "cannot write activation epochs", e))?;
    for (i, l) in m.layers.iter().enumerate() {
        let ds = new_dataset::<f32>(p, &acts, &layer_name(i), &[act_epochs.len(), n, l.width])?;
        write_attr_str(p, &ds, "name", &l.name)?;
    }

    if !m.parameters.is_empty() {
        create_gradients(p, &grp("gradients")?, m)?;
    }
    file.flush().map_err(|e| h5err(p, "cannot flush", e))?;
    file.close().map_err(|e| h5err(p, "cannot close", e))?;
    crate::util::fsutil::sync_file(p)?;
    Ok(digests)
}

/// The gradient datasets of every parameter (`/gradients/...`).
fn create_gradients(p: &Path, grads: &Group, m: &Manifest) -> Result<()> {
    let s_slots = m.epochs.len();
    new_dataset::<u32>(p, grads, "n_batches", &[s_slots, m.parameters.len()])?;
    for (i, par) in m.parameters.iter().enumerate() {
        let g = grads
            .create_group(&param_name(i))
            .map_err(|e| h5err(p, "cannot create parameter group", e))?;
        for what in ["mean", "std", "value"] {
            let ds = new_dataset::<f32>(p, &g, what, &[s_slots, par.size()])?;
            write_attr_str(p, &ds, "name", &par.name)?;
        }
        if let Some(b) = m.batch_gradients {
            new_dataset::<f32>(p, &g, "batches", &[s_slots, b as usize, par.size()])?;
        }
    }
    Ok(())
}

pub(super) struct Writer {
    path: PathBuf,
    file: File,
}

impl Writer {
    pub(super) fn open(dir: &Path, _m: &Manifest) -> Result<Self> {
        let path = dir.join(DATA_FILE);
        let file = File::with_options()
            .with_fapl(|f| f.file_locking(false))
            .open_rw(&path)
            .map_err(|e| h5err(&path, "cannot open HDF5 file", e))?;
        Ok(Writer { path, file })
    }

    fn ds(&self, name: &str) -> Result<Dataset> {
        self.file
            .dataset(name)
            .map_err(|e| h5err(&self.path, &format!("dataset '{name}' missing"), e))
    }

    /// Writes `r` into `slot` (and `activation_slot`), then the slot's content hashes, then
    /// the commit byte, with a flush and fsync before the byte and after it.
    pub(super) fn commit(
        &mut self,
        m: &Manifest,
        slot: usize,
        activation_slot: usize,
        r: &EpochRecord,
    ) -> Result<()> {
        let mut hashes = vec![0u32; column::count(m)];
        for (i, a) in r.activations.iter().enumerate() {
            let a = a.as_standard_layout();
            self.ds(&format!("activations/{}", layer_name(i)))?
                .write_slice(&a, s![activation_slot, .., ..])
                .map_err(|e| self.failed("activations", e))?;
            hashes[column::layer(i)] = content::digest_f32(a.as_slice().unwrap_or_default()).crc32;
        }
        let metrics = metrics_values(&r.metrics);
        for (name, v) in EpochMetrics::NAMES.iter().zip(metrics) {
            self.ds(&format!("metrics/{name}"))?
                .write_slice(&[v], s![slot..slot + 1])
                .map_err(|e| self.failed("metrics", e))?;
        }
        hashes[column::metrics(m)] = content::digest_values(&metrics).crc32;
        if !m.parameters.is_empty() {
            self.write_gradients(m, slot, r, &mut hashes)?;
        }
        let row = Array2::from_shape_vec((1, hashes.len()), hashes)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        self.ds("epochs/content")?
            .write_slice(&row, s![slot..slot + 1, ..])
            .map_err(|e| self.failed("content hashes", e))?;
        // Everything of the epoch reaches the OS (and the disk) before the commit byte.
        self.file.flush().map_err(|e| self.failed("(flush)", e))?;
        crate::util::fsutil::sync_file(&self.path)?;
        self.ds("epochs/committed")?
            .write_slice(&[1u8], s![slot..slot + 1])
            .map_err(|e| self.failed("commit record", e))?;
        self.file.flush().map_err(|e| self.failed("(flush)", e))?;
        crate::util::fsutil::sync_file(&self.path)
    }

    fn failed(&self, what: &str, e: hdf5::Error) -> Error {
        h5err(&self.path, &format!("cannot write {what}"), e)
    }

    /// The slot's gradient statistics (and batch gradients), their hashes into `hashes`.
    fn write_gradients(
        &self,
        m: &Manifest,
        slot: usize,
        r: &EpochRecord,
        hashes: &mut [u32],
    ) -> Result<()> {
        let nb: Vec<u32> = r.gradients.iter().map(|g| g.n_batches).collect();
        hashes[column::n_batches(m)] = content::digest_values(&nb).crc32;
        self.ds("gradients/n_batches")?
            .write_slice(
                &Array2::from_shape_vec((1, nb.len()), nb)
                    .map_err(|e| Error::Invalid(e.to_string()))?,
                s![slot..slot + 1, ..],
            )
            .map_err(|e| self.failed("gradient batch counts", e))?;
        for (i, g) in r.gradients.iter().enumerate() {
            for (k, (what, v)) in [("mean", &g.mean), ("std", &g.std), ("value", &g.value)]
                .into_iter()
                .enumerate()
            {
                self.ds(&format!("gradients/{}/{what}", param_name(i)))?
                    .write_slice(v.as_slice(), s![slot, ..])
                    .map_err(|e| self.failed("gradient statistics", e))?;
                hashes[column::param(m, i, k)] = content::digest_f32(v).crc32;
            }
        }
        let Some(max) = m.batch_gradients else {
            return Ok(());
        };
        for (i, b) in r.batch_gradients.iter().enumerate() {
            let ds = self.ds(&format!("gradients/{}/batches", param_name(i)))?;
            // Rows beyond the epoch's batch count are NaN.
            let mut full = Array2::from_elem((max as usize, b.ncols()), f32::NAN);
            full.slice_mut(s![..b.nrows(), ..]).assign(b);
            ds.write_slice(&full, s![slot, .., ..])
                .map_err(|e| self.failed("batch gradients", e))?;
            hashes[column::param(m, i, 3)] =
                content::digest_f32(full.as_slice().unwrap_or_default()).crc32;
        }
        Ok(())
    }

    pub(super) fn close(self) -> Result<()> {
        let p = self.path.clone();
        self.file.close().map_err(|e| h5err(&p, "cannot close", e))
    }
}

/// Computes the checksum of `dir/data.h5`'s metadata ([`Hdf5Metadata`]), right after
/// [`create`] closed it: the raw-data ranges of every dataset (contiguous, allocated early)
/// are skipped, every other byte goes into the CRC.
pub(super) fn metadata_checksum(dir: &Path) -> Result<Hdf5Metadata> {
    let path = dir.join(DATA_FILE);
    let p = path.as_path();
    let file = File::with_options()
        .with_fapl(|f| f.file_locking(false))
        .open(p)
        .map_err(|e| h5err(p, "cannot reopen the new HDF5 file", e))?;
    let mut data = Vec::new();
    let mut stack = vec![file.as_group().map_err(|e| h5err(p, "no root group", e))?];
    while let Some(g) = stack.pop() {
        for name in g
            .member_names()
            .map_err(|e| h5err(p, "cannot list groups", e))?
        {
            if let Ok(ds) = g.dataset(&name) {
                let size = ds
                    .dtype()
                    .map_err(|e| h5err(p, "unreadable type", e))?
                    .size();
                let len = (ds.size() * size) as u64;
                if let (Some(off), true) = (ds.offset(), len > 0) {
                    data.push([off, len]);
                }
            } else if let Ok(child) = g.group(&name) {
                stack.push(child);
            }
        }
    }
    drop(file);
    // The superblock (version 0 or 1, as HDF5 writes by default) keeps its file-consistency
    // flags at bytes 20..24; HDF5 sets them while a writer has the file open.
    let mut head = [0u8; 9];
    std::io::Read::read_exact(&mut crate::util::fsutil::open_regular(p)?, &mut head)
        .map_err(|e| Error::io(p, e))?;
    if &head[..8] != b"\x89HDF\r\n\x1a\n" || head[8] > 1 {
        return Err(Error::format(
            p,
            "unexpected HDF5 superblock (expected version 0 or 1)",
        ));
    }
    data.push([20, 4]);
    data.sort_unstable();
    let file_len = std::fs::metadata(p).map_err(|e| Error::io(p, e))?.len();
    let crc32 = crc_outside(p, file_len, &data)?;
    Ok(Hdf5Metadata {
        file_len,
        skipped: data,
        crc32,
    })
}

/// CRC-32 of the bytes of `path` (of length `len`) outside the sorted ranges `skip`.
fn crc_outside(path: &Path, len: u64, skip: &[[u64; 2]]) -> Result<u32> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = crate::util::fsutil::open_regular(path)?;
    let mut crc = crc32fast::Hasher::new();
    let mut pos = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    let ends = skip.iter().map(|r| (r[0], r[0].saturating_add(r[1])));
    for (start, end) in ends.chain(std::iter::once((len, len))) {
        if start < pos || end > len {
            return Err(Error::format(
                path,
                "the manifest's data ranges do not fit the file",
            ));
        }
        f.seek(SeekFrom::Start(pos))
            .map_err(|e| Error::io(path, e))?;
        let mut left = start - pos;
        while left > 0 {
            let k = left.min(buf.len() as u64) as usize;
            f.read_exact(&mut buf[..k])
                .map_err(|e| Error::io(path, e))?;
            crc.update(&buf[..k]);
            left -= k as u64;
        }
        pos = end;
    }
    Ok(crc.finalize())
}

/// Checks `data.h5` against the manifest's metadata checksum, if it has one.
fn check_metadata(path: &Path, m: &Manifest, file_len: u64) -> Result<()> {
    let Some(h) = &m.hdf5_metadata else {
        return Ok(());
    };
    let damaged = |what: &str| {
        Err(Error::format(
            path,
            format!("{what}; the file is damaged (refusing to hand it to the HDF5 library)"),
        ))
    };
    if file_len != h.file_len {
        return damaged(&format!(
            "is {file_len} bytes long, the manifest says {}",
            h.file_len
        ));
    }
    if crc_outside(path, file_len, &h.skipped)? != h.crc32 {
        return damaged("its HDF5 metadata does not match the checksum in the manifest");
    }
    // The consistency flags (outside the checksum: HDF5 sets them while a writer has the file
    // open) are zero again once the writer closed a finished archive.
    if m.complete && m.content.is_some() {
        let mut head = [0u8; 24];
        std::io::Read::read_exact(&mut crate::util::fsutil::open_regular(path)?, &mut head)
            .map_err(|e| Error::io(path, e))?;
        if head[20..24] != [0; 4] {
            return damaged("its superblock's consistency flags are set in a finished archive");
        }
    }
    Ok(())
}
