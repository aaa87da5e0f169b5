"""Shared by the PyTorch examples: MNIST from ../shared/datasets (IDX files) or, without it, a
generated stand-in of the same shape, and the `infoplane` CLI binary."""
import gzip
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


def mnist(n: int, part: str = "train"):
    """The first n images of MNIST's `part` (train or t10k) as N x 1 x 28 x 28 floats in [0, 1]
    and their labels; a generated stand-in (bars at ten angles) when the data set is absent."""
    d = Path(os.environ.get("INFOPLANE_DATA", ROOT.parent / "shared" / "datasets")) / "mnist"
    images, labels = d / f"{part}-images-idx3-ubyte.gz", d / f"{part}-labels-idx1-ubyte.gz"
    if images.exists() and labels.exists():
        x = np.frombuffer(gzip.open(images).read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
        y = np.frombuffer(gzip.open(labels).read(), np.uint8, offset=8)[:n]
        return torch.tensor(x / 255.0, dtype=torch.float32), torch.tensor(y, dtype=torch.long), "mnist"
    print(f"note: {d} not found; using generated bar images instead of MNIST", file=sys.stderr)
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (n,), generator=g)
    yy, xx = torch.meshgrid(torch.arange(28.0) - 13.5, torch.arange(28.0) - 13.5, indexing="ij")
    angle = y.float()[:, None, None] * (np.pi / 10)
    dist = (xx * torch.sin(angle) - yy * torch.cos(angle)).abs()
    x = (dist < 2).float() + 0.3 * torch.rand(n, 28, 28, generator=g)
    return x[:, None], y, "bars"


def cli() -> str:
    """The `infoplane` binary: $INFOPLANE_CLI, on PATH, or the release build."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for c in (os.environ.get("INFOPLANE_CLI"), shutil.which("infoplane"),
              target / "release" / "infoplane", target / "debug" / "infoplane"):
        if c and Path(c).exists():
            return str(c)
    sys.exit("the infoplane CLI is not built: run `cargo build --release -p infoplane-analysis`")
