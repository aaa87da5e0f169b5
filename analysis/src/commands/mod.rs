//! One module per command: its flags (typed, defaults from the library) and the library call.

pub mod aggregate;
pub mod compare;
pub mod convert;
pub mod distances;
pub mod dpi;
pub mod estimate;
pub mod export;
pub mod import;
pub mod inspect;
pub mod merge;
pub mod plot;
pub mod report;
pub mod snr;
pub mod verdict;
pub mod verify;

use std::process::ExitCode;

use infoplane::archive::{Backend, Overwrite};
use infoplane::selection::Epochs;

/// What every command returns.
pub type Outcome = anyhow::Result<ExitCode>;

/// Parses `--format`/`--to`.
pub fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse().map_err(|e: infoplane::Error| e.to_string())
}

/// Parses `--epochs`.
pub fn parse_epochs(s: &str) -> Result<Epochs, String> {
    Epochs::parse(s).map_err(|e| e.to_string())
}

/// `--force` as the library's choice.
pub fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

/// A progress bar over (layer, epoch) units.
pub fn bar(what: &str) -> indicatif::ProgressBar {
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{what} {{bar:30}} {{pos}}/{{len}} (layer, epoch) {{elapsed}} eta {{eta}}"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    indicatif::ProgressBar::new(0).with_style(style)
}

/// `<stem>-<suffix>.csv` beside `path`.
pub fn beside(path: &std::path::Path, suffix: &str, default: &str) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| default.into());
    path.with_file_name(format!("{stem}-{suffix}.csv"))
}
