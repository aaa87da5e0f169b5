"""Labels from NumPy, lists or torch as class indices, through the library's one label check
(the CLI's ``import`` uses the same): integers (or floats that are integers) from 0 to 65535,
refused with the first offending sample before anything is sized by them."""
from __future__ import annotations

import numpy as np

from . import _native


def class_indices(labels, what: str = "labels") -> np.ndarray:
    """``labels`` (1-d) as a uint32 array of class indices, or an ``InfoplaneError``."""
    if hasattr(labels, "detach"):  # a torch tensor
        labels = labels.detach().cpu().numpy()
    y = np.asarray(labels)
    if y.ndim != 1:
        raise _native.InfoplaneError(f"{what} must be a 1-d array of class indices (got {y.ndim} dimensions)")
    kind = y.dtype.kind
    if kind in "bi":
        y = y.astype(np.int64)
    elif kind == "u":
        y = y.astype(np.uint64)
    elif kind == "f":
        y = y.astype(np.float32 if y.dtype.itemsize <= 4 else np.float64)
    else:
        raise _native.InfoplaneError(f"{what} must be numbers, got dtype {y.dtype}")
    try:
        return _native.class_indices(np.ascontiguousarray(y))
    except _native.InfoplaneError as e:
        raise _native.InfoplaneError(str(e).replace("labels: ", f"{what}: ", 1)) from None
