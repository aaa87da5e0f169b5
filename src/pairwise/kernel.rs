//! The streaming pass over all pairwise squared distances of one representation Z (N x H).
//!
//! Z is centred (column means removed, which cuts the Gram trick's rounding error) and cut into
//! row tiles. For every tile pair (I, J ≥ I) one GEMM gives G = Z_I Z_Jᵀ, and
//! D_ij = ||z_i||² + ||z_j||² - 2 G_ij (in f64, negatives clamped to 0, the diagonal set to
//! exactly 0). From each D_ij, in the same pass:
//!
//! * for every kernel variance v, the Gaussian kernel K_ij = exp(-D_ij / (2v)) is added to the
//!   row sums S_i = Σ_j K_ij and S^same_i = Σ_{j: y_j = y_i} K_ij (f64 accumulators; the
//!   symmetric half is added to the column rows, so each pair is computed once);
//! * the squared distance goes into a log-spaced histogram, the nearest-neighbour minima and the
//!   within-/between-class sums.
//!
//! Memory is O(T² + N·V) for tile size T and V kernel variances, whatever N is. Kernels of
//! variances related by powers of two are derived by squaring (exp(-d/(2v))² = exp(-d/v)), so
//! a halving grid, and KL next to Bhattacharyya (v = σ² and 4σ²), cost one exponential per pair.

use std::sync::Mutex;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, LinalgScalar};
use rayon::prelude::*;

use super::histogram::Histogram;

/// Kernel values below exp(-CUTOFF) relative to the self term (1) are not computed: over any N
/// they change S_i by less than N·e^-60 ≈ N·1e-26 relative.
const CUTOFF: f64 = 60.0;
/// Rows per GEMM call when a tile's Gram block is split across threads.
const GEMM_ROWS: usize = 128;
/// Rows processed together by one task (their column sums are added once per block).
const ROWS: usize = 8;
/// Columns per block of kernel values (ROWS x COLS f64 stay in the L1 cache).
const COLS: usize = 256;

/// exp(x) for x ≤ 0, accurate to about 1 ulp, written so the compiler can vectorise it.
///
/// Cody–Waite reduction x = n ln 2 + r, |r| ≤ ln2/2, then a degree-13 Taylor polynomial
/// (truncation error below 4e-18 relative) and a scale by 2^n through the exponent bits.
/// Arguments below -708 return exp(-708) ≈ 3e-308 instead of a subnormal.
#[inline(always)]
pub fn exp_neg(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2: LN2_HI has its low 32 bits zero, so n * LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer
    let x = x.max(-708.0);
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = fma(p, r, c);
    }
    let k = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    p * f64::from_bits(((k + 1023) as u64) << 52)
}

/// a * b + c, fused where the target has FMA (never a slow software fallback).
#[inline(always)]
fn fma(a: f64, b: f64, c: f64) -> f64 {
    #[cfg(target_feature = "fma")]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(target_feature = "fma"))]
    {
        a * b + c
    }
}

/// The type kernel values are computed in: f64 on the f64 path; f32 (twice the SIMD lanes,
/// relative error about 1e-7) on the f32 path, whose distances carry f32 rounding anyway.
/// Sums are always accumulated in f64.
pub trait KernelValue: Copy + Default + std::ops::Mul<Output = Self> + Into<f64> {
    /// exp(x) for x ≤ 0.
    fn exp_neg(x: f64) -> Self;
    /// From a 0/1 mask value.
    fn from_f64(x: f64) -> Self;
}

impl KernelValue for f64 {
    #[inline(always)]
    fn exp_neg(x: f64) -> Self {
        exp_neg(x)
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
}

impl KernelValue for f32 {
    #[inline(always)]
    fn exp_neg(x: f64) -> Self {
        exp_neg_f32(x as f32)
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

/// exp(x) in f32 for x ≤ 0, relative error below 2e-7, vectorisable; below -87 it returns
/// exp(-87) ≈ 1.6e-38.
#[inline(always)]
pub fn exp_neg_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4; // 0.693359375: exact in 9 bits, so n * LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    const SHIFT: f32 = 12_582_912.0; // 1.5 * 2^23
    let x = x.max(-87.0);
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = fma32(p, r, c);
    }
    let k = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    p * f32::from_bits(((k + 127) as u32) << 23)
}

#[inline(always)]
fn fma32(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(target_feature = "fma")]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(target_feature = "fma"))]
    {
        a * b + c
    }
}

/// Squared distances and same-class masks of a block of rows against a tile's columns.
struct Block<'a> {
    d: &'a [f64],
    mask: &'a [f64],
    rows: usize,
    cols: usize,
}

impl Block<'_> {
    /// Adds every kernel's row sums to `out` (and column sums to `acc` off the diagonal),
    /// column block by column block, each exponential's squarings derived while its values
    /// are in cache. Column blocks too far for the widest remaining kernel are skipped.
    fn kernel_sums<K: KernelValue>(
        &self,
        plan: &Plan,
        groups: &[(usize, Vec<(usize, u32)>)],
        out: &mut [f64],
        stride: usize,
        mut acc: Option<&mut ColumnAcc>,
    ) {
        let (d, cols) = (self.d, self.cols);
        let mut k = [K::default(); ROWS * COLS];
        let mut m = [K::default(); ROWS * COLS];
        for c0 in (0..cols).step_by(COLS) {
            let c1 = (c0 + COLS).min(cols);
            let w = c1 - c0;
            let dmin = (0..self.rows)
                .flat_map(|r| d[r * cols + c0..r * cols + c1].iter())
                .fold(f64::INFINITY, |m, &v| m.min(v));
            if dmin * plan.a.first().copied().unwrap_or(0.0) > CUTOFF {
                continue;
            }
            for r in 0..self.rows {
                for (mv, &x) in m[r * COLS..r * COLS + w]
                    .iter_mut()
                    .zip(&self.mask[r * cols + c0..r * cols + c1])
                {
                    *mv = K::from_f64(x);
                }
            }
            for (root, descendants) in groups {
                let a = plan.a[*root];
                if dmin * a > CUTOFF {
                    // The widest kernel comes first: all later groups are cut too.
                    break;
                }
                for r in 0..self.rows {
                    let dr = &d[r * cols + c0..r * cols + c1];
                    for (kv, &dj) in k[r * COLS..r * COLS + w].iter_mut().zip(dr) {
                        *kv = K::exp_neg(-dj * a);
                    }
                }
                let mut done = 0;
                for &(b, times) in std::iter::once(&(*root, 0)).chain(descendants) {
                    for _ in done..times {
                        for kv in &mut k[..] {
                            *kv = *kv * *kv;
                        }
                    }
                    done = times;
                    for r in 0..self.rows {
                        let kr = &k[r * COLS..r * COLS + w];
                        let mr = &m[r * COLS..r * COLS + w];
                        let (st, ss) = match acc.as_deref_mut() {
                            Some(acc) => sums_and_columns(
                                kr,
                                mr,
                                &mut acc.total[b * cols + c0..b * cols + c1],
                                &mut acc.same[b * cols + c0..b * cols + c1],
                            ),
                            None => sums(kr, mr),
                        };
                        out[r * stride + 2 * b] += st;
                        out[r * stride + 2 * b + 1] += ss;
                    }
                }
            }
        }
    }
}

/// Lanes of the partial sums: independent accumulators let the compiler vectorise the
/// reductions (a single f64 accumulator forces sequential adds).
const LANES: usize = 8;

/// (Σ k, Σ k·m) over a row segment, in [`LANES`] f64 partial sums.
#[inline(always)]
fn sums<K: KernelValue>(k: &[K], m: &[K]) -> (f64, f64) {
    let mut st = [0.0f64; LANES];
    let mut ss = [0.0f64; LANES];
    let mut kc = k.chunks_exact(LANES);
    let mut mc = m.chunks_exact(LANES);
    for (kk, mm) in (&mut kc).zip(&mut mc) {
        for l in 0..LANES {
            st[l] += kk[l].into();
            ss[l] += (kk[l] * mm[l]).into();
        }
    }
    let mut t: f64 = st.iter().sum();
    let mut s: f64 = ss.iter().sum();
    for (&kv, &mv) in kc.remainder().iter().zip(mc.remainder()) {
        t += kv.into();
        s += (kv * mv).into();
    }
    (t, s)
}

/// [`sums`], also adding k and k·m into the (f64) column accumulators.
#[inline(always)]
fn sums_and_columns<K: KernelValue>(
    k: &[K],
    m: &[K],
    ct: &mut [f64],
    cs: &mut [f64],
) -> (f64, f64) {
    for (((t, s), &kv), &mv) in ct.iter_mut().zip(cs.iter_mut()).zip(k).zip(m) {
        *t += kv.into();
        *s += (kv * mv).into();
    }
    sums(k, m)
}

/// How one kernel variance's values are obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    /// exp(-a d) directly.
    Exp,
    /// The kernel of an earlier (wider) variance, squared `times` times.
    Square { from: usize, times: u32 },
}

/// Kernel variances in evaluation order (widest first) with their sources.
#[derive(Debug, Clone)]
struct Plan {
    /// a = 1 / (2 v), increasing.
    a: Vec<f64>,
    source: Vec<Source>,
    /// For each plan entry, the caller's index.
    caller: Vec<usize>,
}

impl Plan {
    fn new(variances: &[f64]) -> Plan {
        let mut order: Vec<usize> = (0..variances.len()).collect();
        order.sort_by(|&i, &j| variances[j].total_cmp(&variances[i]));
        let mut a = Vec::with_capacity(order.len());
        let mut source = Vec::with_capacity(order.len());
        for &i in &order {
            let v = variances[i];
            let mut src = Source::Exp;
            let mut av = 1.0 / (2.0 * v);
            'search: for times in 1..=6u32 {
                for (p, &i_prev) in order[..a.len()].iter().enumerate() {
                    let ratio = variances[i_prev] / v;
                    if (ratio / f64::from(1u32 << times) - 1.0).abs() < 1e-12 {
                        src = Source::Square { from: p, times };
                        av = a[p] * f64::from(1u32 << times);
                        break 'search;
                    }
                }
            }
            a.push(av);
            source.push(src);
        }
        Plan {
            a,
            source,
            caller: order,
        }
    }

    /// Entries grouped by the exponential they derive from: (root, [(entry, squarings)]),
    /// descendants sorted by their number of squarings from the root.
    fn groups(&self) -> Vec<(usize, Vec<(usize, u32)>)> {
        let root_of = |mut b: usize| {
            let mut times = 0;
            while let Source::Square { from, times: t } = self.source[b] {
                times += t;
                b = from;
            }
            (b, times)
        };
        let mut groups: Vec<(usize, Vec<(usize, u32)>)> = Vec::new();
        for b in 0..self.a.len() {
            let (root, times) = root_of(b);
            if times == 0 {
                groups.push((b, Vec::new()));
            } else if let Some(g) = groups.iter_mut().find(|g| g.0 == root) {
                g.1.push((b, times));
            }
        }
        for g in &mut groups {
            g.1.sort_by_key(|&(_, t)| t);
        }
        groups
    }
}

/// Per-row kernel sums for one kernel variance.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelSums {
    /// Kernel variance v: K_ij = exp(-||z_i - z_j||² / (2v)).
    pub variance: f64,
    /// S_i = Σ_j K_ij over all samples (the self term K_ii = 1 included).
    pub total: Vec<f64>,
    /// Σ_j K_ij over the samples j of the same class as i (self term included).
    pub same: Vec<f64>,
}

/// Distance statistics gathered in the same pass (each unordered pair counted once).
#[derive(Debug, Clone)]
pub struct DistanceStats {
    /// Histogram of squared distances over the N(N-1)/2 pairs.
    pub histogram: Histogram,
    /// Per sample, the squared distance to its nearest other sample.
    pub nn_d2: Vec<f64>,
    /// Sum of distances (not squared) and of squared distances over same-class pairs.
    pub within_sum_d: f64,
    /// Sum of squared distances over same-class pairs.
    pub within_sum_d2: f64,
    /// Number of same-class pairs.
    pub within_pairs: u64,
    /// Sum of distances over different-class pairs.
    pub between_sum_d: f64,
    /// Sum of squared distances over different-class pairs.
    pub between_sum_d2: f64,
    /// Number of different-class pairs.
    pub between_pairs: u64,
}

impl DistanceStats {
    fn new(n: usize) -> Self {
        DistanceStats {
            histogram: Histogram::default(),
            nn_d2: vec![f64::INFINITY; n],
            within_sum_d: 0.0,
            within_sum_d2: 0.0,
            within_pairs: 0,
            between_sum_d: 0.0,
            between_sum_d2: 0.0,
            between_pairs: 0,
        }
    }

    fn merge_counts(&mut self, o: &PairCounts) {
        self.histogram.merge(&o.histogram);
        self.within_sum_d += o.within[0];
        self.within_sum_d2 += o.within[1];
        self.within_pairs += o.within_pairs;
        self.between_sum_d += o.between[0];
        self.between_sum_d2 += o.between[1];
        self.between_pairs += o.between_pairs;
    }
}

/// What one pass returns.
#[derive(Debug, Clone)]
pub struct PassOutput {
    /// One entry per requested kernel variance, in the caller's order.
    pub sums: Vec<KernelSums>,
    /// Distance statistics.
    pub distances: DistanceStats,
}

/// Options of a pass.
#[derive(Debug, Clone, Copy)]
pub struct PassOptions {
    /// Rows per tile (the GEMM block); memory grows as its square.
    pub tile: usize,
    /// Which distance statistics to gather.
    pub stats: Stats,
}

/// Distance statistics a pass gathers besides the kernel sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stats {
    /// None.
    None,
    /// Nearest-neighbour distances only (cheap: one min per pair).
    Nearest,
    /// Nearest neighbours, the histogram and the within/between-class sums.
    All,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            tile: 1024,
            stats: Stats::All,
        }
    }
}

/// Per-worker accumulators of the pair statistics.
#[derive(Debug, Clone, Default)]
struct PairCounts {
    histogram: Histogram,
    within: [f64; 2],
    within_pairs: u64,
    between: [f64; 2],
    between_pairs: u64,
}

/// Column-side accumulators of one off-diagonal tile (rows of J).
struct ColumnAcc {
    /// [b][j] kernel sums and same-class sums.
    total: Vec<f64>,
    same: Vec<f64>,
    nn: Vec<f64>,
}

impl ColumnAcc {
    fn new(bandwidths: usize, cols: usize) -> Self {
        ColumnAcc {
            total: vec![0.0; bandwidths * cols],
            same: vec![0.0; bandwidths * cols],
            nn: vec![f64::INFINITY; cols],
        }
    }

    fn add(mut self, o: ColumnAcc) -> Self {
        for (a, b) in self.total.iter_mut().zip(&o.total) {
            *a += b;
        }
        for (a, b) in self.same.iter_mut().zip(&o.same) {
            *a += b;
        }
        for (a, b) in self.nn.iter_mut().zip(&o.nn) {
            *a = a.min(*b);
        }
        self
    }
}

/// One pass over all pairs of rows of `z`; see the module documentation.
///
/// `labels` has one class index per row. Works for f32 and f64 inputs: the GEMM runs in the
/// input's precision, everything after it in f64.
pub fn pairwise_pass<T>(
    z: ArrayView2<'_, T>,
    labels: &[u32],
    variances: &[f64],
    opts: &PassOptions,
) -> PassOutput
where
    T: Element,
{
    let n = z.nrows();
    assert_eq!(labels.len(), n, "one label per row");
    crate::blas::single_threaded();
    let plan = Plan::new(variances);
    let nb = plan.a.len();

    // Centre in f64, store in the input precision.
    let mean: Array1<f64> = z
        .axis_iter(Axis(1))
        .map(|c| c.iter().map(|&v| v.into()).sum::<f64>() / n.max(1) as f64)
        .collect();
    let zc: Array2<T> = centred(z, &mean);
    let norms: Vec<f64> = zc
        .outer_iter()
        .map(|r| r.iter().map(|&v| v.into() * v.into()).sum())
        .collect();

    let tile = opts.tile.max(16);
    let mut total = vec![vec![0.0f64; n]; nb];
    let mut same = vec![vec![0.0f64; n]; nb];
    let mut stats = DistanceStats::new(n);
    let workers = rayon::current_num_threads().max(1);
    let counts: Vec<Mutex<PairCounts>> = (0..workers + 1)
        .map(|_| Mutex::new(PairCounts::default()))
        .collect();
    let mut g = Array2::<T>::zeros((tile.min(n), tile.min(n)));
    let starts: Vec<usize> = (0..n).step_by(tile).collect();
    for &i0 in &starts {
        let i1 = (i0 + tile).min(n);
        let zi = zc.slice(ndarray::s![i0..i1, ..]);
        for &j0 in starts.iter().filter(|&&j0| j0 >= i0) {
            let j1 = (j0 + tile).min(n);
            let zj = zc.slice(ndarray::s![j0..j1, ..]);
            let mut gt = g.slice_mut(ndarray::s![..i1 - i0, ..j1 - j0]);
            // OpenBLAS runs single-threaded (see `blas`); rayon splits the GEMM into blocks of
            // GEMM_ROWS rows. The split does not depend on the thread count, so neither do
            // the results (BLAS may round differently for differently shaped calls).
            let part = GEMM_ROWS;
            gt.axis_chunks_iter_mut(Axis(0), part)
                .into_par_iter()
                .zip(zi.axis_chunks_iter(Axis(0), part).into_par_iter())
                .for_each(|(mut gpart, zpart)| {
                    general_mat_mul(T::one(), &zpart, &zj.t(), T::zero(), &mut gpart);
                });
            let gt = gt.view();
            let diagonal = i0 == j0;
            let cols = j1 - j0;
            let stride = (2 * nb).max(1);
            let mut rows = vec![0.0f64; (i1 - i0) * stride];
            let mut row_nn = vec![f64::INFINITY; i1 - i0];
            let groups = plan.groups();
            let col = rows
                .par_chunks_mut(ROWS * stride)
                .zip(row_nn.par_chunks_mut(ROWS))
                .enumerate()
                .fold(
                    || (!diagonal).then(|| ColumnAcc::new(nb, cols)),
                    |mut acc, (c, (out, nn_out))| {
                        let r_n = nn_out.len();
                        let li0 = c * ROWS;
                        // Squared distances and same-class masks of this block of rows.
                        // The self pair gets d = +inf here (kernel value 0); its K_ii = 1 is
                        // added explicitly, so that distant column blocks can be skipped.
                        let mut d = vec![0.0f64; ROWS * cols];
                        let mut mask = vec![0.0f64; ROWS * cols];
                        for r in 0..r_n {
                            let li = li0 + r;
                            let i = i0 + li;
                            let yi = labels[i];
                            let ni = norms[i];
                            let grow = gt.row(li);
                            let dr = &mut d[r * cols..(r + 1) * cols];
                            let mr = &mut mask[r * cols..(r + 1) * cols];
                            for (jj, (dj, mj)) in dr.iter_mut().zip(mr.iter_mut()).enumerate() {
                                let j = j0 + jj;
                                let v = (ni + norms[j] - 2.0 * grow[jj].into()).max(0.0);
                                *dj = if j == i { f64::INFINITY } else { v };
                                *mj = if labels[j] == yi { 1.0 } else { 0.0 };
                            }
                            if diagonal {
                                for b in 0..nb {
                                    out[r * stride + 2 * b] += 1.0;
                                    out[r * stride + 2 * b + 1] += 1.0;
                                }
                            }
                        }
                        if opts.stats != Stats::None {
                            let slot = rayon::current_thread_index().unwrap_or(workers);
                            let mut pc = counts[slot.min(workers)]
                                .lock()
                                .unwrap_or_else(|p| p.into_inner());
                            for (r, nn) in nn_out.iter_mut().enumerate() {
                                let li = li0 + r;
                                let dr = &d[r * cols..(r + 1) * cols];
                                let mr = &mask[r * cols..(r + 1) * cols];
                                if opts.stats == Stats::All {
                                    // Each unordered pair once.
                                    let first = if diagonal { li + 1 } else { 0 };
                                    let (mut ws, mut ws2, mut wn) = (0.0, 0.0, 0.0);
                                    let (mut bs, mut bs2) = (0.0, 0.0);
                                    for (&dj, &mj) in dr.iter().zip(mr).skip(first) {
                                        let s = dj.sqrt();
                                        ws += s * mj;
                                        ws2 += dj * mj;
                                        wn += mj;
                                        bs += s * (1.0 - mj);
                                        bs2 += dj * (1.0 - mj);
                                    }
                                    for &dj in dr.iter().skip(first) {
                                        pc.histogram.add(dj);
                                    }
                                    let pairs = dr.len().saturating_sub(first) as u64;
                                    pc.within[0] += ws;
                                    pc.within[1] += ws2;
                                    pc.within_pairs += wn as u64;
                                    pc.between[0] += bs;
                                    pc.between[1] += bs2;
                                    pc.between_pairs += pairs - wn as u64;
                                }
                                // The self pair is +inf here, so plain minima skip it.
                                *nn = dr.iter().fold(*nn, |m, &v| m.min(v));
                                if let Some(acc) = acc.as_mut() {
                                    for (a, &dj) in acc.nn.iter_mut().zip(dr) {
                                        *a = a.min(dj);
                                    }
                                }
                            }
                        }
                        let block = Block {
                            d: &d,
                            mask: &mask,
                            rows: r_n,
                            cols,
                        };
                        if T::F32_KERNEL {
                            block.kernel_sums::<f32>(&plan, &groups, out, stride, acc.as_mut());
                        } else {
                            block.kernel_sums::<f64>(&plan, &groups, out, stride, acc.as_mut());
                        }
                        acc
                    },
                )
                .reduce(
                    || None,
                    |a, b| match (a, b) {
                        (Some(a), Some(b)) => Some(a.add(b)),
                        (a, None) => a,
                        (None, b) => b,
                    },
                );
            for li in 0..i1 - i0 {
                for b in 0..nb {
                    total[b][i0 + li] += rows[li * stride + 2 * b];
                    same[b][i0 + li] += rows[li * stride + 2 * b + 1];
                }
                let m = &mut stats.nn_d2[i0 + li];
                *m = m.min(row_nn[li]);
            }
            if let Some(col) = col {
                for jj in 0..cols {
                    for b in 0..nb {
                        total[b][j0 + jj] += col.total[b * cols + jj];
                        same[b][j0 + jj] += col.same[b * cols + jj];
                    }
                    let m = &mut stats.nn_d2[j0 + jj];
                    *m = m.min(col.nn[jj]);
                }
            }
        }
    }
    for c in &counts {
        let c = c.lock().unwrap_or_else(|p| p.into_inner());
        stats.merge_counts(&c);
    }
    let mut sums: Vec<Option<KernelSums>> = vec![None; variances.len()];
    for (p, (t, s)) in total.into_iter().zip(same).enumerate() {
        let i = plan.caller[p];
        sums[i] = Some(KernelSums {
            variance: variances[i],
            total: t,
            same: s,
        });
    }
    PassOutput {
        sums: sums.into_iter().flatten().collect(),
        distances: stats,
    }
}

/// The element types a pass accepts: the GEMM runs in this precision.
pub trait Element: LinalgScalar + Into<f64> + Send + Sync {
    /// Whether kernel values are computed in f32 (see [`KernelValue`]).
    const F32_KERNEL: bool;
    /// Rounds an f64 to this type.
    fn from_f64(x: f64) -> Self;
}

impl Element for f32 {
    const F32_KERNEL: bool = true;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

impl Element for f64 {
    const F32_KERNEL: bool = false;
    fn from_f64(x: f64) -> Self {
        x
    }
}

/// Z minus its column means, subtracted in f64 and rounded once to T.
fn centred<T: Element>(z: ArrayView2<'_, T>, mean: &Array1<f64>) -> Array2<T> {
    let mut out = z.to_owned();
    for mut row in out.outer_iter_mut() {
        for (v, &m) in row.iter_mut().zip(mean.iter()) {
            *v = T::from_f64((*v).into() - m);
        }
    }
    out
}
