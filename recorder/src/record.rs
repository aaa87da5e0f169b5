//! Training and recording: the epoch loop, streaming gradient statistics, metrics, activations,
//! and the background archive writer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use infoplane::archive::{
    AnalysisSet, ArchiveSpec, ArchiveWriter, Backend, EpochMetrics, EpochRecord, GradientStats,
    Overwrite, ParameterInfo, Publish, RunInfo,
};
use infoplane::datasets::{AnalysisSplit, Dataset};
use infoplane::util::rng::SplitMix64;
use ndarray::Array2;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::models::{Activation, Cell, Fcn, Gcn, LeNet, Model, Param, Rnn};
use infoplane::run::stream::SoftStream;
use infoplane::schedule::RecordEpochs;
use infoplane::table::estimates::{self, Unit};

/// The `soft` stream of `--stream soft` (the library's default parameters), the analysis
/// labels and the table it writes.
type Stream = (SoftStream, Vec<u32>, PathBuf);

fn soft_stream(cfg: &Config, writer: &ArchiveWriter, set: &AnalysisSet) -> Result<Option<Stream>> {
    let Some(path) = &cfg.stream_soft else {
        return Ok(None);
    };
    let p = infoplane::estimator::EstimatorParams::default();
    let s = SoftStream::new(writer.manifest(), &[&set.labels], p.soft, p.common)?;
    Ok(Some((s, set.labels.clone(), path.clone())))
}

/// Set by the Ctrl-C handler: finish the current epoch, then close the archive.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// Set by a second Ctrl-C: stop after the current batch, commit nothing more, and return
/// (the process then exits from the main thread, never from the handler's).
pub static QUIT: AtomicBool = AtomicBool::new(false);

/// Model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelKind {
    Fcn,
    Lenet,
    Rnn,
    Gcn,
}

/// Optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Optimizer {
    Adam,
    Sgd,
}

/// Which gradient statistics are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Grads {
    /// Per-epoch elementwise mean and std over batches, batch count and parameter values.
    Summary,
    /// The summary plus every batch's gradient.
    Full,
    /// No gradient statistics.
    None,
}

/// Everything a recording run needs, defaults already resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub model: ModelKind,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Recurrent cell (rnn).
    pub cell: Cell,
    pub epochs: u32,
    pub lr: f64,
    pub optimizer: Optimizer,
    pub weight_decay: f64,
    /// Dropout probability on layer inputs while training (FCN, GCN).
    pub dropout: f64,
    /// None = full batch (every training sample in one step).
    pub batch_size: Option<usize>,
    pub seed: u64,
    pub record: RecordEpochs,
    pub analysis: AnalysisSplit,
    pub grads: Grads,
    pub format: Backend,
    /// The run's name in tables, plots and the report (empty: the archive folder's name).
    pub name: String,
    pub out: PathBuf,
    pub device: Device,
    pub force: bool,
    pub progress: bool,
    /// Stop after the first epoch that ends this many seconds after training started.
    pub time_limit: Option<f64>,
    /// Stream the `soft` estimator at every epoch into this estimates table (the library's
    /// default parameters), whether or not the epoch stores activations.
    pub stream_soft: Option<PathBuf>,
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
}

/// How a run ended.
#[derive(Debug)]
pub enum Finished {
    /// The archive is closed and complete (possibly stopped early).
    Done(Outcome),
    /// A second Ctrl-C: `committed` epochs are on disk; when `replacing`, they were in the
    /// staging directory, which is gone, and the old archive is untouched.
    Quit { committed: usize, replacing: bool },
}

/// A libtorch error in one line (its C++ backtrace left out).
fn torch<T>(what: &str, r: std::result::Result<T, tch::TchError>) -> Result<T> {
    r.map_err(|e| {
        let text = e.to_string();
        anyhow!("{what}: {}", text.lines().next().unwrap_or_default())
    })
}

/// What a finished run reports.
#[derive(Debug)]
pub struct Outcome {
    pub archive: PathBuf,
    pub epochs_done: u32,
    pub stopped_early: bool,
    pub last: EpochMetrics,
    pub seconds: f64,
}

fn to_tensor(a: &Array2<f32>, device: Device) -> Result<Tensor> {
    let slice = a
        .as_slice()
        .ok_or_else(|| anyhow!("inputs are not contiguous"))?;
    Ok(Tensor::from_slice(slice)
        .view([a.nrows() as i64, a.ncols() as i64])
        .to_device(device))
}

fn rows_tensor(rows: &[usize], device: Device) -> Tensor {
    let r: Vec<i64> = rows.iter().map(|&i| i as i64).collect();
    Tensor::from_slice(&r).to_device(device)
}

fn build_model(
    cfg: &Config,
    data: &Dataset,
    vs: &nn::Path,
    params: &mut Vec<Param>,
) -> Result<Box<dyn Model>> {
    let classes = data.classes.len();
    let d = data.input_width();
    Ok(match cfg.model {
        ModelKind::Fcn => Box::new(Fcn::new(
            vs,
            d,
            &cfg.hidden,
            classes,
            cfg.activation,
            cfg.dropout,
            params,
        )),
        ModelKind::Lenet => {
            if data.input_shape != [1, 28, 28] {
                return Err(anyhow!(
                    "LeNet needs 1 x 28 x 28 images (MNIST); {} has inputs of shape {:?}",
                    data.name,
                    data.input_shape
                ));
            }
            Box::new(LeNet::new(vs, classes, params))
        }
        ModelKind::Rnn => {
            let [steps, features] = data.input_shape[..] else {
                return Err(anyhow!("the RNN needs sequences (T x D inputs, as the names data); {} has inputs of shape {:?}", data.name, data.input_shape));
            };
            Box::new(Rnn::new(
                vs,
                cfg.cell,
                steps,
                features,
                &cfg.hidden,
                classes,
                params,
            ))
        }
        ModelKind::Gcn => {
            let graph = data
                .graph
                .as_ref()
                .ok_or_else(|| anyhow!("the GCN needs a graph (Cora); {} has none", data.name))?;
            Box::new(Gcn::new(
                vs,
                graph,
                cfg.device,
                d,
                &cfg.hidden,
                classes,
                cfg.activation,
                cfg.dropout,
                params,
            ))
        }
    })
}

/// Rows per forward pass when evaluating or recording (bounds memory on large sets).
const EVAL_CHUNK: usize = 8192;

/// Outputs of every tracked layer for `rows`, evaluated in chunks without gradient.
fn forward_all(
    model: &dyn Model,
    x: &Tensor,
    rows: &[usize],
    device: Device,
    graph: bool,
) -> Vec<Tensor> {
    tch::no_grad(|| {
        if graph {
            return model.forward_rows(x, &rows_tensor(rows, device), false);
        }
        let mut parts: Vec<Vec<Tensor>> = Vec::new();
        for chunk in rows.chunks(EVAL_CHUNK) {
            parts.push(model.forward_rows(x, &rows_tensor(chunk, device), false));
        }
        let layers = parts.first().map_or(0, Vec::len);
        (0..layers)
            .map(|l| {
                Tensor::cat(
                    &parts
                        .iter()
                        .map(|p| p[l].shallow_clone())
                        .collect::<Vec<_>>(),
                    0,
                )
            })
            .collect()
    })
}

/// (mean cross-entropy, accuracy) of `logits` (one row per entry of `rows`) against the labels.
fn score(logits: &Tensor, y: &Tensor, rows: &[usize], device: Device) -> Option<(f64, f64)> {
    if rows.is_empty() {
        return None;
    }
    tch::no_grad(|| {
        let target = y.index_select(0, &rows_tensor(rows, device));
        let loss = logits.cross_entropy_for_logits(&target).double_value(&[]);
        let acc = logits
            .argmax(-1, false)
            .eq_tensor(&target)
            .to_kind(Kind::Double)
            .mean(Kind::Double)
            .double_value(&[]);
        Some((loss, acc))
    })
}

/// (loss, accuracy) on the training rows, the same on the validation rows, tracked outputs.
type EpochOutputs = (Option<(f64, f64)>, Option<(f64, f64)>, Vec<Tensor>);

/// Metrics on the training and validation rows, and the tracked outputs on the analysis rows
/// when `record` is set. A graph model runs once over all nodes; others run per row set.
#[allow(clippy::too_many_arguments)]
fn epoch_outputs(
    model: &dyn Model,
    x: &Tensor,
    y: &Tensor,
    data: &Dataset,
    analysis_rows: &[usize],
    record: bool,
    device: Device,
    graph: bool,
) -> EpochOutputs {
    let pick =
        |t: &Tensor, rows: &[usize]| tch::no_grad(|| t.index_select(0, &rows_tensor(rows, device)));
    let all: Vec<usize> = (0..data.len()).collect();
    if graph || (record && analysis_rows == all.as_slice()) {
        // One pass over every sample gives the metrics of both splits and the activations.
        let outs = forward_all(model, x, &all, device, graph);
        let logits = outs.last().map(Tensor::shallow_clone);
        let train = logits
            .as_ref()
            .and_then(|l| score(&pick(l, &data.train), y, &data.train, device));
        let val = logits
            .as_ref()
            .and_then(|l| score(&pick(l, &data.validation), y, &data.validation, device));
        let acts = if record {
            outs.iter().map(|t| pick(t, analysis_rows)).collect()
        } else {
            Vec::new()
        };
        return (train, val, acts);
    }
    let eval = |rows: &[usize]| {
        let outs = forward_all(model, x, rows, device, false);
        let s = outs.last().and_then(|l| score(l, y, rows, device));
        (s, outs)
    };
    // The analysis set is usually one of the splits: its pass serves the metrics too.
    let (train, train_outs) = eval(&data.train);
    let (val, val_outs) = eval(&data.validation);
    let acts = if !record {
        Vec::new()
    } else if analysis_rows == data.train.as_slice() {
        train_outs
    } else if analysis_rows == data.validation.as_slice() {
        val_outs
    } else {
        forward_all(model, x, analysis_rows, device, false)
    };
    (train, val, acts)
}

fn to_vec_f32(t: &Tensor) -> Result<Vec<f32>> {
    let t = t
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous()
        .view([-1]);
    Vec::<f32>::try_from(&t).context("copying a tensor out of libtorch")
}

fn to_array(t: &Tensor) -> Result<Array2<f32>> {
    let size = t.size();
    let n = size[0] as usize;
    let w = size[1..].iter().product::<i64>() as usize;
    Array2::from_shape_vec((n, w), to_vec_f32(t)?).context("activation shape")
}

/// Streaming elementwise mean and variance of one parameter's batch gradients (Welford 1962):
/// mean_k = mean_{k-1} + (g_k - mean_{k-1}) / k, M2_k = M2_{k-1} + (g_k - mean_{k-1})(g_k - mean_k);
/// std = sqrt(M2 / n) (population). Kept in f64 on the training device.
struct Welford {
    n: u32,
    mean: Tensor,
    m2: Tensor,
    batches: Vec<f32>,
}

impl Welford {
    fn new(p: &Tensor) -> Self {
        let opts = (Kind::Double, p.device());
        Welford {
            n: 0,
            mean: Tensor::zeros(p.size(), opts),
            m2: Tensor::zeros(p.size(), opts),
            batches: Vec::new(),
        }
    }
    fn push(&mut self, g: &Tensor, keep: bool) -> Result<()> {
        let g = g.to_kind(Kind::Double);
        self.n += 1;
        let delta = &g - &self.mean;
        self.mean = &self.mean + &delta / f64::from(self.n);
        self.m2 = &self.m2 + delta * (&g - &self.mean);
        if keep {
            self.batches.extend(to_vec_f32(&g)?);
        }
        Ok(())
    }
    fn finish(&mut self, value: &Tensor) -> Result<(GradientStats, Option<Array2<f32>>)> {
        let size = value.numel();
        let (mean, std) = if self.n == 0 {
            (vec![f32::NAN; size], vec![f32::NAN; size])
        } else {
            (
                to_vec_f32(&self.mean)?,
                to_vec_f32(&(&self.m2 / f64::from(self.n)).sqrt())?,
            )
        };
        let batches = std::mem::take(&mut self.batches);
        let full = if batches.is_empty() && self.n > 0 {
            None
        } else {
            Some(Array2::from_shape_vec((self.n as usize, size), batches)?)
        };
        let stats = GradientStats {
            n_batches: self.n,
            mean,
            std,
            value: to_vec_f32(value)?,
        };
        self.n = 0;
        self.mean = self.mean.zeros_like();
        self.m2 = self.m2.zeros_like();
        Ok((stats, full))
    }
}

/// Trains `cfg.model` on `data` and records the archive at `cfg.out`.
pub fn run(cfg: &Config, data: &Dataset) -> Result<Finished> {
    tch::manual_seed(cfg.seed as i64);
    let vs = nn::VarStore::new(cfg.device);
    let mut params = Vec::new();
    // libtorch reports a failed allocation by panicking inside tch: one line, no backtrace.
    let model =
        infoplane::util::untrusted::guard(|| build_model(cfg, data, &vs.root(), &mut params))
            .map_err(|e| anyhow!("cannot build the model: {e}"))??;
    let rows = analysis_rows(cfg, data)?;
    let batch = cfg
        .batch_size
        .unwrap_or(data.train.len())
        .clamp(1, data.train.len());
    let stored: Vec<&Param> = if cfg.grads == Grads::None {
        Vec::new()
    } else {
        params.iter().collect()
    };
    let spec = archive_spec(cfg, data, model.as_ref(), &stored, batch);
    let set = analysis_set(data, &rows);
    let overwrite = if cfg.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let writer = ArchiveWriter::create(
        &cfg.out,
        cfg.format,
        spec,
        &set,
        overwrite,
        Publish::Immediately,
    )?;
    let stream = soft_stream(cfg, &writer, &set)?;
    // The writer runs on its own thread; at most two epochs wait in memory.
    let (tx, rx) = mpsc::sync_channel::<EpochRecord>(2);
    let writer_thread = std::thread::spawn(move || write_epochs(writer, rx));
    let mut training = Training {
        cfg,
        data,
        model: model.as_ref(),
        x: to_tensor(&data.inputs, cfg.device)?,
        y: Tensor::from_slice(
            &data
                .labels
                .iter()
                .map(|&l| i64::from(l))
                .collect::<Vec<i64>>(),
        )
        .to_device(cfg.device),
        opt: optimiser(cfg, &vs)?,
        stats: stored.iter().map(|p| Welford::new(&p.tensor)).collect(),
        stored,
        rows,
        batch,
        start: Instant::now(),
        stream,
    };
    let (done, last, send_failed) = training.epochs(&tx)?;
    drop(tx);
    let writer = writer_thread
        .join()
        .map_err(|_| anyhow!("the archive writer thread panicked"))??;
    if QUIT.load(Ordering::SeqCst) {
        return Ok(Finished::Quit {
            committed: writer.committed(),
            replacing: writer.current_dir() != cfg.out,
        });
    }
    if send_failed {
        return Err(anyhow!("the archive writer stopped early"));
    }
    Ok(Finished::Done(Outcome {
        archive: writer.finish()?,
        epochs_done: done,
        stopped_early: done < cfg.epochs,
        last,
        seconds: training.start.elapsed().as_secs_f64(),
    }))
}

/// The analysis set: ids, labels and inputs of `rows`.
fn analysis_set(data: &Dataset, rows: &[usize]) -> AnalysisSet {
    AnalysisSet {
        sample_ids: rows.iter().map(|&r| data.sample_ids[r]).collect(),
        labels: rows.iter().map(|&r| data.labels[r]).collect(),
        label_name: None,
        label_sets: Vec::new(),
        inputs: Some(data.inputs.select(ndarray::Axis(0), rows)),
    }
}

/// The writer thread: commits records until the channel closes or a second Ctrl-C.
fn write_epochs(
    mut writer: ArchiveWriter,
    rx: mpsc::Receiver<EpochRecord>,
) -> infoplane::Result<ArchiveWriter> {
    for record in rx {
        if QUIT.load(Ordering::SeqCst) {
            break;
        }
        writer.commit_epoch(&record)?;
    }
    Ok(writer)
}

/// The rows of the analysis set (at least 2), with a training split that is not empty.
fn analysis_rows(cfg: &Config, data: &Dataset) -> Result<Vec<usize>> {
    if data.train.is_empty() {
        return Err(anyhow!("{}: the training split is empty", data.name));
    }
    let rows = data.analysis_rows(cfg.analysis);
    if rows.len() < 2 {
        return Err(anyhow!(
            "the {} analysis set of {} has {} samples; at least 2 are needed",
            cfg.analysis,
            data.name,
            rows.len()
        ));
    }
    Ok(rows)
}

/// The archive's layout: run, layers, parameters, epoch plan.
fn archive_spec(
    cfg: &Config,
    data: &Dataset,
    model: &dyn Model,
    stored: &[&Param],
    batch: usize,
) -> ArchiveSpec {
    let tools = [
        ("infoplane-record", env!("CARGO_PKG_VERSION")),
        ("tch", "0.26"),
    ];
    ArchiveSpec {
        run: RunInfo {
            name: cfg.name.clone(),
            model: format!("{:?}", cfg.model).to_lowercase(),
            dataset: data.name.clone(),
            seed: Some(cfg.seed),
            hyperparameters: cfg.hyperparameters.clone().into_iter().collect(),
            tool_versions: tools
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            notes: data.description.clone(),
            epoch_labels: Default::default(),
        },
        classes: data.classes.clone(),
        input_shape: Some(data.input_shape.clone()),
        analysis_description: cfg.analysis.to_string(),
        layers: model.layers(),
        parameters: stored
            .iter()
            .map(|p| ParameterInfo {
                name: p.name.clone(),
                shape: p.tensor.size().iter().map(|&s| s as usize).collect(),
                layer: Some(p.layer.clone()),
            })
            .collect(),
        batch_gradients: (cfg.grads == Grads::Full)
            .then_some(data.train.len().div_ceil(batch) as u32),
        epochs: cfg.record.plan(cfg.epochs),
    }
}

/// Adam or SGD with weight decay, at the configured learning rate.
fn optimiser(cfg: &Config, vs: &nn::VarStore) -> Result<nn::Optimizer> {
    let r = match cfg.optimizer {
        Optimizer::Adam => nn::Adam {
            wd: cfg.weight_decay,
            ..Default::default()
        }
        .build(vs, cfg.lr),
        Optimizer::Sgd => nn::Sgd {
            wd: cfg.weight_decay,
            ..Default::default()
        }
        .build(vs, cfg.lr),
    };
    torch("cannot build the optimiser", r)
}

/// Everything the epoch loop works with.
struct Training<'a> {
    cfg: &'a Config,
    data: &'a Dataset,
    model: &'a dyn Model,
    x: Tensor,
    y: Tensor,
    opt: nn::Optimizer,
    stats: Vec<Welford>,
    stored: Vec<&'a Param>,
    rows: Vec<usize>,
    batch: usize,
    start: Instant,
    /// The `soft` stream, the analysis labels and the table it writes.
    stream: Option<Stream>,
}

impl Training<'_> {
    /// Trains and records epoch after epoch until the plan ends, a stop, or the writer fails;
    /// returns the last epoch sent, its metrics, and whether the writer stopped taking them.
    fn epochs(&mut self, tx: &mpsc::SyncSender<EpochRecord>) -> Result<(u32, EpochMetrics, bool)> {
        let cfg = self.cfg;
        let bar = if cfg.progress {
            ProgressBar::new(u64::from(cfg.epochs))
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg} [{elapsed} < {eta}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let mask = cfg.record.mask(cfg.epochs);
        let mut rng = SplitMix64::new(cfg.seed ^ 0x05ee_d0fb_a7c4);
        let (mut last, mut done) = (EpochMetrics::default(), 0u32);
        for epoch in 0..=cfg.epochs {
            if epoch > 0 {
                self.train_epoch(&mut rng)?;
            }
            if QUIT.load(Ordering::SeqCst) {
                break;
            }
            let record = self.record(epoch, mask[epoch as usize])?;
            let metrics = record.metrics;
            if tx.send(record).is_err() {
                bar.finish_and_clear();
                return Ok((done, last, true));
            }
            (last, done) = (metrics, epoch);
            bar.set_position(u64::from(epoch));
            bar.set_message(format!(
                "loss {:.4} acc {:.3} val {:.3}",
                metrics.train_loss.unwrap_or(f64::NAN),
                metrics.train_accuracy.unwrap_or(f64::NAN),
                metrics.validation_accuracy.unwrap_or(f64::NAN)
            ));
            let late = cfg
                .time_limit
                .is_some_and(|t| self.start.elapsed().as_secs_f64() >= t);
            if STOP.load(Ordering::SeqCst) || (epoch > 0 && late) {
                break;
            }
        }
        bar.finish_and_clear();
        Ok((done, last, false))
    }

    /// One pass over the shuffled training rows in mini-batches, with the gradient statistics
    /// updated after every backward pass; stops after the batch during which a second Ctrl-C
    /// came.
    fn train_epoch(&mut self, rng: &mut SplitMix64) -> Result<()> {
        let device = self.cfg.device;
        let keep = self.cfg.grads == Grads::Full;
        let mut order = self.data.train.clone();
        rng.shuffle(&mut order);
        for rows in order.chunks(self.batch) {
            let rows_t = rows_tensor(rows, device);
            let outs = self.model.forward_rows(&self.x, &rows_t, true);
            let logits = outs.last().ok_or_else(|| anyhow!("model has no output"))?;
            let loss = logits.cross_entropy_for_logits(&self.y.index_select(0, &rows_t));
            self.opt.zero_grad();
            loss.backward();
            tch::no_grad(|| -> Result<()> {
                for (w, p) in self.stats.iter_mut().zip(&self.stored) {
                    w.push(&p.tensor.grad(), keep)?;
                }
                Ok(())
            })?;
            self.opt.step();
            if QUIT.load(Ordering::SeqCst) {
                break;
            }
        }
        Ok(())
    }

    /// The record of one epoch: metrics, activations when the plan says so, gradient
    /// statistics (and batch gradients).
    fn record(&mut self, epoch: u32, with_activations: bool) -> Result<EpochRecord> {
        let graph = self.cfg.model == ModelKind::Gcn;
        let (train, val, outputs) = epoch_outputs(
            self.model,
            &self.x,
            &self.y,
            self.data,
            &self.rows,
            with_activations || self.stream.is_some(),
            self.cfg.device,
            graph,
        );
        let metrics = EpochMetrics {
            train_loss: train.map(|t| t.0),
            train_accuracy: train.map(|t| t.1),
            validation_loss: val.map(|v| v.0),
            validation_accuracy: val.map(|v| v.1),
            wall_time_s: Some(self.start.elapsed().as_secs_f64()),
        };
        let mut activations = outputs.iter().map(to_array).collect::<Result<Vec<_>>>()?;
        if let Some((stream, labels, path)) = &mut self.stream {
            stream.add_all(&activations, &[labels])?;
            stream.end_epoch(epoch)?;
            estimates::write(stream.rows(), Unit::Bits, path)?;
        }
        if !with_activations {
            activations.clear();
        }
        let keep = self.cfg.grads == Grads::Full;
        let mut gradients = Vec::with_capacity(self.stats.len());
        let mut batch_gradients = Vec::new();
        for (w, p) in self.stats.iter_mut().zip(&self.stored) {
            let (g, full) = tch::no_grad(|| w.finish(&p.tensor))?;
            gradients.push(g);
            if keep {
                batch_gradients.push(full.unwrap_or_else(|| Array2::zeros((0, p.tensor.numel()))));
            }
        }
        Ok(EpochRecord {
            epoch,
            metrics,
            activations,
            gradients,
            batch_gradients,
        })
    }
}
