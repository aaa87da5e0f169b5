//! The Parquet backend: one directory per committed epoch, made visible by an atomic rename.
//!
//! ```text
//! samples.parquet                     sample_id: uint64, label: uint32
//! labels.parquet                      one uint32 column per further label set (by name)
//! inputs.parquet                      x: float32, N*D values, row-major
//! epochs/epoch-000007/epoch.json      {"epoch": 7, "metrics": {...}}
//! epochs/epoch-000007/layer-000.parquet   z: float32, N*H values, row-major
//! epochs/epoch-000007/gradients.parquet   param, n_batches, mean, std, value (lists of float32)
//! epochs/epoch-000007/batch-gradients.parquet  param, batch, grad (list of float32)
//! ```
//! An epoch is written into `epochs/.tmp-epoch-000007/`, every file fsynced, then renamed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float32Array, ListArray, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Schema};
use ndarray::Array2;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Encoding;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use serde::{Deserialize, Serialize};

use super::content::{self, Digest, HashingWriter, JsonChecksum};

mod matrix;
use super::{AnalysisSet, EpochMetrics, EpochRecord, GradientStats, Manifest};
use crate::error::{Error, Result};
use crate::util::fsutil;
use matrix::{read_matrix, write_matrix};

const EPOCHS_DIR: &str = "epochs";
const SAMPLES_FILE: &str = "samples.parquet";
const INPUTS_FILE: &str = "inputs.parquet";
/// Further label sets, one column each (absent with one label set).
pub(super) const LABELS_FILE: &str = "labels.parquet";
const EPOCH_FILE: &str = "epoch.json";
const GRADIENTS_FILE: &str = "gradients.parquet";
const BATCH_GRADIENTS_FILE: &str = "batch-gradients.parquet";

fn epoch_dir_name(epoch: u32) -> String {
    format!("epoch-{epoch:06}")
}

fn layer_file_name(index: usize) -> String {
    format!("layer-{index:03}.parquet")
}

/// `epoch.json`: the epoch's number, metrics and the content hashes of its files (absent in
/// archives written before content hashes), sealed by its own checksum.
#[derive(Serialize, Deserialize)]
struct EpochJson {
    epoch: u32,
    metrics: EpochMetrics,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<BTreeMap<String, Digest>>,
}

fn props(kv: Vec<KeyValue>) -> WriterProperties {
    WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_encoding(Encoding::PLAIN)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_max_row_group_row_count(Some(1 << 26))
        .set_key_value_metadata(Some(kv))
        .build()
}

/// Writes `batch` to the new file `path` (fsynced); the digest of the bytes written.
fn write_batch(path: &Path, batch: RecordBatch, kv: Vec<KeyValue>) -> Result<Digest> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    // The Parquet writer buffers its output itself.
    let hashing = HashingWriter::new(file);
    let mut w = ArrowWriter::try_new(hashing, batch.schema(), Some(props(kv)))
        .map_err(|e| Error::format(path, format!("cannot write Parquet: {e}")))?;
    w.write(&batch)
        .map_err(|e| Error::format(path, format!("cannot write Parquet: {e}")))?;
    let (file, digest) = w
        .into_inner()
        .map_err(|e| Error::format(path, format!("cannot write Parquet: {e}")))?
        .finish();
    file.sync_all().map_err(|e| Error::io(path, e))?;
    Ok(digest)
}

fn list_f32(rows: &[&[f32]]) -> ArrayRef {
    let values: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    let offsets = OffsetBuffer::<i32>::from_lengths(rows.iter().map(|r| r.len()));
    Arc::new(ListArray::new(
        Arc::new(Field::new("item", DataType::Float32, false)),
        offsets,
        Arc::new(Float32Array::from(values)),
        None,
    ))
}

fn list_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", DataType::Float32, false))),
        false,
    )
}

/// Creates the static part of a Parquet archive in `dir` (which must exist); the content
/// hashes of its files, by name.
pub(super) fn create(dir: &Path, set: &AnalysisSet) -> Result<BTreeMap<String, Digest>> {
    let mut digests = BTreeMap::new();
    let path = dir.join(SAMPLES_FILE);
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::UInt64, false),
        Field::new("label", DataType::UInt32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(UInt64Array::from(set.sample_ids.clone())),
            Arc::new(UInt32Array::from(set.labels.clone())),
        ],
    )
    .map_err(|e| Error::format(&path, e.to_string()))?;
    digests.insert(SAMPLES_FILE.into(), write_batch(&path, batch, Vec::new())?);
    if !set.label_sets.is_empty() {
        let path = dir.join(LABELS_FILE);
        let fields: Vec<Field> = (set.label_sets.iter())
            .map(|s| Field::new(&s.name, DataType::UInt32, false))
            .collect();
        let columns: Vec<ArrayRef> = (set.label_sets.iter())
            .map(|s| Arc::new(UInt32Array::from(s.labels.clone())) as ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Error::format(&path, e.to_string()))?;
        digests.insert(LABELS_FILE.into(), write_batch(&path, batch, Vec::new())?);
    }
    if let Some(x) = &set.inputs {
        let x = x.as_standard_layout();
        let data = x.as_slice().unwrap_or_default();
        let d = write_matrix(&dir.join(INPUTS_FILE), "x", data, x.dim())?;
        digests.insert(INPUTS_FILE.into(), d);
    }
    let epochs = dir.join(EPOCHS_DIR);
    fs::create_dir(&epochs).map_err(|e| Error::io(&epochs, e))?;
    Ok(digests)
}

pub(super) struct Writer {
    epochs: PathBuf,
}

impl Writer {
    pub(super) fn open(dir: &Path) -> Result<Self> {
        Ok(Writer {
            epochs: dir.join(EPOCHS_DIR),
        })
    }

    pub(super) fn commit(&mut self, manifest: &Manifest, record: &EpochRecord) -> Result<()> {
        let name = epoch_dir_name(record.epoch);
        let tmp = self.epochs.join(format!(".tmp-{name}"));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut files = BTreeMap::new();
        for (i, a) in record.activations.iter().enumerate() {
            let a = a.as_standard_layout();
            let data = a.as_slice().unwrap_or_default();
            let name = layer_file_name(i);
            files.insert(
                name.clone(),
                write_matrix(&tmp.join(&name), "z", data, a.dim())?,
            );
        }
        if !manifest.parameters.is_empty() {
            let d = write_gradients(&tmp.join(GRADIENTS_FILE), manifest, record)?;
            files.insert(GRADIENTS_FILE.into(), d);
        }
        if manifest.batch_gradients.is_some() {
            let d = write_batch_gradients(&tmp.join(BATCH_GRADIENTS_FILE), manifest, record)?;
            files.insert(BATCH_GRADIENTS_FILE.into(), d);
        }
        let json = content::to_checked_json(&EpochJson {
            epoch: record.epoch,
            metrics: record.metrics,
            files: Some(files),
        })?;
        let path = tmp.join(EPOCH_FILE);
        fs::write(&path, json).map_err(|e| Error::io(&path, e))?;
        fsutil::sync_file(&path)?;
        fsutil::sync_dir(&tmp)?;
        let dest = self.epochs.join(&name);
        fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
        fsutil::sync_dir(&self.epochs)
    }
}

/// `gradients.parquet`: one row per parameter (name, batch count, mean, std, value).
fn write_gradients(path: &Path, manifest: &Manifest, record: &EpochRecord) -> Result<Digest> {
    let g = &record.gradients;
    let schema = Arc::new(Schema::new(vec![
        Field::new("param", DataType::Utf8, false),
        Field::new("n_batches", DataType::UInt32, false),
        list_field("mean"),
        list_field("std"),
        list_field("value"),
    ]));
    let names: Vec<&str> = manifest
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(UInt32Array::from(
                g.iter().map(|s| s.n_batches).collect::<Vec<_>>(),
            )),
            list_f32(&g.iter().map(|s| s.mean.as_slice()).collect::<Vec<_>>()),
            list_f32(&g.iter().map(|s| s.std.as_slice()).collect::<Vec<_>>()),
            list_f32(&g.iter().map(|s| s.value.as_slice()).collect::<Vec<_>>()),
        ],
    )
    .map_err(|e| Error::format(path, e.to_string()))?;
    write_batch(path, batch, Vec::new())
}

/// `batch-gradients.parquet`: one row per (parameter, batch).
fn write_batch_gradients(path: &Path, manifest: &Manifest, record: &EpochRecord) -> Result<Digest> {
    let mut names = Vec::new();
    let mut batches = Vec::new();
    let mut rows: Vec<&[f32]> = Vec::new();
    let standard: Vec<_> = record
        .batch_gradients
        .iter()
        .map(|b| b.as_standard_layout())
        .collect();
    for (p, b) in manifest.parameters.iter().zip(&standard) {
        for (k, row) in b.outer_iter().enumerate() {
            names.push(p.name.as_str());
            batches.push(k as u32);
            rows.push(row.to_slice().unwrap_or_default());
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("param", DataType::Utf8, false),
        Field::new("batch", DataType::UInt32, false),
        list_field("grad"),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(UInt32Array::from(batches)),
            list_f32(&rows),
        ],
    )
    .map_err(|e| Error::format(path, e.to_string()))?;
    write_batch(path, batch, Vec::new())
}

pub(super) struct Reader {
    dir: PathBuf,
    committed: usize,
    /// The manifest's content hashes of the files written at creation; `None` in archives
    /// written before content hashes (then no file is checked).
    content: Option<BTreeMap<String, Digest>>,
}

/// Opens a file of the archive; a missing file is a damaged archive, named as such.
fn open_file(path: &Path) -> Result<fs::File> {
    fsutil::open_regular(path).map_err(|e| match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            Error::format(path, "missing from the archive")
        }
        other => other,
    })
}

fn open_parquet(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<fs::File>> {
    let file = open_file(path)?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::format(path, format!("corrupt or truncated Parquet file: {e}")))
}

/// Reads the whole file into one record batch, after checking it against `expected`.
fn read_all(path: &Path, expected: Option<&Digest>) -> Result<RecordBatch> {
    if let Some(d) = expected {
        open_file(path)?;
        content::check_file(path, d)?;
    }
    crate::util::untrusted::decode(path, "Parquet file", || read_all_unguarded(path))
}

fn read_all_unguarded(path: &Path) -> Result<RecordBatch> {
    let builder = open_parquet(path)?;
    // One batch for the whole file, but never sized by an unchecked footer.
    let rows = builder
        .metadata()
        .file_metadata()
        .num_rows()
        .clamp(1, 1 << 20) as usize;
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(rows)
        .build()
        .map_err(|e| Error::format(path, format!("corrupt Parquet file: {e}")))?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::format(path, format!("corrupt or truncated Parquet data: {e}")))?;
    arrow::compute::concat_batches(&schema, &batches)
        .map_err(|e| Error::format(path, format!("corrupt Parquet data: {e}")))
}

fn column<'a, T: 'static>(path: &Path, batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| {
            Error::format(
                path,
                format!("column '{name}' is missing or of the wrong type"),
            )
        })
}

fn list_row(path: &Path, list: &ListArray, row: usize, expected: usize) -> Result<Vec<f32>> {
    let values = list.value(row);
    let values = values
        .as_any()
        .downcast_ref::<Float32Array>()
        .ok_or_else(|| Error::format(path, "list values are not float32"))?;
    if values.len() != expected {
        return Err(Error::format(
            path,
            format!(
                "row {row} holds {} values, expected {expected}",
                values.len()
            ),
        ));
    }
    Ok(values.values().to_vec())
}

impl Reader {
    pub(super) fn open(dir: &Path, manifest: &Manifest) -> Result<Self> {
        let epochs_dir = dir.join(EPOCHS_DIR);
        let samples = dir.join(SAMPLES_FILE);
        if !samples.exists() {
            return Err(Error::format(&samples, "missing from the archive"));
        }
        let mut found = Vec::new();
        let rd = fs::read_dir(&epochs_dir).map_err(|e| Error::io(&epochs_dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(&epochs_dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(num) = name.strip_prefix("epoch-") {
                let epoch: u32 = num.parse().map_err(|_| {
                    Error::format(entry.path(), "unexpected directory name in the archive")
                })?;
                found.push(epoch);
            }
        }
        found.sort_unstable();
        // Committed epochs must be a prefix of the plan.
        let committed = found.len();
        for (i, e) in found.iter().enumerate() {
            if manifest.epochs.get(i).map(|p| p.epoch) != Some(*e) {
                return Err(Error::format(
                    epochs_dir.join(epoch_dir_name(*e)),
                    "epoch directory does not match the manifest's epoch plan",
                ));
            }
        }
        Ok(Reader {
            dir: dir.to_path_buf(),
            committed,
            content: manifest.content.clone(),
        })
    }

    /// The content hash of `file` (a name in the manifest's content map, or an epoch file
    /// whose record is `record`), or `None` for archives written without content hashes. A
    /// file that should have one and has none is damage.
    fn expected<'a>(
        &'a self,
        path: &Path,
        record: Option<&'a EpochJson>,
        file: &str,
    ) -> Result<Option<&'a Digest>> {
        let map = match record {
            Some(r) => r.files.as_ref(),
            None => self.content.as_ref(),
        };
        match map {
            None => Ok(None),
            Some(m) => m.get(file).map(Some).ok_or_else(|| {
                Error::format(
                    path,
                    "has no content hash in the archive's records: the records are damaged",
                )
            }),
        }
    }

    pub(super) fn committed(&self) -> usize {
        self.committed
    }

    /// Entries of `epochs/` that are not committed epoch directories.
    pub(super) fn leftovers(&self) -> Vec<String> {
        let dir = self.dir.join(EPOCHS_DIR);
        let Ok(rd) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        rd.flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with("epoch-"))
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let why = if name.starts_with(".tmp-epoch-") {
                    "an epoch whose writer stopped before committing it (harmless; never read)"
                } else {
                    "not part of the archive"
                };
                format!("{}: {why}", e.path().display())
            })
            .collect()
    }

    fn epoch_path(&self, epoch: u32, file: &str) -> PathBuf {
        self.dir
            .join(EPOCHS_DIR)
            .join(epoch_dir_name(epoch))
            .join(file)
    }

    pub(super) fn activations(
        &self,
        layer: usize,
        epoch: u32,
        shape: (usize, usize),
    ) -> Result<Array2<f32>> {
        let record = self.epoch_record(epoch)?;
        let name = layer_file_name(layer);
        let path = self.epoch_path(epoch, &name);
        let expected = self.expected(&path, Some(&record), &name)?;
        read_matrix(&path, "z", shape, expected)
    }

    pub(super) fn samples(&self, manifest: &Manifest) -> Result<(Vec<u64>, Vec<u32>)> {
        let path = self.dir.join(SAMPLES_FILE);
        let batch = read_all(&path, self.expected(&path, None, SAMPLES_FILE)?)?;
        let ids = column::<UInt64Array>(&path, &batch, "sample_id")?;
        let labels = column::<UInt32Array>(&path, &batch, "label")?;
        let n = manifest.analysis_set.n;
        if ids.len() != n {
            return Err(Error::format(
                &path,
                format!("holds {} samples but the manifest says N = {n}", ids.len()),
            ));
        }
        for (name, nulls) in [
            ("sample_id", ids.null_count()),
            ("label", labels.null_count()),
        ] {
            if nulls > 0 {
                return Err(Error::format(
                    &path,
                    format!("column '{name}' has {nulls} missing values"),
                ));
            }
        }
        let labels = labels.values().to_vec();
        super::check_labels(&path, &labels, manifest.analysis_set.classes.len())?;
        Ok((ids.values().to_vec(), labels))
    }

    /// The further label sets `names` (the manifest lists them), from one read of the file,
    /// each checked against its classes.
    pub(super) fn label_sets(&self, manifest: &Manifest, names: &[&str]) -> Result<Vec<Vec<u32>>> {
        let path = self.dir.join(LABELS_FILE);
        let batch = read_all(&path, self.expected(&path, None, LABELS_FILE)?)?;
        let n = manifest.analysis_set.n;
        let mut sets = Vec::with_capacity(names.len());
        for &name in names {
            let labels = column::<UInt32Array>(&path, &batch, name)?;
            if labels.len() != n || labels.null_count() > 0 {
                return Err(Error::format(
                    &path,
                    format!(
                        "column '{name}' holds {} labels ({} missing) but the manifest says N = {n}",
                        labels.len(),
                        labels.null_count()
                    ),
                ));
            }
            let labels = labels.values().to_vec();
            super::check_labels(&path, &labels, manifest.analysis_set.classes_of(name))?;
            sets.push(labels);
        }
        Ok(sets)
    }

    pub(super) fn inputs(&self, shape: (usize, usize)) -> Result<Array2<f32>> {
        let path = self.dir.join(INPUTS_FILE);
        read_matrix(&path, "x", shape, self.expected(&path, None, INPUTS_FILE)?)
    }

    pub(super) fn metrics(&self, epoch: u32) -> Result<EpochMetrics> {
        self.epoch_record(epoch).map(|r| r.metrics)
    }

    /// The content hashes of the files of `epoch` (`None` without content hashes).
    pub(super) fn epoch_digests(&self, epoch: u32) -> Result<Option<BTreeMap<String, Digest>>> {
        self.epoch_record(epoch).map(|r| r.files)
    }

    /// `epoch.json` of a committed epoch, its checksum checked.
    fn epoch_record(&self, epoch: u32) -> Result<EpochJson> {
        let path = self.epoch_path(epoch, EPOCH_FILE);
        let text = fsutil::read_regular(&path, 1 << 20).map_err(|e| match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::format(&path, "missing from the archive")
            }
            other => other,
        })?;
        let checksum = content::check_json(&path, &text)?;
        let parsed: EpochJson = serde_json::from_slice(&text)
            .map_err(|e| Error::format(&path, format!("unparsable epoch record: {e}")))?;
        let hashed = self.content.is_some() || parsed.files.is_some();
        if hashed && (checksum == JsonChecksum::Absent || parsed.files.is_none()) {
            return Err(Error::format(
                &path,
                "lacks the checksum or content hashes that this archive's records carry: the file is damaged",
            ));
        }
        if parsed.epoch != epoch {
            return Err(Error::format(
                &path,
                format!(
                    "records epoch {} inside the directory of epoch {epoch}",
                    parsed.epoch
                ),
            ));
        }
        Ok(parsed)
    }

    pub(super) fn gradients(&self, manifest: &Manifest, epoch: u32) -> Result<Vec<GradientStats>> {
        if manifest.parameters.is_empty() {
            return Ok(Vec::new());
        }
        let record = self.epoch_record(epoch)?;
        let path = self.epoch_path(epoch, GRADIENTS_FILE);
        let batch = read_all(&path, self.expected(&path, Some(&record), GRADIENTS_FILE)?)?;
        let n_batches = column::<UInt32Array>(&path, &batch, "n_batches")?;
        if n_batches.null_count() > 0 {
            return Err(Error::format(
                &path,
                "column 'n_batches' has missing values",
            ));
        }
        let mean = column::<ListArray>(&path, &batch, "mean")?;
        let std = column::<ListArray>(&path, &batch, "std")?;
        let value = column::<ListArray>(&path, &batch, "value")?;
        if batch.num_rows() != manifest.parameters.len() {
            return Err(Error::format(
                &path,
                format!(
                    "holds {} parameters, the manifest lists {}",
                    batch.num_rows(),
                    manifest.parameters.len()
                ),
            ));
        }
        manifest
            .parameters
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(GradientStats {
                    n_batches: n_batches.value(i),
                    mean: list_row(&path, mean, i, p.size())?,
                    std: list_row(&path, std, i, p.size())?,
                    value: list_row(&path, value, i, p.size())?,
                })
            })
            .collect()
    }

    pub(super) fn batch_gradients(
        &self,
        manifest: &Manifest,
        epoch: u32,
        index: usize,
    ) -> Result<Array2<f32>> {
        let record = self.epoch_record(epoch)?;
        let path = self.epoch_path(epoch, BATCH_GRADIENTS_FILE);
        let expected = self.expected(&path, Some(&record), BATCH_GRADIENTS_FILE)?;
        let batch = read_all(&path, expected)?;
        let names = column::<StringArray>(&path, &batch, "param")?;
        let grads = column::<ListArray>(&path, &batch, "grad")?;
        let p = &manifest.parameters[index];
        let mut data = Vec::new();
        let mut rows = 0;
        for i in 0..batch.num_rows() {
            if names.value(i) == p.name {
                data.extend(list_row(&path, grads, i, p.size())?);
                rows += 1;
            }
        }
        Array2::from_shape_vec((rows, p.size()), data)
            .map_err(|e| Error::format(&path, e.to_string()))
    }
}
