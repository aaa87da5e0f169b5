//! The interactive information plane of the report: the estimate rows as columnar JSON plus
//! the plain-JavaScript viewer (`assets/plane.js`: σ² slider, estimator and run selectors,
//! epoch scrubber with play, tooltips, KL–BD bracket, error boxes, I(X;Z) against σ²).
//!
//! Everything is inline (no CDN, no server); the page's Content-Security-Policy forbids every
//! network request. Numbers are written with 6 significant digits, which keeps 320,000 rows
//! (100 epochs × 10 layers × 64 σ² × 5 estimators) near 14 MB.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::diagnostics::dpi::{Category, Violation};
use crate::table::estimates::{EstimateRow, Unit};

/// The viewer.
const SCRIPT: &str = include_str!("assets/plane.js");

/// Index of `v` in `names`, added when new.
fn index(names: &mut Vec<String>, v: &str) -> usize {
    match names.iter().position(|n| n == v) {
        Some(i) => i,
        None => {
            names.push(v.to_string());
            names.len() - 1
        }
    }
}

/// A number for the JSON: 6 significant digits, `null` for NaN and infinities.
fn num(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v:.5e}");
        let x: f64 = s.parse().unwrap_or(v);
        format!("{x}")
    } else {
        "null".into()
    }
}

/// A JSON string literal (quotes, backslashes, control characters and `<` escaped, so that
/// it cannot close the script element).
fn string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("\\u003c"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list<T>(v: &[T], f: impl Fn(&T) -> String) -> String {
    let items: Vec<String> = v.iter().map(f).collect();
    format!("[{}]", items.join(","))
}

/// The definite DPI and bound findings per (run, estimator, setting, layer, epoch), as text.
fn findings(v: &[Violation]) -> HashMap<(String, String, String, String, u32), String> {
    let mut out: HashMap<_, String> = HashMap::new();
    for x in v.iter().filter(|x| x.category == Category::Definite) {
        let key = (
            x.run.clone(),
            x.estimator.to_string(),
            x.sigma2.clone(),
            x.layer.clone(),
            x.epoch,
        );
        let text = if x.reference_layer.is_empty() {
            x.check.name().to_string()
        } else {
            format!("{} vs {}", x.check.name(), x.reference_layer)
        };
        let e = out.entry(key).or_default();
        if !e.is_empty() {
            e.push_str("; ");
        }
        e.push_str(&text);
    }
    out
}

/// The estimators' names with what each measures, from the registry: `"estimators"`,
/// `"quantities"` (`I` or `SI`, the axis labels) and `"bounded"` (whether ln N bounds it).
fn estimators_json(ests: &[String]) -> String {
    let kind = |s: &String| crate::estimator::kind(s);
    format!(
        "\"estimators\":{},\"quantities\":{},\"bounded\":{}",
        list(ests, |s| string(s)),
        list(ests, |s| string(kind(s).quantity.symbol())),
        list(ests, |s| kind(s).quantity.bounded_by_log_n().to_string()),
    )
}

/// The data of the viewer: columnar JSON of `rows` in `unit`, with the definite findings.
pub(crate) fn data_json(rows: &[EstimateRow], violations: &[Violation], unit: Unit) -> String {
    let k = unit.from_nats();
    let (mut runs, mut ests, mut sets, mut layers) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut layer_of: Vec<(usize, String)> = rows
        .iter()
        .map(|r| (r.layer_index, r.layer.clone()))
        .collect();
    layer_of.sort();
    layer_of.dedup();
    for (_, l) in &layer_of {
        index(&mut layers, l);
    }
    let found = findings(violations);
    let mut cols: [Vec<String>; 13] = Default::default();
    for r in rows {
        let dpi = found
            .get(&(
                r.run.clone(),
                r.estimator.to_string(),
                r.setting.clone(),
                r.layer.clone(),
                r.epoch,
            ))
            .map_or("\"\"".into(), |t| string(t));
        let v = [
            index(&mut runs, &r.run).to_string(),
            index(&mut ests, &r.estimator).to_string(),
            index(&mut sets, &r.setting).to_string(),
            index(&mut layers, &r.layer).to_string(),
            r.epoch.to_string(),
            num(r.sigma2),
            num(r.i_xz * k),
            num(r.i_yz * k),
            num(r.i_yz_lo * k),
            num(r.i_yz_hi * k),
            num(r.i_xz_se * k),
            num(r.i_yz_se * k),
            format!("{}|{dpi}", u8::from(r.is_saturated())),
        ];
        for (c, x) in cols.iter_mut().zip(v) {
            c.push(x);
        }
    }
    let (sat, dpi): (Vec<String>, Vec<String>) = cols[12]
        .iter()
        .map(|s| {
            let (a, b) = s.split_once('|').unwrap_or(("0", "\"\""));
            (a.to_string(), b.to_string())
        })
        .unzip();
    let names = [
        "run", "est", "set", "layer", "epoch", "s2", "x", "y", "lo", "hi", "xse", "yse",
    ];
    let mut json = format!(
        "{{\"unit\":{},\"hy\":{},\"logn\":{},\"runs\":{},{},\"settings\":{},\"layers\":{}",
        string(&unit.to_string()),
        num(rows.first().map_or(f64::NAN, |r| r.h_y * k)),
        num(rows.first().map_or(f64::NAN, |r| r.log_n * k)),
        list(&runs, |s| string(s)),
        estimators_json(&ests),
        list(&sets, |s| string(s)),
        list(&layers, |s| string(s)),
    );
    for (name, c) in names.iter().zip(&cols) {
        // An all-NaN column (no bracket, no error bars) is left out: the viewer reads null.
        if c.iter().all(|v| v == "null") && ["lo", "hi", "xse", "yse"].contains(name) {
            continue;
        }
        let _ = write!(json, ",\"{name}\":[{}]", c.join(","));
    }
    let _ = write!(
        json,
        ",\"sat\":[{}],\"dpi\":[{}]",
        sat.join(","),
        dpi.join(",")
    );
    json.push_str(&epoch_labels_json(rows));
    json.push('}');
    json
}

/// `,"epochLabels":{"0":"step0",...}`: what an epoch is where the recording says (a
/// checkpoint's step), the first label seen; empty when no row has one.
fn epoch_labels_json(rows: &[EstimateRow]) -> String {
    let mut labels: std::collections::BTreeMap<u32, &str> = Default::default();
    for r in rows.iter().filter(|r| !r.epoch_label.is_empty()) {
        labels.entry(r.epoch).or_insert(&r.epoch_label);
    }
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(e, l)| format!("\"{e}\":{}", string(l)))
        .collect();
    format!(",\"epochLabels\":{{{}}}", pairs.join(","))
}

/// The Content-Security-Policy source of the viewer's script, `'sha256-<base64>'`: the page
/// allows that script and no other (no inline handlers, no injected `<script>`).
pub(crate) fn script_source() -> String {
    use sha2::Digest as _;
    format!(
        "'sha256-{}'",
        base64(&sha2::Sha256::digest(SCRIPT.as_bytes()))
    )
}

/// The section: controls, the SVG, the data and the script.
pub fn section(rows: &[EstimateRow], violations: &[Violation], unit: Unit) -> String {
    format!(
        "<h2>Information plane</h2>\n<p>Move σ² (the values in the table, in order) and the epoch; hover a point for its values. \
Colour = epoch (the bar on the right), in both views; the selected epoch is joined across layers and its values are in the table below; red rings mark saturated estimates; boxes are 95 % intervals where the rows have them.</p>\n\
<div class=\"ip-controls\">run <select id=\"ip-run\"></select> estimator <select id=\"ip-est\"></select> \
<label>σ² <input id=\"ip-sigma\" type=\"range\" min=\"0\" max=\"0\" step=\"1\" value=\"0\"></label> <span id=\"ip-sigma-label\"></span><br>\
<label>epoch <input id=\"ip-epoch\" type=\"range\" min=\"0\" max=\"0\" step=\"1\" value=\"0\"></label> <span id=\"ip-epoch-label\"></span> \
<button id=\"ip-play\" type=\"button\">play</button> \
<label><input id=\"ip-band\" type=\"checkbox\" checked> KL–BD bracket of I(Y;Z)</label> \
view <select id=\"ip-view\"><option value=\"plane\">information plane</option><option value=\"sigma\">I(X;Z) against σ²</option></select></div>\n\
<svg id=\"ip-svg\" width=\"800\" height=\"500\" viewBox=\"0 0 800 500\" role=\"img\" aria-label=\"information plane\"></svg>\n<div id=\"ip-values\"></div>\n\
<script type=\"application/json\" id=\"ip-data\">{}</script>\n<script>{}</script>\n",
        data_json(rows, violations, unit),
        SCRIPT
    )
}

/// Base64 (RFC 4648, with padding).
pub(super) fn base64(bytes: &[u8]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_are_json() {
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(num(1e-7), "0.0000001");
        assert_eq!(num(12.0), "12");
        assert_eq!(num(f64::NAN), "null");
        assert_eq!(
            string("a\"b</script>\n"),
            "\"a\\\"b\\u003c/script>\\u000a\""
        );
    }
}
