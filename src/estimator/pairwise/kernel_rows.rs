//! The kernel values of a few rows against a block of columns, for one group of kernel
//! variances at once: an AVX-512 loop on the f32 path where the processor has AVX-512F.
//!
//! A group is an exponential and the kernels derived from it by squaring (see `kernel.rs`):
//! K_0 = exp(-a d) and K_m = K_{m-1}^(2^steps[m]). For each 16-column chunk of one or two rows
//! of a class, the loop computes every member's values in registers and adds them, at once, to
//! the member's column sums of the run (`v`: one load and one store for both rows), its row
//! sums and, where the chunk meets the rows' class, its same-class sums (a masked add; most
//! iterations lie outside the class and skip both the masks and the adds). Four chunks are in
//! flight per iteration, so that the exponentials' dependency chains overlap.
//! The generic path (f64, other processors) computes the members one after the other through
//! a buffer and sums each row segment separately.
//!
//! The exponential is Tang's table method ([`exp_neg`]), four fused multiply-adds shorter than
//! the generic [`super::exp::exp_neg_f32`]; both are within 2.5e-7 of exp (tested), so kernel
//! values on the two paths differ by at most a few f32 ulps. Row sums are summed in 16 lanes
//! of f32 over at most 256 columns, then in f64, as on the generic path.
//!
//! This is one of the files that allow `unsafe` (ARCHITECTURE.md, "Unsafe code"): the 16-lane
//! loads and stores of `std::arch` take raw pointers. The safe wrappers [`group_rows`] and
//! [`exp_neg_lanes`] check the slices' bounds and the processor's AVX-512F before their one
//! `unsafe` call.
#![allow(unsafe_code)]

/// The most members of a group the fused loop takes (f32 kernels are derived through at most 4
/// squarings, so an f32 group has at most 5 members).
pub const MAX_MEMBERS: usize = 8;

/// Whether this processor runs the fused loop (AVX-512F).
pub fn available() -> bool {
    super::gram::Panels::available()
}

/// For R = `d.len()` (1 or 2) row segments of one class (squared distances, +∞ where a pair
/// is not counted) and one group of M = `steps.len()` kernels: adds member m's values of all
/// R rows to `v[m·stride..m·stride + len]` and sets `sums[r·M + m]` to row r's (Σ values, Σ
/// values over columns `same.0..same.1`).
///
/// `na` is -a of the group's exponential; `steps[0]` is 0 and `steps[m]` the squarings from
/// member m-1 to member m.
///
/// Panics when R is not 1 or 2, the segments differ in length, M is 0 or above
/// [`MAX_MEMBERS`], `v`, `sums` or `same` does not fit, or the processor lacks AVX-512F.
pub fn group_rows(
    d: &[&[f32]],
    na: f32,
    steps: &[u32],
    same: (usize, usize),
    v: &mut [f32],
    stride: usize,
    sums: &mut [(f64, f64)],
) {
    let (r, m) = (d.len(), steps.len());
    assert!((1..=2).contains(&r) && d.iter().all(|x| x.len() == d[0].len()));
    let len = d[0].len();
    assert!((1..=MAX_MEMBERS).contains(&m) && sums.len() == r * m && steps[0] == 0);
    assert!(stride >= len && v.len() >= (m - 1) * stride + len);
    assert!(same.0 <= same.1 && same.1 <= len && len < i32::MAX as usize);
    assert!(available(), "the fused kernel loop needs AVX-512F");
    #[cfg(target_arch = "x86_64")]
    {
        let args = Args {
            d: [d[0].as_ptr(), d[r - 1].as_ptr()],
            len,
            na,
            steps,
            same,
            v: v.as_mut_ptr(),
            stride,
        };
        // SAFETY: AVX-512F is present (checked above), and the asserts above cover every
        // offset read (d[r][j], j < len) and written (v[m·stride + j], m < M, j < len): the
        // loop touches whole chunks only below len and masks the last partial chunk.
        unsafe {
            match (r, m) {
                (1, 1) => fused::<1, 1, DYNAMIC>(&args, sums),
                (1, 2) => fused::<1, 2, DYNAMIC>(&args, sums),
                (1, _) => fused::<1, MAX_MEMBERS, DYNAMIC>(&args, sums),
                (_, 1) => fused::<2, 1, DYNAMIC>(&args, sums),
                // KL next to Bhattacharyya (σ² and 4σ²): the common group.
                (_, 2) if steps[1] == 2 => fused::<2, 2, 0x20>(&args, sums),
                (_, 2) => fused::<2, 2, DYNAMIC>(&args, sums),
                (_, 3) => fused::<2, 3, DYNAMIC>(&args, sums),
                _ => fused::<2, MAX_MEMBERS, DYNAMIC>(&args, sums),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (na, v, sums);
        unreachable!("the fused loop is only used where available()");
    }
}

/// [`exp_neg`] on 16 values (for tests and benchmarks). Panics without AVX-512F.
pub fn exp_neg_lanes(x: [f32; 16]) -> [f32; 16] {
    assert!(available(), "the fused kernel loop needs AVX-512F");
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let mut out = [0.0f32; 16];
        // SAFETY: AVX-512F is present (checked above); both arrays hold 16 values.
        unsafe {
            _mm512_storeu_ps(out.as_mut_ptr(), exp_neg(_mm512_loadu_ps(x.as_ptr())));
        }
        out
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        unreachable!("only where available(): {x:?}")
    }
}

/// `S` of [`fused`] when the steps are read at run time (otherwise S holds steps[m] in bits
/// 4m..4m+4, known at compile time).
const DYNAMIC: u32 = u32::MAX;

/// Chunks of 16 columns per iteration of the main loop.
const UNROLL: usize = 4;

/// The squarings from member m-1 to member m: read at run time, or from S's bits 4m..4m+4.
#[inline(always)]
fn step<const S: u32>(steps: &[u32], m: usize) -> u32 {
    if S == DYNAMIC {
        steps[m]
    } else {
        (S >> (4 * m)) & 15
    }
}

/// The raw arguments of [`fused`] (checked by [`group_rows`]).
#[cfg(target_arch = "x86_64")]
struct Args<'a> {
    d: [*const f32; 2],
    len: usize,
    na: f32,
    steps: &'a [u32],
    same: (usize, usize),
    v: *mut f32,
    stride: usize,
}

/// R rows, at most M members: whole chunks [`UNROLL`] at a time (four chunks' exponentials in
/// flight), then one masked chunk at a time. A measured hot loop (ARCHITECTURE.md): one body,
/// so that the compiler keeps every accumulator in a register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fused<const R: usize, const M: usize, const S: u32>(
    a: &Args<'_>,
    sums: &mut [(f64, f64)],
) {
    use std::arch::x86_64::*;
    // Known at compile time unless the steps are read at run time.
    let members = if S == DYNAMIC {
        a.steps.len().min(M)
    } else {
        M
    };
    let na = _mm512_set1_ps(a.na);
    let zero = _mm512_setzero_ps();
    let mut tot = [[zero; M]; R];
    let mut sam = [[zero; M]; R];
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let (lo, hi) = (
        _mm512_set1_epi32(a.same.0 as i32),
        _mm512_set1_epi32(a.same.1 as i32),
    );
    let mut j = 0;
    const U: usize = UNROLL;
    while j + 16 * U <= a.len {
        let mut x = [[zero; R]; U];
        let mut in_class = [0u16; U];
        // Most iterations lie outside the rows' class: no masks, no same-class additions.
        let meets = j < a.same.1 && a.same.0 < j + 16 * U;
        for u in 0..U {
            if meets {
                let idx = _mm512_add_epi32(_mm512_set1_epi32((j + 16 * u) as i32), iota);
                in_class[u] = _mm512_cmpge_epi32_mask(idx, lo) & _mm512_cmplt_epi32_mask(idx, hi);
            }
            for (xr, &dr) in x[u].iter_mut().zip(&a.d) {
                *xr = exp_neg(_mm512_mul_ps(_mm512_loadu_ps(dr.add(j + 16 * u)), na));
            }
        }
        for m in 0..members {
            let s = step::<S>(a.steps, m);
            for _ in 0..s {
                for xu in &mut x {
                    for xr in xu.iter_mut() {
                        *xr = _mm512_mul_ps(*xr, *xr);
                    }
                }
            }
            for u in 0..U {
                let mut col = x[u][0];
                for r in 0..R {
                    tot[r][m] = _mm512_add_ps(tot[r][m], x[u][r]);
                    if meets {
                        sam[r][m] = _mm512_mask_add_ps(sam[r][m], in_class[u], sam[r][m], x[u][r]);
                    }
                    if r > 0 {
                        col = _mm512_add_ps(col, x[u][r]);
                    }
                }
                let vp = a.v.add(m * a.stride + j + 16 * u);
                _mm512_storeu_ps(vp, _mm512_add_ps(_mm512_loadu_ps(vp), col));
            }
        }
        j += 16 * U;
    }
    while j < a.len {
        let full = a.len - j >= 16;
        let live: __mmask16 = if full {
            0xffff
        } else {
            (1u16 << (a.len - j)) - 1
        };
        let idx = _mm512_add_epi32(_mm512_set1_epi32(j as i32), iota);
        let in_class =
            _mm512_mask_cmpge_epi32_mask(live, idx, lo) & _mm512_cmplt_epi32_mask(idx, hi);
        let mut x = [zero; R];
        for (xr, &dr) in x.iter_mut().zip(&a.d) {
            let dj = if full {
                _mm512_loadu_ps(dr.add(j))
            } else {
                _mm512_mask_loadu_ps(zero, live, dr.add(j))
            };
            *xr = exp_neg(_mm512_mul_ps(dj, na));
        }
        for m in 0..members {
            let s = step::<S>(a.steps, m);
            for _ in 0..s {
                for xr in &mut x {
                    *xr = _mm512_mul_ps(*xr, *xr);
                }
            }
            let mut col = x[0];
            for r in 0..R {
                tot[r][m] = _mm512_mask_add_ps(tot[r][m], live, tot[r][m], x[r]);
                sam[r][m] = _mm512_mask_add_ps(sam[r][m], in_class, sam[r][m], x[r]);
                if r > 0 {
                    col = _mm512_add_ps(col, x[r]);
                }
            }
            let vp = a.v.add(m * a.stride + j);
            if full {
                _mm512_storeu_ps(vp, _mm512_add_ps(_mm512_loadu_ps(vp), col));
            } else {
                let vm = _mm512_mask_loadu_ps(zero, live, vp);
                _mm512_mask_storeu_ps(vp, live, _mm512_add_ps(vm, col));
            }
        }
        j += 16;
    }
    for r in 0..R {
        for m in 0..members {
            let in_class = if a.same.0 < a.same.1 {
                sum_f64(sam[r][m])
            } else {
                0.0
            };
            sums[r * members + m] = (sum_f64(tot[r][m]), in_class);
        }
    }
}

/// The 16 lanes widened to f64 and summed (a fixed order: halves, then the f64 reduction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sum_f64(x: std::arch::x86_64::__m512) -> f64 {
    use std::arch::x86_64::*;
    let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(
        _mm512_castps_pd(x),
        1,
    )));
    _mm512_reduce_add_pd(_mm512_add_pd(lo, hi))
}

/// exp(x) on 16 lanes for x ≤ 0 (below -87, exp(-87)): Tang's table method (Tang 1989,
/// "Table-driven implementation of the exponential function in IEEE floating-point
/// arithmetic"). x = (16m + j) ln2/16 + r with |r| ≤ ln2/32, exp(x) = 2^m · 2^(j/16) · p(r),
/// the 16 values 2^(j/16) held in one register (a permute selects them), p the degree-3 Taylor
/// polynomial (truncation below 1e-8). Four fused multiply-adds fewer than
/// [`super::exp::exp_neg_f32`]'s degree-7 polynomial; relative error below 2.5e-7 (tested).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn exp_neg(x: std::arch::x86_64::__m512) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    const SHIFT: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    const LOG2E_16: f32 = 16.0 * std::f32::consts::LOG2_E;
    // ln2/16 in 12 significant bits (n · LN2_16_HI is exact for |n| < 2^11), and the rest.
    const LN2_16_HI: f32 = 0.043_319_702;
    const LN2_16_LO: f32 = 1.996_636_5e-6;
    /// 2^(j/16), j = 0..15, correctly rounded to f32 (bit patterns).
    const TABLE: [u32; 16] = [
        0x3f80_0000,
        0x3f85_aac3,
        0x3f8b_95c2,
        0x3f91_c3d3,
        0x3f98_37f0,
        0x3f9e_f532,
        0x3fa5_fed7,
        0x3fad_583f,
        0x3fb5_04f3,
        0x3fbd_08a4,
        0x3fc5_672a,
        0x3fce_248c,
        0x3fd7_44fd,
        0x3fe0_ccdf,
        0x3fea_c0c7,
        0x3ff5_257d,
    ];
    let x = _mm512_max_ps(x, _mm512_set1_ps(-87.0));
    let shift = _mm512_set1_ps(SHIFT);
    let t = _mm512_fmadd_ps(x, _mm512_set1_ps(LOG2E_16), shift);
    let n = _mm512_sub_ps(t, shift);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_16_HI), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_16_LO), r);
    let one = _mm512_set1_ps(1.0);
    let p = _mm512_fmadd_ps(_mm512_set1_ps(1.0 / 6.0), r, _mm512_set1_ps(0.5));
    let p = _mm512_fmadd_ps(_mm512_fmadd_ps(p, r, one), r, one);
    // n = 16m + j in the low bits of t: the permute reads j (the index's low 4 bits), and m
    // is added to the exponent field.
    let k = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(shift));
    let table = _mm512_loadu_si512(TABLE.as_ptr().cast());
    let scale = _mm512_add_epi32(
        _mm512_permutexvar_epi32(k, table),
        _mm512_slli_epi32::<23>(_mm512_srai_epi32::<4>(k)),
    );
    _mm512_mul_ps(p, _mm512_castsi512_ps(scale))
}
