//! The maps of each column before MINE trains: ranks to a standard normal (Φ⁻¹ of the
//! normalised rank, Acklam's rational approximation of Φ⁻¹), which leave I(X;Z) unchanged.

use ndarray::{Array2, ArrayView2};

/// Each column through its ranks to a standard normal: Φ⁻¹(r / (n + 1)) with r the 1-based
/// rank, tied values sharing their mean rank.
pub fn gaussianized(a: ArrayView2<'_, f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut out = Array2::zeros(a.dim());
    for (c, col) in a.columns().into_iter().enumerate() {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| col[i].total_cmp(&col[j]));
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && col[order[end]] == col[order[start]] {
                end += 1;
            }
            // Ranks start + 1 ..= end share their mean.
            let rank = (start + end + 1) as f64 / 2.0;
            let g = normal_quantile(rank / (n as f64 + 1.0));
            for &i in &order[start..end] {
                out[[i, c]] = g;
            }
            start = end;
        }
    }
    out
}

/// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}
