"""Issue 26 ("nothing silent"), the Python items: hooks record copies (item 2), labels that are
not class indices raise (items 3 and 6, the library's one label check), and an analysis set
that changes order between epochs is refused (item 7)."""
import time

import numpy as np
import pytest
import torch
from torch import nn

import infoplane


class AddInPlace(nn.Module):
    """h = fc(x); h += x (a residual add done in place after the tracked module)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        h = self.fc(x)
        h += x
        return self.out(torch.relu(h))


def _data(n=40):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] > 0).long()


def _record(model, out, x, y, layers, **kw):
    with infoplane.Recorder(model, out, analysis=(x, y), epochs=1, record_epochs="all",
                            layers=layers, gradients=False, **kw) as rec:
        for _ in rec.epochs():
            pass


def test_item02_inplace_relu_after_the_hook_does_not_rewrite_the_record(tmp):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(inplace=True), nn.Linear(5, 2))
    x, y = _data()
    _record(model, tmp / "run", x, y, ["0"])
    with torch.no_grad():
        expected = model[0](x).numpy()
    got = infoplane.open(tmp / "run").read("0", 1)
    assert (expected < 0).any(), "the test needs negative pre-activations"
    np.testing.assert_array_equal(got, expected)


def test_item02_inplace_residual_add_does_not_rewrite_the_record(tmp):
    torch.manual_seed(0)
    model = AddInPlace()
    x, y = _data()
    _record(model, tmp / "run", x, y, ["fc"])
    with torch.no_grad():
        expected = model.fc(x).numpy()
    np.testing.assert_array_equal(infoplane.open(tmp / "run").read("fc", 0), expected)


def test_item02_gradient_values_are_copies(tmp):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 2))
    x, y = _data()
    with infoplane.Recorder(model, tmp / "run", analysis=(x, y), epochs=1, record_epochs="none") as rec:
        for _ in rec.epochs():
            opt = torch.optim.SGD(model.parameters(), lr=0.5)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            rec.step()
            opt.step()
            weight_at_end = model[0].weight.detach().clone()
        # Changed in place after the epoch was committed: the archive keeps the epoch's value.
        with torch.no_grad():
            model[0].weight.add_(100.0)
    grads = infoplane.open(tmp / "run").gradients([1])
    row = grads.filter(grads["parameter"] == "0.weight")
    np.testing.assert_array_equal(np.asarray(row["value"][0], dtype=np.float32),
                                  weight_at_end.reshape(-1).numpy())


@pytest.mark.parametrize("labels, message", [
    ([0, 2**32], "labels: label 4294967296 of sample 1 is too large: infoplane supports at most 65536 classes (labels 0 to 65535)"),
    (np.array([0, 2**64 - 1], dtype=np.uint64), "labels: label 18446744073709551615 of sample 1 is too large"),
    ([0.0, 0.7], "labels: label 0.7 of sample 1 is not an integer; labels must be class indices 0, 1, 2, ..."),
    ([0, -1], "labels: label -1 of sample 1 is negative"),
    (["a", "b"], "labels must be numbers, got dtype <U1"),
])
def test_item03_estimate_refuses_labels_that_are_not_class_indices(labels, message):
    z = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    with pytest.raises(infoplane.InfoplaneError) as e:
        infoplane.estimate(z, labels, ["kl"], sigma2=[0.1])
    assert str(e.value).startswith(message)


def test_item03_integral_float_labels_are_class_indices():
    z = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = np.arange(40) % 2
    a = infoplane.estimate(z, y, ["kl"], sigma2=[0.1])
    b = infoplane.estimate(z, y.astype(np.float64), ["kl"], sigma2=[0.1])
    assert a["i_yz"].to_list() == b["i_yz"].to_list()


def test_item03_recorder_refuses_fractional_labels(tmp):
    model = nn.Sequential(nn.Linear(6, 2))
    x, _ = _data()
    y = torch.full((len(x),), 0.7)
    with pytest.raises(infoplane.InfoplaneError, match="label 0.7 of sample 0 is not an integer"):
        infoplane.Recorder(model, tmp / "run", analysis=(x, y), epochs=1)
    assert not (tmp / "run").exists()


@pytest.mark.parametrize("big", [10**9, 2**32])
def test_item06_a_huge_label_is_refused_before_any_allocation(tmp, big):
    model = nn.Sequential(nn.Linear(6, 2))
    x, y = _data()
    y = y.clone()
    y[5] = big
    start = time.monotonic()
    with pytest.raises(infoplane.InfoplaneError, match=f"label {big} of sample 5 is too large"):
        infoplane.Recorder(model, tmp / "run", analysis=(x, y), epochs=1)
    # A class-name list of 10^9 entries took 54 s and 12.5 GB before the check.
    assert time.monotonic() - start < 30
    assert not (tmp / "run").exists()


def test_item07_a_shuffling_dataloader_is_refused(tmp):
    x, y = _data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8, shuffle=True)
    with pytest.raises(infoplane.InfoplaneError, match="the DataLoader shuffles \\(RandomSampler\\)"):
        infoplane.Recorder(nn.Sequential(nn.Linear(6, 2)), tmp / "run", analysis=loader, epochs=1)


class Reordering:
    """An iterable analysis set that comes in another order at every pass."""

    def __init__(self, x, y):
        self.x, self.y, self.passes = x, y, 0

    def __iter__(self):
        perm = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(self.passes))
        self.passes += 1
        for i in range(0, len(self.x), 8):
            idx = perm[i:i + 8]
            yield self.x[idx], self.y[idx]


def test_item07_an_analysis_set_that_changes_order_is_refused(tmp):
    x, y = _data()
    rec = infoplane.Recorder(nn.Sequential(nn.Linear(6, 2)), tmp / "run", analysis=Reordering(x, y),
                             epochs=2, record_epochs="all", gradients=False)
    with pytest.raises(infoplane.InfoplaneError, match="the analysis set came in another order"):
        rec.end_epoch(0)
    rec.close(complete=False)
