//! Cora (LINQS form): `cora.content` (paper id, 1433 binary word features, class; tab-separated)
//! and `cora.cites` (cited id, citing id), with the citation graph made undirected, self-loops
//! added and normalised symmetrically, D^-1/2 (A + I) D^-1/2 (Kipf & Welling 2017).
//!
//! Nodes keep the order of `cora.content`; classes are sorted by name; sample ids are paper ids.
//! Features are row-normalised to sum 1 (as PyTorch Geometric's `NormalizeFeatures`, which the
//! thesis code used). Splits ([`CoraSplit`]): `standard` = 20 training nodes per class (140) and
//! 1000 validation nodes from the rest, chosen at random with the seed (the Planetoid sizes; the
//! Planetoid node choice itself lives in pickles, see `../shared/datasets/cora_planetoid`);
//! `reverse` swaps the two; `random:F` trains on a random fraction F and validates on the rest.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use ndarray::Array2;

use super::{Dataset, Graph};
use crate::error::{Error, Result};
use crate::util::rng::{random_split, SplitMix64};

/// Training nodes per class in the standard split.
pub(crate) const TRAIN_PER_CLASS: usize = 20;
/// Validation nodes in the standard split.
pub(crate) const VALIDATION_NODES: usize = 1000;

/// How Cora's nodes are split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CoraSplit {
    /// 140 training nodes (20 per class) and 1000 validation nodes.
    Standard,
    /// The standard split reversed: 1000 training, 140 validation nodes.
    Reverse,
    /// A random fraction of the nodes for training, the rest for validation.
    Random(f64),
}

impl std::str::FromStr for CoraSplit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "standard" | "140/1000" => Ok(Self::Standard),
            "reverse" | "1000/140" => Ok(Self::Reverse),
            _ => {
                let bad = || {
                    Error::Invalid(format!(
                        "unknown split '{s}' (expected standard (140/1000), reverse (1000/140) or random:F with 0 < F < 1)"
                    ))
                };
                let f: f64 = s
                    .strip_prefix("random:")
                    .ok_or_else(bad)?
                    .parse()
                    .map_err(|_| bad())?;
                if f > 0.0 && f < 1.0 {
                    Ok(Self::Random(f))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

/// Loads `cora.content` and `cora.cites` from `dir`.
pub fn load(dir: &Path, split: CoraSplit, seed: u64) -> Result<Dataset> {
    let content = dir.join("cora.content");
    let nodes = read_content(&content)?;
    let (ids, inputs, labels, classes) = nodes;
    let (n, d) = inputs.dim();
    let edges = read_cites(&dir.join("cora.cites"), &ids)?;
    let graph = Graph::normalized_adjacency(n, &edges);
    let (train, validation) = match split {
        CoraSplit::Random(f) => random_split(n, f, seed),
        CoraSplit::Standard | CoraSplit::Reverse => {
            let (train, val) = planetoid_split(&labels, classes.len(), seed).ok_or_else(|| {
                Error::format(
                    &content,
                    format!("{n} nodes: too few for the 140/1000 split"),
                )
            })?;
            if split == CoraSplit::Reverse {
                (val, train)
            } else {
                (train, val)
            }
        }
    };
    Ok(Dataset {
        name: "cora".into(),
        description: format!(
            "Cora (LINQS) from {}: {n} nodes, {d} features (row-normalised), {} undirected edges, {} train / {} validation",
            dir.display(),
            edges.len(),
            train.len(),
            validation.len()
        ),
        inputs,
        input_shape: vec![d],
        labels,
        classes,
        sample_ids: ids,
        train,
        validation,
        graph: Some(graph),
    })
}

/// The nodes of `cora.content`: paper ids, row-normalised features, labels and class names
/// (sorted).
type Nodes = (Vec<u64>, Array2<f32>, Vec<u32>, Vec<String>);

/// One line of `cora.content`: id, 0/1 features, class.
fn content_line(
    line: &str,
    width: Option<usize>,
) -> std::result::Result<(u64, Vec<f32>, String), String> {
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() < 3 {
        return Err(format!(
            "{} tab-separated fields, expected id, features, class",
            fields.len()
        ));
    }
    let d = fields.len() - 2;
    if let Some(w) = width.filter(|&w| w != d) {
        return Err(format!("{d} features, earlier lines have {w}"));
    }
    let id: u64 = fields[0]
        .trim()
        .parse()
        .map_err(|_| format!("paper id '{}' is not an integer", fields[0]))?;
    let row = fields[1..=d]
        .iter()
        .enumerate()
        .map(|(k, f)| match f.trim() {
            "0" => Ok(0.0),
            "1" => Ok(1.0),
            other => Err(format!("feature {} is '{other}', expected 0 or 1", k + 1)),
        })
        .collect::<std::result::Result<Vec<f32>, String>>()?;
    Ok((id, row, fields[d + 1].trim().to_string()))
}

fn read_content(content: &Path) -> Result<Nodes> {
    let text = crate::datasets::read_text(content)?;
    let (mut ids, mut rows, mut class_names) = (Vec::new(), Vec::new(), Vec::new());
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (id, row, class) = content_line(line, rows.first().map(Vec::len))
            .map_err(|m| Error::format(content, format!("line {}: {m}", i + 1)))?;
        ids.push(id);
        rows.push(row);
        class_names.push(class);
    }
    let Some(d) = rows.first().map(Vec::len) else {
        return Err(Error::format(content, "no nodes"));
    };
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    if let Some(id) = ids.iter().find(|id| !seen.insert(**id)) {
        return Err(Error::format(
            content,
            format!("paper id {id} appears twice"),
        ));
    }
    let classes: Vec<String> = class_names
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let labels: Vec<u32> = class_names
        .iter()
        .map(|c| classes.iter().position(|k| k == c).unwrap_or(0) as u32)
        .collect();
    let mut inputs = Array2::<f32>::zeros((ids.len(), d));
    for (r, row) in rows.iter().enumerate() {
        let s: f32 = row.iter().sum();
        let scale = if s > 0.0 { 1.0 / s } else { 0.0 };
        for (dst, v) in inputs.row_mut(r).iter_mut().zip(row) {
            *dst = v * scale;
        }
    }
    Ok((ids, inputs, labels, classes))
}

/// The undirected citation edges of `cora.cites` between the nodes `ids` (row indices, each
/// pair once, smaller first, self-citations left out).
fn read_cites(cites: &Path, ids: &[u64]) -> Result<Vec<(u32, u32)>> {
    let index: HashMap<u64, u32> = ids
        .iter()
        .enumerate()
        .map(|(r, &id)| (id, r as u32))
        .collect();
    let text = crate::datasets::read_text(cites)?;
    let mut edges = BTreeSet::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = |m: String| Error::format(cites, format!("line {}: {m}", i + 1));
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 2 {
            return Err(at(format!(
                "{} fields, expected '<cited id> <citing id>'",
                f.len()
            )));
        }
        let mut ends = [0u32; 2];
        for (e, s) in ends.iter_mut().zip(&f) {
            let id: u64 = s
                .parse()
                .map_err(|_| at(format!("paper id '{s}' is not an integer")))?;
            *e = *index
                .get(&id)
                .ok_or_else(|| at(format!("paper id {id} is not in cora.content")))?;
        }
        if ends[0] != ends[1] {
            edges.insert((ends[0].min(ends[1]), ends[0].max(ends[1])));
        }
    }
    Ok(edges.into_iter().collect())
}

/// The Planetoid-style split: 20 nodes per class (seeded order) train, the next 1000 validate;
/// None when there are too few nodes.
fn planetoid_split(labels: &[u32], classes: usize, seed: u64) -> Option<(Vec<usize>, Vec<usize>)> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    SplitMix64::new(seed).shuffle(&mut order);
    let mut per_class = vec![0usize; classes];
    let (mut train, mut rest) = (Vec::new(), Vec::new());
    for i in order {
        let c = labels[i] as usize;
        if per_class[c] < TRAIN_PER_CLASS {
            per_class[c] += 1;
            train.push(i);
        } else {
            rest.push(i);
        }
    }
    if rest.len() < VALIDATION_NODES {
        return None;
    }
    let mut val = rest[..VALIDATION_NODES].to_vec();
    train.sort_unstable();
    val.sort_unstable();
    Some((train, val))
}
