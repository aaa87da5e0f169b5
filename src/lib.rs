//! infoplane: information-bottleneck analysis of neural networks.
//!
//! Record a network's hidden-layer activations once into an [`archive`], then estimate
//! I(X;Z) and I(Y;Z) per layer and epoch as often as needed. See `ARCHITECTURE.md` for the map.
//!
//! * [`archive`]: the on-disk activation archive (Parquet or HDF5), reader and crash-safe writer.
//! * [`numpy`]: `.npy` / `.npz` reading and writing.
//! * [`import`]: NumPy arrays to archives and back.
//! * [`datasets`]: loaders for the thesis datasets (Tishby, MNIST, names, Cora).
//! * [`labels`]: label statistics such as H(Y).
//! * [`pairwise`]: the pairwise KL / Bhattacharyya estimators (pure: arrays in, numbers out).
//! * [`estimates`], [`distances`]: run the engine over an archive's (layer, epoch) selection
//!   ([`selection`]) and produce tidy [`table`]s.

// BLAS is linked through blas-src (OpenBLAS from the system) for ndarray's `blas` feature.
extern crate blas_src;

pub mod archive;
pub mod binning;
pub mod blas;
pub mod compare;
pub mod datasets;
pub mod distances;
pub mod dpi;
pub mod error;
pub mod estimates;
pub mod import;
pub mod labels;
pub mod mine;
pub mod notice;
pub mod numpy;
pub mod pairwise;
pub mod plot;
pub mod renyi;
pub mod report;
pub mod results;
pub mod selection;
pub mod snr;
pub mod table;
pub mod text;
pub mod untrusted;

pub use archive::{Archive, ArchiveWriter, Backend};
pub use error::{Error, Result};
