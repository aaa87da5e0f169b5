//! The archive manifest (`manifest.json`): run metadata, analysis set, layers, parameters and the epoch plan.
//!
//! The manifest is the same JSON document for both backends; `docs/archive.md` documents every
//! field. It is written once when an archive is created and rewritten (atomically) when the
//! writer finishes, which is the only change: `complete` turns true.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::content::{self, Digest, JsonChecksum};
use crate::error::{Error, Result};

/// The version of the on-disk layout this library writes and reads.
///
/// Readers refuse archives with a newer version; older versions stay readable (the fixtures in
/// `fixtures/` pin that down).
pub const SCHEMA_VERSION: u32 = 1;

/// Identifies a manifest as an infoplane archive.
pub const FORMAT_NAME: &str = "infoplane-archive";

/// The largest manifest read (a plan of a million epochs takes about 40 MB).
pub(crate) const MAX_BYTES: u64 = 256 << 20;

/// The most classes an archive may have (labels are class indices below this).
pub use crate::labels::MAX_CLASSES;

/// Where the archive's arrays live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// One directory per committed epoch, one Parquet file per array.
    Parquet,
    /// One HDF5 file, `data.h5`, with pre-allocated epoch slots and a commit record.
    Hdf5,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Parquet => "parquet",
            Backend::Hdf5 => "hdf5",
        })
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" => Ok(Backend::Parquet),
            "hdf5" | "h5" => Ok(Backend::Hdf5),
            other => Err(Error::Invalid(format!(
                "unknown archive format '{other}' (expected parquet or hdf5)"
            ))),
        }
    }
}

/// What a tracked layer is; it decides, for example, whether the data-processing inequality
/// applies between consecutive layers (it does not across graph or recurrent layers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// Fully-connected layer.
    Linear,
    /// Convolution (feature maps stored flattened, original shape in [`LayerInfo::shape`]).
    Conv,
    /// Recurrent layer (last hidden state).
    Recurrent,
    /// Graph convolution.
    Graph,
    /// The network's output (logits).
    Output,
    /// Not known (for example imported from NumPy arrays without a kind).
    Unknown,
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayerKind::Linear => "linear",
            LayerKind::Conv => "conv",
            LayerKind::Recurrent => "recurrent",
            LayerKind::Graph => "graph",
            LayerKind::Output => "output",
            LayerKind::Unknown => "unknown",
        })
    }
}

impl FromStr for LayerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "linear" | "dense" | "fc" => LayerKind::Linear,
            "conv" => LayerKind::Conv,
            "recurrent" | "rnn" => LayerKind::Recurrent,
            "graph" | "gcn" => LayerKind::Graph,
            "output" => LayerKind::Output,
            "unknown" => LayerKind::Unknown,
            other => {
                return Err(Error::Invalid(format!(
                    "unknown layer kind '{other}' (expected linear, conv, recurrent, graph, output or unknown)"
                )))
            }
        })
    }
}

/// One tracked layer. Its activations are N x `width` f32 matrices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Unique name, as in the model (`fc1`, `conv2`, ...).
    pub name: String,
    /// What the layer is.
    pub kind: LayerKind,
    /// Number of features H per sample (product of `shape` when a shape is given).
    pub width: usize,
    /// Original per-sample shape of a feature map (for example `[20, 4, 4]`), stored flattened
    /// in row-major (C) order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<usize>>,
    /// Activation function applied (`tanh`, `relu`, ...), when known.
    #[serde(default)]
    pub activation: Option<String>,
}

/// One parameter tensor whose gradient statistics are recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterInfo {
    /// Unique name (`fc1.weight`).
    pub name: String,
    /// Tensor shape; values are stored flattened in row-major order.
    pub shape: Vec<usize>,
    /// The tracked layer this parameter belongs to, if any.
    #[serde(default)]
    pub layer: Option<String>,
}

impl ParameterInfo {
    /// Number of elements.
    pub fn size(&self) -> usize {
        checked_product(&self.shape).unwrap_or(usize::MAX)
    }
}

/// Run metadata: what was trained, how, and with what.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Short name of the run (defaults to the directory name).
    pub name: String,
    /// Model (`fcn`, `lenet`, ...), or `unknown`.
    pub model: String,
    /// Dataset (`tishby`, `mnist`, ...), or `unknown`.
    pub dataset: String,
    /// Random seed, if any.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Every hyper-parameter, by name.
    #[serde(default)]
    pub hyperparameters: BTreeMap<String, serde_json::Value>,
    /// Versions of the tools that produced the run (`infoplane`, `torch`, ...).
    #[serde(default)]
    pub tool_versions: BTreeMap<String, String>,
    /// Free-form notes.
    #[serde(default)]
    pub notes: String,
    /// What each epoch is, where it is not a training epoch: a checkpoint's step or revision
    /// name (`step1000`), by epoch number; tables carry it in `epoch_label`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub epoch_labels: BTreeMap<u32, String>,
}

/// Summary of the analysis set: the N samples whose activations are recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSetInfo {
    /// Number of samples N.
    pub n: usize,
    /// Class names; labels are indices into this list.
    pub classes: Vec<String>,
    /// Per-sample shape of the stored inputs X, when inputs are stored.
    #[serde(default)]
    pub input_shape: Option<Vec<usize>>,
    /// Which samples these are (`train`, `validation`, `all`, ...).
    #[serde(default)]
    pub description: String,
    /// The name of the labels above (the first label set); [`DEFAULT_LABEL_NAME`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_name: Option<String>,
    /// Further named label vectors of the same samples (`next_token`, `hidden_state`, ...),
    /// stored beside the first; absent in archives with one label set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_sets: Vec<LabelSetInfo>,
}

/// The name of an archive's first label set when the manifest gives none.
pub const DEFAULT_LABEL_NAME: &str = "class";

/// A further label set: its name and how many classes its labels index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSetInfo {
    /// Unique among the archive's label sets; letters, digits, `_`, `-` and `.`.
    pub name: String,
    /// Labels are below this.
    pub classes: usize,
}

impl AnalysisSetInfo {
    /// Number of input features D per sample (product of the input shape), if inputs are stored.
    pub fn input_width(&self) -> Option<usize> {
        self.input_shape
            .as_ref()
            .map(|s| checked_product(s).unwrap_or(usize::MAX))
    }

    /// The first label set's name.
    pub fn label_name(&self) -> &str {
        self.label_name.as_deref().unwrap_or(DEFAULT_LABEL_NAME)
    }

    /// Every label set as (name, classes), the first first.
    pub fn label_sets(&self) -> Vec<(&str, usize)> {
        std::iter::once((self.label_name(), self.classes.len()))
            .chain(self.label_sets.iter().map(|s| (s.name.as_str(), s.classes)))
            .collect()
    }

    /// The number of classes of the label set `name` (0 when there is none of that name).
    pub(crate) fn classes_of(&self, name: &str) -> usize {
        self.label_sets()
            .into_iter()
            .find(|s| s.0 == name)
            .map_or(0, |s| s.1)
    }

    /// What rows estimated with Y = the label set `name` add to their setting: nothing for
    /// the first set, ` labels=NAME` for the others (rows of two sets never share a key).
    pub(crate) fn setting_suffix(&self, name: &str) -> String {
        if name == self.label_name() {
            String::new()
        } else {
            format!(" labels={name}")
        }
    }

    /// Label set names must be unique and safe as file column and dataset names.
    fn validate_label_sets(&self) -> std::result::Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (name, classes) in self.label_sets() {
            let ok = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
            if name.is_empty() || name.len() > 64 || !name.chars().all(ok) {
                return Err(format!(
                    "label set name '{}' is not 1 to 64 letters, digits, '_', '-' or '.'",
                    crate::util::text::escape_controls(name)
                ));
            }
            if !seen.insert(name) {
                return Err(format!("label set name '{name}' appears twice"));
            }
            if classes == 0 || classes > MAX_CLASSES {
                return Err(format!(
                    "label set '{name}' has {classes} classes; infoplane supports 1 to {MAX_CLASSES}"
                ));
            }
        }
        Ok(())
    }
}

/// The product of `dims`, None when it overflows.
pub(crate) fn checked_product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// The most f32 values one array of an archive may hold (what one allocation can address).
const MAX_VALUES: usize = isize::MAX as usize / 4;

/// True when `rows` x `cols` f32 values fit one array.
fn fits(rows: usize, cols: usize) -> bool {
    rows.checked_mul(cols).is_some_and(|v| v <= MAX_VALUES)
}

/// One epoch the writer planned to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedEpoch {
    /// Epoch number (0 = before training).
    pub epoch: u32,
    /// Whether this epoch records the activations of every layer.
    pub activations: bool,
}

/// The whole manifest, as stored in `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// Layout version, [`SCHEMA_VERSION`] when written by this library.
    pub schema_version: u32,
    /// Which backend holds the arrays.
    pub backend: Backend,
    /// True once the writer closed the archive cleanly.
    pub complete: bool,
    /// The program that wrote the archive (`infoplane 0.1.0`).
    pub writer: String,
    /// Run metadata.
    pub run: RunInfo,
    /// The analysis set.
    pub analysis_set: AnalysisSetInfo,
    /// Tracked layers, in network order.
    pub layers: Vec<LayerInfo>,
    /// Parameter tensors with gradient statistics (may be empty).
    #[serde(default)]
    pub parameters: Vec<ParameterInfo>,
    /// When set, every batch's gradient is stored too, for at most this many batches per epoch.
    #[serde(default)]
    pub batch_gradients: Option<u32>,
    /// The epochs the writer planned, in increasing order. Committed epochs are a prefix.
    pub epochs: Vec<PlannedEpoch>,
    /// HDF5 archives: the checksum of `data.h5`'s structure, verified before the HDF5 library
    /// parses the file (it can crash on damaged metadata). Absent in older archives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdf5_metadata: Option<Hdf5Metadata>,
    /// Content hashes of the data written when the archive was created: by file name
    /// (`samples.parquet`, `inputs.parquet`) or by HDF5 dataset (`/samples/label`, ...).
    /// Present in every archive written with content hashes (then every epoch carries its
    /// own); absent in older archives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<BTreeMap<String, Digest>>,
    /// How many epochs were committed when the writer finished (absent until then, and in
    /// older archives): a committed epoch that goes missing later is damage, not a short run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_epochs: Option<usize>,
}

/// The CRC-32 (IEEE) of every byte of `data.h5` outside the raw data of its datasets and the
/// superblock's file-consistency flags (which HDF5 sets while a writer has the file open):
/// the file's metadata, which never changes after creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hdf5Metadata {
    /// Length of the file in bytes.
    pub file_len: u64,
    /// Byte ranges (offset, length) skipped by the checksum, sorted: the consistency flags
    /// and the raw data of every dataset.
    pub skipped: Vec<[u64; 2]>,
    /// CRC-32 of the remaining bytes, in file order.
    pub crc32: u32,
}

impl Manifest {
    /// The manifest's part of the archive's fingerprint: FNV-1a of the manifest as JSON (run,
    /// layers, epochs, sizes, backend, the content hashes of the data written at creation),
    /// 16 hex digits, without what changes while the archive is written (`complete`, the
    /// committed count). [`crate::archive::Archive::fingerprint`] adds the first epoch's data.
    pub fn fingerprint(&self) -> String {
        let stable = Manifest {
            complete: false,
            committed_epochs: None,
            ..self.clone()
        };
        let json = serde_json::to_vec(&stable).unwrap_or_default();
        format!("{:016x}", crate::util::hash::fnv1a(&json))
    }
}

impl Manifest {
    /// Index of the layer called `name`.
    pub fn layer_index(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.name == name)
    }

    /// Checks that this is an infoplane manifest of a layout this version reads.
    fn validate_version(&self, path: &Path) -> Result<()> {
        let bad = |m: String| Err(Error::format(path, m));
        if self.format != FORMAT_NAME {
            return bad(format!(
                "not an infoplane archive manifest (format is '{}', expected '{FORMAT_NAME}')",
                self.format
            ));
        }
        if self.schema_version > SCHEMA_VERSION {
            return bad(format!(
                "schema version {} is newer than this infoplane supports ({SCHEMA_VERSION}); upgrade infoplane",
                self.schema_version
            ));
        }
        if self.schema_version == 0 {
            return bad("schema version 0 is not valid".into());
        }
        Ok(())
    }

    /// Checks the manifest's internal consistency; `path` names the file in errors.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |m: String| Err(Error::format(path, m));
        self.validate_version(path)?;
        if self.analysis_set.n == 0 {
            return bad("the analysis set is empty (n = 0)".into());
        }
        if self.analysis_set.classes.is_empty() {
            return bad("the analysis set has no classes".into());
        }
        if self.analysis_set.classes.len() > MAX_CLASSES {
            return bad(format!(
                "{} classes; infoplane supports at most {MAX_CLASSES}",
                self.analysis_set.classes.len()
            ));
        }
        self.analysis_set.validate_label_sets().or_else(bad)?;
        let n = self.analysis_set.n;
        if let Some(shape) = &self.analysis_set.input_shape {
            if shape.is_empty() || shape.contains(&0) {
                return bad(format!("input shape {shape:?} has no features"));
            }
            if !checked_product(shape).is_some_and(|d| fits(n, d)) {
                return bad(format!("input shape {shape:?} is too large for N = {n}"));
            }
        }
        let mut names = std::collections::HashSet::new();
        for l in &self.layers {
            if !names.insert(l.name.as_str()) {
                return bad(format!("layer name '{}' appears twice", l.name));
            }
            if l.width == 0 {
                return bad(format!("layer '{}' has width 0", l.name));
            }
            if !fits(n, l.width) {
                return bad(format!(
                    "layer '{}' has width {}, too large for N = {n}",
                    l.name, l.width
                ));
            }
            if let Some(shape) = &l.shape {
                if checked_product(shape) != Some(l.width) {
                    return bad(format!(
                        "layer '{}' has shape {shape:?} but width {}",
                        l.name, l.width
                    ));
                }
            }
        }
        let mut pnames = std::collections::HashSet::new();
        for p in &self.parameters {
            if !pnames.insert(p.name.as_str()) {
                return bad(format!("parameter name '{}' appears twice", p.name));
            }
            let batches = self.batch_gradients.unwrap_or(1).max(1) as usize;
            if !checked_product(&p.shape).is_some_and(|s| fits(batches, s)) {
                return bad(format!(
                    "parameter '{}' has shape {:?}, too large to store",
                    p.name, p.shape
                ));
            }
        }
        if self.epochs.windows(2).any(|w| w[0].epoch >= w[1].epoch) {
            return bad("planned epochs are not strictly increasing".into());
        }
        Ok(())
    }

    /// Checks the names a writer stores: layers, parameters and classes are non-empty and
    /// hold no control characters (which would reach terminals; HDF5 refuses NUL).
    pub(crate) fn validate_names(&self) -> Result<()> {
        let names = self
            .layers
            .iter()
            .map(|l| ("layer", &l.name))
            .chain(self.parameters.iter().map(|p| ("parameter", &p.name)))
            .chain(self.analysis_set.classes.iter().map(|c| ("class", c)));
        for (what, name) in names {
            if name.is_empty() {
                return Err(Error::Invalid(format!("a {what} name is empty")));
            }
            if let Some(c) = crate::util::text::first_control(name) {
                return Err(Error::Invalid(format!(
                    "{what} name '{}' holds the control character {:?}; names must be printable",
                    crate::util::text::escape_controls(name),
                    c
                )));
            }
        }
        Ok(())
    }

    /// Reads and validates `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = match crate::util::fsutil::read_regular(&path, MAX_BYTES) {
            Ok(t) => t,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(if dir.is_dir() {
                    Error::format(&path, "missing: this directory is not an infoplane archive")
                } else {
                    Error::request(dir, "no such archive directory")
                })
            }
            Err(e) => return Err(e),
        };
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(&path, format!("unparsable manifest: {e}")))?;
        // A newer layout may seal its manifest otherwise: say so before checking the seal.
        manifest.validate_version(&path)?;
        let checksum = content::check_json(&path, &bytes)?;
        if checksum == JsonChecksum::Absent && manifest.content.is_some() {
            return Err(Error::format(
                &path,
                "carries content hashes but no checksum of its own: the file is damaged",
            ));
        }
        manifest.validate(&path)?;
        Ok(manifest)
    }

    /// Writes `dir/manifest.json` atomically (temporary file, fsync, rename), with its
    /// checksum as the last member when the archive carries content hashes.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let bytes = if self.content.is_some() {
            content::to_checked_json(self)?
        } else {
            serde_json::to_vec_pretty(self)
                .map_err(|e| Error::Invalid(format!("cannot serialise manifest: {e}")))?
        };
        crate::util::fsutil::write_atomic(&dir.join(MANIFEST_FILE), &bytes)
    }
}

/// File name of the manifest inside an archive directory.
pub(crate) const MANIFEST_FILE: &str = "manifest.json";
