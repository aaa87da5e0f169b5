//! The report's `index.html`: one self-contained page (PNG plots embedded as data URIs, no
//! server, no network), rendered from [`ReportData`].

use std::fmt::Write as _;
use std::path::PathBuf;

use super::interactive::base64;
use super::{ReportData, RunReport};
use crate::error::{Error, Result};

/// HTML-escaped text, safe in element content and in quoted attribute values alike.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `<img>` tags with the PNGs among `files` embedded as data URIs.
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
            // The file's name, not its path: the page is the same wherever it was written.
            esc(&f
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned())),
            base64(&bytes)
        );
    }
    Ok(s)
}

/// The page's head: a Content-Security-Policy that runs the viewer's script (named by its
/// hash) and nothing else, loads nothing from anywhere, and the style sheet.
fn head() -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {}\"><title>infoplane report</title>\n{STYLE}",
        super::interactive::script_source()
    )
}

const STYLE: &str = "<style>.ip-controls{margin:6px 0;line-height:2}table.t{border-collapse:collapse;font-size:13px}table.t td,table.t th{border:1px solid #ccc;padding:2px 6px;text-align:left}#ip-svg{border:1px solid #ddd}body{font-family:sans-serif;max-width:1300px;margin:2em auto;padding:0 1em}img{max-width:100%;border:1px solid #ddd;margin:4px 0}pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}li{margin:2px 0}</style></head><body>\n";

/// An HTML table (cells escaped).
fn table_html(head: &[&str], rows: &[[String; 6]]) -> String {
    let mut t = String::from("<table class=\"t\"><tr>");
    for h in head {
        let _ = write!(t, "<th>{}</th>", esc(h));
    }
    t.push_str("</tr>\n");
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            let _ = write!(t, "<td>{}</td>", esc(c));
        }
        t.push_str("</tr>\n");
    }
    t.push_str("</table>\n");
    t
}

/// The DPI findings as a compact table, grouped by layer pair: check, estimator, where (σ²
/// range), epochs, definite, first epoch.
fn dpi_table(findings: &[crate::diagnostics::dpi::Finding]) -> String {
    if findings.is_empty() {
        return "<p>no violation and no saturation</p>\n".into();
    }
    let mut sorted: Vec<&crate::diagnostics::dpi::Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.layer, &a.reference_layer, a.check).cmp(&(&b.layer, &b.reference_layer, b.check))
    });
    let rows: Vec<[String; 6]> = sorted
        .iter()
        .map(|f| {
            let pair = if f.reference_layer.is_empty() {
                f.layer.clone()
            } else {
                format!("{} vs {}", f.layer, f.reference_layer)
            };
            let n = if f.count.0 == f.count.1 {
                format!("{} of {}", f.count.0, f.of)
            } else {
                format!("{}–{} of {}", f.count.0, f.count.1, f.of)
            };
            [
                pair,
                f.check.name().into(),
                f.estimator.to_string(),
                f.settings_text(),
                n,
                format!("{} (first at epoch {})", f.definite, f.first_epoch),
            ]
        })
        .collect();
    table_html(
        &[
            "layer pair",
            "check",
            "estimator",
            "where",
            "epochs",
            "definite",
        ],
        &rows,
    )
}

/// The comparison: its line, its table and, for several runs, their planes side by side.
fn comparison_html(data: &ReportData) -> Result<String> {
    let mut html = String::new();
    match &data.comparison {
        Ok((line, table)) => {
            let _ = write!(html, "<h2>Comparison</h2>\n<p>{}</p>\n", esc(line));
            let head = [
                "context",
                "compared",
                "quantity",
                "epochs with the layer order flipped",
                "median Spearman ρ",
                "most frequent flip",
            ];
            html.push_str(&table_html(&head, table));
            if data.runs.len() > 1 {
                // The runs' planes side by side.
                html.push_str("<div style=\"display:flex;gap:8px\">");
                for run in &data.runs {
                    let _ = write!(
                        html,
                        "<div style=\"flex:1\"><p>{}</p>{}</div>",
                        esc(&run.name),
                        img_tags(&run.plots[0])?
                    );
                }
                html.push_str("</div>\n");
            }
        }
        Err(why) => {
            let _ = write!(
                html,
                "<h2>Comparison</h2>\n<p>not compared: {}</p>\n",
                esc(why)
            );
        }
    }
    Ok(html)
}

/// One run's section; what the report does not have (accuracy and gradient SNR without the
/// archive, distances without estimating) is left out with a line saying so.
fn run_html(run: &RunReport) -> Result<String> {
    let [plane, acc, snr, dist, ratio] = &run.plots;
    let mut html = format!("<h2>{}</h2>\n", esc(&run.name));
    if !run.archive {
        html.push_str("<p>No accuracy, gradient SNR or distances: the report was made from a table without this run's archive.</p>\n");
    } else {
        let _ = write!(
            html,
            "<h3>Accuracy</h3>\n{}\n<h3>Gradient signal-to-noise</h3>\n<p>{}</p>\n{}\n",
            if acc.is_empty() {
                "<p>no accuracy in this archive</p>".to_string()
            } else {
                img_tags(acc)?
            },
            esc(run
                .snr_text
                .as_deref()
                .unwrap_or("no gradient statistics in this archive")),
            img_tags(snr)?,
        );
    }
    if !ratio.is_empty() {
        let _ = write!(
            html,
            "<h3>Compression ratio</h3>\n<p>I(Y;Z) / I(X;Z) of each layer against the epoch (checkpoint): how much of what the layer keeps about the input is about the label.</p>\n{}\n",
            img_tags(ratio)?,
        );
    }
    if !dist.is_empty() {
        let _ = write!(
            html,
            "<h3>Squared pairwise distances{}, the σ² used marked</h3>\n{}\n",
            run.last_epoch
                .map_or(String::new(), |e| format!(" (epochs up to {e})")),
            img_tags(dist)?,
        );
    }
    let _ = write!(
        html,
        "<h3>Data-processing inequality, bounds and saturation</h3>\n{}<details><summary>the checks in words, and what \"definite\" means</summary><pre>{}</pre></details>\n<details><summary>static information planes (one panel per estimator and σ²)</summary>{}</details>\n<details><summary>the archive</summary><pre>{}</pre></details>\n",
        dpi_table(&run.dpi_findings),
        esc(&run.dpi_text),
        img_tags(plane)?,
        esc(&run.summary),
    );
    Ok(html)
}

/// A page with only the interactive plane of `rows` (`interactive` is its section): what a
/// notebook shows inline.
pub fn plane_page(interactive: &str) -> String {
    format!("{}{interactive}</body></html>\n", head())
}

/// The findings: one line counting them per group, then each group collapsed under its title
/// and count.
fn findings_html(groups: &[(String, Vec<String>)]) -> String {
    let total: usize = groups.iter().map(|g| g.1.len()).sum();
    let counts: Vec<String> = groups
        .iter()
        .map(|(t, f)| format!("{t}: {}", f.len()))
        .collect();
    let mut html = format!(
        "<h2>Summary</h2>\n<p>{total} findings: {}.</p>\n",
        esc(&counts.join("; "))
    );
    for (title, f) in groups {
        let _ = writeln!(
            html,
            "<details><summary>{} ({})</summary><ul>",
            esc(title),
            f.len()
        );
        for line in f {
            let _ = writeln!(html, "<li>{}</li>", esc(line));
        }
        html.push_str("</ul></details>\n");
    }
    html
}

/// The whole page.
pub(crate) fn render(data: &ReportData) -> Result<String> {
    let mut html = head();
    html.push_str("<h1>infoplane report</h1>\n");
    let _ = write!(html, "<h2>Verdict</h2>\n<p>Per layer: a fitting phase (I(X;Z) and I(Y;Z) rise), then compression (I(X;Z) falls while I(Y;Z) holds), and under which estimators, σ² and runs that holds (verdict.csv).</p>\n<ul>\n");
    for v in &data.verdict {
        let _ = writeln!(html, "<li>{}</li>", esc(v));
    }
    html.push_str("</ul>\n");
    html.push_str(&data.interactive);
    if let Some((text, plots)) = &data.seeds {
        let _ = write!(
            html,
            "<h2>Over seeds</h2>\n<p>{}</p>\n{}\n",
            esc(text),
            img_tags(plots)?
        );
    }
    html.push_str(&findings_html(&data.findings));
    let _ = writeln!(
        html,
        "<p>Estimators: {}; unit {}; every table is a CSV beside this file.</p>",
        esc(&data.estimators.join(", ")),
        data.unit
    );
    for run in &data.runs {
        html.push_str(&run_html(run)?);
    }
    html.push_str(&comparison_html(data)?);
    let _ = write!(html, "<h2>Files</h2>\n<ul>\n");
    for f in &data.files {
        let _ = writeln!(html, "<li><a href=\"{0}\">{0}</a></li>", esc(f));
    }
    html.push_str("</ul>\n</body></html>\n");
    Ok(html)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(
            super::esc("r\" onload=\"x'<b>&"),
            "r&quot; onload=&quot;x&#39;&lt;b&gt;&amp;"
        );
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
