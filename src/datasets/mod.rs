//! The thesis datasets as plain arrays: Tishby's 12-bit task (generated or from `.mat`), MNIST
//! (IDX gzip), the 18-language names data and Cora (LINQS), each with a train/validation split.
//!
//! Loaders are pure Rust and never link tch, so the recorder, the CLI and the tests share them.
//! Every loader rejects malformed files with an [`Error::Format`] naming the file (and line).

pub mod cora;
pub mod matlab;
pub mod mnist;
pub mod names;
pub mod tishby;

use std::path::Path;

use ndarray::Array2;

use crate::error::{Error, Result};

/// A labelled dataset with its split. Rows of `inputs` are samples in a fixed order.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Short name (`tishby`, `mnist`, `names`, `cora`).
    pub name: String,
    /// Where the data came from and how it was prepared, one line.
    pub description: String,
    /// N x D inputs, each sample flattened row-major from `input_shape`.
    pub inputs: Array2<f32>,
    /// Per-sample input shape (`[12]`, `[1, 28, 28]`, `[12, 57]`, `[1433]`).
    pub input_shape: Vec<usize>,
    /// Class index per sample.
    pub labels: Vec<u32>,
    /// Class names.
    pub classes: Vec<String>,
    /// A stable identifier per sample (index in the source files, or Cora's paper id).
    pub sample_ids: Vec<u64>,
    /// Row indices of the training samples.
    pub train: Vec<usize>,
    /// Row indices of the validation samples.
    pub validation: Vec<usize>,
    /// The graph over the samples (Cora only).
    pub graph: Option<Graph>,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of input features D.
    pub fn input_width(&self) -> usize {
        self.inputs.ncols()
    }

    /// Row indices of the analysis set `which`.
    pub fn analysis_rows(&self, which: AnalysisSplit) -> Vec<usize> {
        match which {
            AnalysisSplit::Train => self.train.clone(),
            AnalysisSplit::Validation => self.validation.clone(),
            AnalysisSplit::All => (0..self.len()).collect(),
        }
    }
}

/// Which samples are recorded (the analysis set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisSplit {
    /// The training samples.
    Train,
    /// The validation samples.
    Validation,
    /// Every sample of the dataset.
    All,
}

impl std::str::FromStr for AnalysisSplit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "train" => Ok(Self::Train),
            "validation" | "val" => Ok(Self::Validation),
            "all" => Ok(Self::All),
            other => Err(Error::Invalid(format!(
                "unknown analysis set '{other}' (expected train, validation or all)"
            ))),
        }
    }
}

impl std::fmt::Display for AnalysisSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Train => "train",
            Self::Validation => "validation",
            Self::All => "all",
        })
    }
}

/// A sparse symmetric matrix over the samples in coordinate form (the GCN's normalised
/// adjacency D^-1/2 (A + I) D^-1/2).
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Number of nodes (= samples).
    pub n: usize,
    /// Row index of each stored entry.
    pub rows: Vec<u32>,
    /// Column index of each stored entry.
    pub cols: Vec<u32>,
    /// Value of each stored entry.
    pub values: Vec<f32>,
    /// Number of distinct undirected edges, self-loops not counted.
    pub undirected_edges: usize,
}

impl Graph {
    /// The symmetric normalisation D^-1/2 (A + I) D^-1/2 of an undirected graph given by its
    /// distinct edges {i, j}, i ≠ j (Kipf & Welling 2017, eq. 2).
    pub fn normalized_adjacency(n: usize, edges: &[(u32, u32)]) -> Graph {
        let mut degree = vec![1.0f64; n]; // the self-loop
        for &(a, b) in edges {
            degree[a as usize] += 1.0;
            degree[b as usize] += 1.0;
        }
        let inv_sqrt: Vec<f64> = degree.iter().map(|d| 1.0 / d.sqrt()).collect();
        let mut rows = Vec::with_capacity(n + 2 * edges.len());
        let mut cols = Vec::with_capacity(n + 2 * edges.len());
        let mut values = Vec::with_capacity(n + 2 * edges.len());
        for (i, s) in inv_sqrt.iter().enumerate() {
            rows.push(i as u32);
            cols.push(i as u32);
            values.push((s * s) as f32);
        }
        for &(a, b) in edges {
            let v = (inv_sqrt[a as usize] * inv_sqrt[b as usize]) as f32;
            rows.extend([a, b]);
            cols.extend([b, a]);
            values.extend([v, v]);
        }
        Graph {
            n,
            rows,
            cols,
            values,
            undirected_edges: edges.len(),
        }
    }
}

/// The largest dataset file read (MNIST's training images are 47 MB).
const MAX_FILE_BYTES: u64 = 4 << 30;

/// Reads a dataset file whole: a regular file (never a FIFO) of bounded size.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    crate::util::fsutil::read_regular(path, MAX_FILE_BYTES)
}

/// [`read_file`] as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    String::from_utf8(read_file(path)?)
        .map_err(|e| Error::format(path, format!("not UTF-8 text: {e}")))
}
