//! Decoding untrusted files with third-party parsers: a panic inside one (a Parquet footer
//! with a negative length, say) becomes an error naming the file, and prints nothing.
//!
//! Panics are the parsers' bugs; each one met is reported upstream (docs/reliability.md).

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use crate::error::{Error, Result};

thread_local! {
    /// How many [`guard`] calls are active on this thread (their panics are not printed).
    static DECODING: Cell<u32> = const { Cell::new(0) };
}

static QUIET_HOOK: Once = Once::new();

/// Runs `f`, which decodes the untrusted file `path` (a `what`, for example "Parquet file").
/// A panic inside it becomes [`Error::Format`] for `path` instead of aborting the command.
pub fn decode<T>(path: &Path, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    guard(f).unwrap_or_else(|detail| {
        Err(Error::format(
            path,
            format!("corrupt {what}: its decoder failed ({detail})"),
        ))
    })
}

/// Runs `f`; a panic inside it (a third-party library's) comes back as its message's first
/// line, and nothing is printed.
pub fn guard<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if DECODING.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
    DECODING.with(|d| d.set(d.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    DECODING.with(|d| d.set(d.get() - 1));
    result.map_err(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".into());
        detail.lines().next().unwrap_or_default().to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_file() {
        let r: Result<()> = decode(Path::new("x.parquet"), "Parquet file", || {
            panic!("column start and length should not be negative")
        });
        assert_eq!(
            r.unwrap_err().to_string(),
            "x.parquet: corrupt Parquet file: its decoder failed (column start and length should not be negative)"
        );
        assert_eq!(decode(Path::new("y"), "file", || Ok(3)).unwrap(), 3);
    }
}
