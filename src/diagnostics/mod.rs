//! Diagnostics of estimates and of training: data-processing-inequality and bound checks
//! ([`dpi`]), gradient signal-to-noise ([`snr`]), and comparisons of estimators, runs or σ²
//! ([`compare`]). They read estimate tables (rows) and gradient statistics, never text.

pub mod aggregate;
pub mod compare;
pub mod dpi;
pub mod snr;
pub mod verdict;
