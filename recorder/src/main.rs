//! `infoplane-record`: trains a model with tch (libtorch) and records every tracked layer's
//! activations, the metrics and the gradient statistics per epoch into an infoplane archive.
#![allow(clippy::print_stderr)]

mod models;
mod record;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use infoplane::archive::Backend;
use infoplane::datasets::{cora, mnist, names, tishby, AnalysisSplit, Dataset};
use infoplane::schedule::RecordEpochs;
use models::Activation;
use record::{Config, Grads, ModelKind, Optimizer};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DatasetKind {
    /// Tishby's 12-bit task (generated when --data-dir is not given).
    Tishby,
    /// MNIST IDX files.
    Mnist,
    /// One <Language>.txt per class.
    Names,
    /// LINQS cora.content and cora.cites.
    Cora,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DeviceChoice {
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ActivationChoice {
    Tanh,
    Relu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CellChoice {
    /// tanh Elman cell (PyTorch nn.RNN).
    Elman,
    /// Gated recurrent unit (PyTorch nn.GRU).
    Gru,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Parquet,
    Hdf5,
}

/// Train a network and record its activations and gradient statistics every epoch.
///
/// Defaults per (model, dataset) follow the thesis (Landsverk 2021) and Saxe et al. (2018):
///   fcn/tishby  10,7,5,4,3 tanh, Adam 4e-4, batch 256, 3000 epochs, 80/20 split, analysis set all
///   fcn/mnist   1024,20,20,20 relu, Adam 1e-3, batch 128, 30 epochs, 4000 training images
///   lenet/mnist Adam 1e-3, batch 128, 30 epochs, 4000 training images, analysis set train
///   rnn/names   3 GRU layers of 200, Adam 1e-3, batch 32, 40 epochs, 60 names per language
///   fcn/names   200,200,200 relu, as rnn/names
///   gcn/cora    200,200,200 relu, Adam 1e-3 full batch, weight decay 5e-4, dropout 0.5 (Kipf &
///               Welling 2017), 200 epochs, split 140/1000, analysis set all
///   fcn/cora    as gcn/cora
/// Activations are recorded at every epoch when there are at most 100 epochs, else at log:100.
#[derive(Debug, Parser)]
#[command(name = "infoplane-record", version, verbatim_doc_comment)]
struct Cli {
    /// Model family.
    #[arg(long, value_enum)]
    model: ModelKind,
    /// Dataset.
    #[arg(long, value_enum, default_value = "tishby")]
    dataset: DatasetKind,
    /// Where the dataset's files are (for tishby: a .mat file, or a directory with var_u.mat).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Hidden-layer widths, comma-separated (fcn, rnn, gcn).
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// Hidden-layer activation (fcn and gcn; the RNN is tanh, LeNet ReLU).
    #[arg(long, value_enum)]
    activation: Option<ActivationChoice>,
    /// Recurrent cell of the rnn model (gru generalises better on the names data; elman is nn.RNN).
    #[arg(long, value_enum, default_value = "gru")]
    cell: CellChoice,
    /// Number of training epochs.
    #[arg(long)]
    epochs: Option<u32>,
    /// Learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Optimiser.
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: Optimizer,
    /// L2 weight decay.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Dropout probability on each layer's input while training (fcn, gcn).
    #[arg(long)]
    dropout: Option<f64>,
    /// Mini-batch size (0 = full batch).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Cora split: standard (140/1000), reverse (1000/140) or random:F.
    #[arg(long)]
    split: Option<String>,
    /// MNIST: use the first N training images.
    #[arg(long)]
    subset: Option<usize>,
    /// MNIST: use the first N test images as the validation set (all by default).
    #[arg(long)]
    validation_subset: Option<usize>,
    /// names: keep this many names per language.
    #[arg(long)]
    per_class: Option<usize>,
    /// Seed for initialisation, shuffling and splits.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Epochs that record activations: all, log:K, every:K or none.
    #[arg(long)]
    record_epochs: Option<RecordEpochs>,
    /// Samples whose activations are recorded: train, validation or all.
    #[arg(long)]
    analysis_set: Option<String>,
    /// Gradient statistics: summary, full (also every batch's gradient) or none.
    #[arg(long, value_enum, default_value = "summary")]
    grads: Grads,
    /// Archive backend.
    #[arg(long, value_enum, default_value = "parquet")]
    format: Format,
    /// auto uses CUDA when available.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// libtorch intra-op threads (same seed and thread count give identical recordings);
    /// default: 1 for small fully connected networks (under 50 MFLOP per batch), else one per
    /// core.
    #[arg(long)]
    threads: Option<usize>,
    /// Stop after the first epoch that ends this many seconds after training started (the
    /// archive is then complete, stopped early); for comparisons at equal training time.
    #[arg(long)]
    time_limit: Option<f64>,
    /// Estimate the soft-binning plane (`soft`, the library's defaults) at every epoch while
    /// recording, into an estimates table; with --record-epochs none nothing else is stored.
    #[arg(long, value_parser = ["soft"])]
    stream: Option<String>,
    /// The streamed table (default: the archive's path with `-soft.csv` appended).
    #[arg(long, requires = "stream")]
    stream_out: Option<PathBuf>,
    /// Replace an existing archive at --out.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Output archive directory.
    #[arg(long)]
    out: PathBuf,
    /// The run's name in tables, plots and the report (default: the --out folder's name).
    #[arg(long, default_value = "")]
    name: String,
}

struct Defaults {
    hidden: &'static [usize],
    activation: Activation,
    epochs: u32,
    lr: f64,
    batch: Option<usize>,
    analysis: AnalysisSplit,
    weight_decay: f64,
    dropout: f64,
}

fn defaults(model: ModelKind, dataset: DatasetKind) -> Result<Defaults> {
    use DatasetKind as D;
    use ModelKind as M;
    let d = |hidden, activation, epochs, lr, batch, analysis| Defaults {
        hidden,
        activation,
        epochs,
        lr,
        batch,
        analysis,
        weight_decay: 0.0,
        dropout: 0.0,
    };
    Ok(match (model, dataset) {
        (M::Fcn, D::Tishby) => d(
            &[10, 7, 5, 4, 3],
            Activation::Tanh,
            3000,
            4e-4,
            Some(256),
            AnalysisSplit::All,
        ),
        (M::Fcn, D::Mnist) => d(
            &[1024, 20, 20, 20],
            Activation::Relu,
            30,
            1e-3,
            Some(128),
            AnalysisSplit::Train,
        ),
        (M::Lenet, D::Mnist) => d(
            &[],
            Activation::Relu,
            30,
            1e-3,
            Some(128),
            AnalysisSplit::Train,
        ),
        (M::Rnn, D::Names) => d(
            &[200, 200, 200],
            Activation::Tanh,
            40,
            1e-3,
            Some(32),
            AnalysisSplit::All,
        ),
        (M::Fcn, D::Names) => d(
            &[200, 200, 200],
            Activation::Relu,
            40,
            1e-3,
            Some(32),
            AnalysisSplit::All,
        ),
        (M::Gcn, D::Cora) | (M::Fcn, D::Cora) => Defaults {
            weight_decay: 5e-4,
            dropout: 0.5,
            ..d(
                &[200, 200, 200],
                Activation::Relu,
                200,
                1e-3,
                None,
                AnalysisSplit::All,
            )
        },
        (M::Lenet, _) => bail!("--model lenet needs --dataset mnist (28 x 28 images)"),
        (M::Rnn, _) => bail!("--model rnn needs --dataset names (letter sequences)"),
        (M::Gcn, _) => bail!("--model gcn needs --dataset cora (a graph)"),
    })
}

fn data_dir(cli: &Cli) -> Result<&Path> {
    cli.data_dir.as_deref().with_context(|| {
        format!(
            "--dataset {:?} needs --data-dir DIR (the directory with its files)",
            cli.dataset
        )
        .to_lowercase()
    })
}

fn load(cli: &Cli) -> Result<Dataset> {
    let unused = |flag: &str, used: bool| -> Result<()> {
        if used {
            bail!(
                "{flag} does not apply to --dataset {}",
                format!("{:?}", cli.dataset).to_lowercase()
            );
        }
        Ok(())
    };
    unused(
        "--split",
        cli.split.is_some() && cli.dataset != DatasetKind::Cora,
    )?;
    unused(
        "--subset",
        cli.subset.is_some() && cli.dataset != DatasetKind::Mnist,
    )?;
    unused(
        "--validation-subset",
        cli.validation_subset.is_some() && cli.dataset != DatasetKind::Mnist,
    )?;
    unused(
        "--per-class",
        cli.per_class.is_some() && cli.dataset != DatasetKind::Names,
    )?;
    Ok(match cli.dataset {
        DatasetKind::Tishby => match &cli.data_dir {
            None => tishby::generate(cli.seed),
            Some(p) if p.is_dir() => tishby::load_mat(&p.join("var_u.mat"), cli.seed)?,
            Some(p) => tishby::load_mat(p, cli.seed)?,
        },
        DatasetKind::Mnist => mnist::load(
            data_dir(cli)?,
            Some(cli.subset.unwrap_or(4000)),
            cli.validation_subset,
        )?,
        DatasetKind::Names => {
            names::load(data_dir(cli)?, Some(cli.per_class.unwrap_or(60)), cli.seed)?
        }
        DatasetKind::Cora => {
            let split = cli.split.as_deref().unwrap_or("standard").parse()?;
            cora::load(data_dir(cli)?, split, cli.seed)?
        }
    })
}

/// The most training epochs.
const MAX_EPOCHS: u32 = 1_000_000;
/// The widest hidden layer.
const MAX_WIDTH: usize = 65_536;
/// The most model parameters (4 bytes each, three times over with Adam's state).
const MAX_PARAMETERS: u128 = 1 << 28;
/// The most libtorch threads.
const MAX_THREADS: usize = 1024;

/// Checks every numeric flag before anything is loaded or created.
fn validate(cli: &Cli) -> Result<()> {
    let positive = |flag: &str, v: Option<f64>| -> Result<()> {
        match v {
            Some(x) if !(x.is_finite() && x > 0.0) => {
                bail!("{flag} must be a positive number (got {x})")
            }
            _ => Ok(()),
        }
    };
    positive("--lr", cli.lr)?;
    if let Some(t) = cli.time_limit.filter(|t| !(t.is_finite() && *t >= 0.0)) {
        bail!("--time-limit must be a finite number of seconds, 0 or more (got {t})");
    }
    if let Some(w) = cli.weight_decay.filter(|w| !(w.is_finite() && *w >= 0.0)) {
        bail!("--weight-decay must be a finite number of 0 or more (got {w})");
    }
    if let Some(d) = cli.dropout.filter(|d| !(0.0..1.0).contains(d)) {
        bail!("--dropout must be in [0, 1) (got {d})");
    }
    if let Some(e) = cli.epochs.filter(|e| *e > MAX_EPOCHS) {
        bail!("--epochs must be at most {MAX_EPOCHS} (got {e})");
    }
    if let Some(t) = cli.threads.filter(|t| !(1..=MAX_THREADS).contains(t)) {
        bail!("--threads must be between 1 and {MAX_THREADS} (got {t})");
    }
    if let Some(h) = &cli.hidden {
        if h.is_empty() || h.len() > 64 || h.iter().any(|w| !(1..=MAX_WIDTH).contains(w)) {
            bail!("--hidden needs 1 to 64 widths between 1 and {MAX_WIDTH} (got {h:?})");
        }
    }
    for (flag, v) in [
        ("--subset", cli.subset),
        ("--validation-subset", cli.validation_subset),
        ("--per-class", cli.per_class),
    ] {
        if v == Some(0) {
            bail!("{flag} must be at least 1");
        }
    }
    Ok(())
}

/// Parameters of the model: weights and bias of each layer; a GRU layer has three gates, each
/// with input and recurrent weights and two biases (an upper bound for the Elman cell).
fn parameter_count(model: ModelKind, input: usize, hidden: &[usize], classes: usize) -> u128 {
    let mut widths: Vec<u128> = vec![input as u128];
    widths.extend(hidden.iter().map(|&h| h as u128));
    let layer = |i: u128, o: u128| match model {
        ModelKind::Rnn => 3 * (i * o + o * o + 2 * o),
        _ => i * o + o,
    };
    let hidden: u128 = widths.windows(2).map(|w| layer(w[0], w[1])).sum();
    let last = widths.last().copied().unwrap_or(0);
    hidden + last * classes as u128 + classes as u128
}

fn run(cli: Cli) -> Result<ExitCode> {
    validate(&cli)?;
    let def = defaults(cli.model, cli.dataset)?;
    ctrlc::set_handler(|| {
        if record::STOP.swap(true, Ordering::SeqCst) {
            // Only flags here: the main thread stops after its current batch and exits, so
            // that no libtorch or HDF5 thread is running when the process ends.
            record::QUIT.store(true, Ordering::SeqCst);
            eprintln!("\ninterrupted again: stopping now; committed epochs stay readable");
        } else {
            eprintln!("\ninterrupted: finishing the current epoch, then closing the archive (Ctrl-C again to quit now)");
        }
    })
    .context("installing the Ctrl-C handler")?;
    if let Some(t) = cli.threads {
        tch::set_num_threads(t as i32);
    }
    let device = match cli.device {
        DeviceChoice::Auto => tch::Device::cuda_if_available(),
        DeviceChoice::Cpu => tch::Device::Cpu,
        DeviceChoice::Cuda if !tch::Cuda::is_available() => {
            bail!("--device cuda: no CUDA device is available to libtorch")
        }
        DeviceChoice::Cuda => tch::Device::Cuda(0),
    };
    let data = load(&cli)?;
    let cfg = config(&cli, &def, &data, device)?;
    if cli.threads.is_none() {
        if let Some(t) = auto_threads(&cfg, &data) {
            tch::set_num_threads(t as i32);
        }
    }
    eprintln!(
        "recording {} on {} ({} train / {} validation, analysis set {} = {} samples) for {} epochs on {device:?} into {}",
        format!("{:?}", cli.model).to_lowercase(),
        data.name,
        data.train.len(),
        data.validation.len(),
        cfg.analysis,
        data.analysis_rows(cfg.analysis).len(),
        cfg.epochs,
        cli.out.display()
    );
    match record::run(&cfg, &data)? {
        record::Finished::Done(o) => {
            say_outcome(&o);
            Ok(ExitCode::SUCCESS)
        }
        record::Finished::Quit {
            committed,
            replacing,
        } => {
            eprintln!(
                "{}: quit after {committed} committed epochs; {}",
                cli.out.display(),
                if replacing {
                    "the archive that was there is unchanged (the new one was not finished)"
                } else {
                    "they stay readable, and the archive reports itself incomplete"
                }
            );
            Ok(ExitCode::from(EXIT_INTERRUPTED))
        }
    }
}

/// The last epoch's line.
fn say_outcome(outcome: &record::Outcome) {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    eprintln!(
        "{} epoch {}{}: train loss {} accuracy {}, validation loss {} accuracy {} ({:.1} s)",
        outcome.archive.display(),
        outcome.epochs_done,
        if outcome.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        f(outcome.last.train_loss),
        f(outcome.last.train_accuracy),
        f(outcome.last.validation_loss),
        f(outcome.last.validation_accuracy),
        outcome.seconds
    );
}

/// Floating-point operations per training batch (forward and backward, about 6 per weight and
/// sample) below which one intra-op thread is used when `--threads` is not given.
const SMALL_BATCH_FLOPS: u128 = 50_000_000;

/// Intra-op threads when `--threads` is not given: 1 for fully connected networks whose work per
/// batch is below [`SMALL_BATCH_FLOPS`] (the Tishby network: about 0.4 MFLOP per batch), whose
/// steps are too short for libtorch's threads to pay for their synchronisation, and which
/// otherwise spin against a core that another process is using; libtorch's default (one per
/// core) for the rest (MNIST FCN about 630 MFLOP per batch, LeNet, RNN, GCN).
fn auto_threads(cfg: &Config, data: &Dataset) -> Option<usize> {
    if cfg.model != ModelKind::Fcn || cfg.device != tch::Device::Cpu {
        return None;
    }
    let params = parameter_count(
        cfg.model,
        data.input_width(),
        &cfg.hidden,
        data.classes.len(),
    );
    let batch = cfg.batch_size.unwrap_or(data.train.len()) as u128;
    (6 * params * batch < SMALL_BATCH_FLOPS).then_some(1)
}

/// The flags with the (model, dataset) defaults filled in, checked against the data.
fn config(cli: &Cli, def: &Defaults, data: &Dataset, device: tch::Device) -> Result<Config> {
    let hidden = cli.hidden.clone().unwrap_or_else(|| def.hidden.to_vec());
    if cli.model != ModelKind::Lenet {
        let params = parameter_count(cli.model, data.input_width(), &hidden, data.classes.len());
        if params > MAX_PARAMETERS {
            bail!(
                "--hidden {hidden:?} gives a model of about {params} parameters; at most {MAX_PARAMETERS} are supported"
            );
        }
    }
    let activation = match cli.activation {
        None => def.activation,
        Some(ActivationChoice::Tanh) => Activation::Tanh,
        Some(ActivationChoice::Relu) => Activation::Relu,
    };
    let fcn_or_gcn_only = matches!(cli.model, ModelKind::Lenet | ModelKind::Rnn);
    if cli.activation.is_some() && fcn_or_gcn_only {
        bail!("--activation applies to fcn and gcn only (LeNet uses ReLU, the RNN tanh)");
    }
    let dropout = cli.dropout.unwrap_or(def.dropout);
    if dropout > 0.0 && fcn_or_gcn_only {
        bail!("--dropout applies to fcn and gcn only");
    }
    let epochs = cli.epochs.unwrap_or(def.epochs);
    let mut cfg = Config {
        model: cli.model,
        hidden,
        activation,
        cell: match cli.cell {
            CellChoice::Elman => models::Cell::Elman,
            CellChoice::Gru => models::Cell::Gru,
        },
        epochs,
        lr: cli.lr.unwrap_or(def.lr),
        optimizer: cli.optimizer,
        weight_decay: cli.weight_decay.unwrap_or(def.weight_decay),
        dropout,
        batch_size: match cli.batch_size {
            Some(0) => None,
            Some(b) => Some(b),
            None => def.batch,
        },
        seed: cli.seed,
        record: cli.record_epochs.unwrap_or(if epochs <= 100 {
            RecordEpochs::All
        } else {
            RecordEpochs::Log(100)
        }),
        analysis: match &cli.analysis_set {
            Some(s) => s.parse()?,
            None => def.analysis,
        },
        grads: cli.grads,
        name: cli.name.clone(),
        format: match cli.format {
            Format::Parquet => Backend::Parquet,
            Format::Hdf5 => Backend::Hdf5,
        },
        out: cli.out.clone(),
        device,
        force: cli.force,
        progress: !cli.quiet,
        time_limit: cli.time_limit,
        stream_soft: cli.stream.as_ref().map(|_| {
            cli.stream_out.clone().unwrap_or_else(|| {
                let mut p = cli.out.clone().into_os_string();
                p.push("-soft.csv");
                PathBuf::from(p)
            })
        }),
        hyperparameters: serde_json::Map::new(),
    };
    cfg.hyperparameters = hyperparameters(cli, &cfg, data);
    Ok(cfg)
}

/// The hyper-parameters recorded in the manifest.
fn hyperparameters(
    cli: &Cli,
    cfg: &Config,
    data: &Dataset,
) -> serde_json::Map<String, serde_json::Value> {
    let activation = match cfg.model {
        ModelKind::Rnn if cli.cell == CellChoice::Gru => "gru",
        ModelKind::Rnn => "tanh",
        ModelKind::Lenet => "relu",
        _ => cfg.activation.name(),
    };
    let hp = json!({
        "hidden": if cfg.model == ModelKind::Lenet { json!([10, 20, 50]) } else { json!(cfg.hidden) },
        "activation": activation,
        "epochs": cfg.epochs,
        "lr": cfg.lr,
        "optimizer": format!("{:?}", cfg.optimizer).to_lowercase(),
        "weight_decay": cfg.weight_decay,
        "dropout": cfg.dropout,
        "batch_size": cfg.batch_size.map_or(json!("full"), |b| json!(b)),
        "record_epochs": cfg.record.to_string(),
        "analysis_set": cfg.analysis.to_string(),
        "train_samples": data.train.len(),
        "validation_samples": data.validation.len(),
        "threads": tch::get_num_threads(),
        "device": format!("{:?}", cfg.device),
    });
    hp.as_object().cloned().unwrap_or_default()
}

/// Exit status after a second Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!(
                "error: {}",
                infoplane::util::text::escape_controls(&message)
            );
            ExitCode::from(1)
        }
    }
}
