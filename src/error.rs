//! The library's error type: every failure names the file (or archive) and what is wrong with it.

use std::path::{Path, PathBuf};

/// An empty vector with room for `n` values, or [`Error::out_of_memory`] naming `path` and
/// `what` when the allocation fails (large arrays from files are sized this way, so that a
/// layer too large for the memory is a clear error, not an abort).
pub(crate) fn try_with_capacity<T>(n: usize, path: &Path, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::out_of_memory(path, what, n.saturating_mul(size_of::<T>())))?;
    Ok(v)
}

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the library.
///
/// Every variant that concerns data on disk carries the path, so that the message printed by the
/// CLI ("`path: what is wrong`") is enough to find and fix the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error while reading or writing `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The content of `path` is malformed, truncated, inconsistent or otherwise unusable.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong, in one line.
        message: String,
    },
    /// A request that cannot be met by an otherwise valid archive or input (unknown layer or
    /// epoch, wrong shape handed to a writer, refused overwrite...).
    #[error("{}: {message}", path.display())]
    Request {
        /// The archive or file the request was about.
        path: PathBuf,
        /// What is wrong, in one line.
        message: String,
    },
    /// An invalid parameter that concerns no file.
    #[error("{0}")]
    Invalid(String),
    /// A parameter value the library refuses. `name` is the parameter's name in the library
    /// (`renyi_alpha`: `estimator::params`); front ends show it in their own spelling (the CLI
    /// as `--renyi-alpha`, Python as the keyword argument).
    #[error("{name} {problem}")]
    Parameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong with its value ("must be a positive number (got -1)").
        problem: String,
    },
}

impl Error {
    /// An [`Error::Parameter`]: `problem` follows the name ("must be ...").
    pub fn parameter(name: &'static str, problem: impl Into<String>) -> Self {
        Error::Parameter {
            name,
            problem: problem.into(),
        }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// An [`Error::Format`] for `path`.
    pub fn format(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    /// An [`Error::Format`] saying that `bytes` could not be allocated for `what` of `path`.
    pub fn out_of_memory(path: impl AsRef<Path>, what: &str, bytes: usize) -> Self {
        let size = if bytes >= 1 << 30 {
            format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
        } else {
            format!("{} MiB", bytes.div_ceil(1 << 20))
        };
        Error::format(
            path,
            format!(
                "cannot allocate {size} for {what}: not enough memory (or a memory limit); free memory or read a smaller array"
            ),
        )
    }

    /// An [`Error::Request`] for `path`.
    pub fn request(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Request {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }
}
