//! The BLAS behind ndarray's matrix products (OpenBLAS from the system, through `blas-src`).
//!
//! OpenBLAS starts its own thread pool, whose idle threads spin (`sched_yield`) for a while
//! after every call and so steal the cores from the rayon work that follows each GEMM. The
//! pairwise engine therefore runs OpenBLAS single-threaded and parallelises GEMMs itself.
#![allow(unsafe_code)]

use std::sync::Once;

extern "C" {
    fn openblas_set_num_threads(num_threads: std::ffi::c_int);
}

/// Makes OpenBLAS use one thread (once per process; later calls do nothing).
pub fn single_threaded() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain setter of OpenBLAS's thread count, called once, before any
        // concurrent BLAS call of ours can start (Once blocks other callers until it returns).
        unsafe { openblas_set_num_threads(1) }
    });
}
