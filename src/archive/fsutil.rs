//! File-system helpers for crash safety: atomic file writes, directory fsync, staged archive creation.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically: a temporary sibling is written and fsynced, then renamed
/// over `path`, then the directory is fsynced. Readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(dir)
}

/// fsyncs a directory so that renames inside it survive a power loss.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let f = fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    f.sync_all().map_err(|e| Error::io(dir, e))
}

/// fsyncs a file's data.
pub fn sync_file(path: &Path) -> Result<()> {
    let f = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

/// What to do when the output directory already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overwrite {
    /// Refuse if the directory holds an archive (or anything else).
    #[default]
    Refuse,
    /// Replace an existing archive. Directories that are not archives are still refused, so that
    /// `--force` never deletes unrelated data.
    Replace,
}

/// Checks that `out` may be written and returns the staging directory to build the archive in.
///
/// The staging directory is a hidden sibling of `out`; [`publish_staged`] moves it into place.
/// Until then, whatever was at `out` is untouched, so a failed command damages nothing.
pub fn prepare_output(out: &Path, overwrite: Overwrite) -> Result<PathBuf> {
    match fs::symlink_metadata(out) {
        Ok(meta) => {
            if !meta.is_dir() {
                return Err(Error::request(out, "exists and is not a directory"));
            }
            let holds_archive = out.join(super::manifest::MANIFEST_FILE).exists();
            let empty = fs::read_dir(out)
                .map_err(|e| Error::io(out, e))?
                .next()
                .is_none();
            if holds_archive && overwrite == Overwrite::Refuse {
                return Err(Error::request(
                    out,
                    "already holds an archive (pass --force to replace it)",
                ));
            }
            if !holds_archive && !empty {
                return Err(Error::request(
                    out,
                    "exists and is not an infoplane archive; refusing to write into it",
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(out, e)),
    }
    let parent = parent_dir(out);
    if !parent.as_os_str().is_empty() && !parent.is_dir() {
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
pub fn publish_staged(staging: &Path, out: &Path) -> Result<()> {
    let parent = parent_dir(out);
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
    if !parent.as_os_str().is_empty() {
        sync_dir(&parent)?;
    }
    if let Some(old) = old {
        fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(par) if !par.as_os_str().is_empty() => par.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sibling(out: &Path, what: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive".into());
    parent_dir(out).join(format!(".{name}.{what}-{}", std::process::id()))
}

/// Bytes actually allocated on disk below `path` (like `du`), and the apparent size.
pub fn disk_usage(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut allocated = 0;
    let mut apparent = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        allocated += meta.blocks() * 512;
        if meta.is_dir() {
            if let Ok(rd) = fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else {
            apparent += meta.len();
        }
    }
    (allocated, apparent)
}
