"""A worked example that needs no download: a small decoder-only transformer trained on a
synthetic language (a hidden Markov chain), its checkpoints recorded at token level with
``infoplane.record_checkpoints``, estimated with kl/bd, the linear-kernel Rényi entropy and the
soft-binning estimator, and reported.

The language: a hidden state s_t in {0..S-1} follows a Markov chain; each state emits a token
from its own distribution over V tokens (the distributions overlap). Two label sets of every
recorded token: the next token (what the model is trained on) and the hidden state at that
position (what the grammar knows). The next token's entropy given the hidden state,
H(x_{t+1} | s_t), is known in closed form and printed beside the model's loss, a bound no model
that sees only the tokens can beat.

    python examples/transformer/checkpoints.py [OUT] [--quick]

OUT defaults to out/examples/transformer. --quick is the size CI runs (fewer steps, fewer
checkpoints, a smaller analysis set); the full run takes a few minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

import infoplane

S, V, T = 4, 16, 32          # hidden states, vocabulary, sequence length


def language(seed: int = 0):
    """The chain's transition matrix (S x S), emission matrix (S x V), stationary law."""
    rng = np.random.default_rng(seed)
    trans = np.full((S, S), 0.1 / (S - 1))
    np.fill_diagonal(trans, 0.9)                       # sticky states: long-range structure
    emit = rng.dirichlet(np.full(V, 0.3), size=S)
    pi = np.full(S, 1.0 / S)                           # symmetric chain: uniform law
    return trans, emit, pi


def sample(n: int, trans, emit, pi, seed: int):
    """n sequences of T + 1 tokens and their hidden states."""
    rng = np.random.default_rng(seed)
    states = np.empty((n, T + 1), np.int64)
    tokens = np.empty((n, T + 1), np.int64)
    states[:, 0] = rng.choice(S, size=n, p=pi)
    for t in range(T + 1):
        if t > 0:
            u = rng.random(n)[:, None]
            states[:, t] = (u > np.cumsum(trans[states[:, t - 1]], axis=1)).sum(axis=1)
        u = rng.random(n)[:, None]
        tokens[:, t] = np.minimum((u > np.cumsum(emit[states[:, t]], axis=1)).sum(axis=1), V - 1)
    return tokens, states


def next_token_entropy(trans, emit, pi) -> float:
    """H(x_{t+1} | s_t) in nats: the next token's law given the current hidden state."""
    nxt = trans @ emit
    return float(-(pi[:, None] * nxt * np.log(nxt)).sum())


class Block(nn.Module):
    """Pre-norm causal self-attention and MLP."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        mask = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), 1)
        h = self.norm1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class TinyLM(nn.Module):
    """Token and position embeddings, two blocks, a linear head: 0.16 M parameters."""

    def __init__(self, d: int = 80, heads: int = 4, layers: int = 2):
        super().__init__()
        self.embed = nn.Embedding(V, d)
        self.pos = nn.Parameter(torch.zeros(T, d))
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, V)

    def forward(self, x):
        h = self.embed(x) + self.pos[: x.shape[1]]
        for b in self.blocks:
            h = b(h)
        return self.head(self.norm(h))


def train(steps: int, saves: list[int], out: str, language_law, seed: int = 0):
    """Trains TinyLM, saving a state dict at every step in ``saves``; returns the files and
    the last loss (nats per token)."""
    torch.manual_seed(seed)
    model = TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    files, loss = [], float("nan")
    tokens, _ = sample(4096, *language_law, seed=seed + 1)
    data = torch.as_tensor(tokens)
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps + 1):
        if step in saves:
            path = os.path.join(out, f"step{step}.pt")
            torch.save(model.state_dict(), path)
            files.append(path)
        if step == steps:
            break
        batch = data[torch.randint(len(data), (64,), generator=gen)]
        logits = model(batch[:, :-1])
        loss_t = nn.functional.cross_entropy(logits.reshape(-1, V), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss_t.backward()
        opt.step()
        loss = loss_t.item()
    return files, loss


def saves_for(steps: int, count: int) -> list[int]:
    """``count`` steps from 0 to ``steps``, spaced evenly in log(1 + step)."""
    return sorted({int(round(math.expm1(i / (count - 1) * math.log1p(steps)))) for i in range(count)})


def cli() -> str:
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    for profile in ("release", "debug"):
        path = os.path.join(target, profile, "infoplane")
        if os.path.exists(path):
            return path
    found = shutil.which("infoplane")
    if found is None:
        sys.exit("build the CLI first (cargo build --release -p infoplane-analysis)")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="out/examples/transformer")
    ap.add_argument("--quick", action="store_true", help="the size CI runs")
    a = ap.parse_args()
    steps, count, n_seq, k = (60, 4, 64, 4) if a.quick else (1500, 12, 256, 8)
    os.makedirs(os.path.join(a.out, "checkpoints"), exist_ok=True)
    law = language()
    t0 = time.monotonic()
    files, loss = train(steps, saves_for(steps, count), os.path.join(a.out, "checkpoints"), law)
    bound = next_token_entropy(*law)
    t_train = time.monotonic() - t0
    print(f"trained {steps} steps in {t_train:.1f} s: loss {loss:.3f} nats/token; "
          f"H(next token | hidden state) = {bound:.3f} nats (no model of the tokens alone beats it)")

    tokens, states = sample(n_seq, *law, seed=99)
    x = torch.as_tensor(tokens[:, :-1])
    label_sets = {"next_token": tokens[:, 1:], "hidden_state": states[:, :-1]}
    layers = ["embed", "blocks.0", "blocks.1", "norm"]
    tables = []
    t0 = time.monotonic()
    archive = os.path.join(a.out, "tokens")
    shutil.rmtree(archive, ignore_errors=True)  # the checkpoints were trained again
    # One archive, two label sets of the same tokens: Y is picked by name when estimating.
    infoplane.record_checkpoints(TinyLM, files, archive, analysis=(x, torch.as_tensor(label_sets["next_token"])),
                                 label_name="next_token", label_sets={"hidden_state": label_sets["hidden_state"]},
                                 layers=layers, tokens=f"tokens:{k}", name="tokens", progress=False)
    for name in label_sets:
        tables.append(infoplane.estimate_archive(archive, ["kl", "bd", "renyi", "soft"], sigma2=[0.1],
                                                 renyi_kernel="linear", labels=name,
                                                 out=os.path.join(a.out, f"estimates-{name}.csv")))
    t_est = time.monotonic() - t0
    print(f"recorded {len(files)} checkpoints x {len(layers)} layers x {n_seq * k} tokens for "
          f"{len(label_sets)} label sets and estimated kl, bd, renyi (linear), soft in {t_est:.1f} s")
    table = tables[0].vstack(tables[1].select(tables[0].columns))
    last = table.filter(table["epoch"] == table["epoch"].max())
    print(last.select(["labels", "layer", "epoch_label", "estimator", "i_xz", "i_yz", "ratio"])
          .sort(["labels", "estimator", "layer"]))
    infoplane.report(table, os.path.join(a.out, "report"), archives=[archive])
    print(f"report: {os.path.join(a.out, 'report', 'index.html')}")


if __name__ == "__main__":
    main()
