//! An animated information plane (APNG: a PNG that browsers and image viewers play, written
//! with the png crate that PNG output already uses): one frame per recorded epoch (at most
//! [`MAX_FRAMES`], evenly spaced, the last always included), each showing the trajectory up to
//! that epoch on fixed axes and colours.

use std::path::{Path, PathBuf};

use super::plane::{frame, PlanePanel, FRAME};
use super::plot_err;
use crate::error::Result;

/// The most frames written.
pub const MAX_FRAMES: usize = 60;

/// The epochs shown: at most `max` of `epochs` (ascending), evenly spaced, first and last
/// included.
pub(crate) fn frame_epochs(epochs: &[u32], max: usize) -> Vec<u32> {
    if epochs.len() <= max || max < 2 {
        return epochs.to_vec();
    }
    let mut out: Vec<u32> = (0..max)
        .map(|k| epochs[k * (epochs.len() - 1) / (max - 1)])
        .collect();
    out.dedup();
    out
}

/// Writes `stem.png` as an APNG of `panel` (0.15 s per frame, the last held 2 s, looping).
pub(crate) fn information_plane_movie(stem: &Path, panel: &PlanePanel) -> Result<PathBuf> {
    let path = stem.with_extension("png");
    let mut epochs: Vec<u32> = panel.points.iter().map(|p| p.0).collect();
    epochs.sort_unstable();
    epochs.dedup();
    let shown = frame_epochs(&epochs, MAX_FRAMES);
    if shown.is_empty() {
        return Err(plot_err(&path, "no epoch to animate"));
    }
    let mut bytes = Vec::new();
    {
        let err = |e: png::EncodingError| plot_err(&path, e);
        let mut enc = png::Encoder::new(&mut bytes, FRAME.0, FRAME.1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        enc.set_animated(shown.len() as u32, 0).map_err(err)?;
        enc.set_frame_delay(15, 100).map_err(err)?;
        let mut w = enc.write_header().map_err(err)?;
        for (k, &e) in shown.iter().enumerate() {
            if k + 1 == shown.len() {
                w.set_frame_delay(2, 1).map_err(err)?;
            }
            w.write_image_data(&frame(panel, e)?).map_err(err)?;
        }
        w.finish().map_err(err)?;
    }
    crate::util::fsutil::write_atomic(&path, &bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_are_spaced_and_keep_the_ends() {
        let e: Vec<u32> = (0..100).collect();
        let f = super::frame_epochs(&e, 5);
        assert_eq!(f, [0, 24, 49, 74, 99]);
        assert_eq!(super::frame_epochs(&[3, 7], 60), [3, 7]);
    }
}
