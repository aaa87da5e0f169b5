//! Reading `data.h5`: the file's structure checked (links, types, storage, the commit record
//! against the plan) and every array checked against its content hash before it is returned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdf5::plist::dataset_create::Layout;
use hdf5::{Dataset, File, H5Type, LinkType};
use ndarray::{s, Array1, Array2};

use super::content::{self, Digest};
use super::{check_metadata, column, h5err, layer_name, param_name, DATA_FILE};
use crate::archive::{EpochMetrics, GradientStats, Manifest};
use crate::error::{Error, Result};

pub(in crate::archive) struct Reader {
    path: PathBuf,
    file: File,
    committed: usize,
    /// Length of `data.h5` in bytes: no dataset may claim more.
    file_len: u64,
    /// The manifest's content hashes of the static datasets; `None` in archives written
    /// before content hashes (then nothing is checked and `/epochs/content` is not read).
    content: Option<BTreeMap<String, Digest>>,
}

/// Deepest group nesting of an archive file (`/gradients/param-000/mean` is 3).
const MAX_DEPTH: usize = 3;

impl Reader {
    pub(in crate::archive) fn open(dir: &Path, m: &Manifest) -> Result<Self> {
        let path = dir.join(DATA_FILE);
        let file_len = crate::util::fsutil::open_regular(&path)
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
            content: m.content.clone(),
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
                            crate::util::text::escape_controls(&full),
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
                                crate::util::text::escape_controls(&full)
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

    pub(in crate::archive) fn committed(&self) -> usize {
        self.committed
    }

    /// The content hashes of `slot` (`/epochs/content`), `None` without content hashes.
    fn slot_hashes(&self, m: &Manifest, slot: usize) -> Result<Option<Array1<u32>>> {
        if self.content.is_none() {
            return Ok(None);
        }
        let name = "epochs/content";
        let ds = self.ds::<u32>(name)?;
        self.check_shape(&ds, name, &[m.epochs.len(), column::count(m)])?;
        let row: Array1<u32> = ds
            .read_slice(s![slot, ..])
            .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))?;
        // Epochs without activations write 0 into the layers' columns: anything else there
        // is damage too.
        let unused = !m.epochs.get(slot).is_some_and(|p| p.activations);
        if unused && (0..m.layers.len()).any(|i| row[column::layer(i)] != 0) {
            return Err(Error::format(
                &self.path,
                format!("/{name} holds a hash for layers in slot {slot}, which has no activations: the file is damaged"),
            ));
        }
        Ok(Some(row))
    }

    /// The content hashes of the first slot (empty without content hashes).
    pub(in crate::archive) fn first_slot_hashes(&self, m: &Manifest) -> Result<Vec<u32>> {
        Ok(self
            .slot_hashes(m, 0)?
            .map(|h| h.to_vec())
            .unwrap_or_default())
    }

    /// An error naming the dataset when the hash of what was read is not the recorded one.
    fn check_hash(
        &self,
        name: &str,
        slot: usize,
        recorded: Option<u32>,
        found: Digest,
    ) -> Result<()> {
        match recorded {
            Some(h) if h != found.crc32 => Err(Error::format(
                &self.path,
                format!(
                    "dataset '/{name}' (epoch slot {slot}) does not match its content hash in /epochs/content (crc32 {:08x}, recorded {h:08x}): the data are damaged; refusing to use them",
                    found.crc32
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Checks a static dataset against the manifest's content hash.
    fn check_static(&self, name: &str, found: Digest) -> Result<()> {
        let Some(map) = &self.content else {
            return Ok(());
        };
        let key = format!("/{name}");
        match map.get(&key) {
            None => Err(Error::format(
                &self.path,
                format!("dataset '{key}' has no content hash in the manifest: the manifest is damaged"),
            )),
            Some(d) if *d != found => Err(Error::format(
                &self.path,
                format!("dataset '{key}' does not match its content hash in the manifest ({found}; recorded {d}): the data are damaged; refusing to use them"),
            )),
            Some(_) => Ok(()),
        }
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
        let bytes = crate::archive::manifest::checked_product(&ds.shape())
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

    pub(in crate::archive) fn activations(
        &self,
        m: &Manifest,
        layer: usize,
        (slot, activation_slot): (usize, usize),
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
        let z = ds
            .read_slice::<f32, _, ndarray::Ix2>(s![activation_slot, .., ..])
            .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))?;
        if let Some(h) = self.slot_hashes(m, slot)? {
            let found = content::digest_f32(z.as_slice().unwrap_or_default());
            self.check_hash(&name, slot, Some(h[column::layer(layer)]), found)?;
        }
        Ok(z)
    }

    pub(in crate::archive) fn labels(&self, m: &Manifest) -> Result<Vec<u32>> {
        let v: Vec<u32> = self.read_1d("samples/label")?;
        self.check_static("samples/label", content::digest_values(&v))?;
        self.check_len(&v, m.analysis_set.n, "samples/label")?;
        crate::archive::check_labels(&self.path, &v, m.analysis_set.classes.len())?;
        Ok(v)
    }

    /// The further label set `name` (the manifest lists it), checked against its classes.
    pub(in crate::archive) fn label_set(&self, m: &Manifest, name: &str) -> Result<Vec<u32>> {
        let path = format!("labels/{name}");
        let v: Vec<u32> = self.read_1d(&path)?;
        self.check_static(&path, content::digest_values(&v))?;
        self.check_len(&v, m.analysis_set.n, &path)?;
        let classes = m.analysis_set.classes_of(name);
        crate::archive::check_labels(&self.path, &v, classes)?;
        Ok(v)
    }

    pub(in crate::archive) fn sample_ids(&self, m: &Manifest) -> Result<Vec<u64>> {
        let v: Vec<u64> = self.read_1d("samples/sample_id")?;
        self.check_static("samples/sample_id", content::digest_values(&v))?;
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

    pub(in crate::archive) fn inputs(&self, shape: (usize, usize)) -> Result<Array2<f32>> {
        let ds = self.ds::<f32>("inputs")?;
        self.check_shape(&ds, "inputs", &[shape.0, shape.1])?;
        let x = ds
            .read_2d::<f32>()
            .map_err(|e| h5err(&self.path, "cannot read '/inputs'", e))?;
        self.check_static(
            "inputs",
            content::digest_f32(x.as_slice().unwrap_or_default()),
        )?;
        Ok(x)
    }

    pub(in crate::archive) fn metrics(
        &self,
        m: &Manifest,
        committed: usize,
    ) -> Result<Vec<EpochMetrics>> {
        let cols = EpochMetrics::NAMES
            .iter()
            .map(|name| self.read_1d::<f64>(&format!("metrics/{name}")))
            .collect::<Result<Vec<_>>>()?;
        (0..committed)
            .map(|slot| {
                let mut raw = [f64::NAN; 5];
                for (k, col) in cols.iter().enumerate() {
                    raw[k] = *col.get(slot).ok_or_else(|| {
                        Error::format(&self.path, "metrics datasets are shorter than the plan")
                    })?;
                }
                if let Some(h) = self.slot_hashes(m, slot)? {
                    let found = content::digest_values(&raw);
                    self.check_hash("metrics/*", slot, Some(h[column::metrics(m)]), found)?;
                }
                Ok(EpochMetrics::from_array(raw.map(|v| {
                    if v.is_nan() {
                        None
                    } else {
                        Some(v)
                    }
                })))
            })
            .collect()
    }

    /// `/gradients/n_batches` of one slot: the batch count of every parameter, checked
    /// against the slot's content hash.
    fn n_batches(
        &self,
        m: &Manifest,
        slot: usize,
        hashes: Option<&Array1<u32>>,
    ) -> Result<Array1<u32>> {
        let name = "gradients/n_batches";
        let ds = self.ds::<u32>(name)?;
        self.check_shape(&ds, name, &[m.epochs.len(), m.parameters.len()])?;
        let nb: Array1<u32> = ds
            .read_slice(s![slot, ..])
            .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))?;
        let found = content::digest_values(&nb.to_vec());
        self.check_hash(name, slot, hashes.map(|h| h[column::n_batches(m)]), found)?;
        Ok(nb)
    }

    pub(in crate::archive) fn gradients(
        &self,
        m: &Manifest,
        slot: usize,
    ) -> Result<Vec<GradientStats>> {
        if m.parameters.is_empty() {
            return Ok(Vec::new());
        }
        let hashes = self.slot_hashes(m, slot)?;
        let nb = self.n_batches(m, slot, hashes.as_ref())?;
        m.parameters
            .iter()
            .enumerate()
            .map(|(i, par)| {
                let read = |k: usize, what: &str| -> Result<Vec<f32>> {
                    let name = format!("gradients/{}/{what}", param_name(i));
                    let ds = self.ds::<f32>(&name)?;
                    self.check_shape(&ds, &name, &[m.epochs.len(), par.size()])?;
                    let row: Array1<f32> = ds
                        .read_slice(s![slot, ..])
                        .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))?;
                    let row = row.to_vec();
                    let recorded = hashes.as_ref().map(|h| h[column::param(m, i, k)]);
                    self.check_hash(&name, slot, recorded, content::digest_f32(&row))?;
                    Ok(row)
                };
                Ok(GradientStats {
                    n_batches: nb[i],
                    mean: read(0, "mean")?,
                    std: read(1, "std")?,
                    value: read(2, "value")?,
                })
            })
            .collect()
    }

    pub(in crate::archive) fn batch_gradients(
        &self,
        m: &Manifest,
        slot: usize,
        index: usize,
    ) -> Result<Array2<f32>> {
        let hashes = self.slot_hashes(m, slot)?;
        let nb = self.n_batches(m, slot, hashes.as_ref())?[index] as usize;
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
        // The whole slot (NaN rows included) is what its hash covers.
        let all: Array2<f32> = ds
            .read_slice(s![slot, .., ..])
            .map_err(|e| h5err(&self.path, &format!("cannot read '/{name}'"), e))?;
        if let Some(h) = &hashes {
            let found = content::digest_f32(all.as_slice().unwrap_or_default());
            self.check_hash(&name, slot, Some(h[column::param(m, index, 3)]), found)?;
        }
        Ok(all.slice_move(s![..nb, ..]))
    }
}
