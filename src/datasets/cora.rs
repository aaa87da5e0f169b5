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
use crate::rng::{random_split, SplitMix64};

/// Training nodes per class in the standard split.
pub const TRAIN_PER_CLASS: usize = 20;
/// Validation nodes in the standard split.
pub const VALIDATION_NODES: usize = 1000;

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
    let cites = dir.join("cora.cites");
    let text = crate::datasets::read_text(&content)?;
    let mut ids = Vec::new();
    let mut rows: Vec<Vec<f32>> = Vec::new();
    let mut class_names = Vec::new();
    let mut width = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let at = |m: String| Error::format(&content, format!("line {}: {m}", i + 1));
        if fields.len() < 3 {
            return Err(at(format!(
                "{} tab-separated fields, expected id, features, class",
                fields.len()
            )));
        }
        let d = fields.len() - 2;
        match width {
            None => width = Some(d),
            Some(w) if w != d => return Err(at(format!("{d} features, earlier lines have {w}"))),
            _ => {}
        }
        let id: u64 = fields[0]
            .trim()
            .parse()
            .map_err(|_| at(format!("paper id '{}' is not an integer", fields[0])))?;
        let mut row = Vec::with_capacity(d);
        for (k, f) in fields[1..=d].iter().enumerate() {
            row.push(match f.trim() {
                "0" => 0.0,
                "1" => 1.0,
                other => {
                    return Err(at(format!(
                        "feature {} is '{other}', expected 0 or 1",
                        k + 1
                    )))
                }
            });
        }
        ids.push(id);
        rows.push(row);
        class_names.push(fields[d + 1].trim().to_string());
    }
    let (Some(d), false) = (width, ids.is_empty()) else {
        return Err(Error::format(&content, "no nodes"));
    };
    let mut index = HashMap::with_capacity(ids.len());
    for (row, &id) in ids.iter().enumerate() {
        if index.insert(id, row as u32).is_some() {
            return Err(Error::format(
                &content,
                format!("paper id {id} appears twice"),
            ));
        }
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
    let n = ids.len();
    let mut inputs = Array2::<f32>::zeros((n, d));
    for (r, row) in rows.iter().enumerate() {
        let s: f32 = row.iter().sum();
        let scale = if s > 0.0 { 1.0 / s } else { 0.0 };
        for (dst, v) in inputs.row_mut(r).iter_mut().zip(row) {
            *dst = v * scale;
        }
    }

    let text = crate::datasets::read_text(&cites)?;
    let mut edges = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: String| Error::format(&cites, format!("line {}: {m}", i + 1));
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
    let edges: Vec<(u32, u32)> = edges.into_iter().collect();
    let graph = Graph::normalized_adjacency(n, &edges);

    let (train, validation) = match split {
        CoraSplit::Random(f) => random_split(n, f, seed),
        CoraSplit::Standard | CoraSplit::Reverse => {
            let mut rng = SplitMix64::new(seed);
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            let mut per_class = vec![0usize; classes.len()];
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
                return Err(Error::format(
                    &content,
                    format!("{n} nodes: too few for the 140/1000 split"),
                ));
            }
            let mut val = rest[..VALIDATION_NODES].to_vec();
            train.sort_unstable();
            val.sort_unstable();
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
