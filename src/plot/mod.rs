//! Every drawing (PNG and SVG through plotters, rendered in memory and written atomically):
//! information planes ([`plane`]), line plots of SNR and accuracy ([`lines`]), and
//! pairwise-distance histograms ([`histograms`]).

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};

/// Perceptually uniform colour for t in [0, 1] (viridis).
pub fn viridis(t: f64) -> RGBColor {
    use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
    ViridisRGB.get_color(t.clamp(0.0, 1.0))
}

/// An axis label without float noise: at most 4 significant digits with trailing zeros
/// dropped (`0.3`, `12`, `0.05`), and `1e-7`-style exponents below 1e-3 and from 1e5 on (the
/// decades of a log axis read `1e-4`, `0.001`, `0.01`, `0.1`, `1`, `10`).
pub(crate) fn axis_label(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.3e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        return format!("{m}e{e}");
    }
    let digits = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `title` shortened in the middle (with "…") to about `pixels` wide at `font` px: sans-serif
/// averages about 0.55 em per character; a longer caption would be cut off at both ends.
pub fn fitted(title: &str, pixels: u32, font: f64) -> String {
    let max = ((f64::from(pixels) - 20.0) / (0.55 * font)).max(9.0) as usize;
    let chars: Vec<char> = title.chars().collect();
    if chars.len() <= max {
        return title.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    chars[..head]
        .iter()
        .chain(std::iter::once(&'…'))
        .chain(&chars[chars.len() - tail..])
        .collect()
}

pub(crate) fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::format(path, format!("cannot draw the plot: {e}"))
}

/// Draws `$draw(&root)` into `stem.png` and `stem.svg` (the same drawing code for both
/// backends, rendered in memory and written atomically); evaluates to the files written.
macro_rules! render {
    ($stem:expr, $size:expr, |$root:ident| $draw:expr) => {{
        let stem: &Path = $stem;
        let png = stem.with_extension("png");
        let svg = stem.with_extension("svg");
        if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let (w, h) = $size;
        let mut pixels = vec![0u8; w as usize * h as usize * 3];
        {
            let $root = BitMapBackend::with_buffer(&mut pixels, $size).into_drawing_area();
            $draw.map_err(|e| plot_err(&png, e))?;
            $root.present().map_err(|e| plot_err(&png, e))?;
        }
        write_png(&png, pixels, $size)?;
        let mut text = String::new();
        {
            let $root = SVGBackend::with_string(&mut text, $size).into_drawing_area();
            $draw.map_err(|e| plot_err(&svg, e))?;
            $root.present().map_err(|e| plot_err(&svg, e))?;
        }
        crate::util::fsutil::write_atomic(&svg, text.as_bytes())?;
        Ok(vec![png, svg])
    }};
}

/// Encodes RGB pixels as PNG and writes them atomically.
pub(crate) fn write_png(path: &Path, pixels: Vec<u8>, (w, h): (u32, u32)) -> Result<()> {
    let image = image::RgbImage::from_raw(w, h, pixels)
        .ok_or_else(|| plot_err(path, "pixel buffer of the wrong size"))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageOutputFormat::Png)
        .map_err(|e| plot_err(path, e))?;
    crate::util::fsutil::write_atomic(path, bytes.get_ref())
}

/// What drawing into a plotters backend returns.
pub(crate) type DrawResult<T, DB> =
    std::result::Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

pub mod draw;
pub mod histograms;
pub mod lines;
pub mod movie;
pub mod plane;
pub mod snr;

pub use lines::{lines, Curve};
pub use plane::{information_plane, PlanePanel};

#[cfg(test)]
mod tests {
    use super::{axis_label, fitted};

    #[test]
    fn axis_labels_have_no_float_noise() {
        for (v, want) in [
            (0.3, "0.3"),
            (0.1 + 0.2, "0.3"),
            (0.6000000000000001, "0.6"),
            (1e-7, "1e-7"),
            (12.0, "12"),
            (20.0, "20"),
            (0.0001, "1e-4"),
            (0.001, "0.001"),
            (2.5e-5, "2.5e-5"),
            (123_456.0, "1.235e5"),
            (0.0, "0"),
            (-0.05, "-0.05"),
            (1234.5678, "1235"),
        ] {
            assert_eq!(axis_label(v), want, "{v}");
        }
    }

    #[test]
    fn long_titles_are_shortened_in_the_middle() {
        assert_eq!(
            fitted("archive · kl · σ² = 1", 600, 16.0),
            "archive · kl · σ² = 1"
        );
        // (200 - 20) / 8.8 = 20 characters: 9, the ellipsis, 10.
        let t = fitted(
            "archive · renyi · alpha=1.01 approximate=slq_probes_16",
            200,
            16.0,
        );
        assert_eq!(t, "archive ·…_probes_16");
        assert_eq!(t.chars().count(), 20);
    }
}
