//! infoplane: information-bottleneck analysis of neural networks.
//!
//! Record a network's hidden-layer activations once into an [`archive`], then estimate
//! I(X;Z) and I(Y;Z) per layer and epoch as often as needed. The data flow one way (see
//! `ARCHITECTURE.md` for the map):
//!
//! * [`archive`]: the on-disk activation archive (Parquet or HDF5), reader and crash-safe
//!   writer, NumPy import and export; [`datasets`]: the thesis datasets' loaders;
//! * [`estimator`]: the estimators behind one contract (pure: arrays in, nats out) and their
//!   [`estimator::registry`];
//! * [`run`]: runs them over an archive's (layer, epoch) [`selection`];
//! * [`table`]: result tables on polars (the estimates schema, CSV and Parquet);
//! * [`diagnostics`]: DPI and bound checks, gradient SNR, comparisons, verdicts;
//! * [`plot`], [`report`]: drawings and the HTML report.
//!
//! [`prelude`] has the names most programs need. Open an archive and look at it:
//!
//! ```
//! use infoplane::prelude::*;
//!
//! let archive = Archive::open("fixtures/v1/tiny-parquet".as_ref())?;
//! let first = &archive.layers()[0];
//! let z = archive.activations(&first.name, archive.epochs()[0])?;
//! assert_eq!(z.ncols(), first.width);
//! # Ok::<(), infoplane::Error>(())
//! ```
//!
//! Estimate every layer and epoch of it with the pairwise bounds (the default estimators):
//!
//! ```
//! use infoplane::prelude::*;
//!
//! let archive = Archive::open("fixtures/v1/tiny-parquet".as_ref())?;
//! let request = EstimateRequest::new(DEFAULT_ESTIMATORS);
//! let rows = estimate_archive(&archive, &request, &mut |_, _| {}, None)?;
//! let n = archive.manifest().analysis_set.n as f64;
//! for r in &rows {
//!     // Nats, at most ln N for I(X;Z); the bounds keep their order.
//!     assert!(r.i_xz >= 0.0 && r.i_xz <= n.ln() + 1e-9);
//! }
//! # Ok::<(), infoplane::Error>(())
//! ```
//!
//! Estimate arrays you already have, write the table and read it back:
//!
//! ```
//! use infoplane::prelude::*;
//! use ndarray::Array2;
//!
//! // Two well-separated classes of 50 points: I(Y;Z) is H(Y) = ln 2 at a small σ².
//! let z = Array2::from_shape_fn((100, 3), |(i, j)| (i / 50) as f32 * 10.0 + (i * 7 + j) as f32 % 5.0 * 0.01);
//! let labels: Vec<u32> = (0..100).map(|i| (i / 50) as u32).collect();
//! let arrays = Arrays { z: z.view(), labels: &labels, classes: 2, inputs: None };
//! let rows = estimate_arrays(arrays, &EstimateRequest::new(&["kl"]))?;
//! let out = std::env::temp_dir().join(format!("infoplane-doctest-{}.csv", std::process::id()));
//! write_table(&rows, Unit::Nats, &out)?;
//! let back = read_table(&out)?;
//! assert_eq!(back.rows.len(), rows.len());
//! assert!(back.rows.iter().all(|r| (r.i_yz - 2f64.ln()).abs() < 1e-3));
//! # std::fs::remove_file(&out).ok();
//! # Ok::<(), infoplane::Error>(())
//! ```

// BLAS is linked through blas-src (OpenBLAS from the system) for ndarray's `blas` feature.
extern crate blas_src;

pub mod archive;
pub mod datasets;
pub mod diagnostics;
pub mod error;
pub mod estimator;
pub mod labels;
pub mod plot;
pub mod prelude;
pub mod report;
pub mod run;
pub mod schedule;
pub mod selection;
pub mod sweep;
pub mod table;
#[doc(hidden)]
pub mod util;

pub use archive::{Archive, ArchiveWriter, Backend};
pub use error::{Error, Result};
