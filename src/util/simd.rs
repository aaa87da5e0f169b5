//! Which instruction set the vectorised loops run in: the widest this processor has (AVX-512F,
//! AVX2 with FMA, or the x86-64 baseline), detected once at run time, so that one binary runs on
//! every x86-64 machine and fast where it can.
//!
//! `INFOPLANE_SIMD=portable|avx2|avx512` caps the level for a process (to compare paths, or to
//! check what an older machine would run); [`set_max_level`] does the same from a test or a
//! benchmark. A cap never raises the level above what the processor has.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// An instruction-set level of the vectorised loops, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The x86-64 baseline (SSE2), or any other architecture: plain Rust, vectorised by the
    /// compiler for the build's target.
    Portable,
    /// AVX2 and FMA (x86-64-v3): the generic loops compiled a second time for them.
    Avx2,
    /// AVX-512 (F, VL, DQ and BW, as every AVX-512 processor since 2017 has) with AVX2 and
    /// FMA: the hand-written 16-lane kernels, and the generic loops compiled for AVX-512.
    Avx512,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Portable, Level::Avx2, Level::Avx512];

    /// The level's name, as `INFOPLANE_SIMD` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    fn from_name(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == s)
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The widest level this processor runs (detected once).
pub fn detected() -> Level {
    static DETECTED: OnceLock<Level> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let avx2 = has!("avx2") && has!("fma");
            let avx512 =
                has!("avx512f") && has!("avx512vl") && has!("avx512dq") && has!("avx512bw");
            if avx2 && avx512 {
                return Level::Avx512;
            }
            if avx2 {
                return Level::Avx2;
            }
        }
        Level::Portable
    })
}

/// `INFOPLANE_SIMD`, read once; an unknown value is reported on stderr and ignored.
fn env_cap() -> Level {
    static CAP: OnceLock<Level> = OnceLock::new();
    *CAP.get_or_init(|| match std::env::var("INFOPLANE_SIMD") {
        Err(_) => Level::Avx512,
        Ok(v) => Level::from_name(v.trim()).unwrap_or_else(|| {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "infoplane: INFOPLANE_SIMD='{v}' is not one of portable, avx2, avx512; ignored"
                );
            }
            Level::Avx512
        }),
    })
}

/// The cap set by [`set_max_level`] (u8::MAX: none).
static MAX_LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);

/// Caps the level of every later pass in this process (`None`: no cap beyond
/// `INFOPLANE_SIMD`). For tests and benchmarks that compare the paths; results of the levels
/// agree to the rounding of their exponentials (about 1e-7 relative on the f32 path).
pub fn set_max_level(level: Option<Level>) {
    MAX_LEVEL.store(level.map_or(u8::MAX, |l| l as u8), Ordering::Relaxed);
}

/// The level the vectorised loops run in now: the processor's, capped by `INFOPLANE_SIMD` and
/// [`set_max_level`].
pub fn level() -> Level {
    let cap = match MAX_LEVEL.load(Ordering::Relaxed) {
        0 => Level::Portable,
        1 => Level::Avx2,
        _ => Level::Avx512,
    };
    detected().min(env_cap()).min(cap)
}
