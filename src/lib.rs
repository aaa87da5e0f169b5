//! infoplane: information-bottleneck analysis of neural networks.
//!
//! Record a network's hidden-layer activations once into an [`archive`], then estimate
//! I(X;Z) and I(Y;Z) per layer and epoch as often as needed. The data flow one way (see
//! `ARCHITECTURE.md` for the map):
//!
//! * [`archive`]: the on-disk activation archive (Parquet or HDF5), reader and crash-safe
//!   writer, NumPy import and export; [`datasets`]: the thesis datasets' loaders;
//! * [`estimator`]: the estimators behind one contract (pure: arrays in, nats out);
//! * [`estimates`], [`distances`]: run them over an archive's (layer, epoch) [`selection`];
//! * [`table`]: result tables on polars (the estimates schema, CSV and Parquet);
//! * [`diagnostics`]: DPI and bound checks, gradient SNR, comparisons;
//! * [`plot`], [`report`]: drawings and the HTML report.

// BLAS is linked through blas-src (OpenBLAS from the system) for ndarray's `blas` feature.
extern crate blas_src;

pub mod archive;
pub mod blas;
pub mod datasets;
pub mod diagnostics;
pub mod distances;
pub mod error;
pub mod estimates;
pub mod estimator;
pub mod hash;
pub mod labels;
pub mod notice;
pub mod plot;
pub mod report;
pub mod rng;
pub mod schedule;
pub mod selection;
pub mod sweep;
pub mod table;
pub mod text;
pub mod untrusted;

pub use archive::{Archive, ArchiveWriter, Backend};
pub use error::{Error, Result};
