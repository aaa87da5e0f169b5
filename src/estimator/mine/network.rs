//! MINE's statistics network: an MLP with ELU hidden layers and linear outputs (one for a
//! statistics network, several for a separable critic's embedding), its hand-derived backward
//! pass, the pair-separable forward and backward passes that InfoNCE's
//! B² pairs use, and Adam (Kingma & Ba 2015).

use ndarray::{s, Array1, Array2, ArrayView2, Axis};

use crate::util::rng::SplitMix64;

/// An MLP with ELU hidden layers and one linear output.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// Weights (in x out) per layer.
    pub w: Vec<Array2<f64>>,
    /// Biases per layer.
    pub b: Vec<Array1<f64>>,
}

/// ELU (Clevert et al. 2016): v for v > 0, e^v − 1 otherwise. Smooth, so that the
/// statistics network fits the smooth log density ratios of real data with fewer units than
/// ReLU's piecewise-linear pieces need.
/// Branch-free (both sides computed, one selected) with the vectorisable exponential of the
/// pairwise pass, so that the compiler vectorises the activation loops.
#[inline(always)]
fn elu(v: f64) -> f64 {
    let negative = crate::estimator::pairwise::exp::exp_neg(v.min(0.0)) - 1.0;
    if v > 0.0 {
        v
    } else {
        negative
    }
}

/// Activations kept for the backward pass.
pub(super) struct Tape {
    inputs: Vec<Array2<f64>>,
}

impl Mlp {
    /// He-uniform initialisation, seeded; one output.
    pub fn new(input: usize, hidden: &[usize], rng: &mut SplitMix64) -> Self {
        Self::with_outputs(input, hidden, 1, rng)
    }

    /// He-uniform initialisation, seeded; `outputs` linear outputs (an embedding).
    pub(crate) fn with_outputs(
        input: usize,
        hidden: &[usize],
        outputs: usize,
        rng: &mut SplitMix64,
    ) -> Self {
        let dims: Vec<usize> = std::iter::once(input)
            .chain(hidden.iter().copied())
            .chain([outputs])
            .collect();
        let mut w = Vec::new();
        let mut b = Vec::new();
        for win in dims.windows(2) {
            let bound = (6.0 / win[0] as f64).sqrt();
            w.push(Array2::from_shape_fn((win[0], win[1]), |_| {
                (rng.next_u64() as f64 / u64::MAX as f64 * 2.0 - 1.0) * bound
            }));
            b.push(Array1::zeros(win[1]));
        }
        Mlp { w, b }
    }

    /// T for each row of `x` (n x input).
    pub fn forward(&self, x: &Array2<f64>) -> Array1<f64> {
        self.forward_tape(x).0
    }

    pub(super) fn forward_tape(&self, x: &Array2<f64>) -> (Array1<f64>, Tape) {
        let (h, tape) = self.forward_matrix(x.view());
        (h.column(0).to_owned(), tape)
    }

    /// Every output for each row of `x` (n x outputs), with the tape.
    pub(super) fn forward_matrix(&self, x: ArrayView2<'_, f64>) -> (Array2<f64>, Tape) {
        self.layers_from(0, x.to_owned(), Vec::with_capacity(self.w.len()))
    }

    /// Runs layers `start..` on `h` (the input of layer `start`), keeping each layer's input
    /// on the tape after `inputs` (the inputs of the layers before `start`).
    fn layers_from(
        &self,
        start: usize,
        mut h: Array2<f64>,
        mut inputs: Vec<Array2<f64>>,
    ) -> (Array2<f64>, Tape) {
        let last = self.w.len() - 1;
        for (k, (w, b)) in self.w.iter().zip(&self.b).enumerate().skip(start) {
            inputs.push(h.clone());
            let mut z = h.dot(w) + b;
            if k < last {
                z.mapv_inplace(elu);
            }
            h = z;
        }
        (h, Tape { inputs })
    }

    /// Gradients of Σ_i g_i T(x_i) with respect to every weight and bias.
    pub(super) fn backward(&self, tape: &Tape, g: &Array1<f64>) -> Gradients {
        self.backward_matrix(tape, g.clone().insert_axis(Axis(1)))
    }

    /// Gradients of Σ_i g_iᵀ f(x_i) for a network with several outputs (`g` is n x outputs).
    pub(super) fn backward_matrix(&self, tape: &Tape, g: Array2<f64>) -> Gradients {
        let (mut dw, db, delta0) = self.backward_above(tape, g);
        dw[0] = tape.inputs[0].t().dot(&delta0);
        (dw, db)
    }

    /// Every gradient but the first layer's weights, and dL/d(first layer's pre-activation)
    /// (rows as in the tape), from which the caller forms the first layer's weight gradient.
    fn backward_above(
        &self,
        tape: &Tape,
        g: Array2<f64>,
    ) -> (Vec<Array2<f64>>, Vec<Array1<f64>>, Array2<f64>) {
        let mut dw = vec![Array2::zeros((0, 0)); self.w.len()];
        let mut db = vec![Array1::zeros(0); self.w.len()];
        let mut delta = g; // n x outputs
        for k in (0..self.w.len()).rev() {
            db[k] = delta.sum_axis(Axis(0));
            if k == 0 {
                break;
            }
            let input = &tape.inputs[k];
            dw[k] = input.t().dot(&delta);
            let mut d = delta.dot(&self.w[k].t());
            // ELU of the previous layer: its output a is this layer's input, and its
            // derivative is 1 where a > 0, e^v = a + 1 elsewhere.
            ndarray::Zip::from(&mut d).and(input).for_each(|d, &a| {
                if a <= 0.0 {
                    *d *= a + 1.0;
                }
            });
            delta = d;
        }
        (dw, db, delta)
    }

    /// T on every pair (x_i, z_j) of `xb` (B x dx) and `zb` (B x dz), row i·B + j, without
    /// forming the B² concatenated inputs: the first layer's pre-activation of a pair is
    /// x_i W_x + z_j W_z + b, so it costs two B-row products instead of one B²-row product.
    pub(super) fn forward_pairs(
        &self,
        xb: ArrayView2<'_, f64>,
        zb: ArrayView2<'_, f64>,
    ) -> (Array1<f64>, Tape) {
        let (b, dx) = xb.dim();
        let w0 = &self.w[0];
        let a = xb.dot(&w0.slice(s![..dx, ..])) + &self.b[0];
        let c = zb.dot(&w0.slice(s![dx.., ..]));
        let h1 = w0.ncols();
        // h[i·B + j] = ELU(a_i + c_j), written through a B x B x H1 view in one pass.
        let mut h = Array2::zeros((b * b, h1));
        if let Ok(mut h3) = h.view_mut().into_shape_with_order((b, b, h1)) {
            let a3 = a.view().insert_axis(Axis(1));
            let c3 = c.view().insert_axis(Axis(0));
            if let (Some(a3), Some(c3)) = (a3.broadcast((b, b, h1)), c3.broadcast((b, b, h1))) {
                ndarray::Zip::from(&mut h3)
                    .and(&a3)
                    .and(&c3)
                    .for_each(|o, &p, &q| *o = elu(p + q));
            }
        }
        // The first layer is hidden (a network has at least one), so ELU applied above; its
        // input (the B² concatenated pairs) is never formed: the tape holds an empty matrix.
        let (t, tape) = self.layers_from(1, h, vec![Array2::zeros((0, 0))]);
        (t.column(0).to_owned(), tape)
    }

    /// [`Self::backward`] for a tape of [`Self::forward_pairs`]: the first layer's weight
    /// gradient is Σ_ij [x_i; z_j] δ_ijᵀ = [Xᵀ (Σ_j δ_ij); Zᵀ (Σ_i δ_ij)].
    pub(super) fn backward_pairs(
        &self,
        tape: &Tape,
        g: &Array1<f64>,
        xb: ArrayView2<'_, f64>,
        zb: ArrayView2<'_, f64>,
    ) -> Gradients {
        let (mut dw, db, delta0) = self.backward_above(tape, g.clone().insert_axis(Axis(1)));
        let (b, dx, h1) = (xb.nrows(), xb.ncols(), delta0.ncols());
        // Σ_j δ_ij (by x row i) and Σ_i δ_ij (by z row j); pair row r = i·B + j.
        let delta0 = delta0.as_standard_layout();
        let (by_x, by_z) = match delta0.view().into_shape_with_order((b, b, h1)) {
            Ok(d3) => (d3.sum_axis(Axis(1)), d3.sum_axis(Axis(0))),
            Err(_) => (Array2::zeros((b, h1)), Array2::zeros((b, h1))),
        };
        let mut w0 = Array2::zeros((dx + zb.ncols(), h1));
        w0.slice_mut(s![..dx, ..]).assign(&xb.t().dot(&by_x));
        w0.slice_mut(s![dx.., ..]).assign(&zb.t().dot(&by_z));
        dw[0] = w0;
        (dw, db)
    }
}

/// Adam (Kingma & Ba 2015) state for an [`Mlp`].
pub(super) struct Adam {
    m: Mlp,
    v: Mlp,
    t: i32,
}

impl Adam {
    pub(super) fn new(net: &Mlp) -> Self {
        let zero = Mlp {
            w: net.w.iter().map(|w| Array2::zeros(w.raw_dim())).collect(),
            b: net.b.iter().map(|b| Array1::zeros(b.raw_dim())).collect(),
        };
        Adam {
            m: zero.clone(),
            v: zero,
            t: 0,
        }
    }

    /// One ascent step along the gradients (the bound is maximised).
    pub(super) fn step(&mut self, net: &mut Mlp, dw: &[Array2<f64>], db: &[Array1<f64>], lr: f64) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        self.t += 1;
        let c1 = 1.0 - B1.powi(self.t);
        let c2 = 1.0 - B2.powi(self.t);
        for k in 0..net.w.len() {
            ndarray::Zip::from(&mut net.w[k])
                .and(&mut self.m.w[k])
                .and(&mut self.v.w[k])
                .and(&dw[k])
                .for_each(|p, m, v, &g| {
                    *m = B1 * *m + (1.0 - B1) * g;
                    *v = B2 * *v + (1.0 - B2) * g * g;
                    *p += lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
                });
            ndarray::Zip::from(&mut net.b[k])
                .and(&mut self.m.b[k])
                .and(&mut self.v.b[k])
                .and(&db[k])
                .for_each(|p, m, v, &g| {
                    *m = B1 * *m + (1.0 - B1) * g;
                    *v = B2 * *v + (1.0 - B2) * g * g;
                    *p += lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
                });
        }
    }
}

/// Gradients of every weight matrix and bias vector, layer by layer.
pub(super) type Gradients = (Vec<Array2<f64>>, Vec<Array1<f64>>);

/// Gradient of Σ_i g_i T(x_i) for tests (finite-difference checks).
pub fn mlp_gradients(net: &Mlp, x: &Array2<f64>, g: &Array1<f64>) -> Gradients {
    let (_, tape) = net.forward_tape(x);
    net.backward(&tape, g)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair-separable passes equal the plain ones on the B² concatenated pairs.
    #[test]
    fn pair_passes_equal_the_concatenated_pairs() {
        let mut rng = SplitMix64::new(5);
        let (b, dx, dz) = (7, 3, 4);
        let net = Mlp::new(dx + dz, &[6, 5], &mut rng);
        let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let xb = Array2::from_shape_simple_fn((b, dx), &mut u);
        let zb = Array2::from_shape_simple_fn((b, dz), &mut u);
        let g = Array1::from_shape_simple_fn(b * b, &mut u);
        let pairs = Array2::from_shape_fn((b * b, dx + dz), |(r, c)| {
            if c < dx {
                xb[[r / b, c]]
            } else {
                zb[[r % b, c - dx]]
            }
        });
        let (t, tape) = net.forward_tape(&pairs);
        let (tp, tape_p) = net.forward_pairs(xb.view(), zb.view());
        let close = |a: f64, e: f64| (a - e).abs() <= 1e-12 * (1.0 + e.abs());
        assert!(t.iter().zip(&tp).all(|(&a, &e)| close(a, e)));
        let (dw, db) = net.backward(&tape, &g);
        let (dwp, dbp) = net.backward_pairs(&tape_p, &g, xb.view(), zb.view());
        for (k, (a, e)) in dw.iter().zip(&dwp).enumerate() {
            assert_eq!(a.dim(), e.dim());
            assert!(
                a.iter().zip(e).all(|(&a, &e)| close(a, e)),
                "layer {k}: {a} vs {e}"
            );
        }
        for (a, e) in db.iter().zip(&dbp) {
            assert!(a.iter().zip(e).all(|(&a, &e)| close(a, e)));
        }
    }
}
