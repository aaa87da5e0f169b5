//! The HDF5 backend: one file, `data.h5`, whose datasets are all allocated when the archive is created.
//!
//! ```text
//! /samples/sample_id    uint64 (N)
//! /samples/label        uint32 (N)
//! /inputs               float32 (N, D)                       when inputs are stored
//! /epochs/epoch         uint32 (S)      planned epoch numbers, one slot each
//! /epochs/committed     uint8 (S)       1 once the slot's epoch is completely written
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

use std::path::{Path, PathBuf};

use hdf5::plist::dataset_create::Layout;
use hdf5::plist::dataset_create::{AllocTime, FillTime};
use hdf5::{Dataset, File, Group, H5Type, LinkType};
use ndarray::{s, Array1, Array2};

use super::{AnalysisSet, EpochMetrics, EpochRecord, GradientStats, Hdf5Metadata, Manifest};
use crate::error::{Error, Result};

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
                crate::text::escape_controls(value)
            ),
        )
    })?;
    ds.new_attr::<hdf5::types::VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(|e| h5err(path, "cannot write attribute", e))
}

/// Creates `dir/data.h5` with every dataset allocated, writes the analysis set, and closes it.
pub(super) fn create(dir: &Path, m: &Manifest, set: &AnalysisSet) -> Result<()> {
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

    let samples = grp("samples")?;
    new_dataset::<u64>(p, &samples, "sample_id", &[n])?
        .write(&set.sample_ids)
        .map_err(|e| h5err(p, "cannot write sample ids", e))?;
    new_dataset::<u32>(p, &samples, "label", &[n])?
        .write(&set.labels)
        .map_err(|e| h5err(p, "cannot write labels", e))?;
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
        let grads = grp("gradients")?;
        new_dataset::<u32>(p, &grads, "n_batches", &[s_slots, m.parameters.len()])?;
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
    }
    file.flush().map_err(|e| h5err(p, "cannot flush", e))?;
    file.close().map_err(|e| h5err(p, "cannot close", e))?;
    super::fsutil::sync_file(p)
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

    pub(super) fn commit(
        &mut self,
        m: &Manifest,
        slot: usize,
        activation_slot: usize,
        r: &EpochRecord,
    ) -> Result<()> {
        let p = self.path.clone();
        let w = |what: &str, e: hdf5::Error| h5err(&p, &format!("cannot write {what}"), e);
        for (i, a) in r.activations.iter().enumerate() {
            self.ds(&format!("activations/{}", layer_name(i)))?
                .write_slice(&a.as_standard_layout(), s![activation_slot, .., ..])
                .map_err(|e| w("activations", e))?;
        }
        for (name, v) in EpochMetrics::NAMES.iter().zip(r.metrics.to_array()) {
            self.ds(&format!("metrics/{name}"))?
                .write_slice(&[v.unwrap_or(f64::NAN)], s![slot..slot + 1])
                .map_err(|e| w("metrics", e))?;
        }
        if !m.parameters.is_empty() {
            let nb: Vec<u32> = r.gradients.iter().map(|g| g.n_batches).collect();
            self.ds("gradients/n_batches")?
                .write_slice(
                    &Array2::from_shape_vec((1, nb.len()), nb)
                        .map_err(|e| Error::Invalid(e.to_string()))?,
                    s![slot..slot + 1, ..],
                )
                .map_err(|e| w("gradient batch counts", e))?;
            for (i, g) in r.gradients.iter().enumerate() {
                for (what, v) in [("mean", &g.mean), ("std", &g.std), ("value", &g.value)] {
                    self.ds(&format!("gradients/{}/{what}", param_name(i)))?
                        .write_slice(v.as_slice(), s![slot, ..])
                        .map_err(|e| w("gradient statistics", e))?;
                }
            }
            if let Some(max) = m.batch_gradients {
                for (i, b) in r.batch_gradients.iter().enumerate() {
                    let ds = self.ds(&format!("gradients/{}/batches", param_name(i)))?;
                    // Rows beyond the epoch's batch count are NaN.
                    let mut full = Array2::from_elem((max as usize, b.ncols()), f32::NAN);
                    full.slice_mut(s![..b.nrows(), ..]).assign(b);
                    ds.write_slice(&full, s![slot, .., ..])
                        .map_err(|e| w("batch gradients", e))?;
                }
            }
        }
        // Everything of the epoch reaches the OS (and the disk) before the commit byte.
        self.file.flush().map_err(|e| w("(flush)", e))?;
        super::fsutil::sync_file(&self.path)?;
        self.ds("epochs/committed")?
            .write_slice(&[1u8], s![slot..slot + 1])
            .map_err(|e| w("commit record", e))?;
        self.file.flush().map_err(|e| w("(flush)", e))?;
        super::fsutil::sync_file(&self.path)
    }

    pub(super) fn close(self) -> Result<()> {
        let p = self.path.clone();
        self.file.close().map_err(|e| h5err(&p, "cannot close", e))
    }
}

pub(super) struct Reader {
    path: PathBuf,
    file: File,
    committed: usize,
    /// Length of `data.h5` in bytes: no dataset may claim more.
    file_len: u64,
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
    std::io::Read::read_exact(&mut super::fsutil::open_regular(p)?, &mut head)
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
    let mut f = super::fsutil::open_regular(path)?;
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
    Ok(())
}

/// Deepest group nesting of an archive file (`/gradients/param-000/mean` is 3).
const MAX_DEPTH: usize = 3;

impl Reader {
    pub(super) fn open(dir: &Path, m: &Manifest) -> Result<Self> {
        let path = dir.join(DATA_FILE);
        let file_len = super::fsutil::open_regular(&path)
            .and_then(|f| f.metadata().map_err(|e| Error::io(&path, e)))
            .map_err(|e| match e {
                Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                    Error::format(&path, "missing from the archive")
                }
                other => other,
            })?
            .len();
        check_metadata(&path, m, file_len)?;
        let file = File::with_options()
            .with_fapl(|p| p.file_locking(false))
            .open(&path)
            .map_err(|e| h5err(&path, "corrupt or truncated HDF5 file", e))?;
        let mut r = Reader {
            path,
            file,
            committed: 0,
            file_len,
        };
        r.check_links()?;
        r.committed = r.check_plan(m)?;
        Ok(r)
    }

    /// Refuses soft and external links anywhere in the file (and nesting deeper than an
    /// archive's), so that reading never leaves `data.h5`.
    fn check_links(&self) -> Result<()> {
        let root = self
            .file
            .as_group()
            .map_err(|e| h5err(&self.path, "no root group", e))?;
        let mut stack = vec![(root, String::new(), 0usize)];
        while let Some((group, prefix, depth)) = stack.pop() {
            let mut links = Vec::new();
            group
                .iter_visit_default(|name, info| {
                    links.push((name.to_string(), info.link_type));
                    Ok(())
                })
                .map_err(|e| h5err(&self.path, "cannot list the file's objects", e))?;
            for (name, kind) in links {
                let full = format!("{prefix}/{name}");
                if kind != LinkType::Hard {
                    return Err(Error::format(
                        &self.path,
                        format!(
                            "'{}' is {} link; archives hold their data in this file, refusing to follow it",
                            crate::text::escape_controls(&full),
                            if kind == LinkType::Soft { "a soft" } else { "an external" }
                        ),
                    ));
                }
                if let Ok(child) = group.group(&name) {
                    if depth + 1 > MAX_DEPTH {
                        return Err(Error::format(
                            &self.path,
                            format!(
                                "groups nest deeper than an archive's at '{}'",
                                crate::text::escape_controls(&full)
                            ),
                        ));
                    }
                    stack.push((child, full, depth + 1));
                }
            }
        }
        Ok(())
    }

    /// Checks the epoch records against the manifest's plan; returns the committed count.
    fn check_plan(&self, m: &Manifest) -> Result<usize> {
        let planned: Vec<u32> = self.read_1d("epochs/epoch")?;
        if planned.len() != m.epochs.len()
            || planned.iter().zip(&m.epochs).any(|(a, b)| *a != b.epoch)
        {
            return Err(Error::format(
                &self.path,
                "/epochs/epoch does not match the manifest's epoch plan",
            ));
        }
        let committed: Vec<u8> = self.read_1d("epochs/committed")?;
        if committed.len() != m.epochs.len() {
            return Err(Error::format(
                &self.path,
                format!(
                    "/epochs/committed has {} slots for {} planned epochs",
                    committed.len(),
                    m.epochs.len()
                ),
            ));
        }
        let count = committed.iter().take_while(|c| **c == 1).count();
        if committed[count..].iter().any(|c| *c != 0) {
            return Err(Error::format(
                &self.path,
                "/epochs/committed is not a prefix of ones followed by zeros",
            ));
        }
        let with_acts: Vec<u32> = m
            .epochs
            .iter()
            .filter(|e| e.activations)
            .map(|e| e.epoch)
            .collect();
        if self.read_1d::<u32>("activations/epoch")? != with_acts {
            return Err(Error::format(
                &self.path,
                "/activations/epoch does not match the epochs the manifest plans activations for",
            ));
        }
        Ok(count)
    }

    pub(super) fn committed(&self) -> usize {
        self.committed
    }

    /// The dataset `name`, if it stores `T` exactly, in this file's own storage.
    fn ds<T: H5Type>(&self, name: &str) -> Result<Dataset> {
        let ds = self.file.dataset(name).map_err(|e| {
            h5err(
                &self.path,
                &format!("dataset '/{name}' missing or unreadable"),
                e,
            )
        })?;
        let bad = |m: String| Error::format(&self.path, format!("dataset '/{name}' {m}"));
        let stored = ds.dtype().and_then(|t| t.to_descriptor()).map_err(|e| {
            h5err(
                &self.path,
                &format!("dataset '/{name}' has an unreadable type"),
                e,
            )
        })?;
        if stored != T::type_descriptor() {
            return Err(bad(format!(
                "stores {stored}, expected {}",
                T::type_descriptor()
            )));
        }
        let dcpl = ds
            .dcpl()
            .map_err(|e| h5err(&self.path, &format!("dataset '/{name}' is unreadable"), e))?;
        if dcpl.layout() == Layout::Virtual || !dcpl.external().is_empty() {
            return Err(bad(
                "draws its data from other files (virtual or external storage); refusing to read it"
                    .into(),
            ));
        }
        // Never allocate more than the file can hold: contiguous data lies inside the file;
        // chunked data may be compressed, at most 1032:1 (DEFLATE's limit).
        let ratio = if dcpl.layout() == Layout::Contiguous {
            1
        } else {
            1032
        };
        let bytes = super::manifest::checked_product(&ds.shape())
            .and_then(|n| n.checked_mul(size_of::<T>()));
        if bytes.is_none_or(|b| b as u128 > self.file_len as u128 * ratio) {
            return Err(bad(format!(
                "has shape {:?}, more data than the file holds",
                ds.shape()
            )));
        }
        Ok(ds)
    }

    fn read_1d<T: H5Type>(&self, name: &str) -> Result<Vec<T>> {
        let ds = self.ds::<T>(name)?;
        if ds.ndim() != 1 {
            return Err(Error::format(
                &self.path,
                format!(
                    "dataset '/{name}' has shape {:?}, expected one dimension",
                    ds.shape()
                ),
            ));
        }
        ds.read_raw::<T>()
            .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))
    }

    fn check_shape(&self, ds: &Dataset, name: &str, expected: &[usize]) -> Result<()> {
        let shape = ds.shape();
        if shape != expected {
            return Err(Error::format(
                &self.path,
                format!("dataset '/{name}' has shape {shape:?}, expected {expected:?}"),
            ));
        }
        Ok(())
    }

    pub(super) fn activations(
        &self,
        layer: usize,
        activation_slot: usize,
        shape: (usize, usize),
    ) -> Result<Array2<f32>> {
        let name = format!("activations/{}", layer_name(layer));
        let ds = self.ds::<f32>(&name)?;
        let dims = ds.shape();
        if dims.len() != 3 || dims[1] != shape.0 || dims[2] != shape.1 || activation_slot >= dims[0]
        {
            return Err(Error::format(
                &self.path,
                format!("dataset '/{name}' has shape {dims:?}, which does not fit the manifest"),
            ));
        }
        ds.read_slice::<f32, _, ndarray::Ix2>(s![activation_slot, .., ..])
            .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))
    }

    pub(super) fn labels(&self, m: &Manifest) -> Result<Vec<u32>> {
        let v: Vec<u32> = self.read_1d("samples/label")?;
        self.check_len(&v, m.analysis_set.n, "samples/label")?;
        super::check_labels(&self.path, &v, m.analysis_set.classes.len())?;
        Ok(v)
    }

    pub(super) fn sample_ids(&self, m: &Manifest) -> Result<Vec<u64>> {
        let v: Vec<u64> = self.read_1d("samples/sample_id")?;
        self.check_len(&v, m.analysis_set.n, "samples/sample_id")?;
        Ok(v)
    }

    fn check_len<T>(&self, v: &[T], n: usize, name: &str) -> Result<()> {
        if v.len() != n {
            return Err(Error::format(
                &self.path,
                format!(
                    "'/{name}' holds {} values but the manifest says N = {n}",
                    v.len()
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn inputs(&self, shape: (usize, usize)) -> Result<Array2<f32>> {
        let ds = self.ds::<f32>("inputs")?;
        self.check_shape(&ds, "inputs", &[shape.0, shape.1])?;
        ds.read_2d::<f32>()
            .map_err(|e| h5err(&self.path, "cannot read '/inputs'", e))
    }

    pub(super) fn metrics(&self, committed: usize) -> Result<Vec<EpochMetrics>> {
        let cols = EpochMetrics::NAMES
            .iter()
            .map(|name| self.read_1d::<f64>(&format!("metrics/{name}")))
            .collect::<Result<Vec<_>>>()?;
        (0..committed)
            .map(|slot| {
                let mut a = [None; 5];
                for (k, col) in cols.iter().enumerate() {
                    let v = *col.get(slot).ok_or_else(|| {
                        Error::format(&self.path, "metrics datasets are shorter than the plan")
                    })?;
                    a[k] = if v.is_nan() { None } else { Some(v) };
                }
                Ok(EpochMetrics::from_array(a))
            })
            .collect()
    }

    /// `/gradients/n_batches` of one slot: the batch count of every parameter.
    fn n_batches(&self, m: &Manifest, slot: usize) -> Result<Array1<u32>> {
        let name = "gradients/n_batches";
        let ds = self.ds::<u32>(name)?;
        self.check_shape(&ds, name, &[m.epochs.len(), m.parameters.len()])?;
        ds.read_slice(s![slot, ..])
            .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))
    }

    pub(super) fn gradients(&self, m: &Manifest, slot: usize) -> Result<Vec<GradientStats>> {
        if m.parameters.is_empty() {
            return Ok(Vec::new());
        }
        let nb = self.n_batches(m, slot)?;
        m.parameters
            .iter()
            .enumerate()
            .map(|(i, par)| {
                let read = |what: &str| -> Result<Vec<f32>> {
                    let name = format!("gradients/{}/{what}", param_name(i));
                    let ds = self.ds::<f32>(&name)?;
                    self.check_shape(&ds, &name, &[m.epochs.len(), par.size()])?;
                    let row: Array1<f32> = ds
                        .read_slice(s![slot, ..])
                        .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))?;
                    Ok(row.to_vec())
                };
                Ok(GradientStats {
                    n_batches: nb[i],
                    mean: read("mean")?,
                    std: read("std")?,
                    value: read("value")?,
                })
            })
            .collect()
    }

    pub(super) fn batch_gradients(
        &self,
        m: &Manifest,
        slot: usize,
        index: usize,
    ) -> Result<Array2<f32>> {
        let nb = self.n_batches(m, slot)?[index] as usize;
        let name = format!("gradients/{}/batches", param_name(index));
        let ds = self.ds::<f32>(&name)?;
        let max = m.batch_gradients.unwrap_or(0) as usize;
        self.check_shape(
            &ds,
            &name,
            &[m.epochs.len(), max, m.parameters[index].size()],
        )?;
        if nb > max {
            return Err(Error::format(
                &self.path,
                format!("'/gradients/n_batches' says {nb} batches, more than the {max} stored"),
            ));
        }
        ds.read_slice(s![slot, ..nb, ..])
            .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))
    }
}
