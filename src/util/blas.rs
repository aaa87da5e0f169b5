//! The BLAS behind ndarray's matrix products (OpenBLAS from the system, through `blas-src`).
//!
//! OpenBLAS starts its own thread pool when the library loads, and its idle threads spin
//! (`sched_yield`) for about 2^28 processor cycles after the start and after every threaded
//! call, stealing the cores from the rayon work around them. The pairwise engine therefore runs
//! OpenBLAS single-threaded and parallelises GEMMs itself. A program that links the library can
//! also stop the pool that loading started ([`stop_idle_threads`]; the CLI does, first thing, so
//! that it does not spin through the archive read and the first tiles of the pass).
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};
use std::sync::Once;

extern "C" {
    fn openblas_set_num_threads(num_threads: c_int);
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
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

/// [`single_threaded`], then stops OpenBLAS's idle thread pool where the library has one
/// (`blas_thread_shutdown_`, looked up at run time because only OpenBLAS's threaded builds have
/// it; a later threaded call, such as [`with_threads`], starts the pool again).
///
/// Call it only while no BLAS work is in flight in any thread: OpenBLAS drops work queued to
/// the pool it stops. A program's `main` before anything else is such a place; a library
/// function called from user threads is not, which is why the estimators never call it.
pub fn stop_idle_threads() {
    single_threaded();
    // SAFETY: dlsym with RTLD_DEFAULT (a null handle on glibc) and a NUL-terminated name only
    // looks the symbol up. When found, it is OpenBLAS's `int blas_thread_shutdown_(void)`,
    // which joins the pool's idle threads; the caller guarantees no BLAS work is in flight.
    unsafe {
        let f = dlsym(std::ptr::null_mut(), c"blas_thread_shutdown_".as_ptr());
        if !f.is_null() {
            let shutdown: extern "C" fn() -> c_int = std::mem::transmute(f);
            shutdown();
        }
    }
}

/// Runs `f` with OpenBLAS on `threads` threads (for LAPACK work such as eigenvalues, where its
/// own threading pays), then returns it to one thread. Not to be called while another thread
/// runs BLAS work of ours.
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    single_threaded();
    // SAFETY: plain setters of OpenBLAS's thread count; the estimators call this between, not
    // during, their parallel BLAS sections.
    unsafe { openblas_set_num_threads(threads.max(1) as c_int) };
    let r = f();
    unsafe { openblas_set_num_threads(1) };
    r
}
