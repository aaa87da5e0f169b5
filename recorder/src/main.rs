//! `infoplane-record`: trains a model with tch (libtorch) and records an activation archive.
//!
//! Skeleton: the recorder lands with its own issue. It is already a workspace member (and will
//! be the only crate that links tch), so that the workspace layout and CI stay as planned.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "error: infoplane-record {} is a skeleton: training and recording are not implemented yet; \
         use `infoplane import` to create archives from NumPy arrays",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
