//! Import of NumPy arrays (from any framework) into an archive, and export back to `.npy`.
//!
//! Activations come as one `.npy` (one layer) or an `.npz` (one key per layer). Each array is
//! N x H (one epoch, numbered 0), E x N x H (epochs 0..E-1), or of higher rank, in which case
//! the per-sample map is flattened in row-major order and its shape kept in the manifest.
//! The rank-3 case E x N x H is told apart from a single-epoch N x A x B map by which axis has
//! N entries (N = number of labels); when both do, the array is read as E x N x H.

use crate::util::fsutil;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::numpy::{self, NpyArray};
use crate::archive::{
    AnalysisSet, ArchiveSpec, ArchiveWriter, Backend, EpochRecord, LayerInfo, LayerKind, Overwrite,
    PlannedEpoch, Publish, RunInfo,
};
use crate::error::{Error, Result};

/// What `infoplane import` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `.npy` or `.npz` file of activations.
    pub activations: PathBuf,
    /// Layer name for a single `.npy` (defaults to the file stem).
    pub layer: Option<String>,
    /// Which `.npz` keys to import, in this order (defaults to all, in file order).
    pub layers: Option<Vec<String>>,
    /// Kind of each imported layer, in order (defaults to `unknown`).
    pub kinds: Option<Vec<LayerKind>>,
    /// `.npy` of integer class ids, length N.
    pub labels: PathBuf,
    /// The name of `labels` (default [`super::DEFAULT_LABEL_NAME`]).
    pub label_name: Option<String>,
    /// Further named label sets of the same samples: (name, `.npy` of length N).
    pub label_sets: Vec<(String, PathBuf)>,
    /// Optional `.npy` of inputs, N x ... (any numeric dtype; stored as f32).
    pub inputs: Option<PathBuf>,
    /// Class names (defaults to `0`, `1`, ...).
    pub classes: Option<Vec<String>>,
    /// Backend of the new archive.
    pub backend: Backend,
    /// Output directory.
    pub out: PathBuf,
    /// Replace an existing archive at `out`.
    pub overwrite: Overwrite,
    /// Accept NaN and infinite activations and inputs.
    pub allow_nonfinite: bool,
    /// Run metadata to record.
    pub run: RunInfo,
}

/// What an import did, for the CLI to report.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The archive written.
    pub out: PathBuf,
    /// Number of samples.
    pub n: usize,
    /// Number of epochs.
    pub epochs: usize,
    /// Layers with their widths.
    pub layers: Vec<(String, usize)>,
    /// Sources that were float64 and rounded to float32.
    pub rounded: Vec<String>,
    /// Number of non-finite activation and input values accepted with `allow_nonfinite`.
    pub nonfinite: usize,
}

struct LayerData {
    name: String,
    epochs: usize,
    width: usize,
    shape: Option<Vec<usize>>,
    values: Vec<f32>,
}

/// Interprets one activations array against N, as the module documentation says.
fn layer_from_array(name: String, a: NpyArray, n: usize) -> Result<(LayerData, bool)> {
    let s = &a.shape;
    let (epochs, map): (usize, &[usize]) = match s.len() {
        0 | 1 => {
            return Err(Error::format(
                &a.source,
                format!(
                    "expected an N x H or E x N x H array, got shape {s:?} (rank {})",
                    s.len()
                ),
            ))
        }
        2 => {
            if s[0] != n {
                return Err(Error::format(
                    &a.source,
                    format!("has {} rows but there are N = {n} labels", s[0]),
                ));
            }
            (1, &s[1..])
        }
        _ => {
            if s[1] == n {
                (s[0], &s[2..])
            } else if s[0] == n {
                (1, &s[1..])
            } else {
                return Err(Error::format(
                    &a.source,
                    format!(
                        "shape {s:?}: neither axis 0 (samples) nor axis 1 (E x N x ...) has N = {n} entries, the number of labels"
                    ),
                ));
            }
        }
    };
    let width: usize = map.iter().product();
    if width == 0 || epochs == 0 {
        return Err(Error::format(
            &a.source,
            format!("shape {s:?} holds no values"),
        ));
    }
    let shape = (map.len() > 1).then(|| map.to_vec());
    let (values, rounded) = a.into_f32("activations")?;
    Ok((
        LayerData {
            name,
            epochs,
            width,
            shape,
            values,
        },
        rounded,
    ))
}

/// Counts NaN and infinite values and describes the first one.
fn check_finite(src: &str, l: &LayerData, n: usize, allow: bool) -> Result<usize> {
    let mut nan = 0usize;
    let mut inf = 0usize;
    let mut first = None;
    for (i, v) in l.values.iter().enumerate() {
        if !v.is_finite() {
            if v.is_nan() {
                nan += 1;
            } else {
                inf += 1;
            }
            first.get_or_insert(i);
        }
    }
    let Some(first) = first else { return Ok(0) };
    if allow {
        return Ok(nan + inf);
    }
    let per_epoch = n * l.width;
    let (e, rest) = (first / per_epoch, first % per_epoch);
    Err(Error::format(
        src,
        format!(
            "{} non-finite values ({nan} NaN, {inf} infinite), the first at epoch {e}, sample {}, unit {}; pass --allow-nonfinite to import anyway",
            nan + inf,
            rest / l.width,
            rest % l.width
        ),
    ))
}

/// Refuses layer names that are empty or hold control characters (they would reach
/// terminals as escape sequences, and HDF5 cannot store NUL); `src` is where they came from.
fn check_layer_names(src: &Path, arrays: &[(String, NpyArray)]) -> Result<()> {
    for (name, _) in arrays {
        if name.is_empty() {
            return Err(Error::format(src, "holds an array with an empty name"));
        }
        if let Some(c) = crate::util::text::first_control(name) {
            return Err(Error::format(
                src,
                format!(
                    "layer name '{}' holds the control character {c:?}; rename the array (or pass --layer)",
                    crate::util::text::escape_controls(name)
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that no input file of the import lies inside the output directory (replacing the
/// output would delete it).
fn check_inputs_outside(opts: &ImportOptions) -> Result<()> {
    let inputs = [
        Some(&opts.activations),
        Some(&opts.labels),
        opts.inputs.as_ref(),
    ];
    for p in inputs.into_iter().flatten() {
        if fsutil::is_within(p, &opts.out) {
            return Err(Error::request(
                &opts.out,
                format!(
                    "holds the input {}; replacing it would delete the input, choose another output",
                    p.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Reads the NumPy files, checks them, and writes a new archive (all or nothing).
pub fn import_numpy(opts: &ImportOptions) -> Result<ImportReport> {
    check_inputs_outside(opts)?;
    let (labels, classes) = read_labels(opts)?;
    let n = labels.len();
    let mut notes = Notes::default();
    let mut layers = read_layers(opts, n, &mut notes)?;
    let epochs = layers[0].epochs;
    let (inputs, input_shape) = match &opts.inputs {
        None => (None, None),
        Some(p) => {
            let (x, shape) = read_inputs(p, n, opts.allow_nonfinite, &mut notes)?;
            (Some(x), Some(shape))
        }
    };
    let spec = ArchiveSpec {
        run: RunInfo {
            model: or_unknown(&opts.run.model),
            dataset: or_unknown(&opts.run.dataset),
            ..opts.run.clone()
        },
        classes,
        input_shape,
        analysis_description: "imported".into(),
        layers: layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerInfo {
                name: l.name.clone(),
                kind: opts.kinds.as_ref().map_or(LayerKind::Unknown, |k| k[i]),
                width: l.width,
                shape: l.shape.clone(),
                activation: None,
            })
            .collect(),
        parameters: Vec::new(),
        batch_gradients: None,
        epochs: (0..epochs as u32)
            .map(|epoch| PlannedEpoch {
                epoch,
                activations: true,
            })
            .collect(),
    };
    let set = AnalysisSet {
        sample_ids: (0..n as u64).collect(),
        labels,
        label_name: opts.label_name.clone(),
        label_sets: read_label_sets(opts, n)?,
        inputs,
    };
    let out = write_archive(opts, spec, &set, &mut layers)?;
    Ok(ImportReport {
        out,
        n,
        epochs,
        layers: layers.iter().map(|l| (l.name.clone(), l.width)).collect(),
        rounded: notes.rounded,
        nonfinite: notes.nonfinite,
    })
}

/// What an import tells its caller besides the archive.
#[derive(Default)]
struct Notes {
    rounded: Vec<String>,
    nonfinite: usize,
}

/// The labels as class indices, and the class names (given, or `0`, `1`, ...).
fn read_labels(opts: &ImportOptions) -> Result<(Vec<u32>, Vec<String>)> {
    let labels_arr = numpy::read_npy(&opts.labels)?;
    let n = match labels_arr.shape.as_slice() {
        [n] | [n, 1] => *n,
        s => {
            return Err(Error::format(
                &opts.labels,
                format!("labels must be a 1-D array of length N, got shape {s:?}"),
            ))
        }
    };
    if n == 0 {
        return Err(Error::format(&opts.labels, "holds no labels"));
    }
    let labels = labels_arr.class_indices()?;
    let n_classes = crate::labels::classes_in(&labels);
    let classes = match &opts.classes {
        Some(c) if c.len() < n_classes => {
            return Err(Error::format(
                &opts.labels,
                format!(
                    "labels go up to {} but only {} class names were given",
                    n_classes - 1,
                    c.len()
                ),
            ))
        }
        Some(c) => c.clone(),
        None => (0..n_classes).map(|c| c.to_string()).collect(),
    };
    Ok((labels, classes))
}

/// The further label sets, each checked for N labels (its classes: 1 + its largest label).
fn read_label_sets(opts: &ImportOptions, n: usize) -> Result<Vec<super::LabelSet>> {
    let mut sets = Vec::new();
    for (name, path) in &opts.label_sets {
        let arr = numpy::read_npy(path)?;
        if !matches!(arr.shape.as_slice(), [m] | [m, 1] if *m == n) {
            return Err(Error::format(
                path,
                format!(
                    "label set '{name}' must be a 1-D array of N = {n} labels, got shape {:?}",
                    arr.shape
                ),
            ));
        }
        let labels = arr.class_indices()?;
        let classes = crate::labels::classes_in(&labels).max(1);
        sets.push(super::LabelSet {
            name: name.clone(),
            classes,
            labels,
        });
    }
    Ok(sets)
}

/// The activation arrays, by name, in the order asked for (`--layers`) or the file's.
fn read_arrays(opts: &ImportOptions) -> Result<Vec<(String, NpyArray)>> {
    let mut arrays: Vec<(String, NpyArray)> = if is_npz(&opts.activations) {
        if opts.layer.is_some() {
            return Err(Error::Invalid(
                "--layer names the layer of a single .npy; use --layers to pick .npz keys".into(),
            ));
        }
        numpy::read_npz(&opts.activations)?
    } else {
        let name = opts.layer.clone().unwrap_or_else(|| {
            opts.activations
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "layer".into())
        });
        vec![(name, numpy::read_npy(&opts.activations)?)]
    };
    let Some(order) = &opts.layers else {
        return Ok(arrays);
    };
    let mut picked = Vec::with_capacity(order.len());
    for want in order {
        let pos = arrays.iter().position(|(k, _)| k == want).ok_or_else(|| {
            let keys: Vec<&str> = arrays.iter().map(|(k, _)| k.as_str()).collect();
            Error::format(
                &opts.activations,
                format!("has no array '{want}' (keys: {})", keys.join(", ")),
            )
        })?;
        picked.push(arrays.remove(pos));
    }
    Ok(picked)
}

/// The layers, checked against N, each other and the flags.
fn read_layers(opts: &ImportOptions, n: usize, notes: &mut Notes) -> Result<Vec<LayerData>> {
    let arrays = read_arrays(opts)?;
    check_layer_names(&opts.activations, &arrays)?;
    if let Some(kinds) = opts.kinds.as_ref().filter(|k| k.len() != arrays.len()) {
        return Err(Error::Invalid(format!(
            "{} layer kinds given for {} layers",
            kinds.len(),
            arrays.len()
        )));
    }
    let mut layers = Vec::with_capacity(arrays.len());
    for (name, a) in arrays {
        let src = a.source.display().to_string();
        let (l, was_rounded) = layer_from_array(name, a, n)?;
        if was_rounded {
            notes.rounded.push(src.clone());
        }
        notes.nonfinite += check_finite(&src, &l, n, opts.allow_nonfinite)?;
        layers.push(l);
    }
    let epochs = layers[0].epochs;
    if let Some(l) = layers.iter().find(|l| l.epochs != epochs) {
        return Err(Error::format(
            &opts.activations,
            format!(
                "layer '{}' has {} epochs but layer '{}' has {epochs}",
                l.name, l.epochs, layers[0].name
            ),
        ));
    }
    Ok(layers)
}

/// The inputs X (N x D, flattened per sample) and their per-sample shape.
fn read_inputs(
    p: &Path,
    n: usize,
    allow_nonfinite: bool,
    notes: &mut Notes,
) -> Result<(Array2<f32>, Vec<usize>)> {
    let a = numpy::read_npy(p)?;
    if a.shape.len() < 2 || a.shape[0] != n {
        return Err(Error::format(
            p,
            format!(
                "inputs must be N x ... with N = {n}, got shape {:?}",
                a.shape
            ),
        ));
    }
    let shape = a.shape.clone();
    let (values, was_rounded) = a.into_f32_any();
    if was_rounded {
        notes.rounded.push(p.display().to_string());
    }
    let d: usize = shape[1..].iter().product();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let count = values.iter().filter(|v| !v.is_finite()).count();
        if !allow_nonfinite {
            return Err(Error::format(
                p,
                format!(
                    "{count} non-finite input values, the first at sample {}; pass --allow-nonfinite to import anyway",
                    i / d.max(1)
                ),
            ));
        }
        notes.nonfinite += count;
    }
    let x = Array2::from_shape_vec((n, d), values).map_err(|e| Error::format(p, e.to_string()))?;
    Ok((x, shape[1..].to_vec()))
}

/// Writes the archive, one epoch's copy at a time (a single epoch is moved, not copied: peak
/// memory about the size of the arrays read).
fn write_archive(
    opts: &ImportOptions,
    spec: ArchiveSpec,
    set: &AnalysisSet,
    layers: &mut [LayerData],
) -> Result<PathBuf> {
    let n = set.labels.len();
    let epochs = layers[0].epochs;
    let mut w = ArchiveWriter::create(
        &opts.out,
        opts.backend,
        spec,
        set,
        opts.overwrite,
        Publish::OnFinish,
    )?;
    for e in 0..epochs {
        let activations = layers
            .iter_mut()
            .map(|l| {
                let per = n * l.width;
                let values = if epochs == 1 {
                    std::mem::take(&mut l.values)
                } else {
                    l.values[e * per..(e + 1) * per].to_vec()
                };
                Array2::from_shape_vec((n, l.width), values)
                    .map_err(|err| Error::Invalid(err.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        w.commit_epoch(&EpochRecord {
            epoch: e as u32,
            activations,
            ..Default::default()
        })?;
    }
    w.finish()
}

fn or_unknown(s: &str) -> String {
    if s.is_empty() {
        "unknown".into()
    } else {
        s.to_string()
    }
}

/// Which arrays `export` writes; each `Some` is an output path.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// Layer and epoch to export, with the output `.npy`.
    pub activations: Option<(String, u32, PathBuf)>,
    /// Output `.npy` for the labels (int64).
    pub labels: Option<PathBuf>,
    /// Output `.npy` for the inputs (float32, N x D, or the stored per-sample shape).
    pub inputs: Option<PathBuf>,
}

/// Writes the requested arrays of `archive` as `.npy` files; returns the paths written.
///
/// Activations come out as float32 N x H (feature maps stay flattened); labels as int64.
pub fn export_numpy(
    archive: &crate::archive::Archive,
    req: &ExportRequest,
) -> Result<Vec<PathBuf>> {
    let outputs: Vec<&Path> = [
        req.activations.as_ref().map(|a| a.2.as_path()),
        req.labels.as_deref(),
        req.inputs.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    for out in &outputs {
        fsutil::refuse_output_inside(out, archive.dir())?;
    }
    fsutil::refuse_same_outputs(&outputs)?;
    // Read everything first so that a bad request writes nothing.
    let act = match &req.activations {
        Some((layer, epoch, out)) => Some((archive.activations(layer, *epoch)?, out)),
        None => None,
    };
    let labels = match &req.labels {
        Some(out) => Some((archive.labels()?, out)),
        None => None,
    };
    let inputs = match &req.inputs {
        Some(out) => match archive.inputs()? {
            Some(x) => Some((x, out)),
            None => {
                return Err(Error::request(
                    archive.dir(),
                    "the archive stores no inputs",
                ));
            }
        },
        None => None,
    };
    let mut written = Vec::new();
    if let Some((z, out)) = act {
        let z = z.as_standard_layout();
        numpy::write_npy_f32(
            out,
            &[z.nrows(), z.ncols()],
            z.as_slice().unwrap_or_default(),
        )?;
        written.push(out.clone());
    }
    if let Some((y, out)) = labels {
        let y: Vec<i64> = y.into_iter().map(i64::from).collect();
        numpy::write_npy_i64(out, &[y.len()], &y)?;
        written.push(out.clone());
    }
    if let Some((x, out)) = inputs {
        let mut shape = vec![x.nrows()];
        match &archive.manifest().analysis_set.input_shape {
            Some(s) => shape.extend(s),
            None => shape.push(x.ncols()),
        }
        let x = x.as_standard_layout();
        numpy::write_npy_f32(out, &shape, x.as_slice().unwrap_or_default())?;
        written.push(out.clone());
    }
    Ok(written)
}

/// Helper for callers that hold a path: is this file an `.npz`?
pub(crate) fn is_npz(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
}
