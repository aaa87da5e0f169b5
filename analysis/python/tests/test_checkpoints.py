"""Checkpoint series as epochs (labels kept, crash and resume), token reductions on a hand-built
N x T x H output, per-token labels, and a Hugging Face model's hidden states."""
import json

import numpy as np
import pytest
import torch

import infoplane

N, T, H = 12, 6, 4


class Fixed(torch.nn.Module):
    """out[i, t, h] = x[i, t] * 10 + h, through one named module."""

    def __init__(self):
        super().__init__()
        self.seq = torch.nn.Identity()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        out = x.unsqueeze(-1) * 10 + torch.arange(H, dtype=torch.float32)
        return self.seq(out) + self.w


def sequences():
    x = torch.arange(N * T, dtype=torch.float32).reshape(N, T)
    return x, x.sum(dim=1).long() % 3


def expected(x, how):
    full = x.numpy()[:, :, None] * 10 + np.arange(H, dtype=np.float32)
    return {"mean": full.mean(axis=1), "last": full[:, -1], "first": full[:, 0]}[how]


@pytest.mark.parametrize("how", ["mean", "last", "first"])
def test_pooled_token_reductions_equal_numpy(tmp_path, how):
    x, y = sequences()
    out = tmp_path / how
    with infoplane.Recorder(Fixed(), out, analysis=(x, y), epochs=0, record_epochs="all",
                            layers=["seq"], tokens=how, gradients=False, progress=False) as rec:
        rec.end_epoch(0)
    a = infoplane.open(out)
    np.testing.assert_allclose(a.read("seq", 0), expected(x, how), rtol=1e-6)
    assert a.n == N
    assert json.loads((out / "manifest.json").read_text())["run"]["hyperparameters"]["tokens"] == how


def test_sampled_tokens_are_samples_with_per_token_labels(tmp_path):
    x, _ = sequences()
    per_token = (x.long() * 7) % 5            # N x T labels, e.g. the next token
    out = tmp_path / "tok"
    with infoplane.Recorder(Fixed(), out, analysis=(x, per_token), epochs=1, record_epochs="all",
                            layers=["seq"], tokens="tokens:3", token_seed=4, gradients=False,
                            batch_size=5, progress=False) as rec:
        rec.end_epoch(0)
        rec.end_epoch(1)
    a = infoplane.open(out)
    # The positions, drawn here independently: K = 3 of T per sequence, seeded by (seed, i).
    pos = np.stack([np.sort(np.random.default_rng([4, i]).choice(T, 3, replace=False)) for i in range(N)])
    full = x.numpy()[:, :, None] * 10 + np.arange(H, dtype=np.float32)
    want = np.concatenate([full[i, pos[i]] for i in range(N)])
    assert a.n == N * 3
    np.testing.assert_array_equal(a.read("seq", 0), want)
    np.testing.assert_array_equal(a.read("seq", 1), want)       # the same tokens every epoch
    np.testing.assert_array_equal(a.labels(), np.concatenate([per_token.numpy()[i, pos[i]] for i in range(N)]))
    assert a.inputs() is None                                      # a token has no row of X


def test_bad_token_requests_are_clear(tmp_path):
    x, y = sequences()
    with pytest.raises(infoplane.InfoplaneError, match="expected mean, last, first or tokens:K"):
        infoplane.Recorder(Fixed(), tmp_path / "a", analysis=(x, y), epochs=0, layers=["seq"], tokens="max")
    with pytest.raises(infoplane.InfoplaneError, match="tokens:9 needs sequences of at least 9"):
        infoplane.Recorder(Fixed(), tmp_path / "b", analysis=(x, y), epochs=0, layers=["seq"],
                           tokens="tokens:9")
    with pytest.raises(infoplane.InfoplaneError, match="one label per sequence"):
        infoplane.Recorder(Fixed(), tmp_path / "c", analysis=(x, x.long()), epochs=0, layers=["seq"],
                           tokens="mean")


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def saved_checkpoints(tmp_path, n=4):
    paths, models = [], []
    for k in range(n):
        torch.manual_seed(k)
        m = mlp()
        p = tmp_path / f"step{k * 100}.pt"
        torch.save(m.state_dict(), p)
        paths.append(p)
        models.append(m)
    return paths, models


def test_checkpoints_become_epochs_with_their_labels_and_resume(tmp_path):
    paths, models = saved_checkpoints(tmp_path)
    x = torch.randn(30, 5, generator=torch.Generator().manual_seed(9))
    y = torch.arange(30) % 3
    out = tmp_path / "series"
    calls = {"n": 0}

    def crashing():
        calls["n"] += 1
        if calls["n"] == 3:                      # loading the third checkpoint
            raise RuntimeError("killed")
        return mlp()

    with pytest.raises(RuntimeError, match="killed"):
        infoplane.record_checkpoints(crashing, paths, out, analysis=(x, y), progress=False)
    assert infoplane.open(out).activation_epochs == [0, 1]
    first = infoplane.open(out).read("0", 1).copy()
    infoplane.record_checkpoints(mlp, paths, out, analysis=(x, y), progress=False)
    a = infoplane.open(out)
    assert a.complete and a.activation_epochs == [0, 1, 2, 3]
    np.testing.assert_array_equal(a.read("0", 1), first)           # not recorded again
    for k, m in enumerate(models):
        with torch.no_grad():
            want = torch.tanh(m[0](x)).numpy()
        np.testing.assert_allclose(a.read("0", k), want, rtol=1e-6, atol=1e-7)
    labels = json.loads((out / "manifest.json").read_text())["run"]["epoch_labels"]
    assert labels == {"0": "step0", "1": "step100", "2": "step200", "3": "step300"}
    table = infoplane.estimate_archive(out, ["kl"], sigma2=[0.1])
    assert sorted(set(zip(table["epoch"].to_list(), table["epoch_label"].to_list()))) == [
        (0, "step0"), (1, "step100"), (2, "step200"), (3, "step300")]
    # Done: a re-run records nothing; another list is refused.
    assert infoplane.record_checkpoints(mlp, paths, out, analysis=(x, y), progress=False) == str(out)
    with pytest.raises(infoplane.InfoplaneError, match="an archive of other checkpoints"):
        infoplane.record_checkpoints(mlp, paths[::-1], out, analysis=(x, y), progress=False)
    with pytest.raises(infoplane.InfoplaneError, match="no such file or directory"):
        infoplane.record_checkpoints(mlp, [tmp_path / "missing.pt"], tmp_path / "m", analysis=(x, y))


def test_hugging_face_hidden_states_of_saved_checkpoints(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(vocab_size=40, n_positions=16, n_embd=16, n_layer=2, n_head=2)
    dirs = []
    for k in range(2):
        torch.manual_seed(k)
        d = tmp_path / f"rev{k}"
        transformers.GPT2LMHeadModel(config).save_pretrained(d)
        dirs.append(d)
    ids = torch.arange(N * T).reshape(N, T) % 40
    y = ids[:, -1] % 2
    out = tmp_path / "gpt"
    infoplane.record_checkpoints(transformers.GPT2LMHeadModel, dirs, out, analysis=(ids, y),
                                 hidden_states=True, tokens="last", progress=False)
    a = infoplane.open(out)
    assert a.layer_names == ["hidden.0", "hidden.1", "hidden.2"]
    for k, d in enumerate(dirs):
        m = transformers.GPT2LMHeadModel.from_pretrained(d).eval()
        with torch.no_grad():
            states = m(ids, output_hidden_states=True).hidden_states
        for layer in range(3):
            np.testing.assert_allclose(a.read(f"hidden.{layer}", k), states[layer][:, -1].numpy(),
                                       rtol=1e-5, atol=1e-6)


def test_the_worked_example_runs_at_reduced_size(tmp_path):
    """examples/transformer/checkpoints.py --quick: trains, records 4 checkpoints with two label
    sets in one archive, estimates each and reports."""
    import os
    import subprocess
    import sys

    import polars as pl

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    script = os.path.join(root, "examples", "transformer", "checkpoints.py")
    done = subprocess.run([sys.executable, script, str(tmp_path), "--quick"], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "H(next token | hidden state)" in done.stdout
    for name in ["next_token", "hidden_state"]:
        t = pl.read_csv(tmp_path / f"estimates-{name}.csv")
        assert sorted(t["epoch_label"].unique().to_list()) == ["step0", "step14", "step3", "step60"]
        assert set(t["estimator"]) == {"kl", "bd", "renyi", "soft"} and set(t["labels"]) == {name}
        assert t["n"].unique().to_list() == [64 * 4]
        soft = t.filter(pl.col("estimator") == "soft")
        assert (soft["ratio"] > 0).all() and (soft["i_xz"] <= 8.0 + 1e-9).all()    # ln K, K = 256, in bits
    page = (tmp_path / "report" / "index.html").read_text()
    # The interactive plane names each epoch by its checkpoint.
    assert '"epochLabels":{"0":"step0","1":"step3","2":"step14","3":"step60"}' in page
    assert "<h3>Compression ratio</h3>" in page and "no accuracy in this archive" in page
    assert (tmp_path / "report" / "ratio-tokens-soft.png").exists()
    assert (tmp_path / "report" / "ratio-tokens-soft-hidden_state.png").exists()


def test_several_label_sets_in_one_archive_picked_by_name(tmp_path):
    """Per-token and per-sequence label sets beside the first, gathered at the same sampled
    tokens; estimate_archive and the CLI pick one by name and say which."""
    from conftest import cli

    x, _ = sequences()
    seq_class = torch.arange(N) % 3
    next_token = (x.long() * 7) % 5
    out = tmp_path / "sets"
    with infoplane.Recorder(Fixed(), out, analysis=(x, next_token), epochs=0, record_epochs="all",
                            layers=["seq"], tokens="tokens:3", token_seed=4, gradients=False,
                            batch_size=5, progress=False, label_name="next_token",
                            label_sets={"sequence": seq_class, "position": torch.arange(T).repeat(N, 1)}) as rec:
        rec.end_epoch(0)
    a = infoplane.open(out)
    assert a.label_sets == {"next_token": 5, "sequence": 3, "position": T}
    pos = np.stack([np.sort(np.random.default_rng([4, i]).choice(T, 3, replace=False)) for i in range(N)])
    np.testing.assert_array_equal(a.labels("position"), pos.reshape(-1))
    np.testing.assert_array_equal(a.labels("sequence"), np.repeat(seq_class.numpy(), 3))
    np.testing.assert_array_equal(a.labels(), a.labels("next_token"))
    with pytest.raises(infoplane.InfoplaneError, match="no label set named 'class'"):
        a.labels("class")

    t = infoplane.estimate_archive(out, "kl,bin", labels="position", progress=False)
    assert set(t["labels"]) == {"position"}
    assert all(s.endswith(" labels=position") for s in t["setting"])
    # The same values as the arrays with those labels.
    direct = infoplane.estimate(a.read("seq", 0), a.labels("position"), "kl,bin")
    np.testing.assert_array_equal(t["i_yz"].to_numpy(), direct["i_yz"].to_numpy())
    first = infoplane.estimate_archive(out, "kl,bin", progress=False)
    assert set(first["labels"]) == {"next_token"} and not any("labels=" in s for s in first["setting"])

    csv = tmp_path / "cli.csv"
    r = cli("estimate", out, "--estimator", "kl,bin", "--labels", "position", "--out", csv)
    assert r.returncode == 0, r.stderr
    import polars as pl
    c = pl.read_csv(csv)
    np.testing.assert_allclose(c["i_yz"].to_numpy(), t["i_yz"].to_numpy(), rtol=1e-12)
    r = cli("estimate", out, "--labels", "class", "--out", tmp_path / "no.csv")
    assert r.returncode != 0 and "no label set named 'class' (label sets: next_token, sequence, position)" in r.stderr
    assert not (tmp_path / "no.csv").exists()
    info = cli("inspect", out)
    assert "label sets   next_token (the classes above), sequence (3 classes" in info.stdout, info.stdout

    with pytest.raises(infoplane.InfoplaneError, match="label set 'short' has"):
        infoplane.Recorder(Fixed(), tmp_path / "bad", analysis=(x, seq_class), epochs=0, layers=["seq"],
                           gradients=False, progress=False, label_sets={"short": seq_class[:5]})


def test_checkpoint_directories_from_the_command_line(tmp_path):
    """``python -m infoplane checkpoints DIR...``: the same archive as record_checkpoints with the
    same arguments, label sets from .npy files, resumable; bad input is one line and exit 1."""
    import subprocess
    import sys

    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(vocab_size=40, n_positions=16, n_embd=16, n_layer=2, n_head=2)
    dirs = []
    for step in (0, 10, 20):
        torch.manual_seed(step)
        d = tmp_path / f"step{step}"
        transformers.GPT2LMHeadModel(config).save_pretrained(d)
        dirs.append(str(d))
    g = np.random.default_rng(0)
    ids = g.integers(0, 40, (10, 8))
    nxt, pos = np.roll(ids, -1, axis=1), np.tile(np.arange(8), (10, 1))
    for name, arr in [("ids", ids), ("next", nxt), ("pos", pos)]:
        np.save(tmp_path / f"{name}.npy", arr)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "infoplane", "checkpoints", *map(str, args)],
                              capture_output=True, text=True, timeout=300, check=False)

    out = tmp_path / "cli"
    common = ["--analysis", tmp_path / "ids.npy", "--labels", tmp_path / "next.npy", "--label-name", "next_token",
              "--label-set", f"position={tmp_path / 'pos.npy'}", "--model-class", "transformers.GPT2LMHeadModel",
              "--hidden-states", "--tokens", "tokens:4", "--token-seed", "3"]
    done = run(*dirs, *common, "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out}"
    ref = tmp_path / "py"
    infoplane.record_checkpoints(transformers.GPT2LMHeadModel, dirs, ref,
                                 analysis=(torch.as_tensor(ids), torch.as_tensor(nxt)), hidden_states=True,
                                 tokens="tokens:4", token_seed=3, label_name="next_token",
                                 label_sets={"position": pos}, progress=False)
    a, b = infoplane.open(out), infoplane.open(ref)
    assert a.epochs == [0, 1, 2] and a.layer_names == ["hidden.0", "hidden.1", "hidden.2"]
    assert json.loads((out / "manifest.json").read_text())["run"]["epoch_labels"] == \
        {"0": "step0", "1": "step10", "2": "step20"}
    assert a.label_sets == {"next_token": 40, "position": 8}
    for layer in a.layer_names:
        for e in a.epochs:
            np.testing.assert_array_equal(a.read(layer, e), b.read(layer, e))
    np.testing.assert_array_equal(a.labels("position"), b.labels("position"))
    # Again: every checkpoint is committed, nothing is recorded again.
    before = (out / "manifest.json").read_bytes()
    assert run(*dirs, *common, "--out", out).returncode == 0
    assert (out / "manifest.json").read_bytes() == before

    bad = run(dirs[0], "--analysis", tmp_path / "ids.npy", "--label-set", "nofile", "--out", tmp_path / "b1")
    assert bad.returncode == 1 and "--label-set 'nofile': give it as NAME=FILE.npy" in bad.stderr
    (tmp_path / "empty").mkdir()
    bad = run(tmp_path / "empty", "--analysis", tmp_path / "ids.npy", "--out", tmp_path / "b2")
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    bad = run(dirs[0], "--analysis", tmp_path / "missing.npy", "--out", tmp_path / "b3")
    assert bad.returncode == 1 and "missing.npy: cannot read the analysis inputs" in bad.stderr
    assert not (tmp_path / "b3").exists()


def test_import_carries_named_label_sets(tmp_path):
    """``infoplane import --label-name --label-set NAME=Y.npy``: activations from any framework
    with several label sets; a set of the wrong length names its file."""
    from conftest import cli

    g = np.random.default_rng(2)
    np.save(tmp_path / "acts.npy", g.standard_normal((40, 5)).astype(np.float32))
    y, state = np.arange(40) % 4, (np.arange(40) // 10) % 3
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "state.npy", state)
    np.save(tmp_path / "short.npy", state[:30])
    out = tmp_path / "imported"
    r = cli("import", "--activations", tmp_path / "acts.npy", "--labels", tmp_path / "y.npy",
            "--label-name", "token", "--label-set", f"state={tmp_path / 'state.npy'}", "--out", out)
    assert r.returncode == 0, r.stderr
    a = infoplane.open(out)
    assert a.label_sets == {"token": 4, "state": 3}
    np.testing.assert_array_equal(a.labels("state"), state)
    t = infoplane.estimate_archive(out, "bin", labels="state", progress=False)
    assert set(t["labels"]) == {"state"}
    assert abs(t["h_y"][0] - np.log2(40 / np.bincount(state)).dot(np.bincount(state) / 40)) < 1e-12
    r = cli("import", "--activations", tmp_path / "acts.npy", "--labels", tmp_path / "y.npy",
            "--label-set", f"state={tmp_path / 'short.npy'}", "--out", tmp_path / "bad")
    assert r.returncode != 0 and "short.npy" in r.stderr and "N = 40 labels" in r.stderr
    assert not (tmp_path / "bad").exists()
    r = cli("import", "--activations", tmp_path / "acts.npy", "--labels", tmp_path / "y.npy",
            "--label-set", "state", "--out", tmp_path / "bad2")
    assert r.returncode != 0 and "give it as NAME=Y.npy" in r.stderr
