"""Datasets for examples and tests, made by the Rust library (no download): Tishby's 12-bit
task, the validation case of the information-plane literature."""
from __future__ import annotations

import numpy as np

from . import _native


def tishby(seed: int = 0):
    """Tishby's 12-bit task: all 4096 binary patterns of 12 bits, y = 1 when the power of the
    first circular harmonic exceeds 8.5 (p(y=1) = 0.517). Returns (x, y, train, validation):
    x is 4096 x 12 float32 of 0/1, y int64, and the 80/20 split (row indices) seeded by ``seed``,
    the tch recorder's split."""
    x, y, train, validation = _native.tishby(int(seed))
    return np.asarray(x), np.asarray(y), np.asarray(train, dtype=np.int64), np.asarray(validation, dtype=np.int64)
