"""Gradient statistics: the stored mean and std equal those computed here from the per-batch
gradients saved during training; parameter hooks (auto_step) give the same statistics."""
import numpy as np
import torch

import infoplane
from conftest import ConvResRnn, toy_data, train


def run(out, *, auto_step=False, saved=None):
    torch.manual_seed(3)
    model = ConvResRnn()
    x, y = toy_data(80)

    def keep(epoch, m):
        if saved is not None:
            saved.setdefault(epoch, []).append(
                {n: p.grad.detach().clone().reshape(-1).numpy() for n, p in m.named_parameters()})

    with infoplane.Recorder(model, out, analysis=(x, y), epochs=3, record_epochs="none",
                            auto_step=auto_step, batch_gradients=8) as rec:
        train(model, rec, x, y, batch=16, on_batch=keep, step=not auto_step)
    return infoplane.open(out)


def test_gradient_statistics_equal_a_hand_computation(tmp):
    saved = {}
    a = run(tmp / "r", saved=saved)
    g = a.gradients()
    assert g.height == 4 * len(a.manifest["parameters"])
    for epoch in (1, 2, 3):
        batches = saved[epoch]
        assert len(batches) == 5
        for row in g.filter(g["epoch"] == epoch).iter_rows(named=True):
            stack = np.stack([b[row["parameter"]] for b in batches]).astype(np.float64)
            assert row["n_batches"] == 5
            np.testing.assert_allclose(row["mean"], stack.mean(axis=0), rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(row["std"], stack.std(axis=0), rtol=1e-5, atol=1e-9)
            stored = a.batch_gradients(epoch, row["parameter"])
            assert np.array_equal(stored, stack.astype(np.float32))
    epoch0 = g.filter(g["epoch"] == 0)
    assert epoch0["n_batches"].to_list() == [0] * epoch0.height
    assert np.isnan(epoch0["mean"][0].to_numpy()).all()


def test_parameter_hooks_give_the_same_statistics_as_step(tmp):
    by_step = run(tmp / "a").gradients()
    by_hook = run(tmp / "b", auto_step=True).gradients()
    assert by_step["n_batches"].to_list() == by_hook["n_batches"].to_list()
    for col in ("mean", "std", "value"):
        a = np.concatenate(by_step[col].to_list()).view(np.uint32)
        b = np.concatenate(by_hook[col].to_list()).view(np.uint32)
        assert np.array_equal(a, b), col   # bit for bit, NaN of epoch 0 included


def test_float32_welford_stays_accurate_over_many_batches(tmp):
    """300 batches of gradients whose mean is small beside their spread (the hard case for a
    float32 accumulator): mean and std within 1e-5 of the spread of float64 references."""
    import torch
    net = torch.nn.Sequential(torch.nn.Linear(50, 40))
    lin = net[0]
    x, y = torch.randn(8, 50), torch.zeros(8, dtype=torch.long)
    rng = np.random.default_rng(5)
    grads = rng.normal(1e-3, 1e-2, size=(300, 40, 50)).astype(np.float32)
    with infoplane.Recorder(net, tmp / "r", analysis=(x, y), epochs=1, record_epochs="none",
                            gradients=["0.weight"]) as rec:
        rec.end_epoch(0)
        for g in grads:
            lin.weight.grad = torch.from_numpy(g)
            rec.step()
        rec.end_epoch(1)
        rec.close()
    row = infoplane.open(tmp / "r").gradients([1]).row(0, named=True)
    ref = grads.astype(np.float64).reshape(300, -1)
    assert row["n_batches"] == 300
    np.testing.assert_allclose(row["mean"], ref.mean(axis=0), rtol=0, atol=1e-5 * 1e-2)
    np.testing.assert_allclose(row["std"], ref.std(axis=0), rtol=1e-5)
