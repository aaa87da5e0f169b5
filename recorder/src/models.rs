//! The four model families of the thesis, each returning every tracked layer's output.
//!
//! Tracked layers are each hidden layer's post-activation output and the logits, in network
//! order; the last tracked output is always the logits.
//! - FCN: `fc1..fcK` (Linear + tanh/ReLU), `output` (Linear).
//! - LeNet (LeCun et al. 1998, as in the thesis §5.1.3): `conv1` (5x5 conv, 10 ch, ReLU, 2x2
//!   max-pool → 10x12x12), `conv2` (5x5 conv, 20 ch, ReLU, 2x2 max-pool → 20x4x4), `fc1`
//!   (Linear 50, ReLU), `output` (Linear 10). Inputs 1x28x28.
//! - RNN: stacked Elman layers h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (PyTorch's
//!   `nn.RNN`), `rnn1..rnnK` = each layer's last hidden state, `output` = Linear(last state of
//!   the top layer). Inputs T x D (names: 12 x 57); all-zero input rows are padding and leave
//!   the state unchanged (h_t = h_{t-1}), so the last state is the one after the sequence's own
//!   last element, as with PyTorch's packed sequences.
//! - GCN (Kipf & Welling 2017): Z^{l+1} = act(Â Z^l W^l + b^l) with Â = D^-1/2 (A+I) D^-1/2
//!   sparse, `gcn1..gcnK` hidden, `output` = Â Z^K W + b (no activation).
//!
//! FCN and GCN apply dropout (Srivastava et al. 2014) to each layer's input while training only;
//! recorded activations are always computed without it.

use infoplane::archive::{LayerInfo, LayerKind};
use infoplane::datasets::Graph;
use tch::{nn, Device, Kind, Tensor};

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Tanh,
    Relu,
}

impl Activation {
    pub fn apply(self, t: &Tensor) -> Tensor {
        match self {
            Activation::Tanh => t.tanh(),
            Activation::Relu => t.relu(),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }
}

/// A parameter tensor with gradient statistics.
pub struct Param {
    pub name: String,
    pub layer: String,
    pub tensor: Tensor,
}

/// A network whose forward pass returns every tracked layer's output for the given rows.
pub trait Model {
    /// Tracked layers (name, kind, width, shape, activation), in output order.
    fn layers(&self) -> Vec<LayerInfo>;
    /// Outputs of every tracked layer (the logits last) for `rows` of the full input `x`.
    fn forward_rows(&self, x: &Tensor, rows: &Tensor, train: bool) -> Vec<Tensor>;
}

fn layer(
    name: &str,
    kind: LayerKind,
    width: usize,
    shape: Option<Vec<usize>>,
    act: Option<&str>,
) -> LayerInfo {
    LayerInfo {
        name: name.into(),
        kind,
        width,
        shape,
        activation: act.map(str::to_string),
    }
}

/// Tracked layers of a stack: `{prefix}1..{prefix}K` of `kind` with `widths`, then the logits.
fn stack_layers(
    prefix: &str,
    kind: LayerKind,
    widths: &[usize],
    act: &str,
    classes: usize,
) -> Vec<LayerInfo> {
    let mut v: Vec<LayerInfo> = widths
        .iter()
        .enumerate()
        .map(|(i, &w)| layer(&format!("{prefix}{}", i + 1), kind, w, None, Some(act)))
        .collect();
    v.push(layer("output", LayerKind::Output, classes, None, None));
    v
}

fn params_of(
    layer_name: &str,
    ws: &Tensor,
    bs: Option<&Tensor>,
    out: &mut Vec<Param>,
    prefix: &str,
) {
    out.push(Param {
        name: format!("{prefix}.weight"),
        layer: layer_name.into(),
        tensor: ws.shallow_clone(),
    });
    if let Some(b) = bs {
        out.push(Param {
            name: format!("{prefix}.bias"),
            layer: layer_name.into(),
            tensor: b.shallow_clone(),
        });
    }
}

/// Fully-connected network.
pub struct Fcn {
    hidden: Vec<nn::Linear>,
    output: nn::Linear,
    act: Activation,
    widths: Vec<usize>,
    classes: usize,
    dropout: f64,
}

impl Fcn {
    pub fn new(
        vs: &nn::Path,
        input: usize,
        widths: &[usize],
        classes: usize,
        act: Activation,
        dropout: f64,
        params: &mut Vec<Param>,
    ) -> Self {
        let mut hidden = Vec::new();
        let mut prev = input as i64;
        for (i, &w) in widths.iter().enumerate() {
            let name = format!("fc{}", i + 1);
            let l = nn::linear(vs / name.as_str(), prev, w as i64, Default::default());
            params_of(&name, &l.ws, l.bs.as_ref(), params, &name);
            hidden.push(l);
            prev = w as i64;
        }
        let output = nn::linear(vs / "output", prev, classes as i64, Default::default());
        params_of("output", &output.ws, output.bs.as_ref(), params, "output");
        Fcn {
            hidden,
            output,
            act,
            widths: widths.to_vec(),
            classes,
            dropout,
        }
    }
}

impl Model for Fcn {
    fn layers(&self) -> Vec<LayerInfo> {
        stack_layers(
            "fc",
            LayerKind::Linear,
            &self.widths,
            self.act.name(),
            self.classes,
        )
    }
    fn forward_rows(&self, x: &Tensor, rows: &Tensor, train: bool) -> Vec<Tensor> {
        let mut h = x.index_select(0, rows);
        let mut outs = Vec::new();
        for l in &self.hidden {
            h = self.act.apply(&h.dropout(self.dropout, train).apply(l));
            outs.push(h.shallow_clone());
        }
        outs.push(h.dropout(self.dropout, train).apply(&self.output));
        outs
    }
}

/// LeNet as in the thesis.
pub struct LeNet {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    output: nn::Linear,
}

impl LeNet {
    pub fn new(vs: &nn::Path, classes: usize, params: &mut Vec<Param>) -> Self {
        let conv1 = nn::conv2d(vs / "conv1", 1, 10, 5, Default::default());
        let conv2 = nn::conv2d(vs / "conv2", 10, 20, 5, Default::default());
        let fc1 = nn::linear(vs / "fc1", 320, 50, Default::default());
        let output = nn::linear(vs / "output", 50, classes as i64, Default::default());
        params_of("conv1", &conv1.ws, conv1.bs.as_ref(), params, "conv1");
        params_of("conv2", &conv2.ws, conv2.bs.as_ref(), params, "conv2");
        params_of("fc1", &fc1.ws, fc1.bs.as_ref(), params, "fc1");
        params_of("output", &output.ws, output.bs.as_ref(), params, "output");
        LeNet {
            conv1,
            conv2,
            fc1,
            output,
        }
    }
}

impl Model for LeNet {
    fn layers(&self) -> Vec<LayerInfo> {
        vec![
            layer(
                "conv1",
                LayerKind::Conv,
                1440,
                Some(vec![10, 12, 12]),
                Some("relu"),
            ),
            layer(
                "conv2",
                LayerKind::Conv,
                320,
                Some(vec![20, 4, 4]),
                Some("relu"),
            ),
            layer("fc1", LayerKind::Linear, 50, None, Some("relu")),
            layer("output", LayerKind::Output, 10, None, None),
        ]
    }
    fn forward_rows(&self, x: &Tensor, rows: &Tensor, _train: bool) -> Vec<Tensor> {
        let x = x.index_select(0, rows).view([-1, 1, 28, 28]);
        let c1 = x.apply(&self.conv1).relu().max_pool2d_default(2);
        let c2 = c1.apply(&self.conv2).relu().max_pool2d_default(2);
        let f1 = c2.flatten(1, -1).apply(&self.fc1).relu();
        let out = f1.apply(&self.output);
        vec![c1.flatten(1, -1), c2.flatten(1, -1), f1, out]
    }
}

/// Recurrent cell of the stacked RNN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (PyTorch `nn.RNN`).
    Elman,
    /// Gated recurrent unit (Cho et al. 2014, PyTorch `nn.GRU` equations).
    Gru,
}

/// Stacked recurrent network.
pub struct Rnn {
    cell: Cell,
    ih: Vec<nn::Linear>,
    hh: Vec<nn::Linear>,
    output: nn::Linear,
    widths: Vec<usize>,
    steps: i64,
    features: i64,
    classes: usize,
}

impl Rnn {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vs: &nn::Path,
        cell: Cell,
        steps: usize,
        features: usize,
        widths: &[usize],
        classes: usize,
        params: &mut Vec<Param>,
    ) -> Self {
        let (mut ih, mut hh) = (Vec::new(), Vec::new());
        let mut prev = features as i64;
        let gates = if cell == Cell::Gru { 3 } else { 1 };
        for (i, &w) in widths.iter().enumerate() {
            let name = format!("rnn{}", i + 1);
            let p = vs / name.as_str();
            let a = nn::linear(&p / "ih", prev, gates * w as i64, Default::default());
            let b = nn::linear(&p / "hh", w as i64, gates * w as i64, Default::default());
            params_of(&name, &a.ws, a.bs.as_ref(), params, &format!("{name}.ih"));
            params_of(&name, &b.ws, b.bs.as_ref(), params, &format!("{name}.hh"));
            ih.push(a);
            hh.push(b);
            prev = w as i64;
        }
        let output = nn::linear(vs / "output", prev, classes as i64, Default::default());
        params_of("output", &output.ws, output.bs.as_ref(), params, "output");
        Rnn {
            cell,
            ih,
            hh,
            output,
            widths: widths.to_vec(),
            steps: steps as i64,
            features: features as i64,
            classes,
        }
    }
}

impl Model for Rnn {
    fn layers(&self) -> Vec<LayerInfo> {
        let act = if self.cell == Cell::Gru {
            "gru"
        } else {
            "tanh"
        };
        stack_layers("rnn", LayerKind::Recurrent, &self.widths, act, self.classes)
    }
    fn forward_rows(&self, x: &Tensor, rows: &Tensor, _train: bool) -> Vec<Tensor> {
        let mut seq = x
            .index_select(0, rows)
            .view([-1, self.steps, self.features]);
        let n = seq.size()[0];
        // 1 where step t holds an element, 0 on padding: N x T x 1.
        let present = seq
            .abs()
            .sum_dim_intlist(-1, true, Kind::Float)
            .gt(0.0)
            .to_kind(Kind::Float);
        let mut outs = Vec::new();
        for (ih, hh) in self.ih.iter().zip(&self.hh) {
            let w = hh.ws.size()[1];
            let pre = seq.apply(ih); // N x T x W, the input part of every step at once
            let mut h = Tensor::zeros([n, w], (pre.kind(), pre.device()));
            let mut states = Vec::with_capacity(self.steps as usize);
            for t in 0..self.steps {
                let m = present.select(1, t);
                let next = match self.cell {
                    Cell::Elman => (pre.select(1, t) + h.apply(hh)).tanh(),
                    Cell::Gru => {
                        let gi = pre.select(1, t).chunk(3, -1);
                        let gh = h.apply(hh).chunk(3, -1);
                        let r = (&gi[0] + &gh[0]).sigmoid();
                        let z = (&gi[1] + &gh[1]).sigmoid();
                        let n = (&gi[2] + r * &gh[2]).tanh();
                        (1.0 - &z) * n + z * &h
                    }
                };
                h = &m * next + (1.0 - &m) * &h;
                states.push(h.shallow_clone());
            }
            outs.push(h.shallow_clone());
            seq = Tensor::stack(&states, 1);
        }
        let last = outs
            .last()
            .map(Tensor::shallow_clone)
            .unwrap_or_else(|| seq.select(1, self.steps - 1));
        outs.push(last.apply(&self.output));
        outs
    }
}

/// Graph convolutional network.
pub struct Gcn {
    weights: Vec<nn::Linear>,
    biases: Vec<Tensor>,
    adjacency: Tensor,
    act: Activation,
    widths: Vec<usize>,
    classes: usize,
    dropout: f64,
}

impl Gcn {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vs: &nn::Path,
        graph: &Graph,
        device: Device,
        input: usize,
        widths: &[usize],
        classes: usize,
        act: Activation,
        dropout: f64,
        params: &mut Vec<Param>,
    ) -> Self {
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        let mut prev = input as i64;
        let dims: Vec<usize> = widths.iter().copied().chain([classes]).collect();
        for (i, &w) in dims.iter().enumerate() {
            let name = if i < widths.len() {
                format!("gcn{}", i + 1)
            } else {
                "output".to_string()
            };
            let p = vs / name.as_str();
            let cfg = nn::LinearConfig {
                bias: false,
                ..Default::default()
            };
            let l = nn::linear(&p, prev, w as i64, cfg);
            let b = p.zeros("bias", &[w as i64]);
            params_of(&name, &l.ws, Some(&b), params, &name);
            weights.push(l);
            biases.push(b);
            prev = w as i64;
        }
        let rows: Vec<i64> = graph.rows.iter().map(|&r| i64::from(r)).collect();
        let cols: Vec<i64> = graph.cols.iter().map(|&c| i64::from(c)).collect();
        let indices = Tensor::stack(&[Tensor::from_slice(&rows), Tensor::from_slice(&cols)], 0);
        let values = Tensor::from_slice(&graph.values);
        let n = graph.n as i64;
        let adjacency = Tensor::sparse_coo_tensor_indices_size(
            &indices,
            &values,
            [n, n],
            (Kind::Float, Device::Cpu),
            false,
        )
        .coalesce()
        .to_device(device);
        Gcn {
            weights,
            biases,
            adjacency,
            act,
            widths: widths.to_vec(),
            classes,
            dropout,
        }
    }
}

impl Model for Gcn {
    fn layers(&self) -> Vec<LayerInfo> {
        stack_layers(
            "gcn",
            LayerKind::Graph,
            &self.widths,
            self.act.name(),
            self.classes,
        )
    }
    fn forward_rows(&self, x: &Tensor, rows: &Tensor, train: bool) -> Vec<Tensor> {
        let mut h = x.shallow_clone();
        let mut outs = Vec::new();
        let last = self.weights.len() - 1;
        for (i, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            let z = self.adjacency.mm(&h.dropout(self.dropout, train).apply(w)) + b;
            h = if i < last { self.act.apply(&z) } else { z };
            outs.push(h.index_select(0, rows));
        }
        outs
    }
}
