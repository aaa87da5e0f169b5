//! What `infoplane inspect` reports about an archive: a serialisable summary and its text form.

use std::fmt::{self, Write as _};

use serde::Serialize;

use super::{Archive, Backend, EpochMetrics, LayerInfo, ParameterInfo, RunInfo};
use crate::error::Result;
use crate::labels::{class_counts, entropy_bits};

/// Everything `inspect` prints; its JSON form is the `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Archive directory as given.
    pub path: String,
    /// Backend holding the arrays.
    pub backend: Backend,
    /// Layout version.
    pub schema_version: u32,
    /// True when the writer closed the archive cleanly.
    pub complete: bool,
    /// Program that wrote it.
    pub writer: String,
    /// Run metadata.
    pub run: RunInfo,
    /// Number of samples N.
    pub n: usize,
    /// Which samples form the analysis set.
    pub analysis_set: String,
    /// Class names.
    pub classes: Vec<String>,
    /// Samples per class.
    pub class_counts: Vec<usize>,
    /// Entropy of the empirical label distribution, in bits.
    pub h_y_bits: f64,
    /// log2 N, the ceiling of every I(X;Z) estimate on N samples, in bits.
    pub log2_n: f64,
    /// The first label set's name, when the archive has further ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_name: Option<String>,
    /// Further label sets: name, classes and H(Y) in bits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub label_sets: Vec<LabelSetSummary>,
    /// Per-sample input shape, when inputs are stored.
    pub input_shape: Option<Vec<usize>>,
    /// Tracked layers.
    pub layers: Vec<LayerInfo>,
    /// Parameters with gradient statistics.
    pub parameters: Vec<ParameterInfo>,
    /// Whether every batch gradient is stored.
    pub batch_gradients: Option<u32>,
    /// Number of planned epochs.
    pub planned_epochs: usize,
    /// Committed epochs.
    pub epochs: Vec<u32>,
    /// Committed epochs with activations.
    pub activation_epochs: Vec<u32>,
    /// Planned epochs not committed.
    pub missing_epochs: Vec<u32>,
    /// Metrics of every committed epoch.
    pub metrics: Vec<MetricsRow>,
    /// Bytes allocated on disk.
    pub size_bytes: u64,
}

/// A further label set of the archive.
#[derive(Debug, Clone, Serialize)]
pub struct LabelSetSummary {
    /// Its name.
    pub name: String,
    /// Number of classes.
    pub classes: usize,
    /// Entropy of its empirical distribution, in bits.
    pub h_y_bits: f64,
}

/// Metrics of one epoch, flattened for JSON.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsRow {
    /// Epoch number.
    pub epoch: u32,
    /// The metrics.
    #[serde(flatten)]
    pub metrics: EpochMetrics,
}

impl Summary {
    /// Reads what the summary needs (labels and metrics, no activations).
    pub fn of(archive: &Archive) -> Result<Self> {
        let m = archive.manifest();
        let labels = archive.labels()?;
        let counts = class_counts(&labels, m.analysis_set.classes.len());
        let metrics = archive
            .metrics()?
            .into_iter()
            .map(|(epoch, metrics)| MetricsRow { epoch, metrics })
            .collect();
        Ok(Summary {
            path: archive.dir().display().to_string(),
            backend: m.backend,
            schema_version: m.schema_version,
            complete: m.complete,
            writer: m.writer.clone(),
            run: m.run.clone(),
            n: m.analysis_set.n,
            analysis_set: m.analysis_set.description.clone(),
            classes: m.analysis_set.classes.clone(),
            h_y_bits: entropy_bits(&counts),
            class_counts: counts,
            log2_n: (m.analysis_set.n as f64).log2(),
            label_name: (!m.analysis_set.label_sets.is_empty())
                .then(|| m.analysis_set.label_name().to_string()),
            label_sets: (archive.label_sets()?.into_iter())
                .map(|s| LabelSetSummary {
                    h_y_bits: entropy_bits(&class_counts(&s.labels, s.classes)),
                    name: s.name,
                    classes: s.classes,
                })
                .collect(),
            input_shape: m.analysis_set.input_shape.clone(),
            layers: m.layers.clone(),
            parameters: m.parameters.clone(),
            batch_gradients: m.batch_gradients,
            planned_epochs: m.epochs.len(),
            epochs: archive.epochs(),
            activation_epochs: archive.activation_epochs(),
            missing_epochs: archive.missing_epochs(),
            metrics,
            size_bytes: crate::util::fsutil::disk_usage(archive.dir()).0,
        })
    }

    /// One word for the archive's state: `complete`, `complete (stopped early)` or `INCOMPLETE`.
    pub fn status(&self) -> String {
        match (self.complete, self.missing_epochs.is_empty()) {
            (true, true) => "complete".into(),
            (true, false) => format!(
                "complete (stopped early: {} of {} planned epochs)",
                self.epochs.len(),
                self.planned_epochs
            ),
            (false, _) => format!(
                "INCOMPLETE (writer did not finish; {} of {} planned epochs committed)",
                self.epochs.len(),
                self.planned_epochs
            ),
        }
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.4}"))
}

/// Human-readable size (KiB, MiB, GiB).
pub(crate) fn format_bytes(b: u64) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0))
    }
}

impl Summary {
    /// The run, hyper-parameter and notes lines.
    fn write_run(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut run = format!(
            "{} (model {}, dataset {}",
            self.run.name, self.run.model, self.run.dataset
        );
        if let Some(seed) = self.run.seed {
            let _ = write!(run, ", seed {seed}");
        }
        run.push(')');
        writeln!(f, "run          {run}")?;
        if !self.run.hyperparameters.is_empty() {
            let hp: Vec<String> = self
                .run
                .hyperparameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            writeln!(f, "hyperparams  {}", hp.join(" "))?;
        }
        if !self.run.notes.is_empty() {
            writeln!(f, "notes        {}", self.run.notes.replace('\n', " "))?;
        }
        Ok(())
    }

    /// The samples, classes, inputs and layers.
    fn write_data(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = if self.analysis_set.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.analysis_set)
        };
        writeln!(
            f,
            "samples      N = {}{set}, log2 N = {:.4} bits",
            self.n, self.log2_n
        )?;
        let classes: Vec<String> = self
            .classes
            .iter()
            .zip(&self.class_counts)
            .map(|(c, n)| format!("{c}:{n}"))
            .collect();
        writeln!(
            f,
            "classes      {} classes, H(Y) = {:.4} bits [{}]",
            self.classes.len(),
            self.h_y_bits,
            classes.join(" ")
        )?;
        if let Some(first) = &self.label_name {
            let more: Vec<String> = (self.label_sets.iter())
                .map(|s| {
                    format!(
                        "{} ({} classes, H = {:.4} bits)",
                        s.name, s.classes, s.h_y_bits
                    )
                })
                .collect();
            writeln!(
                f,
                "label sets   {first} (the classes above), {}",
                more.join(", ")
            )?;
        }
        match &self.input_shape {
            Some(s) => writeln!(f, "inputs       stored, shape per sample {s:?}")?,
            None => writeln!(f, "inputs       not stored")?,
        }
        writeln!(f, "layers       {}", self.layers.len())?;
        for (i, l) in self.layers.iter().enumerate() {
            let shape = l
                .shape
                .as_ref()
                .map(|s| format!(" shape {s:?}"))
                .unwrap_or_default();
            writeln!(
                f,
                "  {i:>3}  {:<16} {:<9} {:<8} width {}{shape}",
                l.name,
                l.kind.to_string(),
                l.activation.as_deref().unwrap_or("-"),
                l.width
            )?;
        }
        Ok(())
    }

    /// The epochs, activations and gradient statistics.
    fn write_epochs(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "epochs       {} committed of {} planned: {}",
            self.epochs.len(),
            self.planned_epochs,
            format_epoch_ranges(&self.epochs)
        )?;
        writeln!(
            f,
            "activations  at {} epochs: {}",
            self.activation_epochs.len(),
            format_epoch_ranges(&self.activation_epochs)
        )?;
        if !self.missing_epochs.is_empty() {
            writeln!(
                f,
                "missing      {}",
                format_epoch_ranges(&self.missing_epochs)
            )?;
        }
        let grads = match (self.parameters.len(), self.batch_gradients) {
            (0, _) => "none".to_string(),
            (p, None) => format!("{p} parameter tensors (mean, std, value per epoch)"),
            (p, Some(b)) => {
                format!("{p} parameter tensors, with every batch gradient (up to {b} per epoch)")
            }
        };
        writeln!(f, "gradients    {grads}")
    }

    /// The last epoch's metrics and the best validation accuracy.
    fn write_metrics(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let measured: Vec<&MetricsRow> = self
            .metrics
            .iter()
            .filter(|r| r.metrics.to_array().iter().any(Option::is_some))
            .collect();
        let Some(last) = measured.last() else {
            return writeln!(f, "metrics      none recorded");
        };
        let m = &last.metrics;
        writeln!(
            f,
            "metrics      last (epoch {}): train loss {} acc {} | validation loss {} acc {} | {} s",
            last.epoch,
            fmt_opt(m.train_loss),
            fmt_opt(m.train_accuracy),
            fmt_opt(m.validation_loss),
            fmt_opt(m.validation_accuracy),
            fmt_opt(m.wall_time_s)
        )?;
        let best = measured
            .iter()
            .filter_map(|r| r.metrics.validation_accuracy.map(|a| (r.epoch, a)))
            .fold(None, |b: Option<(u32, f64)>, x| match b {
                Some(b) if b.1 >= x.1 => Some(b),
                _ => Some(x),
            });
        if let Some((e, a)) = best {
            writeln!(
                f,
                "             best validation accuracy {a:.4} at epoch {e}"
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "archive      {}", self.path)?;
        writeln!(
            f,
            "format       {} (schema {}), written by {}",
            self.backend, self.schema_version, self.writer
        )?;
        writeln!(f, "status       {}", self.status())?;
        self.write_run(f)?;
        self.write_data(f)?;
        self.write_epochs(f)?;
        self.write_metrics(f)?;
        writeln!(f, "size         {} on disk", format_bytes(self.size_bytes))
    }
}

/// Formats sorted epochs compactly: `0-10, 12, 20-30` (`none` when empty).
pub(crate) fn format_epoch_ranges(epochs: &[u32]) -> String {
    if epochs.is_empty() {
        return "none".into();
    }
    let mut parts = Vec::new();
    let mut start = epochs[0];
    let mut prev = epochs[0];
    for &e in &epochs[1..] {
        if e == prev + 1 {
            prev = e;
            continue;
        }
        parts.push(range(start, prev));
        start = e;
        prev = e;
    }
    parts.push(range(start, prev));
    parts.join(", ")
}

fn range(a: u32, b: u32) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_ranges_are_compact() {
        assert_eq!(format_epoch_ranges(&[]), "none");
        assert_eq!(format_epoch_ranges(&[3]), "3");
        assert_eq!(format_epoch_ranges(&[0, 1, 2, 4, 6, 7]), "0-2, 4, 6-7");
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(2048), "2.0 KiB");
        assert_eq!(format_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
