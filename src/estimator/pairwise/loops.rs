//! The vectorised loops over one row segment of the pairwise pass (a row's squared distances
//! from its Gram row, its kernel values, their squarings, minima and sums), each compiled
//! three times: for AVX-512, for AVX2 with FMA and for the build's baseline, and chosen at run
//! time
//! ([`crate::util::simd::level`]), so that a binary built anywhere runs everywhere and uses the wide
//! registers where the processor has them.
//!
//! This is one of the files that allow `unsafe` (ARCHITECTURE.md, "Unsafe code"): a function
//! compiled for AVX2 or AVX-512 (`#[target_feature]`) may only be called where the processor
//! has it. Each safe wrapper checks [`crate::util::simd::level`] before its `unsafe` calls.
#![allow(unsafe_code)]

use super::exp::{Element, KernelValue};
use crate::util::simd::{level, Level};

/// Independent partial sums and minima: they let the compiler vectorise reductions (one
/// accumulator would force sequential adds).
pub(super) const LANES: usize = 16;
/// Lanes of the nearest-neighbour minimum in [`distance_row`] (one AVX-512 register of f64).
const MIN_LANES: usize = 8;

/// Defines `$name`, which runs `$body::<.., FUSED>` compiled for AVX-512 or for AVX2 with
/// FMA (`FUSED = true`: fused multiply-adds in the exponential) where [`level`] allows, and
/// for the build's baseline otherwise.
macro_rules! dispatched {
    ($(#[$doc:meta])* fn $name:ident / $avx2:ident / $avx512:ident = $body:ident
        <$($g:ident : $b:path),*> ($($a:ident : $t:ty),*) -> $r:ty) => {
        $(#[$doc])*
        pub(super) fn $name<$($g: $b),*>($($a: $t),*) -> $r {
            #[cfg(target_arch = "x86_64")]
            match level() {
                // SAFETY: the processor has AVX-512 (F, VL, DQ, BW), AVX2 and FMA: `level`
                // only says so where they were detected.
                Level::Avx512 => return unsafe { $avx512::<$($g),*>($($a),*) },
                // SAFETY: the processor has AVX2 and FMA (detected, as above).
                Level::Avx2 => return unsafe { $avx2::<$($g),*>($($a),*) },
                Level::Portable => {}
            }
            $body::<$($g,)* false>($($a),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[inline(never)]
        fn $avx2<$($g: $b),*>($($a: $t),*) -> $r {
            $body::<$($g,)* true>($($a),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
        #[inline(never)]
        fn $avx512<$($g: $b),*>($($a: $t),*) -> $r {
            $body::<$($g,)* true>($($a),*)
        }
    };
}

dispatched! {
    /// k = exp(d·na), v += k, returns Σ k (in [`LANES`] partial sums of K, then f64).
    fn exp_row / exp_row_avx2 / exp_row_avx512 = exp_row_body<K: KernelValue>(
        d: &[K], na: K, k: &mut [K], v: &mut [K]) -> f64
}

#[inline(always)]
fn exp_row_body<K: KernelValue, const FUSED: bool>(
    d: &[K],
    na: K,
    k: &mut [K],
    v: &mut [K],
) -> f64 {
    let m = d.len() / LANES * LANES;
    let mut lanes = [K::default(); LANES];
    for ((dc, kc), vc) in d[..m]
        .chunks_exact(LANES)
        .zip(k[..m].chunks_exact_mut(LANES))
        .zip(v[..m].chunks_exact_mut(LANES))
    {
        for l in 0..LANES {
            let x = K::exp_neg_in::<FUSED>(dc[l] * na);
            kc[l] = x;
            vc[l] = vc[l] + x;
            lanes[l] = lanes[l] + x;
        }
    }
    let mut t: f64 = lanes.iter().map(|&x| x.into()).sum();
    for ((&dj, kv), vv) in d[m..].iter().zip(&mut k[m..]).zip(&mut v[m..]) {
        let x = K::exp_neg_in::<FUSED>(dj * na);
        *kv = x;
        *vv = *vv + x;
        t += x.into();
    }
    t
}

/// k = k^(2^times) (times ≥ 1), v += k, returns Σ k; the squaring count is a constant in
/// each loop so that it vectorises.
pub(super) fn square_row<K: KernelValue>(times: u32, k: &mut [K], v: &mut [K]) -> f64 {
    match times {
        1 => square_row_n::<K, 1>(k, v),
        2 => square_row_n::<K, 2>(k, v),
        3 => square_row_n::<K, 3>(k, v),
        _ => {
            for _ in 3..times {
                for x in k.iter_mut() {
                    *x = *x * *x;
                }
            }
            square_row_n::<K, 3>(k, v)
        }
    }
}

/// [`square_row`] with `T` squarings, compiled for AVX-512 or AVX2 where the processor has
/// them.
fn square_row_n<K: KernelValue, const T: u32>(k: &mut [K], v: &mut [K]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    match level() {
        // SAFETY: the processor has AVX-512 (F, VL, DQ, BW), AVX2 and FMA: `level` only says
        // so where they were detected.
        Level::Avx512 => return unsafe { square_row_avx512::<K, T>(k, v) },
        // SAFETY: the processor has AVX2 and FMA (detected, as above).
        Level::Avx2 => return unsafe { square_row_avx2::<K, T>(k, v) },
        Level::Portable => {}
    }
    square_row_body::<K, T>(k, v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
fn square_row_avx2<K: KernelValue, const T: u32>(k: &mut [K], v: &mut [K]) -> f64 {
    square_row_body::<K, T>(k, v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
#[inline(never)]
fn square_row_avx512<K: KernelValue, const T: u32>(k: &mut [K], v: &mut [K]) -> f64 {
    square_row_body::<K, T>(k, v)
}

#[inline(always)]
fn square_row_body<K: KernelValue, const T: u32>(k: &mut [K], v: &mut [K]) -> f64 {
    let pow = |mut x: K| {
        for _ in 0..T {
            x = x * x;
        }
        x
    };
    let m = k.len() / LANES * LANES;
    let mut lanes = [K::default(); LANES];
    for (kc, vc) in k[..m]
        .chunks_exact_mut(LANES)
        .zip(v[..m].chunks_exact_mut(LANES))
    {
        for l in 0..LANES {
            let x = pow(kc[l]);
            kc[l] = x;
            vc[l] = vc[l] + x;
            lanes[l] = lanes[l] + x;
        }
    }
    let mut t: f64 = lanes.iter().map(|&x| x.into()).sum();
    for (kv, vv) in k[m..].iter_mut().zip(&mut v[m..]) {
        let x = pow(*kv);
        *kv = x;
        *vv = *vv + x;
        t += x.into();
    }
    t
}

dispatched! {
    /// The smallest value of a row segment, in [`LANES`] partial minima (comparisons, so that
    /// it vectorises).
    fn min / min_avx2 / min_avx512 = min_body<K: KernelValue>(x: &[K]) -> K
}

#[inline(always)]
fn min_body<K: KernelValue, const FUSED: bool>(x: &[K]) -> K {
    let mut lanes = [K::INFINITY; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            lanes[l] = if c[l] < lanes[l] { c[l] } else { lanes[l] };
        }
    }
    chunks
        .remainder()
        .iter()
        .chain(&lanes)
        .fold(K::INFINITY, |m, &v| if v < m { v } else { m })
}

dispatched! {
    /// Σ k over a row segment: [`LANES`] partial sums in K (each adds at most 16 values over
    /// the pass's 256-column blocks), then f64.
    fn sum / sum_avx2 / sum_avx512 = sum_body<K: KernelValue>(k: &[K]) -> f64
}

#[inline(always)]
fn sum_body<K: KernelValue, const FUSED: bool>(k: &[K]) -> f64 {
    let mut lanes = [K::default(); LANES];
    let mut chunks = k.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            lanes[l] = lanes[l] + c[l];
        }
    }
    let mut t: f64 = lanes.iter().map(|&x| x.into()).sum();
    for &x in chunks.remainder() {
        t += x.into();
    }
    t
}

dispatched! {
    /// One row's squared distances d_j = max(0, n_i + n_j - 2 g_j) from its Gram row `g`, in
    /// f64, stored in the kernel type K; `col_nn[j]` becomes min(col_nn[j], d_j), and the row's
    /// minimum is returned. Written with [`MIN_LANES`] partial minima and comparisons (not
    /// `f64::min`, whose NaN rule keeps the compiler from vectorising) so that it vectorises;
    /// the values are the same (a NaN, which finite inputs cannot give, would count as 0).
    fn distance_row / distance_row_avx2 / distance_row_avx512 = distance_row_body<T: Element, K: KernelValue>(
        ni: f64, g: &[T], norms: &[f64], d: &mut [K], col_nn: &mut [f64]) -> f64
}

#[inline(always)]
fn distance_row_body<T: Element, K: KernelValue, const FUSED: bool>(
    ni: f64,
    g: &[T],
    norms: &[f64],
    d: &mut [K],
    col_nn: &mut [f64],
) -> f64 {
    let one = |gj: T, nj: f64, dj: &mut K, a: &mut f64| {
        let v = ni + nj - 2.0 * gj.into();
        let v = if v > 0.0 { v } else { 0.0 };
        *dj = K::from_f64(v);
        *a = if v < *a { v } else { *a };
        v
    };
    let m = g.len() / MIN_LANES * MIN_LANES;
    let mut lanes = [f64::INFINITY; MIN_LANES];
    for (((gc, nc), dc), ac) in g[..m]
        .chunks_exact(MIN_LANES)
        .zip(norms[..m].chunks_exact(MIN_LANES))
        .zip(d[..m].chunks_exact_mut(MIN_LANES))
        .zip(col_nn[..m].chunks_exact_mut(MIN_LANES))
    {
        for l in 0..MIN_LANES {
            let v = one(gc[l], nc[l], &mut dc[l], &mut ac[l]);
            lanes[l] = if v < lanes[l] { v } else { lanes[l] };
        }
    }
    let mut min = lanes
        .iter()
        .fold(f64::INFINITY, |a, &b| if b < a { b } else { a });
    for (((&gj, &nj), dj), a) in g[m..]
        .iter()
        .zip(&norms[m..])
        .zip(&mut d[m..])
        .zip(&mut col_nn[m..])
    {
        let v = one(gj, nj, dj, a);
        if v < min {
            min = v;
        }
    }
    min
}
