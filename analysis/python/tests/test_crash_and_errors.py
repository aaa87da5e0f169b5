"""A killed recording leaves its committed epochs readable; bad input raises InfoplaneError with
the file and the problem; Ctrl-C closes the archive cleanly."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from torch import nn

import infoplane
from conftest import ConvResRnn, cli, toy_data, train

SLOW_RECORDING = textwrap.dedent("""
    import sys, time, torch
    sys.path.insert(0, {tests!r})
    import infoplane
    from conftest import ConvResRnn, toy_data
    torch.manual_seed(0)
    model = ConvResRnn()
    x, y = toy_data(64)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with infoplane.Recorder(model, sys.argv[1], analysis=(x, y), epochs=1000, record_epochs="all") as rec:
        for epoch in rec.epochs():
            for i in range(0, 64, 8):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x[i:i+8]), y[i:i+8]).backward()
                rec.step()
                opt.step()
                time.sleep(0.01)   # mid-epoch most of the time
""")


def test_sigkill_mid_epoch_leaves_the_committed_epochs_readable(tmp):
    script = tmp / "slow.py"
    script.write_text(SLOW_RECORDING.format(tests=os.path.dirname(__file__)))
    out = tmp / "run"
    p = subprocess.Popen([sys.executable, str(script), str(out)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and committed < 3:
        time.sleep(0.05)
        try:
            committed = len(infoplane.open(out).epochs)
        except infoplane.InfoplaneError:
            pass   # not created yet
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert committed >= 3, p.stderr.read().decode()
    a = infoplane.open(out)
    assert not a.complete and len(a.epochs) >= 3
    assert a.epochs == list(range(len(a.epochs)))
    for e in a.epochs:
        for layer in a.layer_names:
            assert np.isfinite(a.read(layer, e)).all()
    r = cli("verify", out)
    assert r.returncode == 0, r.stdout + r.stderr
    t = infoplane.estimate_archive(out, ["kl"], sigma2=0.1, progress=False)
    assert t["epoch"].unique().sort().to_list() == a.epochs


def _interrupt():
    raise KeyboardInterrupt


def _divide_by_zero():
    1 / 0


@pytest.mark.parametrize("stop, at, raise_it, complete", [
    # Ctrl-C closes a complete archive of the committed epochs.
    (KeyboardInterrupt, 3, _interrupt, True),
    # Any other exception leaves the committed epochs readable and the archive incomplete.
    (ZeroDivisionError, 2, _divide_by_zero, False),
])
def test_an_exception_keeps_the_committed_epochs(tmp, stop, at, raise_it, complete):
    torch.manual_seed(0)
    model = ConvResRnn()
    x, y = toy_data(32)
    with pytest.raises(stop):
        with infoplane.Recorder(model, tmp / "r", analysis=(x, y), epochs=10) as rec:
            for epoch in rec.epochs():
                if epoch == at:
                    raise_it()
    a = infoplane.open(tmp / "r")
    assert a.complete == complete and a.epochs == list(range(at))


def test_a_non_finite_activation_is_refused_and_earlier_epochs_survive(tmp):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    x, y = torch.randn(16, 4), torch.arange(16) % 2
    with pytest.raises(infoplane.InfoplaneError) as e:
        with infoplane.Recorder(model, tmp / "r", analysis=(x, y), epochs=5, record_epochs="all") as rec:
            for epoch in rec.epochs():
                if epoch == 2:
                    with torch.no_grad():
                        model[0].weight[1, 2] = float("nan")
    assert str(e.value) == (
        f"{tmp / 'r'}: epoch 2: layer '0': non-finite activation NaN at sample 0, unit 1 "
        "(did training diverge?); nothing of this epoch was written")
    assert infoplane.open(tmp / "r").epochs == [0, 1]


def test_bad_input_raises_clear_exceptions(tmp):
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    x = torch.randn(16, 4)
    with pytest.raises(infoplane.InfoplaneError, match="^15 labels for 16 analysis samples$"):
        infoplane.Recorder(model, tmp / "a", analysis=(x, torch.zeros(15, dtype=torch.long)), epochs=1)
    with pytest.raises(infoplane.InfoplaneError, match="no submodule named 'fc9'"):
        infoplane.Recorder(model, tmp / "a", analysis=(x, torch.zeros(16)), epochs=1, layers=["fc9"])
    # A closed recorder and a closed writer.
    rec = infoplane.Recorder(model, tmp / "b", analysis=(x, torch.zeros(16, dtype=torch.long)), epochs=2)
    rec.end_epoch(0)
    writer = rec._writer
    rec.close()
    with pytest.raises(infoplane.InfoplaneError, match=f"^{tmp / 'b'}: the recorder is closed$"):
        rec.end_epoch(1)
    with pytest.raises(infoplane.InfoplaneError, match=f"^{tmp / 'b'}: the archive writer is closed$"):
        writer.commit(1, {}, [], [])
    with pytest.raises(infoplane.InfoplaneError, match="epoch 1 ended out of order: the next planned epoch is 0"):
        infoplane.Recorder(model, tmp / "c", analysis=(x, torch.zeros(16, dtype=torch.long)), epochs=2).end_epoch(1)
    # Existing output is refused (not replaced) without overwrite=True.
    with pytest.raises(infoplane.InfoplaneError, match=str(tmp / "b")):
        infoplane.Recorder(model, tmp / "b", analysis=(x, torch.zeros(16, dtype=torch.long)), epochs=2)
    assert infoplane.open(tmp / "b").epochs == [0]
    # Reading and estimating.
    with pytest.raises(infoplane.InfoplaneError, match=str(tmp / "nothing")):
        infoplane.open(tmp / "nothing")
    with pytest.raises(infoplane.InfoplaneError, match="^6 labels for 7 rows of Z$"):
        infoplane.estimate(np.zeros((7, 2)), np.zeros(6, dtype=int))
    with pytest.raises(infoplane.InfoplaneError, match="non-finite activation inf at sample 1, unit 0"):
        infoplane.estimate(np.array([[0.0], [np.inf]]), [0, 1])
    with pytest.raises(infoplane.InfoplaneError, match="unknown parameter 'no_such_flag' \\(known: "):
        infoplane.estimate(np.zeros((4, 2)), [0, 1, 0, 1], no_such_flag=3)
    with pytest.raises(infoplane.InfoplaneError, match="unknown estimator"):
        infoplane.estimate_archive(tmp / "b", ["kl", "nope"], progress=False)
    with pytest.raises(infoplane.InfoplaneError, match="layer 'fc9'|fc9"):
        infoplane.estimate_archive(tmp / "b", ["kl"], layers=["fc9"], progress=False)
    a = infoplane.open(tmp / "b")
    with pytest.raises(infoplane.InfoplaneError, match="epoch 5"):
        a.read("0", 5)
