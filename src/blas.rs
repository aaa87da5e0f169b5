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

/// Runs `f` with OpenBLAS on `threads` threads (for LAPACK work such as eigenvalues, where its
/// own threading pays), then returns it to one thread. Not to be called while another thread
/// runs BLAS work of ours.
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    single_threaded();
    // SAFETY: plain setters of OpenBLAS's thread count; the estimators call this between, not
    // during, their parallel BLAS sections.
    unsafe { openblas_set_num_threads(threads.max(1) as std::ffi::c_int) };
    let r = f();
    unsafe { openblas_set_num_threads(1) };
    r
}
