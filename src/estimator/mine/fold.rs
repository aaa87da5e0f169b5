//! MINE's cross-fitting: the samples are cut into K folds; for each fold a critic is trained on
//! the other folds (with early stopping on a validation part of them) and the bound is
//! evaluated on the fold itself, so every sample serves once for evaluation and K − 1 times for
//! training, and the estimate is the mean of the K fold values (Chernozhukov et al. 2018's
//! cross-fitting, applied to a variational bound).
//!
//! On its fold, a DV, NWJ or SMILE bound uses every pair of a block of B samples: the B joint
//! pairs (x_i, z_i) for E_P[T] and the B(B − 1) pairs (x_i, z_j), i ≠ j, for E_Q[e^T] (a
//! U-statistic; the shuffled batch of plain MINE uses only B of them). Its standard error is
//! the delta method on the U-statistic's first-order (Hoeffding) projection: with
//! r_i = mean_j e^{T(x_i, z_j)} and c_i = mean_j e^{T(x_j, z_i)} over the block and
//! M = E_Q[e^T], sample i's influence on DV is (T_ii − E_P[T]) − (r_i + c_i − 2M)/M, on NWJ
//! (T_ii − E_P[T]) − e^{-1}(r_i + c_i − 2M), and Var ≈ Var(influence)/n. InfoNCE keeps its
//! batch form (its bound is defined per batch of B).
//!
//! The held-out bound of a fitted critic is biased low by about as much as the bound on its
//! own training samples is biased high (the optimism of a fitted objective is symmetric to
//! first order; Akaike 1973), so each fold also evaluates its critic on as many training
//! samples as the fold has, and half the gap between the two widens the standard error: an
//! overfitted critic on independent data (truth 0) gives a slightly negative held-out value
//! whose interval still covers 0, instead of a tight interval that does not.

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use super::critic::Critic;
use super::{batch_used, bound, mean_se, train, MineParams, Parts, Variant, SMILE_TAU};
use crate::error::{Error, Result};
use crate::util::rng::SplitMix64;

/// One fold's result.
#[derive(Debug, Clone, Copy)]
pub(super) struct FoldValue {
    /// The bound on the fold, nats.
    pub value: f64,
    /// Its standard error (delta method).
    pub se: f64,
    /// The same bound on as many of the critic's own training samples, minus `value` (0 when
    /// negative): how much the critic fits its training data better than new data.
    pub gap: f64,
    /// Steps its critic trained.
    pub steps: usize,
}

/// `k` disjoint folds of 0..n (seeded), sizes differing by at most one, each sorted.
pub(super) fn folds(n: usize, k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..n).collect();
    SplitMix64::new(seed).shuffle(&mut idx);
    let mut out: Vec<Vec<usize>> = (0..k)
        .map(|f| idx.iter().skip(f).step_by(k).copied().collect())
        .collect();
    out.iter_mut().for_each(|f| f.sort_unstable());
    out
}

/// Trains and evaluates every fold (in parallel: each fold is independent and seeded, so the
/// result does not depend on the thread count).
pub(super) fn cross_fit(
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    o: &MineParams,
) -> Result<Vec<FoldValue>> {
    let n = x.nrows();
    let parts = folds(n, o.folds, o.seed ^ 0x4d49_4e45);
    if parts.iter().any(|p| p.len() < 4) {
        return Err(Error::Invalid(format!(
            "MINE needs more samples: {n} is too few for {} folds",
            o.folds
        )));
    }
    (0..o.folds)
        .into_par_iter()
        .map(|k| fit_fold(x, z, &parts, k, o))
        .collect()
}

/// The critic trained on every fold but `k`, evaluated on fold `k`.
fn fit_fold(
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    parts: &[Vec<usize>],
    k: usize,
    o: &MineParams,
) -> Result<FoldValue> {
    let mut rest: Vec<usize> = parts
        .iter()
        .enumerate()
        .filter(|(f, _)| *f != k)
        .flat_map(|(_, p)| p.iter().copied())
        .collect();
    let seed = o.seed ^ (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    SplitMix64::new(seed).shuffle(&mut rest);
    // An eighth of the training folds (a tenth of the data at K = 5) stops the training.
    let cut = (rest.len() / 8).max(2);
    let (validation, train_part) = rest.split_at(cut);
    let o_k = MineParams { seed, ..o.clone() };
    let fold_parts = Parts {
        train: train_part.to_vec(),
        validation: validation.to_vec(),
        test: parts[k].clone(),
        batch: batch_used(x.nrows(), o).min(train_part.len()).max(2),
    };
    let (critic, steps) = train(x, z, &fold_parts, &o_k)?;
    let evaluate = |idx: &[usize]| {
        if o.variant == Variant::InfoNce {
            let mut rng = SplitMix64::new(seed ^ 0x7e57);
            bound(&critic, x, z, idx, o.variant, fold_parts.batch, &mut rng)
        } else {
            all_pairs(&critic, x, z, idx, o.variant, fold_parts.batch)
        }
    };
    let (value, se) = evaluate(&parts[k]);
    let seen = &train_part[..parts[k].len().min(train_part.len())];
    let gap = (evaluate(seen).0 - value).max(0.0);
    Ok(FoldValue {
        value,
        se,
        gap: if gap.is_finite() { gap } else { 0.0 },
        steps,
    })
}

/// The DV, NWJ or SMILE bound on the samples `idx` with every pair of each block of about
/// `block` samples, and its delta-method standard error (see the module documentation).
pub(super) fn all_pairs(
    critic: &Critic,
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    idx: &[usize],
    variant: Variant,
    block: usize,
) -> (f64, f64) {
    let n = idx.len();
    let count = n.div_ceil(block.max(2)).max(1);
    let chunks: Vec<&[usize]> = (0..count)
        .map(|c| &idx[c * n / count..(c + 1) * n / count])
        .collect();
    // Scores of every block: the joint pairs and the off-diagonal ones, clipped for SMILE.
    let clip = |t: f64| match variant {
        Variant::Smile => t.clamp(-SMILE_TAU, SMILE_TAU),
        _ => t,
    };
    let scores: Vec<(usize, Vec<f64>)> = chunks
        .iter()
        .map(|c| {
            let (xb, zb) = (x.select(Axis(0), c), z.select(Axis(0), c));
            (c.len(), critic.pair_scores(xb.view(), zb.view()).to_vec())
        })
        .collect();
    let m = scores
        .iter()
        .flat_map(|(b, s)| {
            s.iter()
                .enumerate()
                .filter(move |(p, _)| p / b != p % b)
                .map(|(_, &t)| clip(t))
        })
        .fold(f64::NEG_INFINITY, f64::max);
    let (mut tp, mut rc) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut total, mut pairs) = (0.0, 0usize);
    for (b, s) in &scores {
        let b = *b;
        let e = |i: usize, j: usize| (clip(s[i * b + j]) - m).exp();
        for i in 0..b {
            let row: f64 = (0..b).filter(|&j| j != i).map(|j| e(i, j)).sum();
            let col: f64 = (0..b).filter(|&j| j != i).map(|j| e(j, i)).sum();
            let per = (b - 1).max(1) as f64;
            tp.push(s[i * b + i]);
            rc.push((row + col) / per);
            total += row;
        }
        pairs += b * (b - 1);
    }
    let eq = total / pairs.max(1) as f64;
    let (ep, _) = mean_se(&tp);
    let (value, influence): (f64, Vec<f64>) = match variant {
        Variant::Nwj => {
            let scale = (m - 1.0).exp();
            let inf = tp
                .iter()
                .zip(&rc)
                .map(|(t, r)| (t - ep) - scale * (r - 2.0 * eq))
                .collect();
            (ep - scale * eq, inf)
        }
        _ => {
            let inf = tp
                .iter()
                .zip(&rc)
                .map(|(t, r)| (t - ep) - (r - 2.0 * eq) / eq)
                .collect();
            (ep - (m + eq.ln()), inf)
        }
    };
    let (_, se) = mean_se(&influence);
    (value, se)
}
