"""Estimation from Python: the CLI's ``estimate`` (same parameters, defaults and columns) on
archives, and the same estimators on one representation given as NumPy arrays."""
from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from . import _native
from ._labels import class_indices


def estimator_names() -> list[str]:
    """The estimators the library knows (``kl``, ``bd``, ``mc``, ``bin``, ...)."""
    return list(_native.estimator_names())


def _params(params: dict) -> str:
    """Keyword arguments as the library's parameters (a JSON object): ``sigma2=[0.1, 1]``,
    ``bins=30``, ``renyi_width="median"``; NumPy scalars and arrays become plain values."""
    def plain(v):
        if isinstance(v, np.ndarray):
            return [plain(x) for x in v.tolist()]
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        return v
    return json.dumps({name: plain(value) for name, value in params.items()})


def _frame(parquet: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(parquet))


def _estimators(estimators: str | Iterable[str] | None) -> list[str]:
    if estimators is None:
        return list(_native.DEFAULT_ESTIMATORS)
    if isinstance(estimators, str):
        return [e.strip() for e in estimators.split(",") if e.strip()]
    return list(estimators)


class _Progress:
    """Progress of an estimation: tqdm when installed (notebooks), else one line on stderr."""

    def __init__(self):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self._tqdm = tqdm
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        if self._tqdm is not None:
            if self._bar is None:
                self._bar = self._tqdm(total=total, desc="estimating", unit="unit")
            self._bar.update(done - self._bar.n)
        else:
            print(f"\restimating {done}/{total}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._tqdm is None:
            print(file=sys.stderr)


def estimate(
    z,
    labels,
    estimators: str | Iterable[str] | None = None,
    *,
    classes: int | None = None,
    inputs=None,
    unit: str = "bits",
    **params,
) -> pl.DataFrame:
    """I(X;Z) and I(Y;Z) of one representation ``z`` (N x H) with class ``labels`` (N).

    ``estimators``: names (a list or a comma-separated string); None runs the library's
    default (``infoplane._native.DEFAULT_ESTIMATORS``: kl and bd, one pass).
    ``params`` are the library's estimator parameters by name (the CLI's flags with
    underscores; every name with its default: ``infoplane.default_params()``):
    ``sigma2=[1e-3, 1e-1]``,
    ``bins=30``, ``error="subsample:5"``, ... The table has the CLI's columns; the run is
    ``arrays``, the layer ``z`` at epoch 0. ``inputs`` (N x D) serve the estimators that use X.
    """
    z = np.ascontiguousarray(z, dtype=np.float32)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2:
        raise _native.InfoplaneError(f"z must be N x H (got {z.ndim} dimensions)")
    y = class_indices(labels)
    classes = int(y.max()) + 1 if classes is None and y.size else (classes or 1)
    x = None if inputs is None else np.ascontiguousarray(np.reshape(inputs, (len(inputs), -1)), dtype=np.float32)
    table = _native.estimate_arrays(z, y, classes, _estimators(estimators), _params(params), x, unit)
    return _frame(table)


def estimate_archive(
    archives: str | os.PathLike | Sequence[str | os.PathLike],
    estimators: str | Iterable[str] | None = None,
    *,
    layers: Sequence[str] | None = None,
    epochs: str = "all",
    unit: str = "bits",
    out: str | os.PathLike | None = None,
    progress: bool = True,
    labels: str | None = None,
    **params,
) -> pl.DataFrame:
    """The CLI's ``infoplane estimate ARCHIVES --estimator ...``: one table for all archives,
    the same rows and values (the same Rust code), written to ``out`` too when given.

    ``epochs``: all, last, every:K or a list like 0,5,10..20. ``labels``: the archive's label
    set that Y is, by name (default: its first; the ``labels`` column says which; rows of
    another set than the first say ``labels=NAME`` in their setting). ``params`` as in
    ``estimate``.
    The GIL is released while it runs.
    """
    if isinstance(archives, (str, os.PathLike)):
        archives = [archives]
    dirs = [os.fspath(a) for a in archives]
    bar = _Progress() if progress else None
    try:
        table = _native.estimate_archives(
            dirs, _estimators(estimators), _params(params), None if layers is None else list(layers),
            str(epochs), unit, None if out is None else os.fspath(out), bar, labels,
        )
    finally:
        if bar is not None:
            bar.close()
    return _frame(table)


def default_params() -> dict:
    """Every estimator parameter ``estimate`` and ``estimate_archive`` take, with its default
    (the library's, which the CLI shares)."""
    return json.loads(_native.default_params())
