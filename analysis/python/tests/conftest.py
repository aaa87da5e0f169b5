"""Shared fixtures of the Python package's tests: small models with conv, residual and recurrent
parts, a training loop, and the CLI binary built by cargo (INFOPLANE_CLI, set by scripts/test.sh)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[3]


def cli_path() -> str:
    """The `infoplane` binary: $INFOPLANE_CLI, else the debug build in the cargo target dir."""
    env = os.environ.get("INFOPLANE_CLI")
    if env:
        return env
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "debug" / "infoplane"
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `cargo build -p infoplane-analysis` or set INFOPLANE_CLI")
    return str(path)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True)


class Residual(nn.Module):
    """x + conv(relu(conv(x))): a skip connection."""

    def __init__(self, c: int):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.b(torch.relu(self.a(x)))


class ConvResRnn(nn.Module):
    """1x8x8 images -> conv -> residual block -> rows as a sequence -> GRU -> logits."""

    def __init__(self, classes: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.act = nn.Tanh()
        self.res = Residual(4)
        self.gru = nn.GRU(input_size=32, hidden_size=12, batch_first=True)
        self.head = nn.Linear(12, classes)

    def forward(self, x):
        h = self.res(self.act(self.conv(x)))           # N x 4 x 8 x 8
        seq = h.permute(0, 2, 1, 3).reshape(len(x), 8, 32)  # 8 steps of 4*8 features
        _, hn = self.gru(seq)
        return self.head(hn[-1])


def toy_data(n: int = 96, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = (x[:, 0, :4].mean(dim=(1, 2)) > 0).long() + (x[:, 0, 4:, :4].mean(dim=(1, 2)) > 0.2).long()
    return x, y


def train(model, rec, x, y, *, batch: int = 32, lr: float = 0.05, on_batch=None, step=True):
    """The recording loop every test uses: rec.epochs(), rec.step() after backward."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in rec.epochs():
        total = 0.0
        for i in range(0, len(x), batch):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[i:i + batch]), y[i:i + batch])
            loss.backward()
            if on_batch is not None:
                on_batch(epoch, model)
            if step:
                rec.step()
            opt.step()
            total += loss.item()
        rec.log(epoch, train_loss=total)


@pytest.fixture
def tmp(tmp_path):
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)
