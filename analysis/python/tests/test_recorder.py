"""The hook recorder on a model with conv, residual and recurrent parts: what it writes, read back
with infoplane, with pyarrow and h5py (no infoplane), and with the CLI's `inspect`."""
import json

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

import infoplane
from conftest import ConvResRnn, cli, toy_data, train

LAYERS = ["conv", "act", "res", "gru", "head"]


def record(out, fmt="parquet", epochs=3, **kw):
    torch.manual_seed(1)
    model = ConvResRnn()
    x, y = toy_data()
    with infoplane.Recorder(model, out, analysis=(x, y), epochs=epochs, record_epochs="all",
                            layers=LAYERS, format=fmt, dataset="toy", seed=1, **kw) as rec:
        train(model, rec, x, y)
    return model, x, y


def reference_outputs(model, x):
    """The tracked modules' outputs computed here, independently of the recorder."""
    seen = {}
    hooks = [getattr(model, n).register_forward_hook(
        lambda m, i, o, n=n: seen.__setitem__(n, o)) for n in LAYERS]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    seen["gru"] = seen["gru"][1][-1]           # last hidden state
    return {n: v.reshape(len(x), -1).numpy() for n, v in seen.items()}


@pytest.mark.parametrize("fmt", ["parquet", "hdf5"])
def test_conv_residual_recurrent_model_is_recorded_bit_for_bit(tmp, fmt):
    model, x, y = record(tmp / "run", fmt, kinds={"res": "conv"})
    a = infoplane.open(tmp / "run")
    assert a.complete and a.epochs == [0, 1, 2, 3] and a.activation_epochs == [0, 1, 2, 3]
    kinds = [(l["name"], l["kind"], l["width"], l.get("shape"), l["activation"]) for l in a.layers]
    assert kinds == [
        ("conv", "conv", 256, [4, 8, 8], None),
        ("act", "conv", 256, [4, 8, 8], "tanh"),     # the activation takes conv's kind
        ("res", "conv", 256, [4, 8, 8], None),       # given
        ("gru", "recurrent", 12, None, None),
        ("head", "output", 3, None, None),           # the model's output
    ]
    ref = reference_outputs(model, x)
    for name in LAYERS:
        z = a.read(name, 3)
        assert z.dtype == np.float32 and z.shape == ref[name].shape
        assert np.array_equal(z.view(np.uint32), ref[name].view(np.uint32)), name
    assert np.array_equal(a.labels(), y.numpy().astype(np.uint32))
    assert np.array_equal(a.inputs(), x.reshape(len(x), -1).numpy())
    m = a.metrics()
    assert m["epoch"].to_list() == [0, 1, 2, 3]
    assert m.to_pandas()["train_loss"].isna().tolist() == [True, False, False, False]
    assert m["train_loss"][0] is None and all(v > 0 for v in m["train_loss"][1:])
    params = a.manifest["parameters"]
    owners = {p["name"]: p["layer"] for p in params}
    assert owners["conv.weight"] == "conv" and owners["res.a.weight"] == "res"
    assert owners["gru.weight_hh_l0"] == "gru" and owners["head.bias"] == "head"
    g = a.gradients([0, 1])
    assert g.filter(g["epoch"] == 0)["n_batches"].to_list() == [0] * len(params)
    assert g.filter(g["epoch"] == 1)["n_batches"].to_list() == [3] * len(params)


def test_archive_reads_without_infoplane_and_with_the_cli(tmp):
    model, x, _ = record(tmp / "pq", "parquet")
    record(tmp / "h5", "hdf5")
    ref = reference_outputs(model, x)
    man = json.loads((tmp / "pq" / "manifest.json").read_text())
    n = man["analysis_set"]["n"]
    for k, layer in enumerate(man["layers"]):
        z = pq.read_table(tmp / "pq" / "epochs" / "epoch-000003" / f"layer-{k:03}.parquet")["z"]
        assert np.array_equal(z.to_numpy().reshape(n, layer["width"]), ref[layer["name"]])
    with h5py.File(tmp / "h5" / "data.h5", "r") as f:
        epochs = list(f["activations/epoch"][:])
        for k, name in enumerate(LAYERS):
            assert f[f"activations/layer-{k:03}"].attrs["name"] == name
            assert np.array_equal(f[f"activations/layer-{k:03}"][epochs.index(3)], ref[name])
    for run in ("pq", "h5"):
        r = cli("inspect", tmp / run, "--json")
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        text = json.dumps(info)
        assert all(name in text for name in LAYERS)
    r = cli("verify", tmp / "h5")
    assert r.returncode == 0, r.stdout + r.stderr


def test_schedule_is_the_tch_recorders(tmp):
    assert infoplane.schedule("log:5", 99) == [0, 2, 9, 31, 99]
    assert infoplane.schedule("every:4", 10) == [0, 4, 8, 10]
    torch.manual_seed(0)
    model = ConvResRnn()
    x, y = toy_data(32)
    with infoplane.Recorder(model, tmp / "r", analysis=(x, y), epochs=10, record_epochs="every:4",
                            layers=["head"]) as rec:
        train(model, rec, x, y)
    a = infoplane.open(tmp / "r")
    assert a.epochs == list(range(11)) and a.activation_epochs == [0, 4, 8, 10]


def test_a_dataloader_analysis_set_and_cuda_free_defaults(tmp):
    torch.manual_seed(0)
    model = ConvResRnn()
    x, y = toy_data(50)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    with infoplane.Recorder(model, tmp / "r", analysis=loader, epochs=1, record_epochs="all") as rec:
        train(model, rec, x, y)
    a = infoplane.open(tmp / "r")
    # Default selection: Linear, Conv and RNN modules (res.a and res.b are convs too).
    assert a.layer_names == ["conv", "res.a", "res.b", "gru", "head"]
    assert a.read("head", 1).shape == (50, 3) and a.n == 50


class SharedRelu(torch.nn.Module):
    """fc1 and fc2 share one nn.ReLU (registered after fc2): it cannot say whose output it is."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.act = torch.nn.Linear(6, 5), torch.nn.Linear(5, 4), torch.nn.ReLU()

    def forward(self, x):
        return self.act(self.fc2(self.act(self.fc1(x))))


def test_default_layers_are_recorded_after_their_activation_under_the_layers_name(tmp):
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.BatchNorm1d(5), torch.nn.Tanh(),
                              torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    x, y = torch.randn(32, 6), torch.randint(0, 2, (32,))
    with infoplane.Recorder(net, tmp / "post", analysis=(x, y), epochs=1, gradients=False,
                            name="post-act") as rec:
        for _ in rec.epochs():
            pass
    a = infoplane.open(tmp / "post")
    assert [(l["name"], l["kind"], l["activation"]) for l in a.layers] == [
        ("0", "linear", "tanh"), ("3", "linear", "relu"), ("5", "output", None)]
    net.eval()
    with torch.no_grad():
        h1 = net[2](net[1](net[0](x)))
        h2 = net[4](net[3](h1))
    assert np.array_equal(a.read("0", 1), h1.numpy()) and np.array_equal(a.read("3", 1), h2.numpy())
    table = infoplane.estimate_archive(tmp / "post", ["kl"], sigma2=[0.1], progress=False)
    assert set(table["run"]) == {"post-act"}
    # post_activation=False: each layer's own output (pre-activation).
    with infoplane.Recorder(net, tmp / "pre", analysis=(x, y), epochs=0, gradients=False,
                            post_activation=False) as rec:
        rec.end_epoch(0)
    with torch.no_grad():
        assert np.array_equal(infoplane.open(tmp / "pre").read("0", 0), net[0](x).numpy())


def test_a_shared_activation_module_leaves_its_layers_before_it(tmp):
    torch.manual_seed(4)
    net = SharedRelu()
    x, y = torch.randn(16, 6), torch.randint(0, 2, (16,))
    with infoplane.Recorder(net, tmp / "shared", analysis=(x, y), epochs=0, gradients=False) as rec:
        rec.end_epoch(0)
    a = infoplane.open(tmp / "shared")
    with torch.no_grad():
        assert np.array_equal(a.read("fc1", 0), net.fc1(x).numpy())
        assert np.array_equal(a.read("fc2", 0), net.fc2(torch.relu(net.fc1(x))).numpy())
    assert [l["activation"] for l in a.layers] == [None, None]


def test_a_module_named_but_run_twice_per_forward_is_refused(tmp):
    net = SharedRelu()
    x, y = torch.randn(16, 6), torch.randint(0, 2, (16,))
    with pytest.raises(infoplane.InfoplaneError, match=r"tracked module 'act' \(2 calls in 1 forward passes\) runs more than once"):
        infoplane.Recorder(net, tmp / "twice", analysis=(x, y), epochs=0, layers=["act"])
    assert not (tmp / "twice").exists()


@pytest.mark.parametrize("fmt", ["parquet", "hdf5"])
def test_resume_goes_on_where_a_recording_stopped(tmp, fmt):
    torch.manual_seed(5)
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    x, y = torch.randn(24, 6), torch.randint(0, 2, (24,))
    kw = dict(analysis=(x, y), epochs=4, record_epochs="all", format=fmt, progress=False)
    rec = infoplane.Recorder(net, tmp / "r", **kw)
    for e in range(3):
        rec.end_epoch(e)
    rec.close(complete=False)                       # as if the process had stopped
    first = infoplane.open(tmp / "r").read("0", 1)
    with pytest.raises(infoplane.InfoplaneError, match="cannot resume: the archive's layers differ"):
        infoplane.Recorder(net, tmp / "r", resume=True, layers=["0"], **kw)
    rec = infoplane.Recorder(net, tmp / "r", resume=True, **kw)
    assert rec.next_epoch == 3
    assert list(rec.epochs()) == [3, 4]
    a = infoplane.open(tmp / "r")
    assert a.complete and a.epochs == [0, 1, 2, 3, 4]
    assert np.array_equal(a.read("0", 1), first)
    with torch.no_grad():
        assert np.array_equal(a.read("0", 4), torch.tanh(net[0](x)).numpy())
