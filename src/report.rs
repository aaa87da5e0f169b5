//! Plots from result tables and archives (information plane, SNR, accuracy) and the one-command
//! HTML report that runs estimate, distances, dpi, snr and compare over one or more archives.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::archive::Archive;
use crate::compare::{self, By};
use crate::distances;
use crate::dpi;
use crate::error::{Error, Result};
use crate::estimates::{self, EstimateRequest};
use crate::plot::{self, Curve, PlanePanel};
use crate::results::ResultRow;
use crate::snr::{self, SnrReport};

/// One information-plane panel per (run, estimator, σ² group), in order of appearance.
pub fn plane_panels(rows: &[ResultRow]) -> Vec<PlanePanel> {
    let mut order: Vec<(String, String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String, String), Vec<&ResultRow>> = BTreeMap::new();
    for r in rows {
        let k = (r.run.clone(), r.estimator.clone(), r.sigma2_key());
        if !groups.contains_key(&k) {
            order.push(k.clone());
        }
        groups.entry(k).or_default().push(r);
    }
    order
        .into_iter()
        .map(|k| {
            let g = &groups[&k];
            PlanePanel {
                title: format!("{} · {} · σ² = {}", k.0, k.1, k.2),
                points: g
                    .iter()
                    .map(|r| (r.epoch, r.layer_index, r.i_xz, r.i_yz, r.i_yz_lo, r.i_yz_hi))
                    .collect(),
                h_y: g[0].h_y,
                log_n: g[0].log_n,
                unit: g[0].unit.clone(),
            }
        })
        .collect()
}

/// The SNR plot: ||Mean||_F/||W||_F (solid) and ||STD||_F/||W||_F (dashed) per layer against
/// the epoch, log-log, one colour per layer.
pub fn plot_snr(r: &SnrReport, stem: &Path) -> Result<Vec<PathBuf>> {
    let mut layers: Vec<&str> = Vec::new();
    for row in &r.rows {
        if !layers.contains(&row.layer.as_str()) {
            layers.push(&row.layer);
        }
    }
    let mut curves: Vec<Curve> = Vec::new();
    for (k, l) in layers.iter().enumerate() {
        let pts = |f: fn(&snr::SnrRow) -> f64| {
            r.rows
                .iter()
                .filter(|x| x.layer == *l)
                .map(|x| (f64::from(x.epoch), f(x)))
                .collect::<Vec<_>>()
        };
        let t = r
            .transitions
            .iter()
            .find(|t| t.layer == *l)
            .and_then(|t| t.epoch);
        let note = t.map_or(String::new(), |e| format!(", transition at epoch {e}"));
        curves.push((format!("{l} mean{note}"), k, false, pts(|x| x.mean_over_w)));
        curves.push((format!("{l} std"), k, true, pts(|x| x.std_over_w)));
    }
    plot::lines(
        stem,
        &format!("{}: gradient signal and noise per layer", r.run),
        "epoch (log)",
        "||Mean||_F / ||W||_F (solid), ||STD||_F / ||W||_F (dashed)",
        &curves,
        layers.len(),
        true,
    )
}

/// Train (solid) and validation (dashed) accuracy against the epoch.
pub fn plot_accuracy(archive: &Archive, stem: &Path) -> Result<Vec<PathBuf>> {
    let m = archive.metrics()?;
    let series = |f: fn(&crate::archive::EpochMetrics) -> Option<f64>| {
        m.iter()
            .filter_map(|(e, x)| f(x).map(|v| (f64::from(*e), v)))
            .collect::<Vec<_>>()
    };
    let curves: Vec<Curve> = vec![
        (
            "train accuracy".into(),
            0,
            false,
            series(|x| x.train_accuracy),
        ),
        (
            "validation accuracy".into(),
            1,
            true,
            series(|x| x.validation_accuracy),
        ),
    ];
    plot::lines(
        stem,
        &format!("{}: accuracy", archive.manifest().run.name),
        "epoch",
        "accuracy",
        &curves,
        3,
        false,
    )
}

/// What the report computes.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The estimation request (σ² set, estimators, epochs...).
    pub estimate: EstimateRequest,
    /// DPI tolerance, in the unit of the estimates.
    pub tolerance: f64,
}

/// What a report wrote.
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    /// Every file, relative to the report folder.
    pub files: Vec<String>,
    /// The plain-language findings.
    pub findings: Vec<String>,
}

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

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Runs everything over `dirs` and writes CSVs, plots and a self-contained `index.html` into
/// `out`. `progress(stage)` is called as each stage starts.
pub fn write_report(
    dirs: &[PathBuf],
    out: &Path,
    opts: &ReportOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ReportFiles> {
    opts.estimate.validate()?;
    dpi::validate_tolerance(opts.tolerance)?;
    for dir in dirs {
        crate::archive::fsutil::refuse_output_inside(out, dir)?;
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut findings = Vec::new();
    let mut html_sections = String::new();
    let mut all_rows: Vec<ResultRow> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for dir in dirs {
        let archive = Archive::open(dir)?;
        let mut run = safe(&archive.manifest().run.name);
        while !seen.insert(run.clone()) {
            run.push('_');
        }
        progress(&format!(
            "{run}: estimating, with the distances from the same passes"
        ));
        let mut dist = distances::DistanceReport::default();
        let est = estimates::estimate_archive_with_distances(
            &archive,
            &opts.estimate,
            &mut |_, _| {},
            Some(&mut |li, epoch, d| dist.push(&archive, li, epoch, d)),
        )?;
        let est_path = out.join(format!("estimates-{run}.csv"));
        estimates::estimates_table(&est).write(&est_path)?;
        files.push(est_path);
        let rows: Vec<ResultRow> = est.iter().map(ResultRow::from).collect();

        let dist_path = out.join(format!("distances-{run}.csv"));
        distances::distances_table(&dist.rows).write(&dist_path)?;
        files.push(dist_path);
        let last = archive.activation_epochs().last().copied();
        let dist_plots =
            distances::plot_histograms(&archive, &dist, &out.join(format!("plots-{run}")), None)?;

        progress(&format!("{run}: dpi"));
        let v = dpi::check(&rows, opts.tolerance);
        let v_path = out.join(format!("violations-{run}.csv"));
        dpi::violations_table(&v).write(&v_path)?;
        files.push(v_path);
        let dpi_text = dpi::summary(&v, &rows);
        // The findings that matter: definite violations and saturation, at most 12 lines.
        let prefix = format!("{}:", rows.first().map_or("", |r| r.run.as_str()));
        let key: Vec<&str> = dpi_text
            .lines()
            .filter(|l| {
                l.starts_with(&prefix) && (!l.contains("(definite: 0;") || l.contains("saturated"))
            })
            .collect();
        findings.extend(key.iter().take(12).map(|l| l.to_string()));
        if key.len() > 12 {
            findings.push(format!(
                "{prefix} {} more findings in violations-{run}.csv",
                key.len() - 12
            ));
        }
        if key.is_empty() {
            findings.push(format!(
                "{prefix} no definite DPI or bound violation and no saturation"
            ));
        }

        progress(&format!("{run}: plots"));
        let plane = plot::information_plane(
            &out.join(format!("infoplane-{run}")),
            &plane_panels(&rows),
            false,
        )?;
        let acc = plot_accuracy(&archive, &out.join(format!("accuracy-{run}")))?;
        let mut snr_plot = Vec::new();
        let mut snr_text = String::from("no gradient statistics in this archive");
        if !archive.manifest().parameters.is_empty() {
            let s = snr::snr_archive(&archive)?;
            let p = out.join(format!("snr-{run}.csv"));
            snr::snr_table(&s).write(&p)?;
            files.push(p);
            snr_plot = plot_snr(&s, &out.join(format!("snr-{run}")))?;
            snr_text = s
                .transitions
                .iter()
                .map(|t| {
                    format!(
                        "{}: {}",
                        t.layer,
                        t.epoch.map_or("no transition".into(), |e| format!(
                            "transition at epoch {e}"
                        ))
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            snr_text.push_str(&format!(
                "; validation accuracy stable from epoch {}",
                s.stable_validation_epoch
                    .map_or("-".into(), |e| e.to_string())
            ));
            findings.push(format!(
                "{}: gradient SNR: {snr_text}",
                archive.manifest().run.name
            ));
        }
        let summary = crate::archive::Summary::of(&archive)?;
        let _ = write!(
            html_sections,
            "<h2>{}</h2>\n<pre>{}</pre>\n<h3>Information plane</h3>\n{}\n<h3>Data-processing inequality and bounds</h3>\n<pre>{}</pre>\n<h3>Accuracy</h3>\n{}\n<h3>Gradient signal-to-noise</h3>\n<p>{}</p>\n{}\n<h3>Pairwise distances{}</h3>\n{}\n",
            esc(&archive.manifest().run.name),
            esc(&summary.to_string()),
            img_tags(&plane)?,
            esc(&dpi_text),
            img_tags(&acc)?,
            esc(&snr_text),
            img_tags(&snr_plot)?,
            last.map_or(String::new(), |e| format!(" (epochs up to {e})")),
            img_tags(&dist_plots)?,
        );
        files.extend(plane);
        files.extend(acc);
        files.extend(snr_plot);
        files.extend(dist_plots);
        all_rows.extend(rows);
    }
    progress("compare");
    let by = if dirs.len() > 1 {
        By::Run
    } else {
        By::Estimator
    };
    let mut compare_html = String::new();
    match compare::compare(&all_rows, by, false) {
        Ok(c) => {
            let p = out.join("compare.csv");
            compare::diff_table(&c).write(&p)?;
            let q = out.join("compare-ranks.csv");
            compare::rank_table(&c).write(&q)?;
            files.push(p);
            files.push(q);
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
            findings.push(line.clone());
            let _ = write!(compare_html, "<h2>Comparison</h2>\n<p>{}</p>\n", esc(&line));
        }
        Err(e) => {
            let _ = write!(
                compare_html,
                "<h2>Comparison</h2>\n<p>not compared: {}</p>\n",
                esc(&e.to_string())
            );
        }
    }
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>infoplane report</title>\n<style>body{font-family:sans-serif;max-width:1300px;margin:2em auto;padding:0 1em}img{max-width:100%;border:1px solid #ddd;margin:4px 0}pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}li{margin:2px 0}</style></head><body>\n<h1>infoplane report</h1>\n",
    );
    let _ = write!(html, "<h2>Summary</h2>\n<ul>\n");
    for f in &findings {
        let _ = writeln!(html, "<li>{}</li>", esc(f));
    }
    let _ = write!(html, "</ul>\n<p>Estimator: pairwise KL (upper) and Bhattacharyya (lower) bounds of Kolchinsky &amp; Tracey (2017), unit {}; every table is a CSV beside this file.</p>\n", opts.estimate.unit);
    html.push_str(&html_sections);
    html.push_str(&compare_html);
    let rel: Vec<String> = {
        let mut v: Vec<String> = files
            .iter()
            .filter_map(|f| f.strip_prefix(out).ok())
            .map(|p| p.display().to_string())
            .collect();
        v.sort();
        v
    };
    let _ = write!(html, "<h2>Files</h2>\n<ul>\n");
    for f in &rel {
        let _ = writeln!(html, "<li><a href=\"{0}\">{0}</a></li>", esc(f));
    }
    html.push_str("</ul>\n</body></html>\n");
    let index = out.join("index.html");
    crate::archive::fsutil::write_atomic(&index, html.as_bytes())?;
    let mut all = rel;
    all.push("index.html".into());
    all.sort();
    Ok(ReportFiles {
        files: all,
        findings,
    })
}

/// `<img>` tags with the PNGs among `files` embedded as data URIs (so the page needs nothing
/// else).
fn img_tags(files: &[PathBuf]) -> Result<String> {
    let mut s = String::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
    {
        let bytes = std::fs::read(f).map_err(|e| Error::io(f, e))?;
        let _ = writeln!(
            s,
            "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
            esc(&f.display().to_string()),
            base64(&bytes)
        );
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}
