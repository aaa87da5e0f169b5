//! The streaming pass over all pairwise squared distances of one representation Z (N x H).
//!
//! Z is centred (column means removed, which cuts the Gram trick's rounding error), its rows are
//! sorted by class (so that each class is one contiguous range of columns), and it is cut into
//! row tiles. For every tile pair (I, J ≥ I) one product gives G = Z_I Z_Jᵀ ([`gram`]: the
//! AVX-512 kernel on packed f32 panels where the processor has it, the BLAS otherwise), and
//! D_ij = ||z_i||² + ||z_j||² - 2 G_ij (in f64, negatives clamped to 0, the self pair excluded
//! and its kernel value 1 added exactly). Each unordered pair is visited once, and from its D_ij:
//!
//! * for every kernel variance v, K_ij = exp(-D_ij / (2v)) is added to the row sums
//!   S_i = Σ_j K_ij and S^same_i = Σ_{j: y_j = y_i} K_ij and, by symmetry, to S_j and
//!   S^same_j. The same-class sum is the sum over the row's class range (no mask), and the
//!   column side is summed over a block of rows first, then added once per column;
//! * the nearest-neighbour minima, and optionally the log-spaced histogram and the within-/
//!   between-class sums, are updated.
//!
//! Kernel values are computed in [`Element::Kernel`] (f32 on the f32 path) and summed in that
//! type over at most 256 columns (16 independent partial sums), then in f64. On the f32 path,
//! where the processor has AVX-512F, each group of kernels (an exponential and its squarings)
//! is computed in one fused loop over two rows at a time ([`kernel_rows`]); elsewhere member
//! after member through a buffer.
//! Each tile's blocks of rows are dealt to a fixed number of stripes (4 to 16, fewer when V·T
//! is large, never depending on the thread count); a stripe works through its blocks in
//! order with its own column accumulators, and stripes are merged in order, so the results are
//! the same bit for bit whatever the number of threads and however rayon schedules them.
//! Memory is O(T² + S·V·T + N·V) for tile size T, 4 ≤ S ≤ 16 stripes (S·V·T·16 bytes ≤ 4 MiB
//! where V·T allows) and V kernel variances, whatever N is.
//!
//! Kernels of variances related by powers of two are derived by squaring
//! (exp(-d/(2v))² = exp(-d/v)), so a halving grid, and KL next to Bhattacharyya (v = σ² and
//! 4σ²), cost one exponential per pair; blocks of pairs too far apart for a kernel are skipped.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::distances::{with_matrix, Precision};
use super::exp::{Element, KernelValue};
use super::gram;
use super::histogram::Histogram;
use super::kernel_rows;
use super::loops::{exp_row, min, square_row, sum};
use super::plan::Plan;
use super::stripes::{Buffers, ColumnAcc, Merge, PairCounts, Scratch, COLS, ROWS};

/// Kernel values below exp(-CUTOFF) relative to the self term (1) are not computed: over any N
/// they change S_i by less than N·e^-60 ≈ N·1e-26 relative.
const CUTOFF: f64 = 60.0;
/// Stripes of rows per tile, each with its own column accumulators (see `pairwise_pass`).
const STRIPES: usize = 16;
/// Bytes the stripes' column accumulators may take together (fewer stripes when V x tile is
/// large, but never fewer than [`MIN_STRIPES`], so that hundreds of σ² keep some parallelism);
/// a function of the request only, never of the thread count. 4 MiB gives 8 stripes for 16 σ²
/// (KL and BD) at the default tile, as many as the tile pair's Gram tasks (tile /
/// [`gram::GEMM_ROWS`]); merging 16 stripes' 8 MiB per tile pair cost 6 % of the pass.
const STRIPE_BUDGET: usize = 4 << 20;
/// Fewest stripes per tile.
const MIN_STRIPES: usize = 4;

/// Squared distances of a block of rows (at most [`ROWS`]) against a tile's columns, with the
/// class structure that the label-sorted order gives them.
struct Block<'a, K> {
    /// rows x cols squared distances; +∞ where the pair is not counted in this block (the self
    /// pair, and on a diagonal tile every column j ≤ i: that half comes from the column sums).
    d: &'a [K],
    rows: usize,
    cols: usize,
    /// Per row, the tile-local column range of its class (rows are sorted by class).
    same: &'a [(usize, usize)],
    /// Runs of consecutive rows of one class: (first row, end row); their column range is
    /// `same` of any of their rows.
    runs: &'a [(usize, usize)],
    /// Columns before this one are not counted for any row of the block.
    first_col: usize,
}

/// Intersection of the column range `r` with [c0, c1), as offsets from c0 (empty: (0, 0)).
#[inline(always)]
fn clip(r: (usize, usize), c0: usize, c1: usize) -> (usize, usize) {
    let (lo, hi) = (r.0.max(c0), r.1.min(c1));
    if lo < hi {
        (lo - c0, hi - c0)
    } else {
        (0, 0)
    }
}

impl<K: KernelValue> Block<'_, K> {
    /// Adds every kernel's row sums to `out` and column sums to `acc`, column block by
    /// column block, each exponential's squarings derived while its values are in cache.
    /// Column blocks too far for the widest remaining kernel are skipped.
    fn kernel_sums(
        &self,
        plan: &Plan,
        groups: &[(usize, Vec<(usize, u32)>)],
        out: &mut [f64],
        stride: usize,
        acc: &mut ColumnAcc,
        bufs: &mut Buffers<K>,
    ) {
        let (d, cols, rows) = (self.d, self.cols, self.rows);
        let Buffers { k, v, fused: v32 } = bufs;
        let start = self.first_col / COLS * COLS;
        // The fused AVX-512 loop, on the f32 path where the processor has it and every group
        // fits it.
        let fused = K::as_f32(d).filter(|_| {
            kernel_rows::available() && groups.iter().all(|g| g.1.len() < kernel_rows::MAX_MEMBERS)
        });
        for c0 in (start..cols).step_by(COLS) {
            let c1 = (c0 + COLS).min(cols);
            let w = c1 - c0;
            let dmin: f64 = (0..rows)
                .map(|r| min(&d[r * cols + c0..r * cols + c1]))
                .fold(K::INFINITY, |m, x| if x < m { x } else { m })
                .into();
            for (root, descendants) in groups {
                let a = plan.a[*root];
                // The widest kernel comes first: when it is cut, all later groups are too
                // (NaN, from ∞ x 0, is cut as well: the block holds no counted pair).
                let reach = dmin * a;
                if reach > CUTOFF || reach.is_nan() {
                    break;
                }
                let na = K::from_f64(-a);
                if let Some(d32) = fused {
                    let mut members = [(0, 0); kernel_rows::MAX_MEMBERS];
                    members[0] = (*root, 0);
                    members[1..=descendants.len()].copy_from_slice(descendants);
                    let members = &members[..=descendants.len()];
                    self.fused_group(plan, members, d32, dmin, (c0, c1), out, stride, acc, v32);
                    continue;
                }
                let mut done = 0;
                for &(b, times) in std::iter::once(&(*root, 0)).chain(descendants) {
                    // Descendants are narrower: once one is cut, so are the rest.
                    if dmin * plan.a[b] > CUTOFF {
                        break;
                    }
                    acc.touched[b] = true;
                    for &(ra, rb) in self.runs {
                        // One pass per row: the kernel values (exponential or squares of the
                        // previous member's), their row sum, and the column sums of the run.
                        let vw = &mut v[..w];
                        vw.fill(K::default());
                        for r in ra..rb {
                            let kr = &mut k[r * COLS..r * COLS + w];
                            let total = if done == 0 && times == 0 {
                                exp_row(&d[r * cols + c0..r * cols + c1], na, kr, vw)
                            } else {
                                square_row(times - done, kr, vw)
                            };
                            let (lo, hi) = clip(self.same[r], c0, c1);
                            out[r * stride + 2 * b] += total;
                            if lo < hi {
                                out[r * stride + 2 * b + 1] += sum(&kr[lo..hi]);
                            }
                        }
                        add_columns(acc, b, (c0, c1), clip(self.same[ra], c0, c1), vw);
                    }
                    done = times;
                }
            }
        }
    }
}

impl<K: KernelValue> Block<'_, K> {
    /// [`Block::kernel_sums`] for one group (`members`: the root with 0, then its descendants
    /// and their squarings from it) and columns [c0, c1), in the fused AVX-512 loop: the
    /// block's distances as f32 (`d32`), every member's values computed once per pair.
    #[allow(clippy::too_many_arguments)]
    fn fused_group(
        &self,
        plan: &Plan,
        members: &[(usize, u32)],
        d32: &[f32],
        dmin: f64,
        (c0, c1): (usize, usize),
        out: &mut [f64],
        stride: usize,
        acc: &mut ColumnAcc,
        v: &mut [f32],
    ) {
        // Descendants are narrower: once one is cut, so are the rest.
        let live = members
            .iter()
            .take_while(|&&(b, _)| dmin * plan.a[b] <= CUTOFF)
            .count();
        let members = &members[..live];
        let mut steps = [0u32; kernel_rows::MAX_MEMBERS];
        let mut prev = 0;
        for (m, &(b, times)) in members.iter().enumerate() {
            steps[m] = times - prev;
            prev = times;
            acc.touched[b] = true;
        }
        let na = (-plan.a[members[0].0]) as f32;
        let (w, cols) = (c1 - c0, self.cols);
        let mut sums = [(0.0, 0.0); 2 * kernel_rows::MAX_MEMBERS];
        for &(ra, rb) in self.runs {
            for m in 0..live {
                v[m * COLS..m * COLS + w].fill(0.0);
            }
            // The run's rows share a class, so its range of columns.
            let (lo, hi) = clip(self.same[ra], c0, c1);
            let mut r = ra;
            while r < rb {
                let n_rows = (rb - r).min(2);
                let segs = [r, r + n_rows - 1].map(|q| &d32[q * cols + c0..q * cols + c1]);
                let sums = &mut sums[..n_rows * live];
                kernel_rows::group_rows(
                    &segs[..n_rows],
                    na,
                    &steps[..live],
                    (lo, hi),
                    v,
                    COLS,
                    sums,
                );
                for (q, row) in sums.chunks(live).enumerate() {
                    let o = &mut out[(r + q) * stride..];
                    for (&(b, _), &(t, sm)) in members.iter().zip(row) {
                        o[2 * b] += t;
                        if lo < hi {
                            o[2 * b + 1] += sm;
                        }
                    }
                }
                r += n_rows;
            }
            for (m, &(b, _)) in members.iter().enumerate() {
                add_columns(acc, b, (c0, c1), (lo, hi), &v[m * COLS..m * COLS + w]);
            }
        }
    }
}

/// acc's column sums of kernel b over columns [c0, c1) += the run's column sums `vw`, and its
/// same-class sums over the run's class range (`same`, offsets from c0).
#[inline(always)]
fn add_columns<K: KernelValue>(
    acc: &mut ColumnAcc,
    b: usize,
    (c0, c1): (usize, usize),
    (lo, hi): (usize, usize),
    vw: &[K],
) {
    let st = acc.stride();
    let ct = &mut acc.total[b * st + c0..b * st + c1];
    for (t, &x) in ct.iter_mut().zip(vw) {
        *t += x.into();
    }
    let cs = &mut acc.same[b * st + c0 + lo..b * st + c0 + hi];
    for (s, &x) in cs.iter_mut().zip(&vw[lo..hi]) {
        *s += x.into();
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
    /// The largest squared norm of the centred rows (as stored for the Gram products).
    pub max_norm2: f64,
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
    /// Nearest-neighbour distances only (always gathered: one min per pair, fused with
    /// forming the distances).
    Nearest,
    /// Nearest neighbours, the histogram and the within/between-class sums.
    All,
}

impl PassOptions {
    /// The largest tile (its Gram block takes tile² values).
    pub(crate) const MAX_TILE: usize = 16_384;

    /// The default tile.
    pub const DEFAULT_TILE: usize = 1024;

    /// Checks the tile size.
    pub fn validate(&self) -> crate::Result<()> {
        if self.tile == 0 || self.tile > Self::MAX_TILE {
            return Err(crate::Error::parameter(
                "tile",
                format!(
                    "must be between 1 and {} (got {})",
                    Self::MAX_TILE,
                    self.tile
                ),
            ));
        }
        Ok(())
    }
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            tile: Self::DEFAULT_TILE,
            stats: Stats::All,
        }
    }
}

/// A distance-only pass (no kernel) gathering every statistic ([`Stats::All`]).
pub fn stats<T: Element>(z: ArrayView2<'_, T>, labels: &[u32], tile: usize) -> DistanceStats {
    pairwise_pass(
        z,
        labels,
        &[],
        &PassOptions {
            tile,
            stats: Stats::All,
        },
    )
    .distances
}

/// [`stats`] in the requested precision.
pub(crate) fn stats_in(
    z: ArrayView2<'_, f32>,
    labels: &[u32],
    precision: Precision,
    tile: usize,
) -> DistanceStats {
    with_matrix(
        z,
        precision,
        |z| stats(z, labels, tile),
        |z| stats(z, labels, tile),
    )
}

/// One pass over all pairs of rows of `z`; see the module documentation.
///
/// `labels` has one class index per row. Works for f32 and f64 inputs: the GEMM runs in the
/// input's precision, distances are formed in f64, and kernel values are computed in
/// [`Element::Kernel`].
pub(crate) fn pairwise_pass<T>(
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
    crate::util::blas::single_threaded();
    let plan = Plan::new(variances, T::MAX_SQUARINGS);
    let groups = plan.groups();
    let nb = plan.a.len();

    // Rows sorted by class (stably), so that each class is one contiguous range of columns.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| labels[i]);
    let sorted: Vec<u32> = order.iter().map(|&i| labels[i]).collect();
    let mut class_range = vec![(0usize, 0usize); n];
    let mut s = 0;
    while s < n {
        let e = s + sorted[s..].iter().take_while(|&&c| c == sorted[s]).count();
        class_range[s..e].fill((s, e));
        s = e;
    }

    // Centre in f64, store in the input precision (or as the packed kernel's panels).
    let tile = opts.tile.max(16);
    let (zc, norms) = super::distances::centred_rows(z, &order, tile);
    let mut total = vec![vec![0.0f64; n]; nb];
    let mut same = vec![vec![0.0f64; n]; nb];
    let mut nn_sorted = vec![f64::INFINITY; n];
    let mut stats = DistanceStats::new(n);
    // Per-stripe state, allocated once: pair statistics, column sums, the distance block.
    // Each tile's rows are cut into a fixed number of stripes (not one per thread), each stripe
    // works through its blocks of rows in order, and the stripes' sums are merged in order:
    // the results are the same, bit for bit, whatever the thread count and scheduling.
    let stripes =
        (STRIPE_BUDGET / (nb.max(1) * tile.min(n).max(1) * 16)).clamp(MIN_STRIPES, STRIPES);
    let mut scratch: Vec<Scratch<T::Kernel>> = (0..stripes)
        .map(|_| Scratch {
            counts: PairCounts::default(),
            acc: ColumnAcc::new(nb, tile.min(n)),
            d: vec![<T::Kernel>::INFINITY; ROWS * tile.min(n)],
            rows: Vec::new(),
            nn: Vec::new(),
            bufs: Buffers::new(),
        })
        .collect();
    let mut g = gram::buffer::<T>(tile.min(n));
    let starts: Vec<usize> = (0..n).step_by(tile).collect();
    let stride = (2 * nb).max(1);
    for &i0 in &starts {
        let i1 = (i0 + tile).min(n);
        for &j0 in starts.iter().filter(|&&j0| j0 >= i0) {
            let j1 = (j0 + tile).min(n);
            gram::tile(&zc, (i0, i1), (j0, j1), &mut g);
            let diagonal = i0 == j0;
            let gt = g.slice(ndarray::s![..i1 - i0, ..j1 - j0]);
            let cols = j1 - j0;
            // Blocks of rows are dealt to the stripes in turn (block c to stripe c mod S), so
            // that every stripe gets a share of each class and of a diagonal tile's triangle.
            let nblocks = (i1 - i0).div_ceil(ROWS);
            scratch.par_iter_mut().enumerate().for_each(|(st, scr)| {
                let Scratch {
                    counts: pc,
                    acc,
                    d,
                    rows,
                    nn,
                    bufs,
                } = scr;
                rows.clear();
                nn.clear();
                for c in (st..nblocks).step_by(stripes) {
                    let r_n = ROWS.min(i1 - i0 - c * ROWS);
                    let (rb, nb0) = (rows.len(), nn.len());
                    rows.resize(rb + r_n * stride, 0.0);
                    nn.resize(nb0 + r_n, f64::INFINITY);
                    let out = &mut rows[rb..];
                    let nn_out = &mut nn[nb0..];
                    let r_n = nn_out.len();
                    let li0 = c * ROWS;
                    // On a diagonal tile row li counts only the columns after it (the
                    // others reach it through the column sums); its K_ii = 1 is added here.
                    let first = |li: usize| if diagonal { li + 1 } else { 0 };
                    let d = &mut d[..r_n * cols];
                    let mut same_cols = [(0usize, 0usize); ROWS];
                    let mut runs = Vec::with_capacity(1);
                    for r in 0..r_n {
                        let li = li0 + r;
                        let i = i0 + li;
                        let ni = norms[i];
                        let grow = gt.row(li);
                        let grow = grow
                            .as_slice()
                            .expect("a row of a standard-layout matrix is contiguous");
                        let f = first(li).min(cols);
                        d[r * cols..r * cols + f].fill(<T::Kernel>::INFINITY);
                        let dr = &mut d[r * cols + f..(r + 1) * cols];
                        // Nearest neighbours in f64, from the same values (always: it is
                        // nearly free here).
                        nn_out[r] = nn_out[r].min(super::loops::distance_row(
                            ni,
                            &grow[f..],
                            &norms[j0 + f..j1],
                            dr,
                            &mut acc.nn[f..cols],
                        ));
                        let (cs, ce) = class_range[i];
                        let range = (cs.max(j0).min(j1) - j0, ce.max(j0).min(j1) - j0);
                        same_cols[r] = range;
                        // Rows are sorted by class: a run ends where the class changes.
                        match runs.last_mut() {
                            Some((_, end)) if sorted[i - 1] == sorted[i] => *end = r + 1,
                            _ => runs.push((r, r + 1)),
                        }
                        if diagonal {
                            for b in 0..nb {
                                out[r * stride + 2 * b] += 1.0;
                                out[r * stride + 2 * b + 1] += 1.0;
                            }
                        }
                    }
                    if opts.stats == Stats::All {
                        for r in 0..r_n {
                            let li = li0 + r;
                            let i = i0 + li;
                            let (ni, yi) = (norms[i], sorted[i]);
                            let grow = gt.row(li);
                            let f = first(li).min(cols);
                            let (mut ws, mut ws2, mut wn) = (0.0, 0.0, 0u64);
                            let (mut bs, mut bs2) = (0.0, 0.0);
                            for jj in f..cols {
                                let j = j0 + jj;
                                let dj = (ni + norms[j] - 2.0 * grow[jj].into()).max(0.0);
                                pc.histogram.add(dj);
                                if sorted[j] == yi {
                                    ws += dj.sqrt();
                                    ws2 += dj;
                                    wn += 1;
                                } else {
                                    bs += dj.sqrt();
                                    bs2 += dj;
                                }
                            }
                            pc.within[0] += ws;
                            pc.within[1] += ws2;
                            pc.within_pairs += wn;
                            pc.between[0] += bs;
                            pc.between[1] += bs2;
                            pc.between_pairs += (cols - f) as u64 - wn;
                        }
                    }
                    let block = Block {
                        d,
                        rows: r_n,
                        cols,
                        same: &same_cols[..r_n],
                        runs: &runs,
                        first_col: first(li0),
                    };
                    block.kernel_sums(&plan, &groups, out, stride, acc, bufs);
                }
            });
            let merge = Merge {
                rows: (i0, i1),
                cols: (j0, cols),
                stride,
                total: &mut total,
                same: &mut same,
            };
            merge.stripes(&mut scratch, &mut nn_sorted);
        }
    }
    for w in &scratch {
        stats.merge_counts(&w.counts);
    }
    // Back to the caller's row order.
    for (p, &i) in order.iter().enumerate() {
        stats.nn_d2[i] = nn_sorted[p];
    }
    let unsort = |v: Vec<f64>| {
        let mut o = vec![0.0; n];
        for (p, &i) in order.iter().enumerate() {
            o[i] = v[p];
        }
        o
    };
    let mut sums: Vec<Option<KernelSums>> = vec![None; variances.len()];
    for (p, (t, s)) in total.into_iter().zip(same).enumerate() {
        let i = plan.caller[p];
        sums[i] = Some(KernelSums {
            variance: variances[i],
            total: unsort(t),
            same: unsort(s),
        });
    }
    PassOutput {
        sums: sums.into_iter().flatten().collect(),
        distances: stats,
        max_norm2: norms.iter().fold(0.0, |m, &x| if x > m { x } else { m }),
    }
}
