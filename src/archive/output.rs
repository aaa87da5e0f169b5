//! Where a new archive may be written, and how it replaces an old one without losing data.
//!
//! Rules (docs/reliability.md):
//! - a missing or empty directory is written;
//! - a directory whose `manifest.json` is an infoplane manifest is an archive: refused, or
//!   with [`Overwrite::Replace`] replaced once the new archive is ready, but only if it holds
//!   nothing besides the archive's own files (anything else is named and the replacement
//!   refused);
//! - anything else (other files, another program's `manifest.json`) is always refused.
//!
//! The new archive is built in the hidden sibling `.NAME.staging-PID` and renamed into place;
//! the old one is moved to `.NAME.replaced-PID` first and deleted last. All of this happens
//! under the writer's [`OutputLock`], which also makes it safe to clean up, at start, the
//! staging and replaced directories of writers that were killed.

use std::fs;
use std::path::{Path, PathBuf};

use super::manifest::{FORMAT_NAME, MANIFEST_FILE};
use crate::error::{Error, Result};
use crate::util::fsutil::{self, parent_dir, sibling, stale_siblings};
use crate::util::notice::notice;

/// What to do when the output directory already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overwrite {
    /// Refuse if the directory holds an archive (or anything else).
    #[default]
    Refuse,
    /// Replace an existing archive that holds nothing but its own files. Other directories are
    /// still refused, so that `--force` never deletes unrelated data.
    Replace,
}

/// Names an archive directory may hold (both backends).
pub(crate) const ARCHIVE_ENTRIES: [&str; 6] = [
    MANIFEST_FILE,
    "samples.parquet",
    "labels.parquet",
    "inputs.parquet",
    "epochs",
    super::hdf5_store::DATA_FILE,
];

/// True when `dir/manifest.json` is a regular file whose JSON says it is an infoplane
/// manifest (whatever else is wrong with it).
pub(crate) fn holds_archive(dir: &Path) -> bool {
    let Ok(bytes) = fsutil::read_regular(&dir.join(MANIFEST_FILE), super::manifest::MAX_BYTES)
    else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_owned))
        .is_some_and(|f| f == FORMAT_NAME)
}

/// Entries of an archive directory that are not the archive's own files.
fn foreign_entries(dir: &Path) -> Result<Vec<String>> {
    let mut foreign: Vec<String> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !ARCHIVE_ENTRIES.contains(&n.as_str()))
        .collect();
    foreign.sort();
    Ok(foreign)
}

/// Whether `out` may receive a new archive under `overwrite`; true when an archive is there
/// (and will be replaced).
pub fn check_output(out: &Path, overwrite: Overwrite) -> Result<bool> {
    let meta = match fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(out, e)),
    };
    if !meta.is_dir() {
        return Err(Error::request(out, "exists and is not a directory"));
    }
    let empty = fs::read_dir(out)
        .map_err(|e| Error::io(out, e))?
        .next()
        .is_none();
    if empty {
        return Ok(false);
    }
    if !holds_archive(out) {
        let why = if out.join(MANIFEST_FILE).exists() {
            " (its manifest.json is not an infoplane manifest)"
        } else {
            ""
        };
        return Err(Error::request(
            out,
            format!("exists and is not an infoplane archive{why}; refusing to write into it, with or without --force"),
        ));
    }
    if overwrite == Overwrite::Refuse {
        return Err(Error::request(
            out,
            "already holds an infoplane archive (pass --force to replace it)",
        ));
    }
    let foreign = foreign_entries(out)?;
    if !foreign.is_empty() {
        let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
        let more = foreign.len().saturating_sub(5);
        return Err(Error::request(
            out,
            format!(
                "holds files that are not part of the archive ({}{}); refusing to replace it (move them elsewhere first)",
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ),
        ));
    }
    Ok(true)
}

/// Cleans up after writers of `out` that were killed: a replacement interrupted between its
/// two renames is undone (the old archive goes back to `out`), then staging and replaced
/// directories whose process is gone are removed. Call with the output lock held.
pub(crate) fn clean_stale(out: &Path) -> Result<()> {
    let mut replaced = stale_siblings(out, "replaced");
    if !out.exists() {
        replaced.sort_by_key(|(p, _)| fs::metadata(p).and_then(|m| m.modified()).ok());
        if let Some((old, pid)) = replaced.pop() {
            fs::rename(&old, out).map_err(|e| Error::io(&old, e))?;
            notice(&format!(
                "restored {} from {}: process {pid} was replacing it when it stopped",
                out.display(),
                old.display()
            ));
        }
    }
    let staging = stale_siblings(out, "staging");
    for (dir, pid) in replaced.into_iter().chain(staging) {
        fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        notice(&format!(
            "removed {}, left by process {pid} (no longer running)",
            dir.display()
        ));
    }
    Ok(())
}

/// Creates the empty staging directory for `out` (and `out`'s parent when missing).
pub(crate) fn create_staging(out: &Path) -> Result<PathBuf> {
    let parent = parent_dir(out);
    if !parent.is_dir() {
        fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    }
    let staging = sibling(out, "staging");
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
    Ok(staging)
}

/// Moves a fully written staging directory to `out`, replacing (after the move succeeded) an
/// existing archive there.
pub(crate) fn publish_staged(staging: &Path, out: &Path) -> Result<()> {
    let old = if out.exists() {
        let old = sibling(out, "replaced");
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        fs::rename(out, &old).map_err(|e| Error::io(out, e))?;
        Some(old)
    } else {
        None
    };
    if let Err(e) = fs::rename(staging, out) {
        // Put the old archive back before reporting.
        if let Some(old) = &old {
            let _ = fs::rename(old, out);
        }
        return Err(Error::io(out, e));
    }
    fsutil::sync_dir(&parent_dir(out))?;
    if let Some(old) = old {
        fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}
