//! The Gram blocks G = Z_I Z_Jᵀ of the pairwise pass: an AVX-512 kernel on packed f32 panels
//! where the processor has AVX-512F, the BLAS (`sgemm`/`dgemm`) otherwise.
//!
//! The packed path stores the centred, class-sorted rows once in panels of [`PANEL`] rows,
//! k-major (`data[p·32·H + k·32 + r]` is row 32p + r, column k; rows past N are zero), so that
//! one panel serves both as the 32 columns of a block (two 16-lane loads per k) and as four
//! groups of [`MR`] rows (eight broadcasts per k). The micro-kernel keeps an 8 x 32 block of G
//! in 16 registers and adds 16 fused multiply-adds per k (Goto and van de Geijn 2008, "Anatomy
//! of high-performance matrix multiplication"; BLIS's micro-kernel design). K is cut into
//! blocks of [`KC`] so that a panel's slice stays in the L1/L2 caches.
//!
//! Why not the BLAS: the OpenBLAS here must run its Haswell (AVX2) kernels
//! (`OPENBLAS_CORETYPE=Haswell`, set because older OpenBLAS builds compute wrong results with
//! their AVX-512 kernels on recent processors), and the Gram products were then two thirds of
//! the pass. This kernel runs at the processor's AVX-512 rate: 2.05x the Haswell `sgemm` at
//! N = 8000, H = 1024 (`cargo bench --bench gram`). Values are the same products summed in another
//! order: they differ from the BLAS's at f32 rounding, and do not depend on the thread count.
//!
//! This is one of the two files that allow `unsafe` (ARCHITECTURE.md, "Unsafe code"): the
//! 16-lane loads and stores of `std::arch` take raw pointers. The safe wrapper `micro` checks
//! the slices' bounds and the processor's AVX-512F before its one `unsafe` call.
#![allow(unsafe_code)]

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, Axis};
use rayon::prelude::*;

use super::exp::Element;

/// Rows per packed panel (the columns of one micro-kernel block: two 16-lane registers).
pub const PANEL: usize = 32;
/// Rows of one micro-kernel block.
pub const MR: usize = 8;
/// Columns of k per micro-kernel call.
const KC: usize = 512;
/// Rows of G per parallel task (a multiple of [`PANEL`], so that a diagonal tile's task starts
/// its columns on a panel boundary).
pub const GEMM_ROWS: usize = 128;

/// The centred rows of Z in panels of [`PANEL`] rows (see the module documentation).
#[derive(Debug)]
pub struct Panels {
    data: Vec<f32>,
    /// Columns of Z (H).
    h: usize,
}

impl Panels {
    /// Whether the packed kernel runs: the processor has AVX-512F and the level is not capped
    /// below it ([`crate::util::simd::level`]; change the cap between passes, never during one).
    pub fn available() -> bool {
        crate::util::simd::level() >= crate::util::simd::Level::Avx512
    }

    /// N rows of H columns, row i filled by `fill(i, row)` (H values), in parallel over
    /// panels; rows past N stay zero. Returns the panels and what `fill` returned per row.
    pub fn build<R: Send>(
        n: usize,
        h: usize,
        fill: impl Fn(usize, &mut [f32]) -> R + Sync,
    ) -> (Panels, Vec<R>) {
        let mut data = vec![0.0f32; n.div_ceil(PANEL) * PANEL * h];
        let per_panel: Vec<Vec<R>> = data
            .par_chunks_mut((PANEL * h).max(1))
            .enumerate()
            .map(|(p, panel)| {
                let mut row = vec![0.0f32; h];
                (0..PANEL.min(n.saturating_sub(p * PANEL)))
                    .map(|r| {
                        let out = fill(p * PANEL + r, &mut row);
                        for (k, &v) in row.iter().enumerate() {
                            panel[k * PANEL + r] = v;
                        }
                        out
                    })
                    .collect()
            })
            .collect();
        (
            Panels { data, h },
            per_panel.into_iter().flatten().collect(),
        )
    }

    /// Rows [r0, r0 + rows) x columns [c0, c1) of Z Zᵀ into `out` (row stride `ld`).
    ///
    /// r0 must be a multiple of [`MR`] and c0 of [`PANEL`]; `out` must hold ⌈rows/8⌉·8 rows of
    /// ⌈(c1 - c0)/32⌉·32 columns: the kernel writes whole 8 x 32 blocks (the padding rows of
    /// the panels make the extra values zero products).
    pub fn block(
        &self,
        r0: usize,
        rows: usize,
        (c0, c1): (usize, usize),
        out: &mut [f32],
        ld: usize,
    ) {
        assert!(
            r0.is_multiple_of(MR) && c0.is_multiple_of(PANEL),
            "blocks start on panels"
        );
        let h = self.h;
        let width = (c1 - c0).div_ceil(PANEL) * PANEL;
        let last_row = rows.div_ceil(MR) * MR - 1;
        assert!(
            ld >= width && out.len() >= last_row * ld + width,
            "room for whole blocks"
        );
        for k0 in (0..h).step_by(KC) {
            let kk = KC.min(h - k0);
            for jc in (0..width).step_by(PANEL) {
                let b = &self.data[(c0 + jc) / PANEL * PANEL * h + k0 * PANEL..];
                for ir in (0..rows).step_by(MR) {
                    let i = r0 + ir;
                    let a = &self.data[i / PANEL * PANEL * h + k0 * PANEL + i % PANEL..];
                    micro(kk, a, b, &mut out[ir * ld + jc..], ld, k0 > 0);
                }
            }
        }
    }
}

/// C (8 x 32, row stride `ldc`) = or += Σ_{p<k} a[p·32 + r] · b[p·32 + c]: the AVX-512 kernel.
///
/// Panics unless `a` holds k steps of 8 values at stride 32, `b` k steps of 32 and `c` 8 rows
/// of 32 at stride `ldc` (so the raw loads and stores below stay inside the slices), or when
/// the processor lacks AVX-512F.
fn micro(k: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
    assert!(k >= 1 && a.len() >= (k - 1) * PANEL + MR && b.len() >= k * PANEL);
    assert!(ldc >= PANEL && c.len() >= (MR - 1) * ldc + PANEL);
    #[cfg(target_arch = "x86_64")]
    {
        assert!(Panels::available(), "the packed Gram kernel needs AVX-512F");
        // SAFETY: AVX-512F is present (checked above), and the bounds checked above cover
        // every offset the kernel reads (a: p·32 + r < (k-1)·32 + 8; b: p·32 + 31 < 32k) and
        // writes (c: r·ldc + 31 < 7·ldc + 32).
        unsafe { micro_avx512(k, a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), ldc, accumulate) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (a, b, c, ldc, accumulate);
        unreachable!("the packed Gram kernel is only used where Panels::available()");
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn micro_avx512(
    k: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for p in 0..k {
        let b0 = _mm512_loadu_ps(b.add(p * PANEL));
        let b1 = _mm512_loadu_ps(b.add(p * PANEL + 16));
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let ar = _mm512_set1_ps(*a.add(p * PANEL + r));
            acc_r[0] = _mm512_fmadd_ps(ar, b0, acc_r[0]);
            acc_r[1] = _mm512_fmadd_ps(ar, b1, acc_r[1]);
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let cr = c.add(r * ldc);
        if accumulate {
            _mm512_storeu_ps(cr, _mm512_add_ps(_mm512_loadu_ps(cr), acc_r[0]));
            let c1 = cr.add(16);
            _mm512_storeu_ps(c1, _mm512_add_ps(_mm512_loadu_ps(c1), acc_r[1]));
        } else {
            _mm512_storeu_ps(cr, acc_r[0]);
            _mm512_storeu_ps(cr.add(16), acc_r[1]);
        }
    }
}

/// Where a pass's Gram blocks come from.
#[derive(Debug)]
pub enum Rows<T> {
    /// The centred rows, multiplied by the BLAS.
    Blas(Array2<T>),
    /// The centred rows as f32 panels, multiplied by the AVX-512 kernel.
    Packed(Panels),
}

/// The tile-pair buffer for G: ⌈tile/8⌉·8 rows of ⌈tile/32⌉·32 columns (room for whole
/// kernel blocks).
pub fn buffer<T: Element>(tile: usize) -> Array2<T> {
    Array2::zeros((tile.div_ceil(MR) * MR, tile.div_ceil(PANEL) * PANEL))
}

/// G[..i1-i0, ..j1-j0] = Z_I Z_Jᵀ for rows I = [i0, i1) and J = [j0, j1) (on a diagonal tile,
/// i0 = j0, each task of [`GEMM_ROWS`] rows only the columns from its first row on), in
/// parallel tasks whose split does not depend on the thread count (neither do the results).
pub fn tile<T: Element>(
    rows: &Rows<T>,
    (i0, i1): (usize, usize),
    (j0, j1): (usize, usize),
    g: &mut Array2<T>,
) {
    let diagonal = i0 == j0;
    let first_col = |p: usize| if diagonal { p * GEMM_ROWS } else { 0 };
    match rows {
        Rows::Blas(zc) => {
            // OpenBLAS runs single-threaded (see `blas`); rayon splits the product into
            // blocks of GEMM_ROWS rows (BLAS may round differently for other shapes).
            let zi = zc.slice(ndarray::s![i0..i1, ..]);
            let zj = zc.slice(ndarray::s![j0..j1, ..]);
            let mut gt = g.slice_mut(ndarray::s![..i1 - i0, ..j1 - j0]);
            gt.axis_chunks_iter_mut(Axis(0), GEMM_ROWS)
                .into_par_iter()
                .zip(zi.axis_chunks_iter(Axis(0), GEMM_ROWS).into_par_iter())
                .enumerate()
                .for_each(|(p, (mut gpart, zpart))| {
                    let c0 = first_col(p);
                    let zc = zj.slice(ndarray::s![c0.., ..]);
                    let mut gcols = gpart.slice_mut(ndarray::s![.., c0..]);
                    general_mat_mul(T::one(), &zpart, &zc.t(), T::zero(), &mut gcols);
                });
        }
        Rows::Packed(panels) => {
            let ld = g.ncols();
            let g = T::as_f32_mut(g.as_slice_mut().expect("the G buffer is standard-layout"))
                .expect("packed rows only on the f32 path");
            g.par_chunks_mut(GEMM_ROWS * ld)
                .take((i1 - i0).div_ceil(GEMM_ROWS))
                .enumerate()
                .for_each(|(p, gpart)| {
                    let r0 = p * GEMM_ROWS;
                    let n_rows = GEMM_ROWS.min(i1 - i0 - r0);
                    let c0 = first_col(p);
                    panels.block(i0 + r0, n_rows, (j0 + c0, j1), &mut gpart[c0..], ld);
                });
        }
    }
}
