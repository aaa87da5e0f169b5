//! Support that the library's modules and its own front ends (the CLI, the Python module, the
//! recorder), tests and benches share: safe file writes, seeded randomness, the instruction-set
//! choice of the vectorised loops, stable hashes, terminal text, guarded decoding of untrusted
//! files. Hidden from the documentation and not part of the API: it may change in any release.

pub mod blas;
pub mod fsutil;
pub(crate) mod hash;
pub mod notice;
pub mod rng;
pub mod simd;
pub mod text;
pub mod untrusted;
