//! The one-command report: for one or more archives, estimates (with the distances from the
//! same passes), DPI and bound checks, gradient SNR, plots and a comparison, gathered here into
//! CSVs, plots and a [`ReportData`] that [`html`] turns into a self-contained `index.html`.

pub mod html;
pub mod interactive;

use std::path::{Path, PathBuf};

use crate::archive::{Archive, Summary};
use crate::diagnostics::aggregate;
use crate::diagnostics::compare::{self, By};
use crate::diagnostics::{dpi, snr, verdict};
use crate::error::{Error, Result};
use crate::estimator;
use crate::estimator::pairwise::sigma::SigmaSpec;
use crate::plot;
use crate::run::distances::DistanceReport;
use crate::run::{self, EstimateRequest};
use crate::selection::Epochs;
use crate::table::estimates::{self as table, EstimateRow, Unit};

/// The report's default σ² values: two fixed values and both data rules.
pub(crate) const DEFAULT_SIGMA2: &str = "0.001,0.1,thesis,nn";

#[cfg(feature = "cli")]
fn parse_sigma2(s: &str) -> std::result::Result<SigmaSpec, String> {
    SigmaSpec::parse(s).map_err(|e| e.to_string())
}

/// What the report computes (its flags, with their defaults).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ReportParams {
    /// Noise variances (as for estimate).
    #[cfg_attr(feature = "cli", arg(long, default_value = DEFAULT_SIGMA2, value_parser = parse_sigma2))]
    pub sigma2: SigmaSpec,
    #[cfg_attr(feature = "cli", arg(
        long,
        value_delimiter = ',',
        default_value = estimator::registry::DEFAULT_ESTIMATORS_TEXT,
        help = estimator::registry::help()
    ))]
    pub estimator: Vec<String>,
    /// Epochs to estimate: all, last, every:K, or a list like 0,5,10..20.
    #[cfg_attr(feature = "cli", arg(long, default_value = "all", value_parser = parse_epochs))]
    pub epochs: Epochs,
    /// Unit of the tables and plots.
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = Unit::Bits))]
    pub unit: Unit,
    /// DPI tolerance, in the unit.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = dpi::DEFAULT_TOLERANCE))]
    pub tolerance: f64,
}

#[cfg(feature = "cli")]
fn parse_epochs(s: &str) -> std::result::Result<Epochs, String> {
    Epochs::parse(s).map_err(|e| e.to_string())
}

impl Default for ReportParams {
    fn default() -> Self {
        ReportParams {
            sigma2: SigmaSpec::parse(DEFAULT_SIGMA2).expect("the default σ² specification parses"),
            estimator: estimator::DEFAULT_ESTIMATORS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            epochs: Epochs::All,
            unit: Unit::Bits,
            tolerance: dpi::DEFAULT_TOLERANCE,
        }
    }
}

impl ReportParams {
    /// The estimation these parameters ask for.
    pub fn request(&self) -> EstimateRequest {
        let mut req = EstimateRequest::new(&[]);
        req.estimators = self.estimator.clone();
        req.params.pairwise.sigma2 = self.sigma2.clone();
        req.epochs = self.epochs.clone();
        req
    }
}

/// What the report shows of one run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run's name.
    pub name: String,
    /// `inspect`'s text for the archive (what the table says of the run without one).
    pub summary: String,
    /// Whether the report had the run's archive (accuracy, gradient SNR).
    pub archive: bool,
    /// `dpi`'s text.
    pub dpi_text: String,
    /// `dpi`'s findings (one per layer pair, check and estimator over the settings).
    pub dpi_findings: Vec<dpi::Finding>,
    /// The gradient SNR in one line, when the archive has gradient statistics.
    pub snr_text: Option<String>,
    /// The last epoch with activations.
    pub last_epoch: Option<u32>,
    /// Plots: information plane, accuracy, SNR, distance histograms, compression ratio (PNG and SVG).
    pub plots: [Vec<PathBuf>; 5],
}

/// Everything the HTML shows.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// One per archive.
    pub runs: Vec<RunReport>,
    /// The plain-language findings in groups (a title, then its findings), in order.
    pub findings: Vec<(String, Vec<String>)>,
    /// The comparison in one line with its table (context, a, b, quantity, epochs with the
    /// layer order flipped, median Spearman ρ, the most frequent flip), or why there is none.
    pub comparison: std::result::Result<(String, Vec<ComparisonRow>), String>,
    /// Every file written, relative to the report folder.
    pub files: Vec<String>,
    /// The unit of the tables and plots.
    pub unit: Unit,
    /// The robustness verdict in plain language, one line per layer (then DPI findings that
    /// persist across σ²): the page opens with it.
    pub verdict: Vec<String>,
    /// With several seeds of one configuration: what was aggregated (or why not) and the mean
    /// information plane with 95 % bands.
    pub seeds: Option<(String, Vec<PathBuf>)>,
    /// The estimators of the tables.
    pub estimators: Vec<String>,
    /// The interactive information plane ([`interactive::section`]).
    pub interactive: String,
}

/// One row of the comparison table: context, compared, quantity, epochs with the layer order
/// flipped, median Spearman ρ, the most frequent flip.
pub(crate) type ComparisonRow = [String; 6];

/// Rank rows grouped by (context, a, b, quantity).
type RankGroups<'a> = Vec<(
    (&'a str, &'a str, &'a str, &'a str),
    Vec<&'a compare::RankRow>,
)>;

/// What a report wrote.
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    /// Every file, relative to the report folder.
    pub files: Vec<String>,
    /// The plain-language findings.
    pub findings: Vec<String>,
}

/// A name safe in file names.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One run's estimates and what else the report knows of it.
struct RunInput {
    /// The run's name (the `run` column).
    name: String,
    /// Its rows, in nats.
    rows: Vec<EstimateRow>,
    /// The archive, when the report has it (summary, accuracy, gradient SNR).
    archive: Option<Archive>,
    /// The squared distances of the estimation passes (only when the report estimated).
    distances: Option<DistanceReport>,
}

/// Runs everything over `dirs` and writes CSVs, plots and a self-contained `index.html` into
/// `out`. `progress(stage)` is called as each stage starts.
pub fn write_report(
    dirs: &[PathBuf],
    out: &Path,
    p: &ReportParams,
    progress: &mut dyn FnMut(&str),
) -> Result<ReportFiles> {
    let req = p.request();
    req.build()?;
    dpi::validate_tolerance(p.tolerance)?;
    for dir in dirs {
        crate::util::fsutil::refuse_output_inside(out, dir)?;
    }
    let mut runs = Vec::new();
    for dir in dirs {
        let archive = Archive::open(dir)?;
        let name = archive.manifest().run.name.clone();
        progress(&format!(
            "{name}: estimating, with the distances from the same passes"
        ));
        // Squared distances, the quantity the σ² rules read, with the σ² of each setting marked.
        let mut dist = DistanceReport {
            squared: true,
            ..DistanceReport::default()
        };
        let rows = run::estimate_archive(
            &archive,
            &req,
            &mut |_, _| {},
            Some(&mut |li, epoch, d| dist.push(&archive, li, epoch, d)),
        )?;
        dist.marks = sigma2_marks(&rows);
        runs.push(RunInput {
            name,
            rows,
            distances: Some(dist),
            archive: Some(archive),
        });
    }
    assemble(runs, out, p, p.estimator.clone(), progress)
}

/// The report of an estimates table (CSV or Parquet) as it is: nothing is estimated again, and
/// [`ReportParams`]' estimation parameters (σ², estimators, epochs) are not used. Each run of
/// the table is one section; an archive in `archives` whose run name matches adds its summary,
/// accuracy and gradient SNR (distance histograms need the estimation passes: only
/// [`write_report`] draws them).
pub fn write_report_from_table(
    table_path: &Path,
    archives: &[PathBuf],
    out: &Path,
    p: &ReportParams,
    progress: &mut dyn FnMut(&str),
) -> Result<ReportFiles> {
    dpi::validate_tolerance(p.tolerance)?;
    crate::util::fsutil::refuse_same_outputs(&[table_path, out])?;
    for dir in archives {
        crate::util::fsutil::refuse_output_inside(out, dir)?;
    }
    progress("reading the table");
    let t = table::read(table_path)?;
    let mut runs: Vec<RunInput> = Vec::new();
    for r in t.rows {
        match runs.iter_mut().find(|x| x.name == r.run) {
            Some(x) => x.rows.push(r),
            None => runs.push(RunInput {
                name: r.run.clone(),
                rows: vec![r],
                archive: None,
                distances: None,
            }),
        }
    }
    for dir in archives {
        let archive = Archive::open(dir)?;
        let name = archive.manifest().run.name.clone();
        let Some(run) = runs.iter_mut().find(|x| x.name == name) else {
            return Err(Error::Invalid(format!(
                "{}: its run '{name}' is not in {} (runs there: {})",
                dir.display(),
                table_path.display(),
                runs.iter()
                    .map(|x| x.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        run.archive = Some(archive);
    }
    let mut estimators: Vec<String> = Vec::new();
    for r in runs.iter().flat_map(|x| &x.rows) {
        if !estimators.iter().any(|e| *e == r.estimator) {
            estimators.push(r.estimator.to_string());
        }
    }
    assemble(runs, out, p, estimators, progress)
}

/// A self-contained page with only the interactive information plane of `rows` (in nats), with
/// the DPI findings at the default tolerance marked: what Python shows inline in a notebook.
pub fn plane_page(rows: &[EstimateRow], unit: Unit) -> Result<String> {
    let v = dpi::check(rows, dpi::DEFAULT_TOLERANCE / unit.from_nats())?;
    Ok(html::plane_page(&interactive::section(rows, &v, unit)))
}

/// Diagnostics, plots, tables and the page of the runs' rows.
fn assemble(
    inputs: Vec<RunInput>,
    out: &Path,
    p: &ReportParams,
    estimators: Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> Result<ReportFiles> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut files = Vec::new();
    let mut findings = Vec::new();
    let mut runs = Vec::new();
    let mut all_rows = Vec::new();
    let mut all_violations = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let count = inputs.len();
    for input in inputs {
        let mut stem = safe(&input.name);
        while !seen.insert(stem.clone()) {
            stem.push('_');
        }
        let (run, v) = gather_run(&input, &stem, out, p, &mut files, &mut findings, progress)?;
        all_violations.extend(v);
        runs.push(run);
        all_rows.extend(input.rows);
    }
    progress("verdict");
    let verdict = verdict_lines(&all_rows, out, &mut files)?;
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    let seeds = (count > 1)
        .then(|| seed_aggregate(&all_rows, &names, out, p.unit, &mut files))
        .transpose()?;
    progress("compare");
    let comparison = comparison(&all_rows, count, out, p.unit, &mut files)?;
    if let Ok((line, _)) = &comparison {
        findings.push(("comparison".to_string(), vec![line.clone()]));
    }
    let mut rel: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(out).ok())
        .map(|p| p.display().to_string())
        .collect();
    rel.sort();
    let data = ReportData {
        runs,
        findings,
        comparison,
        files: rel,
        unit: p.unit,
        verdict,
        seeds,
        estimators,
        interactive: interactive::section(&all_rows, &all_violations, p.unit),
    };
    crate::util::fsutil::write_atomic(&out.join("index.html"), html::render(&data)?.as_bytes())?;
    let mut all = data.files;
    all.push("index.html".into());
    all.sort();
    Ok(ReportFiles {
        files: all,
        findings: data.findings.into_iter().flat_map(|(_, f)| f).collect(),
    })
}

/// DPI, SNR, tables and plots of one run; their files go into `files`, their findings into
/// `findings`.
fn gather_run(
    input: &RunInput,
    stem: &str,
    out: &Path,
    p: &ReportParams,
    files: &mut Vec<PathBuf>,
    findings: &mut Vec<(String, Vec<String>)>,
    progress: &mut dyn FnMut(&str),
) -> Result<(RunReport, Vec<dpi::Violation>)> {
    let (name, rows) = (&input.name, &input.rows);
    let mut csv = |kind: &str, df: &mut polars::prelude::DataFrame| -> Result<()> {
        let path = out.join(format!("{kind}-{stem}.csv"));
        crate::table::write(df, &path)?;
        files.push(path);
        Ok(())
    };
    csv("estimates", &mut table::to_frame(rows, p.unit)?)?;
    if let Some(dist) = &input.distances {
        csv("distances", &mut run::distances::distances_table(dist)?)?;
    }
    progress(&format!("{stem}: dpi"));
    let tol = p.tolerance / p.unit.from_nats();
    let v = dpi::check(rows, tol)?;
    csv("violations", &mut dpi::violations_table(&v, p.unit)?)?;
    let dpi_findings = dpi::findings(&v, rows);
    findings.push((
        format!("{name}: data-processing inequality, bounds and saturation"),
        key_findings(&dpi_findings, name, stem),
    ));
    let snr = match &input.archive {
        Some(a) if !a.manifest().parameters.is_empty() => {
            let s = snr::snr_archive(a)?;
            csv("snr", &mut snr::snr_table(&s)?)?;
            findings.push((
                format!("{name}: gradient SNR"),
                vec![format!("{name}: gradient SNR: {}", snr_line(&s))],
            ));
            Some(s)
        }
        _ => None,
    };
    progress(&format!("{stem}: plots"));
    let plots = run_plots(input, (stem, out), p.unit, snr.as_ref())?;
    files.extend(plots.iter().flatten().cloned());
    let run = RunReport {
        summary: match &input.archive {
            Some(a) => Summary::of(a)?.to_string(),
            None => table_summary(input),
        },
        dpi_text: dpi::summary(&v, rows, p.unit),
        dpi_findings,
        snr_text: snr.as_ref().map(snr_line),
        last_epoch: rows.iter().map(|r| r.epoch).max(),
        archive: input.archive.is_some(),
        plots,
        name: name.clone(),
    };
    Ok((run, v))
}

/// What the report knows of a run it has only as table rows.
fn table_summary(input: &RunInput) -> String {
    let mut layers: Vec<&str> = Vec::new();
    let mut epochs = std::collections::BTreeSet::new();
    for r in &input.rows {
        if !layers.contains(&r.layer.as_str()) {
            layers.push(&r.layer);
        }
        epochs.insert(r.epoch);
    }
    format!(
        "run {}: {} rows of an estimates table (no archive given: no accuracy, gradient SNR or distances)\nlayers: {}\nepochs: {} ({}..{})\nN = {}",
        input.name,
        input.rows.len(),
        layers.join(", "),
        epochs.len(),
        epochs.first().copied().unwrap_or(0),
        epochs.last().copied().unwrap_or(0),
        input.rows.first().map_or(0, |r| r.n),
    )
}

/// The run's plots: information plane, accuracy (with the archive), SNR (when it has gradient
/// statistics), distance histograms (when the report estimated).
fn run_plots(
    input: &RunInput,
    (stem, out): (&str, &Path),
    unit: Unit,
    snr: Option<&snr::SnrReport>,
) -> Result<[Vec<PathBuf>; 5]> {
    let at = |kind: &str| out.join(format!("{kind}-{stem}"));
    let plane = plot::information_plane(
        &at("infoplane"),
        &plot::plane::plane_panels(&input.rows, unit),
        false,
    )?;
    let accuracy = match &input.archive {
        // A checkpoint series or a stream may have no accuracy: no empty chart then.
        Some(a) => {
            let m = a.metrics()?;
            let any = m
                .iter()
                .any(|(_, x)| x.train_accuracy.is_some() || x.validation_accuracy.is_some());
            if any {
                plot::lines::plot_accuracy(&input.name, &m, &at("accuracy"))?
            } else {
                Vec::new()
            }
        }
        None => Vec::new(),
    };
    let snr = match snr {
        Some(s) => plot::snr::plot_snr(s, &at("snr"))?,
        None => Vec::new(),
    };
    let histograms = match (&input.archive, &input.distances) {
        (Some(a), Some(dist)) => {
            let names: Vec<String> = a.layers().iter().map(|l| l.name.clone()).collect();
            plot::histograms::layer_histograms(&input.name, &names, dist, &at("plots"), None)?
        }
        _ => Vec::new(),
    };
    let ratio = plot::lines::plot_ratio(&input.name, &input.rows, &at("ratio"))?;
    Ok([plane, accuracy, snr, histograms, ratio])
}

/// The findings that matter (definite violations and saturation), at most 12 per run.
fn key_findings(all: &[dpi::Finding], run: &str, stem: &str) -> Vec<String> {
    let key: Vec<String> = all
        .iter()
        .filter(|f| f.matters())
        .map(dpi::Finding::sentence)
        .collect();
    let mut out: Vec<String> = key.iter().take(12).cloned().collect();
    if key.len() > 12 {
        out.push(format!(
            "{run}: {} more findings in violations-{stem}.csv",
            key.len() - 12
        ));
    }
    if key.is_empty() {
        out.push(format!(
            "{run}: no definite DPI or bound violation and no saturation"
        ));
    }
    out
}

/// The σ² each pairwise setting used per layer (at the last epoch), to mark on the plots of
/// d²: `σ² = 0.1`, `p90(d²)/1000@last`.
fn sigma2_marks(rows: &[EstimateRow]) -> Vec<(usize, String, f64)> {
    let last = rows.iter().map(|r| r.epoch).max().unwrap_or(0);
    let mut out: Vec<(usize, String, f64)> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.epoch == last && estimator::kind(&r.estimator).noisy)
    {
        let label = if r.setting.parse::<f64>().is_ok() {
            format!("σ² = {}", r.setting)
        } else {
            r.setting.clone()
        };
        if !out.iter().any(|m| m.0 == r.layer_index && m.1 == label) {
            out.push((r.layer_index, label, r.sigma2));
        }
    }
    out
}

/// The transition epochs and the stable-accuracy epoch in one line.
fn snr_line(s: &snr::SnrReport) -> String {
    let mut text = s
        .transitions
        .iter()
        .map(|t| {
            let at = t.epoch.map_or("no transition".into(), |e| {
                format!("transition at epoch {e}")
            });
            format!("{}: {at}", t.layer)
        })
        .collect::<Vec<_>>()
        .join("; ");
    text.push_str(&format!(
        "; validation accuracy stable from epoch {}",
        s.stable_validation_epoch
            .map_or("-".into(), |e| e.to_string())
    ));
    text
}

/// The verdict over every run's rows (`verdict.csv`) in plain language.
fn verdict_lines(
    rows: &[EstimateRow],
    out: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Vec<String>> {
    let v = verdict::verdict(rows, verdict::DEFAULT_TOLERANCE)?;
    let path = out.join("verdict.csv");
    crate::table::write(&mut verdict::verdict_table(&v)?, &path)?;
    files.push(path);
    let mut lines: Vec<String> = v.note.into_iter().collect();
    lines.extend(v.layers);
    lines.extend(v.dpi.into_iter().map(|d| format!("DPI: {d}")));
    Ok(lines)
}

/// The runs aggregated over seeds (`aggregate.csv`, `infoplane-mean.png`), or why not.
fn seed_aggregate(
    rows: &[EstimateRow],
    names: &[&str],
    out: &Path,
    unit: Unit,
    files: &mut Vec<PathBuf>,
) -> Result<(String, Vec<PathBuf>)> {
    let mut sorted = names.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Ok((
            format!(
                "not aggregated over seeds: two archives have the run name '{}'",
                w[0]
            ),
            Vec::new(),
        ));
    }
    let mut by_run: Vec<(PathBuf, table::Estimates)> = Vec::new();
    for r in rows {
        match by_run
            .iter_mut()
            .find(|(p, _)| p.as_os_str() == r.run.as_str())
        {
            Some((_, t)) => t.rows.push(r.clone()),
            None => by_run.push((
                PathBuf::from(&r.run),
                table::Estimates {
                    rows: vec![r.clone()],
                    unit: Unit::Nats,
                },
            )),
        }
    }
    let agg = match aggregate::aggregate(&by_run, aggregate::By::Seed) {
        Ok(a) => a,
        Err(e) => return Ok((format!("not aggregated over seeds: {e}"), Vec::new())),
    };
    let path = out.join("aggregate.csv");
    crate::table::write(&mut aggregate::aggregate_table(&agg, unit)?, &path)?;
    files.push(path);
    let plots = plot::information_plane(
        &out.join("infoplane-mean"),
        &plot::plane::plane_panels(&agg.rows, unit),
        false,
    )?;
    files.extend(plots.iter().cloned());
    let text = format!(
        "{} runs aggregated over seeds in aggregate.csv: the mean of each estimate with its 95 % t-interval (boxes below)",
        by_run.len()
    );
    Ok((text, plots))
}

/// Compares the runs (several archives) or the estimators (one); writes the tables.
fn comparison(
    rows: &[EstimateRow],
    archives: usize,
    out: &Path,
    unit: Unit,
    files: &mut Vec<PathBuf>,
) -> Result<std::result::Result<(String, Vec<ComparisonRow>), String>> {
    let by = if archives > 1 { By::Run } else { By::Estimator };
    let c = match compare::compare(rows, by, false) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let p = out.join("compare.csv");
    crate::table::write(&mut compare::diff_table(&c, unit)?, &p)?;
    let q = out.join("compare-ranks.csv");
    crate::table::write(&mut compare::rank_table(&c)?, &q)?;
    files.extend([p, q]);
    let flips = c.ranks.iter().filter(|r| !r.flips.is_empty()).count();
    let line = format!(
        "compare by {}: {} joined rows; layer orderings differ at {flips} of {} (epoch, quantity) pairs",
        match by {
            By::Run => "run",
            By::Estimator => "estimator",
            By::Sigma2 => "sigma2",
        },
        c.diffs.len(),
        c.ranks.len()
    );
    Ok(Ok((line, rank_summary(&c.ranks))))
}

/// The rank comparisons per (context, a, b, quantity): epochs with a flipped layer order of
/// all epochs, the median Spearman ρ, and the most frequent flip.
fn rank_summary(ranks: &[compare::RankRow]) -> Vec<ComparisonRow> {
    let mut groups: RankGroups<'_> = Vec::new();
    for r in ranks {
        let key = (r.context.as_str(), r.a.as_str(), r.b.as_str(), r.quantity);
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    groups
        .into_iter()
        .map(|((context, a, b, q), v)| {
            let mut rho: Vec<f64> = v
                .iter()
                .map(|r| r.spearman)
                .filter(|x| x.is_finite())
                .collect();
            rho.sort_by(f64::total_cmp);
            let median = rho
                .get(rho.len() / 2)
                .map_or("-".into(), |m| format!("{m:.3}"));
            let mut counts: Vec<(&String, usize)> = Vec::new();
            for f in v.iter().flat_map(|r| r.flips.iter()) {
                match counts.iter_mut().find(|c| c.0 == f) {
                    Some(c) => c.1 += 1,
                    None => counts.push((f, 1)),
                }
            }
            let top = counts
                .iter()
                .max_by_key(|c| c.1)
                .map_or("-".into(), |c| format!("{} ({}×)", c.0, c.1));
            let flipped = v.iter().filter(|r| !r.flips.is_empty()).count();
            [
                if context.is_empty() {
                    "-".into()
                } else {
                    context.to_string()
                },
                format!("{a} vs {b}"),
                q.to_string(),
                format!("{flipped} of {}", v.len()),
                median,
                top,
            ]
        })
        .collect()
}
