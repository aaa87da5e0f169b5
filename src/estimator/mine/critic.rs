//! MINE's critics: the joint statistics network T(x, z) on concatenated pairs, and for InfoNCE
//! the separable critic T(x, z) = g(x)ᵀh(z) (Poole et al. 2019, §"critics"; van den Oord et
//! al. 2018's bilinear critic is its linear case), whose B² scores of a batch are one B x B
//! product of two embeddings.
//!
//! The separable critic's networks g and h have the joint network's hidden layers
//! (`--mine-hidden`) and a linear output as wide as the last hidden layer.

use ndarray::{s, Array1, Array2, ArrayView2};

use super::network::{Gradients, Mlp};
use super::{CriticKind, MineParams};
use crate::util::rng::SplitMix64;

/// The function(s) MINE trains.
#[derive(Debug, Clone, PartialEq)]
pub enum Critic {
    /// T(x, z) on the concatenated pair.
    Joint(Mlp),
    /// T(x, z) = g(x)ᵀh(z).
    Separable {
        /// g, on X.
        x: Mlp,
        /// h, on Z.
        z: Mlp,
    },
}

impl Critic {
    /// The seeded critic of the options' kind for inputs of widths `dx` and `dz`.
    pub fn new(dx: usize, dz: usize, o: &MineParams, rng: &mut SplitMix64) -> Self {
        match o.critic {
            CriticKind::Joint => Critic::Joint(Mlp::new(dx + dz, &o.hidden, rng)),
            CriticKind::Separable => {
                let width = o.hidden.last().copied().unwrap_or(1);
                let x = Mlp::with_outputs(dx, &o.hidden, width, rng);
                let z = Mlp::with_outputs(dz, &o.hidden, width, rng);
                Critic::Separable { x, z }
            }
        }
    }

    /// The networks, in the order of [`Self::infonce_gradients`].
    pub fn nets(&self) -> Vec<&Mlp> {
        match self {
            Critic::Joint(net) => vec![net],
            Critic::Separable { x, z } => vec![x, z],
        }
    }

    /// The networks, mutable, in the same order.
    pub(crate) fn nets_mut(&mut self) -> Vec<&mut Mlp> {
        match self {
            Critic::Joint(net) => vec![net],
            Critic::Separable { x, z } => vec![x, z],
        }
    }

    /// Moves every weight a fraction `a` of the way towards `other`'s (same shapes): with
    /// a small `a` after each step, an exponential moving average of the training iterates
    /// (Polyak–Ruppert averaging), whose critic varies less than the last iterate.
    pub(crate) fn blend_towards(&mut self, other: &Critic, a: f64) {
        for (mine, theirs) in self.nets_mut().into_iter().zip(other.nets()) {
            for (w, o) in mine.w.iter_mut().zip(&theirs.w) {
                w.zip_mut_with(o, |v, &t| *v += a * (t - *v));
            }
            for (b, o) in mine.b.iter_mut().zip(&theirs.b) {
                b.zip_mut_with(o, |v, &t| *v += a * (t - *v));
            }
        }
    }

    /// T(x_i, z_j) for every pair of the batch, row i·B + j.
    pub(crate) fn pair_scores(
        &self,
        xb: ArrayView2<'_, f64>,
        zb: ArrayView2<'_, f64>,
    ) -> Array1<f64> {
        match self {
            Critic::Joint(net) => net.forward_pairs(xb, zb).0,
            Critic::Separable { x, z } => {
                let (g, h) = (x.forward_matrix(xb).0, z.forward_matrix(zb).0);
                flatten(g.dot(&h.t()))
            }
        }
    }

    /// Gradients (one per network, as [`Self::nets`]) of the batch's InfoNCE bound.
    pub fn infonce_gradients(
        &self,
        xb: ArrayView2<'_, f64>,
        zb: ArrayView2<'_, f64>,
    ) -> Vec<Gradients> {
        let b = xb.nrows();
        match self {
            Critic::Joint(net) => {
                let (t, tape) = net.forward_pairs(xb, zb);
                let (_, dt) = infonce_of(&t, b);
                vec![net.backward_pairs(&tape, &flatten(dt), xb, zb)]
            }
            Critic::Separable { x, z } => {
                let ((g, tape_g), (h, tape_h)) = (x.forward_matrix(xb), z.forward_matrix(zb));
                // S = G Hᵀ: dS/dG = dS·H, dS/dH = dSᵀ·G.
                let (_, ds) = infonce_of(&flatten(g.dot(&h.t())), b);
                vec![
                    x.backward_matrix(&tape_g, ds.dot(&h)),
                    z.backward_matrix(&tape_h, ds.t().dot(&g)),
                ]
            }
        }
    }
}

/// The matrix's rows one after another.
fn flatten(a: Array2<f64>) -> Array1<f64> {
    let n = a.len();
    a.as_standard_layout()
        .into_owned()
        .into_shape_with_order(n)
        .unwrap_or_else(|_| Array1::zeros(n))
}

/// The B terms T_ii − ln (1/B) Σ_j e^{T_ij} of a batch's InfoNCE value (their mean).
pub(crate) fn infonce_terms(t: &Array1<f64>, b: usize) -> Vec<f64> {
    (0..b)
        .map(|i| {
            let row = t.slice(s![i * b..(i + 1) * b]);
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = row.iter().map(|&v| (v - m).exp()).sum();
            row[i] - (m + (s / b as f64).ln())
        })
        .collect()
}

/// InfoNCE value of a batch, (1/B) Σ_i [T_ii − ln (1/B) Σ_j e^{T_ij}], and its gradient
/// d value / dT_ij (B x B), from the B² scores `t` (row i·B + j = T(x_i, z_j)).
pub(crate) fn infonce_of(t: &Array1<f64>, b: usize) -> (f64, Array2<f64>) {
    let mut value = 0.0;
    let mut grad = Array2::zeros((b, b));
    for i in 0..b {
        let row = t.slice(s![i * b..(i + 1) * b]);
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|&v| (v - m).exp()).sum();
        value += row[i] - (m + (s / b as f64).ln());
        for j in 0..b {
            grad[[i, j]] = -(row[j] - m).exp() / s / b as f64;
        }
        grad[[i, i]] += 1.0 / b as f64;
    }
    (value / b as f64, grad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The separable critic's gradients equal central finite differences of the InfoNCE value.
    #[test]
    fn separable_gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(3);
        let o = MineParams {
            hidden: vec![5, 4],
            critic: CriticKind::Separable,
            variant: super::super::Variant::InfoNce,
            ..MineParams::default()
        };
        let (b, dx, dz) = (6, 3, 2);
        let mut critic = Critic::new(dx, dz, &o, &mut rng);
        let xb = Array2::from_shape_simple_fn((b, dx), || rng.normal());
        let zb = Array2::from_shape_simple_fn((b, dz), || rng.normal());
        let value = |c: &Critic| infonce_of(&c.pair_scores(xb.view(), zb.view()), b).0;
        let grads = critic.infonce_gradients(xb.view(), zb.view());
        let h = 1e-6;
        for (n, (dw, db)) in grads.iter().enumerate() {
            for k in 0..dw.len() {
                for (idx, &g) in dw[k].indexed_iter().take(7) {
                    critic.nets_mut()[n].w[k][idx] += h;
                    let up = value(&critic);
                    critic.nets_mut()[n].w[k][idx] -= 2.0 * h;
                    let down = value(&critic);
                    critic.nets_mut()[n].w[k][idx] += h;
                    let fd = (up - down) / (2.0 * h);
                    assert!(
                        (fd - g).abs() < 1e-6 * (1.0 + fd.abs()),
                        "net {n} w{k}{idx:?}: {fd} vs {g}"
                    );
                }
                for (i, &g) in db[k].iter().enumerate().take(3) {
                    critic.nets_mut()[n].b[k][i] += h;
                    let up = value(&critic);
                    critic.nets_mut()[n].b[k][i] -= 2.0 * h;
                    let down = value(&critic);
                    critic.nets_mut()[n].b[k][i] += h;
                    let fd = (up - down) / (2.0 * h);
                    assert!(
                        (fd - g).abs() < 1e-6 * (1.0 + fd.abs()),
                        "net {n} b{k}[{i}]: {fd} vs {g}"
                    );
                }
            }
        }
    }
}
