"""Reading archives: matrices as NumPy arrays, metrics and gradient statistics as polars frames."""
from __future__ import annotations

import json
import os

import numpy as np
import polars as pl

from . import _native


class Archive:
    """An infoplane archive opened for reading (Parquet or HDF5; see ``infoplane.open``)."""

    def __init__(self, path: str | os.PathLike):
        self._a = _native.Archive(os.fspath(path))
        self.manifest: dict = json.loads(self._a.manifest_json)

    def __repr__(self) -> str:
        return (
            f"infoplane.Archive({str(self.path)!r}: {len(self.layer_names)} layers, "
            f"{len(self.epochs)} epochs, {self.n} samples{'' if self.complete else ', incomplete'})"
        )

    def _repr_html_(self) -> str:
        """The archive in a notebook: run, samples, classes, epochs, completeness and a table of
        the layers (name, kind, width, shape, activation)."""
        import html

        e = self.epochs
        act = self.activation_epochs
        run = self.manifest.get("run", {})
        span = lambda v: f"{len(v)} ({v[0]}..{v[-1]})" if v else "none"
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in (
                l["name"], l["kind"], l["width"], "×".join(map(str, l.get("shape") or [])) or "-",
                l.get("activation") or "-")) + "</tr>"
            for l in self.layers)
        state = ("complete" if self.complete else
                 "<b style=\"color:#b00\">incomplete</b> (the committed epochs are readable)")
        return (
            f"<div><b>infoplane archive</b> <code>{html.escape(self.path)}</code>: run "
            f"<b>{html.escape(str(run.get('name', '')))}</b> ({html.escape(str(run.get('model', '')))} on "
            f"{html.escape(str(run.get('dataset', '')))}), {self.n} samples, {len(self.classes)} classes, "
            f"epochs {span(e)}, activations at {span(act)}, {state}"
            "<table><tr><th>layer</th><th>kind</th><th>width</th><th>shape</th><th>activation</th></tr>"
            f"{rows}</table></div>")

    @property
    def path(self) -> str:
        return str(self._a.path)

    @property
    def complete(self) -> bool:
        """Whether the recording was closed cleanly (finished, or stopped early on purpose)."""
        return self._a.complete

    @property
    def layers(self) -> list[dict]:
        """The tracked layers in network order: name, kind, width, shape, activation."""
        return self.manifest["layers"]

    @property
    def layer_names(self) -> list[str]:
        return [layer["name"] for layer in self.layers]

    @property
    def classes(self) -> list[str]:
        return self.manifest["analysis_set"]["classes"]

    @property
    def n(self) -> int:
        """Number of samples in the analysis set."""
        return self.manifest["analysis_set"]["n"]

    @property
    def epochs(self) -> list[int]:
        """The committed epochs."""
        return list(self._a.epochs)

    @property
    def activation_epochs(self) -> list[int]:
        """The committed epochs with activations."""
        return list(self._a.activation_epochs)

    def read(self, layer: str, epoch: int) -> np.ndarray:
        """The N x H float32 activations of ``layer`` at ``epoch``, bit for bit as stored."""
        return self._a.read(layer, epoch)

    def labels(self, name: str | None = None) -> np.ndarray:
        """The class index of each sample in the label set ``name`` (default: the first)."""
        return self._a.labels(name)

    @property
    def label_sets(self) -> dict[str, int]:
        """Every label set's name and number of classes, the first first."""
        return dict(self._a.label_sets())

    def sample_ids(self) -> np.ndarray:
        return self._a.sample_ids()

    def inputs(self) -> np.ndarray | None:
        """The inputs X (N x D, float32), or None when the archive stores none."""
        return self._a.inputs()

    def metrics(self) -> pl.DataFrame:
        """One row per committed epoch: epoch, train_loss, train_accuracy, validation_loss,
        validation_accuracy, wall_time_s (null where not measured)."""
        names = _native.Archive.metric_names()
        rows = self._a.metrics()
        data = {"epoch": pl.Series("epoch", [e for e, _ in rows], dtype=pl.UInt32)}
        for k, name in enumerate(names):
            data[name] = pl.Series(name, [v[k] for _, v in rows], dtype=pl.Float64)
        return pl.DataFrame(data)

    def gradients(self, epochs: list[int] | None = None) -> pl.DataFrame:
        """Gradient statistics, one row per (epoch, parameter): n_batches and the elementwise
        mean, std (population, over the epoch's batches) and end-of-epoch value as lists."""
        params = self.manifest["parameters"]
        rows = {k: [] for k in ("epoch", "parameter", "layer", "n_batches", "mean", "std", "value")}
        for epoch in self.epochs if epochs is None else epochs:
            for p, (n, mean, std, value) in zip(params, self._a.gradients(epoch)):
                for k, v in zip(rows, (epoch, p["name"], p.get("layer"), n, mean, std, value)):
                    rows[k].append(v)
        f32 = pl.List(pl.Float32)
        schema = {"epoch": pl.UInt32, "parameter": pl.String, "layer": pl.String,
                  "n_batches": pl.UInt32, "mean": f32, "std": f32, "value": f32}
        return pl.DataFrame(rows, schema=schema)

    def batch_gradients(self, epoch: int, parameter: str) -> np.ndarray:
        """Every batch gradient of ``parameter`` at ``epoch`` (n_batches x size)."""
        return self._a.batch_gradients(epoch, parameter)


def open(path: str | os.PathLike) -> Archive:  # noqa: A001 - the natural name
    """Opens the archive in ``path``; an ``InfoplaneError`` names the file and the problem."""
    return Archive(path)
