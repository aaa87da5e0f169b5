//! The integration tests of the core library, one binary: each module is one area.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod archive;
mod arrays;
mod common;
mod content;
mod datasets;
mod diagnostics;
mod estimators;
mod fixtures;
mod gram;
mod hostile;
mod kernel_rows;
mod kill_writer;
mod label_sets;
mod mine_default;
mod mine_separable;
mod pairwise;
mod python_readers;
mod ratio;
mod renyi_linear;
mod renyi_slq;
mod smi;
mod soft;
mod tidy;
mod vocabulary;
