"""The soft estimator streamed inside the hook recorder: rows equal to the offline estimate on
the stored activations, written after every epoch, and usable with no activations stored."""
import numpy as np
import polars as pl
import pytest
import torch

import infoplane


def model_and_data():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.Tanh(), torch.nn.Linear(12, 3))
    x = torch.randn(90, 6, generator=torch.Generator().manual_seed(1))
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    return model, x, y


def train(model, rec, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _epoch in rec.epochs():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_streamed_soft_equals_the_offline_estimate(tmp_path):
    model, x, y = model_and_data()
    out = tmp_path / "run"
    params = {"soft_bins": 64, "soft_spread": 4.0, "seed": 3}
    with infoplane.Recorder(model, out, analysis=(x, y), epochs=3, record_epochs="all", batch_size=16,
                            gradients=False, progress=False, stream="soft", stream_params=params) as rec:
        train(model, rec, x, y)
    streamed = rec.streamed
    offline = infoplane.estimate_archive(out, ["soft"], **params)
    assert streamed.height == offline.height == 4 * 2        # epochs 0..3, two layers
    key = ["layer", "epoch"]
    both = streamed.join(offline, on=key, suffix="_offline")
    for col in ["i_xz", "i_yz"]:
        np.testing.assert_allclose(both[col], both[f"{col}_offline"], rtol=0, atol=1e-9)
    assert set(both["setting"]) == {"bins=64 spread=4"}
    assert (both["i_xz"] > 0).all() and (both["i_xz"] <= np.log2(64)).all()
    # Written after every epoch, beside the archive.
    on_disk = pl.read_csv(tmp_path / "run-soft.csv")
    assert on_disk.height == 8 and on_disk["estimator"].unique().to_list() == ["soft"]


def test_streamed_soft_gives_every_label_set(tmp_path):
    """With several label sets, the stream's rows for each set equal the offline estimate with
    labels=NAME (the assignments computed once, the per-class sums per set)."""
    model, x, y = model_and_data()
    parity = torch.arange(90) % 2
    sign = (x[:, 2] > 0).long()
    out = tmp_path / "sets"
    params = {"soft_bins": 32, "soft_spread": 6.0, "seed": 1}
    with infoplane.Recorder(model, out, analysis=(x, y), epochs=2, record_epochs="all", batch_size=16,
                            gradients=False, progress=False, stream="soft", stream_params=params,
                            label_sets={"parity": parity, "sign": sign}) as rec:
        train(model, rec, x, y)
    streamed = rec.streamed
    assert streamed.height == 3 * 2 * 3                       # epochs 0..2, two layers, three sets
    for name in ["class", "parity", "sign"]:
        mine = streamed.filter(pl.col("labels") == name)
        offline = infoplane.estimate_archive(out, ["soft"], labels=name, progress=False, **params)
        both = mine.join(offline, on=["layer", "epoch"], suffix="_offline")
        assert both.height == 6 and (both["setting"] == both["setting_offline"]).all()
        for col in ["i_xz", "i_yz", "h_y"]:
            np.testing.assert_allclose(both[col], both[f"{col}_offline"], rtol=0, atol=1e-9)
    # I(X;K) does not depend on Y; I(Y;K) does.
    by = {n: streamed.filter(pl.col("labels") == n).sort(["epoch", "layer"]) for n in ["class", "parity"]}
    np.testing.assert_array_equal(by["class"]["i_xz"], by["parity"]["i_xz"])
    assert not np.allclose(by["class"]["i_yz"], by["parity"]["i_yz"])


def test_streaming_without_storing_activations(tmp_path):
    model, x, y = model_and_data()
    out = tmp_path / "big"
    with infoplane.Recorder(model, out, analysis=(x, y), epochs=2, record_epochs="none", gradients=False,
                            progress=False, stream="soft", stream_out=tmp_path / "plane.csv") as rec:
        train(model, rec, x, y)
    assert infoplane.open(out).activation_epochs == []
    table = pl.read_csv(tmp_path / "plane.csv")
    assert sorted(table["epoch"].unique().to_list()) == [0, 1, 2]
    with pytest.raises(infoplane.InfoplaneError, match="only the soft estimator streams"):
        infoplane.Recorder(model, tmp_path / "x", analysis=(x, y), epochs=1, stream="kl")
