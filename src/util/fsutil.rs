//! File-system helpers that keep what is on disk intact: atomic file writes, exclusive output
//! locks, checks that an output does not overlap an input, reads of regular files only, and
//! clean-up of the temporary files that killed processes left behind.

use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(par) if !par.as_os_str().is_empty() => par.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(p: &Path, default: &str) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| default.into())
}

/// A hidden sibling of `path` owned by this process: `.NAME.WHAT-PID`.
pub fn sibling(path: &Path, what: &str) -> PathBuf {
    parent_dir(path).join(format!(
        ".{}.{what}-{}",
        file_name(path, "output"),
        std::process::id()
    ))
}

/// Whether process `pid` is running (Linux `/proc`; where there is no `/proc`, every process
/// counts as running, so that nothing is removed by mistake).
pub(crate) fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Hidden siblings `.NAME.WHAT-PID` (or `.NAME.WHAT-PID.K`) of `path` whose process is no
/// longer running.
pub(crate) fn stale_siblings(path: &Path, what: &str) -> Vec<(PathBuf, u32)> {
    let prefix = format!(".{}.{what}-", file_name(path, "output"));
    let Ok(rd) = fs::read_dir(parent_dir(path)) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(&prefix)?;
            let pid: u32 = rest.split('.').next()?.parse().ok()?;
            (pid != std::process::id() && !process_alive(pid)).then(|| (e.path(), pid))
        })
        .collect()
}

/// Creates a new, empty temporary sibling of `path` that is certainly ours: opened with
/// `O_CREAT | O_EXCL` (which never follows a symbolic link and never opens an existing file),
/// as `.NAME.tmp-PID`, or `.NAME.tmp-PID.K` when something already has that name (a file
/// planted there is left alone).
fn create_temp(path: &Path) -> Result<PathBuf> {
    let base = sibling(path, "tmp");
    for k in 0..64u32 {
        let tmp = if k == 0 {
            base.clone()
        } else {
            PathBuf::from(format!("{}.{k}", base.display()))
        };
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(_) => return Ok(tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&tmp, e)),
        }
    }
    Err(Error::request(
        path,
        "cannot create a temporary file beside it: 64 names are taken; remove the stray .*.tmp-* files",
    ))
}

/// Refuses to publish `tmp` unless it is still a regular file with one link (not a symbolic
/// link or a hard link planted in its place).
fn check_own_file(tmp: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(tmp).map_err(|e| Error::io(tmp, e))?;
    if !meta.file_type().is_file() || meta.nlink() != 1 {
        return Err(Error::request(
            tmp,
            "was replaced while it was written (it is no longer a plain file of ours); refusing to publish it",
        ));
    }
    Ok(())
}

/// Removes the temporary files `.NAME.tmp-PID` of `path` left by killed processes, saying so
/// (plain files only: a link under such a name was never ours, and stays).
fn remove_stale_temps(path: &Path) {
    for (tmp, pid) in stale_siblings(path, "tmp") {
        if !fs::symlink_metadata(&tmp).is_ok_and(|m| m.file_type().is_file()) {
            continue;
        }
        if fs::remove_file(&tmp).is_ok() {
            crate::util::notice::notice(&format!(
                "removed {}, left by process {pid} (no longer running)",
                tmp.display()
            ));
        }
    }
}

/// Writes `path` through a temporary sibling: `write(tmp)` fills it, then it is fsynced and
/// renamed over `path`, and the directory is fsynced. Readers see the old or the new content,
/// never a mix; a symbolic link at `path` is replaced, never followed; the temporary file is
/// created new ([`create_temp`]), so nothing planted under its name is written through; on
/// failure the temporary file is removed and `path` is untouched.
pub fn write_via_temp(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    remove_stale_temps(path);
    let tmp = create_temp(path)?;
    let result = write(&tmp).and_then(|()| {
        check_own_file(&tmp)?;
        sync_file(&tmp)?;
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        sync_dir(&parent_dir(path))
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` atomically (see [`write_via_temp`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_via_temp(path, |tmp| {
        let mut f = fs::File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(tmp, e))
    })
}

/// fsyncs a directory so that renames inside it survive a power loss.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let f = fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    f.sync_all().map_err(|e| Error::io(dir, e))
}

/// fsyncs a file's data.
pub(crate) fn sync_file(path: &Path) -> Result<()> {
    let f = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

/// Opens `path` for reading if it is a regular file (after following symbolic links). A FIFO
/// or device would block or never end; a missing file is an [`Error::Io`] of kind NotFound.
pub(crate) fn open_regular(path: &Path) -> Result<fs::File> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::format(
            path,
            if meta.is_dir() {
                "is a directory, not a file"
            } else {
                "is not a regular file (a FIFO, socket or device); refusing to read it"
            },
        ));
    }
    fs::File::open(path).map_err(|e| Error::io(path, e))
}

/// Reads a regular file of at most `max` bytes whole.
pub(crate) fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>> {
    let f = open_regular(path)?;
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(Error::format(
            path,
            format!("is larger than {max} bytes; refusing to read it"),
        ));
    }
    Ok(bytes)
}

/// `p` made absolute with symbolic links resolved as far as the path exists, the rest
/// normalised lexically (a path that does not exist yet cannot hold links).
pub fn resolve(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let parts: Vec<Component> = abs.components().collect();
    let (mut out, rest) = (0..=parts.len())
        .rev()
        .find_map(|k| {
            let prefix: PathBuf = parts[..k].iter().collect();
            prefix.canonicalize().ok().map(|c| (c, &parts[k..]))
        })
        .unwrap_or_else(|| (PathBuf::new(), &parts[..]));
    for part in rest {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// True when `inner` is `outer` or lies below it (after [`resolve`]).
pub(crate) fn is_within(inner: &Path, outer: &Path) -> bool {
    resolve(inner).starts_with(resolve(outer))
}

/// Refuses an output that is, or lies inside, the directory `input` that the same command
/// reads (writing there would damage the input).
pub fn refuse_output_inside(output: &Path, input: &Path) -> Result<()> {
    if is_within(output, input) {
        return Err(Error::request(
            output,
            format!(
                "lies inside {}, which this command reads; write the output elsewhere",
                input.display()
            ),
        ));
    }
    Ok(())
}

/// Refuses an output that is also one of the command's input files.
pub fn refuse_output_among_inputs(output: &Path, inputs: &[PathBuf]) -> Result<()> {
    if inputs.iter().any(|i| resolve(i) == resolve(output)) {
        return Err(Error::request(
            output,
            "is also one of this command's inputs; write the output elsewhere",
        ));
    }
    Ok(())
}

/// Refuses two outputs of one command that are the same file.
pub fn refuse_same_outputs(outputs: &[&Path]) -> Result<()> {
    for (i, a) in outputs.iter().enumerate() {
        if let Some(b) = outputs[i + 1..].iter().find(|b| resolve(a) == resolve(b)) {
            return Err(Error::request(
                b,
                "is given for two outputs of the same command; name each output differently",
            ));
        }
    }
    Ok(())
}

/// An exclusive lock on an output path, held while a command writes it (an archive, from
/// creation to the final rename). A second writer fails at once instead of interleaving.
///
/// The lock is an advisory `flock` on the hidden sibling `.NAME.lock`, which holds the owner's
/// pid and is removed when the lock is released.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
    file: fs::File,
}

fn same_inode(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Opens (creating it if needed) the lock file `path`, never through a symbolic link
/// (`O_NOFOLLOW`), and only if it is a plain file with one link: a link planted at the lock's
/// name would otherwise make the writer's pid overwrite another file.
fn open_lock_file(path: &Path) -> Result<fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let refuse = || {
        Error::request(
            path,
            "is a symbolic link, a hard link or not a plain file; refusing to use it as a lock file (remove it if no infoplane command is running)",
        )
    };
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refuse(),
            _ => Error::io(path, e),
        })?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() || meta.nlink() != 1 {
        return Err(refuse());
    }
    Ok(file)
}

/// Takes the exclusive lock on `out` (creating the parent directory when missing).
pub fn lock_output(out: &Path) -> Result<OutputLock> {
    let parent = parent_dir(out);
    if !parent.is_dir() {
        fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    }
    let path = parent.join(format!(".{}.lock", file_name(out, "output")));
    loop {
        let mut file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let pid = text.trim();
                let pid = if pid.is_empty() { "unknown" } else { pid };
                return Err(Error::request(
                    out,
                    format!("is being written by another process (pid {pid})"),
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        // The previous owner may have removed the file between our open and our lock: then
        // the lock is on an unlinked file and protects nothing; take it again.
        let held = file.metadata().map_err(|e| Error::io(&path, e))?;
        match fs::metadata(&path) {
            Ok(now) if same_inode(&held, &now) => {
                file.set_len(0).map_err(|e| Error::io(&path, e))?;
                write!(file, "{}", std::process::id()).map_err(|e| Error::io(&path, e))?;
                return Ok(OutputLock { path, file });
            }
            _ => continue,
        }
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked, so that no other process can lock this inode afterwards
        // and believe it holds the lock (it re-checks the inode after locking).
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Bytes actually allocated on disk below `path` (like `du`), and the apparent size.
pub(crate) fn disk_usage(path: &Path) -> (u64, u64) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_normalises_paths_that_do_not_exist() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().canonicalize().unwrap();
        fs::create_dir(base.join("a")).unwrap();
        assert_eq!(resolve(&base.join("a/new/../x")), base.join("a/x"));
        assert!(is_within(&base.join("a/./b/c.csv"), &base.join("a")));
        assert!(!is_within(&base.join("ab"), &base.join("a")));
        std::os::unix::fs::symlink(base.join("a"), base.join("link")).unwrap();
        assert!(is_within(&base.join("link/manifest.json"), &base.join("a")));
    }

    #[test]
    fn lock_is_exclusive_and_released() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("run");
        let held = lock_output(&out).unwrap();
        let e = lock_output(&out).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: is being written by another process (pid {})",
                out.display(),
                std::process::id()
            )
        );
        drop(held);
        assert!(!d.path().join(".run.lock").exists());
        drop(lock_output(&out).unwrap());
    }

    #[test]
    fn failed_atomic_write_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.csv");
        fs::write(&p, "old").unwrap();
        let e = write_via_temp(&p, |tmp| {
            fs::write(tmp, "half").unwrap();
            Err(Error::Invalid("disk full".into()))
        });
        assert!(e.is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
