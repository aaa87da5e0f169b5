//! The pass's per-stripe state: pair statistics, row and column kernel sums, and their merge
//! into the totals in a fixed order (so that results do not depend on the thread count).

use rayon::prelude::*;

use super::exp::KernelValue;
use super::histogram::Histogram;
use super::kernel_rows;

/// Rows processed together by one task (their column sums are added once per block).
pub(super) const ROWS: usize = 16;
/// Columns per block of kernel values (ROWS x COLS kernel values stay in the L1 cache).
pub(super) const COLS: usize = 256;

/// Per-stripe working buffers of the kernel sums of a block (`kernel.rs`) (allocated once per pass).
pub(super) struct Buffers<K> {
    /// The generic path's kernel values of a block (ROWS x COLS) and column sums of a run.
    pub(super) k: Vec<K>,
    pub(super) v: Vec<K>,
    /// The fused loop's column sums of a run, per group member.
    pub(super) fused: Vec<f32>,
}

impl<K: KernelValue> Buffers<K> {
    pub(super) fn new() -> Self {
        Buffers {
            k: vec![K::default(); ROWS * COLS],
            v: vec![K::default(); COLS],
            fused: vec![0.0; kernel_rows::MAX_MEMBERS * COLS],
        }
    }
}

/// One stripe's accumulators of the pair statistics.
#[derive(Debug, Clone, Default)]
pub(super) struct PairCounts {
    pub(super) histogram: Histogram,
    pub(super) within: [f64; 2],
    pub(super) within_pairs: u64,
    pub(super) between: [f64; 2],
    pub(super) between_pairs: u64,
}

/// What one stripe keeps across tile pairs (allocated once per pass).
pub(super) struct Scratch<K> {
    pub(super) counts: PairCounts,
    pub(super) acc: ColumnAcc,
    /// Squared distances of one block of rows ([`ROWS`] x tile).
    pub(super) d: Vec<K>,
    /// Row sums of the stripe's blocks of the current tile pair, block after block.
    pub(super) rows: Vec<f64>,
    /// Nearest-neighbour distances of the same rows.
    pub(super) nn: Vec<f64>,
    /// The kernel loops' working buffers.
    pub(super) bufs: Buffers<K>,
}

/// One stripe's column-side accumulators for the current tile pair (indexed by the tile's
/// columns), kept across tile pairs so that they are allocated once.
pub(super) struct ColumnAcc {
    /// [b][j] kernel sums and same-class sums.
    pub(super) total: Vec<f64>,
    pub(super) same: Vec<f64>,
    /// Whether kernel b received any value since the last flush.
    pub(super) touched: Vec<bool>,
    /// Nearest-neighbour squared distance per column.
    pub(super) nn: Vec<f64>,
}

impl ColumnAcc {
    pub(super) fn new(bandwidths: usize, cols: usize) -> Self {
        ColumnAcc {
            total: vec![0.0; bandwidths * cols],
            same: vec![0.0; bandwidths * cols],
            touched: vec![false; bandwidths],
            nn: vec![f64::INFINITY; cols],
        }
    }

    /// Entries per kernel in `total` and `same` (the widest tile).
    pub(super) fn stride(&self) -> usize {
        self.nn.len()
    }
}

/// One stripe's column sums of one kernel: (all columns, same class).
type ColumnSums<'a> = (&'a mut [f64], &'a mut [f64]);

/// Where one tile pair's sums go: rows `i0..i1` and columns `j0..j0 + cols` (in the sorted
/// order) of the per-kernel sums `total` and `same`, `stride` values per row in the stripes'
/// row buffers.
pub(super) struct Merge<'a> {
    pub(super) rows: (usize, usize),
    pub(super) cols: (usize, usize),
    pub(super) stride: usize,
    pub(super) total: &'a mut [Vec<f64>],
    pub(super) same: &'a mut [Vec<f64>],
}

impl Merge<'_> {
    /// Adds every stripe's row sums and column sums to the totals and resets the column sums.
    /// Each sum receives its terms in stripe order (rows, then columns, stripe after stripe),
    /// as a serial merge would; kernels are merged in parallel, so the results do not depend
    /// on the thread count.
    pub(super) fn stripes<K>(self, scratch: &mut [Scratch<K>], nn: &mut [f64]) {
        let ((i0, i1), (j0, cols)) = (self.rows, self.cols);
        let n_stripes = scratch.len();
        let nblocks = (i1 - i0).div_ceil(ROWS);
        // Per kernel, each stripe's column sums (all of them when touched, else none).
        let mut columns: Vec<Vec<Option<ColumnSums<'_>>>> =
            (0..self.total.len()).map(|_| Vec::new()).collect();
        let mut row_sums = Vec::with_capacity(n_stripes);
        for w in scratch.iter_mut() {
            let stride = w.acc.stride();
            let ColumnAcc {
                total,
                same,
                touched,
                nn: col_nn,
            } = &mut w.acc;
            for (b, ((t, s), hit)) in total
                .chunks_mut(stride)
                .zip(same.chunks_mut(stride))
                .zip(touched.iter_mut())
                .enumerate()
            {
                columns[b].push(std::mem::take(hit).then_some((&mut t[..cols], &mut s[..cols])));
            }
            for (o, x) in nn[j0..j0 + cols].iter_mut().zip(&mut col_nn[..cols]) {
                *o = o.min(std::mem::replace(x, f64::INFINITY));
            }
            row_sums.push((&w.rows, &w.nn));
        }
        for (st, (_, row_nn)) in row_sums.iter().enumerate() {
            for (k, c) in (st..nblocks).step_by(n_stripes).enumerate() {
                for r in 0..ROWS.min(i1 - i0 - c * ROWS) {
                    let m = &mut nn[i0 + c * ROWS + r];
                    *m = m.min(row_nn[k * ROWS + r]);
                }
            }
        }
        let stride = self.stride;
        self.total
            .par_iter_mut()
            .zip(self.same.par_iter_mut())
            .zip(columns.into_par_iter())
            .enumerate()
            .for_each(|(b, ((tb, sb), cols_b))| {
                for (st, ((rows, _), col)) in row_sums.iter().zip(cols_b).enumerate() {
                    for (k, c) in (st..nblocks).step_by(n_stripes).enumerate() {
                        for r in 0..ROWS.min(i1 - i0 - c * ROWS) {
                            let out = &rows[(k * ROWS + r) * stride..];
                            tb[i0 + c * ROWS + r] += out[2 * b];
                            sb[i0 + c * ROWS + r] += out[2 * b + 1];
                        }
                    }
                    if let Some((t, s)) = col {
                        for (o, x) in tb[j0..j0 + cols].iter_mut().zip(t.iter_mut()) {
                            *o += std::mem::take(x);
                        }
                        for (o, x) in sb[j0..j0 + cols].iter_mut().zip(s.iter_mut()) {
                            *o += std::mem::take(x);
                        }
                    }
                }
            });
    }
}
