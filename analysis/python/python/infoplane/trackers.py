"""Logging estimates to experiment trackers: TensorBoard (``SummaryWriter``), Weights & Biases (a
run; offline mode works) and Trackio (the module after ``trackio.init``, or its run).

One scalar per (layer, estimator, setting, quantity) at step = epoch, named
``{prefix}/{layer}/{estimator}/{setting}/{quantity}`` with quantity ``i_xz`` or ``i_yz`` in the
table's unit; the information plane as an image; the report (``index.html``) as one HTML
artefact where the tracker has one (W&B, Trackio), its path as text in TensorBoard. The
trackers are optional dependencies: nothing is imported until a tracker is given.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import polars as pl

from ._tables import plot


def _kind(tracker) -> str:
    mod, name = type(tracker).__module__, type(tracker).__name__
    if name == "SummaryWriter" or "tensorboard" in mod:
        return "tensorboard"
    if mod.startswith("wandb"):
        return "wandb"
    if mod.startswith("trackio") or getattr(tracker, "__name__", "") == "trackio":
        return "trackio"
    raise TypeError(
        f"unknown tracker {mod}.{name}: give a torch.utils.tensorboard.SummaryWriter, a wandb run, "
        "or trackio (the module, after trackio.init) / a trackio run")


def scalars(table: pl.DataFrame, prefix: str = "infoplane") -> dict[int, dict[str, float]]:
    """{epoch: {name: value}}: the table's I(X;Z) and I(Y;Z) as tracker scalars (NaN left out)."""
    out: dict[int, dict[str, float]] = {}
    for r in table.select("layer", "epoch", "estimator", "setting", "i_xz", "i_yz").iter_rows(named=True):
        for q in ("i_xz", "i_yz"):
            v = r[q]
            if v is not None and not math.isnan(v):
                key = f"{prefix}/{r['layer']}/{r['estimator']}/{r['setting']}/{q}"
                out.setdefault(int(r["epoch"]), {})[key] = float(v)
    return dict(sorted(out.items()))


def log_estimates(tracker, table: pl.DataFrame, *, plane: bool = True,
                  report: str | os.PathLike | None = None, prefix: str = "infoplane") -> dict[int, dict[str, float]]:
    """Logs an estimates table (``estimate_archive``'s) to ``tracker``: the scalars (step =
    epoch), the information plane image when ``plane``, and the report folder's ``index.html``
    when ``report`` names one. Returns the scalars logged."""
    kind = _kind(tracker)
    values = scalars(table, prefix)
    with tempfile.TemporaryDirectory(prefix="infoplane-") as tmp:
        png = plot(table, Path(tmp) / "plane")[0] if plane else None
        page = None if report is None else Path(report) / "index.html"
        if kind == "tensorboard":
            _tensorboard(tracker, values, png, page, prefix)
        elif kind == "wandb":
            _wandb(tracker, values, png, page, prefix)
        else:
            _trackio(tracker, values, png, page, prefix)
    return values


def _png_array(png: Path):
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        return np.asarray(im.convert("RGB"))


def _tensorboard(writer, values, png, page, prefix):
    last = max(values, default=0)
    for epoch, row in values.items():
        for k, v in row.items():
            writer.add_scalar(k, v, global_step=epoch)
    if png is not None:
        writer.add_image(f"{prefix}/plane", _png_array(png), global_step=last, dataformats="HWC")
    if page is not None:
        writer.add_text(f"{prefix}/report", f"report: {page.resolve()}", global_step=last)
    writer.flush()


def _wandb(run, values, png, page, prefix):
    import wandb

    run.define_metric(f"{prefix}/epoch")
    run.define_metric(f"{prefix}/*", step_metric=f"{prefix}/epoch")
    for epoch, row in values.items():
        run.log({**row, f"{prefix}/epoch": epoch})
    extra = {}
    if png is not None:
        extra[f"{prefix}/plane"] = wandb.Image(str(png))
    if page is not None:
        extra[f"{prefix}/report"] = wandb.Html(page.read_text(encoding="utf-8"))
    if extra:
        run.log({**extra, f"{prefix}/epoch": max(values, default=0)})


def _trackio(tracker, values, png, page, prefix):
    import trackio

    log = tracker.log
    for epoch, row in values.items():
        log(row, step=epoch)
    extra = {}
    if png is not None:
        extra[f"{prefix}/plane"] = trackio.Image(str(png))
    if page is not None:
        extra[f"{prefix}/report"] = trackio.Html(str(page))
    if extra:
        log(extra, step=max(values, default=0))
