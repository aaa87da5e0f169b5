//! Training MINE's critic: Adam on the bound's gradient (DV with the moving-average correction,
//! NWJ, SMILE's Jensen-Shannon surrogate, InfoNCE), the moving average of the iterates, early
//! stopping on a validation part, and the seeded split of the samples.

use ndarray::{s, Array1, ArrayView2, Axis};

use super::critic::Critic;
use super::network::{Adam, Gradients, Mlp};
use super::{bound, pairs, CriticKind, MineParams, Variant};
use crate::error::{Error, Result};
use crate::util::rng::SplitMix64;

/// The weight of the newest iterate in the critic's moving average (about the last 100 steps).
const AVERAGE_WEIGHT: f64 = 0.01;

/// Trains the critic; returns the critic of the best validation step and the number of steps
/// trained.
pub(super) fn train(
    x: ArrayView2<'_, f64>,
    z: ArrayView2<'_, f64>,
    parts: &Parts,
    o: &MineParams,
) -> Result<(Critic, usize)> {
    let batch = parts.batch;
    let mut rng = SplitMix64::new(o.seed);
    let mut critic = Critic::new(x.ncols(), z.ncols(), o, &mut rng);
    let mut average = critic.clone();
    let mut adams: Vec<Adam> = critic.nets().into_iter().map(Adam::new).collect();
    let mut ema: Option<f64> = None;
    let (mut best, mut best_net, mut since_best) = (f64::NEG_INFINITY, None, 0);
    let mut order = parts.train.clone();
    let mut pos = order.len();
    let mut steps = 0;
    for step in 1..=o.steps {
        steps = step;
        if pos + batch > order.len() {
            rng.shuffle(&mut order);
            pos = 0;
        }
        let idx = &order[pos..pos + batch];
        pos += batch;
        let diverged = |why: String| {
            Error::Invalid(format!(
                "MINE ({}) diverged at step {step}: {why}",
                o.variant.name()
            ))
        };
        let grads = match &critic {
            _ if o.variant == Variant::InfoNce => {
                let (xb, zb) = (x.select(Axis(0), idx), z.select(Axis(0), idx));
                critic.infonce_gradients(xb.view(), zb.view())
            }
            Critic::Joint(net) => {
                vec![
                    bound_gradients(net, (x, z), idx, o.variant, &mut ema, &mut rng)
                        .map_err(diverged)?,
                ]
            }
            Critic::Separable { .. } => {
                return Err(diverged("a separable critic needs infonce".into()))
            }
        };
        for ((net, adam), (dw, db)) in critic.nets_mut().into_iter().zip(&mut adams).zip(&grads) {
            adam.step(net, dw, db, o.lr);
        }
        average.blend_towards(&critic, AVERAGE_WEIGHT);
        if step % o.eval_every == 0 {
            let mut eval_rng = SplitMix64::new(o.seed ^ step as u64);
            let (v, _) = bound(
                &average,
                x,
                z,
                &parts.validation,
                o.variant,
                batch,
                &mut eval_rng,
            );
            if !v.is_finite() {
                return Err(diverged(format!("the validation bound is {v}")));
            }
            if v > best + 1e-4 {
                (best, best_net, since_best) = (v, Some(average.clone()), 0);
            } else {
                since_best += 1;
                if since_best >= o.patience {
                    break;
                }
            }
        }
    }
    Ok((best_net.unwrap_or(average), steps))
}

/// The seeded split of the paired samples and the batch size.
pub(super) struct Parts {
    pub(super) train: Vec<usize>,
    pub(super) validation: Vec<usize>,
    pub(super) test: Vec<usize>,
    pub(super) batch: usize,
}

/// The training, validation and test rows of `n` paired samples (the held-out fraction split
/// in halves), and the batch size (InfoNCE scores all B² pairs of a batch: its batch is capped
/// at 64).
pub(super) fn split(n: usize, nz: usize, o: &MineParams) -> Result<Parts> {
    if nz != n {
        return Err(Error::Invalid(format!(
            "MINE needs paired samples: {n} rows of X, {nz} of Z"
        )));
    }
    o.validate()?;
    let (train, held) = crate::util::rng::random_split(n, 1.0 - o.holdout, o.seed ^ 0x4d49_4e45);
    if held.len() < 4 || train.len() < 2 {
        return Err(Error::Invalid(format!(
            "MINE needs more samples: {n} is too few for validation and test parts"
        )));
    }
    let (validation, test) = held.split_at(held.len() / 2);
    let batch = batch_used(n, o);
    Ok(Parts {
        train,
        validation: validation.to_vec(),
        test: test.to_vec(),
        batch,
    })
}

/// The batch size a run on `n` samples uses: `o.batch`, at most the training part's size and,
/// for InfoNCE, at most [`INFONCE_MAX_BATCH`].
pub fn batch_used(n: usize, o: &MineParams) -> usize {
    let train = (((1.0 - o.holdout) * n as f64).round() as usize).min(n);
    let cap = if o.variant == Variant::InfoNce && o.critic == CriticKind::Joint {
        INFONCE_MAX_BATCH
    } else {
        usize::MAX
    };
    o.batch.min(cap).min(train).max(2)
}

/// InfoNCE's largest batch with the joint critic (it scores all B² pairs); its bound is at
/// most ln B.
pub const INFONCE_MAX_BATCH: usize = 64;

/// Weight gradients of the DV, NWJ or SMILE objective on the batch `idx` (joint pairs, then
/// pairs with z shuffled within the batch); an error when T leaves the finite range.
fn bound_gradients(
    net: &Mlp,
    (x, z): (ArrayView2<'_, f64>, ArrayView2<'_, f64>),
    idx: &[usize],
    variant: Variant,
    ema: &mut Option<f64>,
    rng: &mut SplitMix64,
) -> std::result::Result<Gradients, String> {
    let batch = idx.len();
    let mut perm = idx.to_vec();
    rng.shuffle(&mut perm);
    let joint = pairs(x, z, idx, idx);
    let marg = pairs(x, z, idx, &perm);
    let both =
        ndarray::concatenate(Axis(0), &[joint.view(), marg.view()]).map_err(|e| e.to_string())?;
    let (t, tape) = net.forward_tape(&both);
    if t.iter().any(|v| !v.is_finite() || v.abs() > 1e6) {
        return Err("the statistics network's output is not finite or above 1e6".into());
    }
    let (tp, tq) = t.view().split_at(Axis(0), batch);
    let bf = batch as f64;
    let mut g = Array1::zeros(2 * batch);
    g.slice_mut(s![..batch]).fill(1.0 / bf);
    match variant {
        Variant::Smile => {
            // Jensen-Shannon gradient: d/dT_p = σ(-T_p)/B, d/dT_q = -σ(T_q)/B.
            for (k, &t) in tp.iter().enumerate() {
                g[k] = 1.0 / (1.0 + t.exp()) / bf;
            }
            for (k, &t) in tq.iter().enumerate() {
                g[batch + k] = -1.0 / (1.0 + (-t).exp()) / bf;
            }
        }
        Variant::Dv => {
            let e: Vec<f64> = tq.iter().map(|&t| t.exp()).collect();
            let mean_e = e.iter().sum::<f64>() / bf;
            let avg = ema.map_or(mean_e, |a| 0.99 * a + 0.01 * mean_e);
            *ema = Some(avg);
            for (k, &ek) in e.iter().enumerate() {
                g[batch + k] = -ek / (bf * avg);
            }
        }
        Variant::Nwj => {
            for (k, &t) in tq.iter().enumerate() {
                g[batch + k] = -(t - 1.0).exp() / bf;
            }
        }
        Variant::InfoNce => {}
    }
    Ok(net.backward(&tape, &g))
}
