"""The hook recorder: any ``torch.nn.Module``'s named submodules streamed into an infoplane
archive, epoch by epoch, through the library's crash-safe writer.

At each epoch of the schedule the fixed analysis set runs through the model in eval mode under
``no_grad`` with forward hooks on the tracked modules; their outputs (flattened per sample,
copied to the host) are committed with the epoch's metrics and gradient statistics, and
nothing of the epoch stays in memory. Epoch 0 is before training. Gradient statistics are a
Welford mean and population std per parameter element over the epoch's batches, kept in float64
on the training device (the tch recorder's convention).
"""
from __future__ import annotations

import io
import json
import os
import platform
import time
from collections.abc import Iterable, Iterator

import numpy as np

from . import _native
from ._labels import class_indices

#: Metric aliases accepted by ``Recorder.log``.
METRIC_ALIASES = {
    "loss": "train_loss", "train_acc": "train_accuracy", "accuracy": "train_accuracy",
    "acc": "train_accuracy", "val_loss": "validation_loss", "val_acc": "validation_accuracy",
    "val_accuracy": "validation_accuracy", "validation_acc": "validation_accuracy",
}


def schedule(record_epochs: str, epochs: int) -> list[int]:
    """The epochs 0..epochs that record activations under ``all``, ``log:K``, ``every:K`` or
    ``none`` (the tch recorder's ``--record-epochs``)."""
    return list(_native.schedule(record_epochs, int(epochs)))


def _torch():
    import torch

    return torch


def _default_types():
    nn = _torch().nn
    return (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase)


def _activation_types():
    nn = _torch().nn
    return (nn.Tanh, nn.ReLU, nn.Sigmoid, nn.GELU, nn.ELU, nn.LeakyReLU, nn.SiLU, nn.Softplus,
            nn.Softmax, nn.LogSoftmax, nn.Hardtanh, nn.ReLU6, nn.Mish)


def _between_types():
    """Modules that may sit between a layer and its activation (Linear -> BatchNorm -> ReLU)."""
    nn = _torch().nn
    return (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.BatchNorm1d,
            nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm, nn.Identity)


def _kind_of(module) -> str | None:
    """The layer kind of a module by its type, None when the type says nothing."""
    nn = _torch().nn
    name = type(module).__name__
    if type(module).__module__.startswith("torch_geometric") or "GCN" in name or "GraphConv" in name:
        return "graph"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return "conv"
    if isinstance(module, nn.RNNBase):
        return "recurrent"
    return None


def _flat_output(module, out, tokens=None, start: int = 0):
    """A module's output as (batch x features tensor, per-sample shape or None): recurrent
    layers give their last hidden state, tuples their first element; with ``tokens`` a
    B x T x H output is reduced to samples first (``_tokens.Tokens``)."""
    nn = _torch().nn
    if isinstance(module, nn.RNNBase) and isinstance(out, tuple):
        h = out[1][0] if isinstance(out[1], tuple) else out[1]  # LSTM: (h_n, c_n)
        out = h[-1]
    elif isinstance(out, (tuple, list)):
        out = out[0]
    if tokens is not None and out.dim() == 3:
        return tokens.reduce(out, start), None
    shape = list(out.shape[1:]) if out.dim() > 2 else None
    return out.reshape(out.shape[0], -1), shape


class _Repeated(Exception):
    """Tracked modules that ran more than once per forward pass of the analysis set."""

    def __init__(self, calls: dict, forwards: int):
        self.calls = calls
        names = ", ".join(f"{n!r} ({c} calls in {forwards} forward passes)" for n, c in calls.items())
        super().__init__(
            f"tracked module {names} runs more than once per forward pass (one module used at "
            "several places): its outputs cannot be told apart; track other modules (layers=[...])")


class _Gradients:
    """Elementwise Welford mean and M2 of every tracked parameter's batch gradients, in float32
    on the parameters' device, updated in place (four passes, no allocation): after a batch
    (``push_all``, from ``step()``) or per parameter (``push``, from its hook with
    ``auto_step``): d = g - mean; mean += d / n; M2 += d (g - mean)."""

    def __init__(self, params, keep: int | None):
        torch = _torch()
        self.params = [p for _, p in params]
        self.n = [0] * len(self.params)
        self.mean = [torch.zeros_like(p, dtype=torch.float32) for p in self.params]
        self.m2 = [torch.zeros_like(p, dtype=torch.float32) for p in self.params]
        self.keep = keep
        self.batches: list[list[np.ndarray]] = [[] for _ in self.params]
        # Scratch for d and g - mean: no allocation per batch (an allocation of a large
        # gradient's size costs more than the arithmetic).
        self.d = [torch.empty_like(m) for m in self.mean]
        self.e = [torch.empty_like(m) for m in self.mean]

    def _count(self, i: int, grad):
        torch = _torch()
        self.n[i] += 1
        if self.keep is not None:
            if self.n[i] > self.keep:
                raise _native.InfoplaneError(
                    f"more than batch_gradients={self.keep} batches in one epoch")
            g32 = torch.zeros_like(self.params[i]) if grad is None else grad.detach()
            self.batches[i].append(g32.to("cpu", torch.float32).reshape(-1).numpy().copy())
        if grad is None:
            return torch.zeros_like(self.mean[i])
        return grad.detach().to(torch.float32)

    def push(self, i: int, grad) -> None:
        torch = _torch()
        g = self._count(i, grad)
        d, e, mean = self.d[i], self.e[i], self.mean[i]
        torch.sub(g, mean, out=d)
        mean.add_(d, alpha=1.0 / self.n[i])
        torch.sub(g, mean, out=e)
        self.m2[i].addcmul_(d, e)

    def push_all(self) -> None:
        for i, p in enumerate(self.params):
            self.push(i, p.grad)

    def finish(self):
        """Per parameter: (n_batches, mean, std, value) as float32 host arrays, and the batch
        matrix; resets."""
        torch = _torch()
        host = lambda t: t.detach().to("cpu", torch.float32, copy=True).reshape(-1).numpy()
        out = []
        for i, p in enumerate(self.params):
            size, n = p.numel(), self.n[i]
            if n == 0:
                mean = std = np.full(size, np.nan, dtype=np.float32)
            else:
                mean, std = host(self.mean[i]), host((self.m2[i] / n).sqrt())
            rows = self.batches[i]
            batches = np.stack(rows) if rows else np.zeros((n, size), np.float32)
            out.append(((n, mean, std, host(p)), batches))
            self.n[i] = 0
            self.mean[i].zero_()
            self.m2[i].zero_()
            self.batches[i] = []
        return out


class Recorder:
    """Records ``model`` into the archive ``out`` (see the module's docstring).

    Parameters
    ----------
    analysis : a tensor X (with ``labels``), or an iterable of (x, y) batches in a fixed order
        (a DataLoader without shuffling): the samples whose representations are recorded.
    epochs : the number of training epochs E; epochs 0..E are planned.
    record_epochs : which epochs record activations: ``all``, ``log:K``, ``every:K``, ``none``.
    layers : names of the submodules to track (``model.named_modules()``), each recorded as
        its own output; by default every module of ``types`` (Linear, Conv, RNN/GRU/LSTM),
        recorded after its activation (``post_activation``).
    post_activation : with the default layers, record a layer's activation module's output
        (the ``nn.ReLU``/``nn.Tanh``/... registered right after it, past dropout and
        normalisation) under the layer's name: what information-plane papers plot. A layer
        whose activation is a function call (``F.relu``) or a module shared by several layers
        is recorded before it. False: every layer's own output.
    kinds : {name: kind} overriding the inferred kinds (linear, conv, recurrent, graph, output).
    activations : {name: function} for the manifest, where the module applies one itself
        (inferred for activation modules: ``tanh`` for ``nn.Tanh``).
    gradients : True (every trainable parameter), False, or a list of parameter names.
    auto_step : collect gradient statistics with parameter hooks after every backward, instead
        of calling ``step()``.
    batch_gradients : also store every batch gradient, for at most this many batches an epoch.
    format : ``parquet`` or ``hdf5``. overwrite: replace an existing archive at ``out``.
    resume : go on with the archive already at ``out`` (a recording that was killed,
        interrupted or stopped early) from its next epoch (``next_epoch``; ``epochs()`` starts
        there); the recording must be the same (layers, parameters, plan, analysis set).
    name : the run's name in tables, plots and the report (default: the folder's name).
    progress : a progress bar over ``epochs()`` (tqdm, when installed; notebooks included).
    tokens : for sequence models, how an N x T x H output becomes samples: ``mean``, ``last``,
        ``first`` (one sample per sequence) or ``tokens:K`` (K positions per sequence drawn with
        ``token_seed``, each a sample; labels may then be per token, N x T). Written into the
        run's hyperparameters (``tokens``). See ``infoplane._tokens``.
    label_name, label_sets : the name of ``labels`` (default ``class``) and further named label
        vectors of the same samples, {name: labels} (N, in the analysis set's order, or N x T
        per token with ``tokens:K``): one archive holds them all and ``estimate_archive(...,
        labels=NAME)`` picks one.
    epoch_labels : {epoch: label} kept in the manifest and in tables' ``epoch_label`` (what an
        epoch is when it is not a training epoch, e.g. a checkpoint's step).
    stream : ``"soft"``: estimate the soft-binning information plane while the analysis set
        runs, batch by batch, without storing activations (use ``record_epochs="none"`` for a
        model too large to archive); every epoch's rows are written to ``stream_out`` (default
        ``<out>-soft.csv``) and the table is ``recorder.streamed``. ``stream_params``: the
        estimator's parameters by name (``soft_bins``, ``soft_spread``, ``seed``).
    """

    def __init__(self, model, out, *, analysis, labels=None, epochs: int,
                 record_epochs: str = "log:30", layers: Iterable[str] | None = None,
                 types: tuple | None = None, post_activation: bool = True,
                 kinds: dict | None = None,
                 activations: dict | None = None,
                 classes: list[str] | None = None, gradients=True, auto_step: bool = False,
                 batch_gradients: int | None = None, store_inputs: bool = True,
                 format: str = "parquet", overwrite: bool = False, resume: bool = False,
                 batch_size: int = 1024,
                 name: str = "", progress: bool = True, model_name: str | None = None,
                 dataset: str = "unknown",
                 seed: int | None = None, hyperparameters: dict | None = None, notes: str = "",
                 analysis_description: str = "analysis set", tokens: str | None = None,
                 token_seed: int = 0, epoch_labels: dict | None = None,
                 label_name: str | None = None, label_sets: dict | None = None,
                 stream: str | None = None, stream_params: dict | None = None,
                 stream_out: str | os.PathLike | None = None):
        from ._tokens import Tokens

        if stream not in (None, "soft"):
            raise _native.InfoplaneError(f"stream={stream!r}: only the soft estimator streams (stream='soft')")
        self.model = model
        self._stream, self._batch_labels, self.streamed = None, None, None
        self._tokens = Tokens(tokens, token_seed) if tokens is not None else None
        self._label_sets = {str(k): v for k, v in (label_sets or {}).items()}
        self._extra = {}
        if self._tokens is not None and self._tokens.k is not None:
            store_inputs = False  # a token's sample is not its sequence: no X per sample
        hyperparameters = dict(hyperparameters or {})
        if tokens is not None:
            hyperparameters["tokens"] = str(tokens)
        self.out = os.fspath(out)
        self.total_epochs = int(epochs)
        self._progress, self._last_loss = progress, None
        self._batches = _analysis_batches(analysis, labels, batch_size, self._tokens is not None)
        self._tracked = _tracked_modules(model, layers, types or _default_types(), post_activation)
        self._pending_metrics: dict[int, dict[str, float]] = {}
        self._start = time.monotonic()
        self._writer = None
        self._params = _parameters(model, gradients)
        self._stats = _Gradients(self._params, batch_gradients)
        self._hooks = []
        try:
            first, y, x, kinds_seen = self._first_pass()
        except _Repeated as e:
            if layers is not None or not post_activation:
                raise _native.InfoplaneError(str(e)) from None
            # An activation module that runs more than once per forward (one nn.ReLU used after
            # every layer) cannot say which layer's output it is: those layers are recorded
            # before their activation.
            modules = dict(model.named_modules())
            self._tracked = [(n, modules[n] if n in e.calls else m) for n, m in self._tracked]
            try:
                first, y, x, kinds_seen = self._first_pass()
            except _Repeated as again:
                raise _native.InfoplaneError(str(again)) from None
        self._buffers = {n: _torch().empty(a.shape, dtype=_torch().float32) for n, a in first.items()}
        # The one label check, before anything (the class names) is sized by the labels.
        y_np = class_indices(y, f"{self.out}: the analysis set's labels")
        self._labels = y_np
        n_classes = int(y_np.max()) + 1 if y_np.size else 1
        classes = [str(c) for c in (classes or range(n_classes))]
        extra = {k: class_indices(v, f"{self.out}: label set {k!r}") for k, v in self._extra.items()}
        for k, v in extra.items():
            if len(v) != len(y_np):
                raise _native.InfoplaneError(
                    f"{self.out}: label set {k!r} has {len(v)} labels for {len(y_np)} samples")
        sources = _sources(model)
        layer_infos = _layer_infos(model, sources, self._tracked, first, kinds_seen, kinds or {},
                                   activations or {})
        spec = {
            "run": {"name": name, "model": model_name or type(model).__name__, "dataset": dataset,
                    "seed": seed, "hyperparameters": hyperparameters or {},
                    "tool_versions": {"torch": _torch().__version__, "python": platform.python_version(),
                                      "recorder": "infoplane.Recorder (PyTorch hooks)"},
                    "notes": notes,
                    "epoch_labels": {str(int(k)): str(v) for k, v in (epoch_labels or {}).items()}},
            "classes": classes,
            "label_name": label_name,
            "label_sets": [{"name": k, "classes": int(v.max()) + 1 if v.size else 1} for k, v in extra.items()],
            "input_shape": list(x.shape[1:]) if store_inputs and x is not None else None,
            "analysis_description": analysis_description,
            "layers": layer_infos,
            "parameters": [{"name": n, "shape": list(p.shape), "layer": _owner(n, sources, self._tracked)}
                           for n, p in self._params],
            "batch_gradients": batch_gradients,
            "epochs": self.total_epochs,
            "record_epochs": record_epochs,
        }
        inputs = None
        if store_inputs and x is not None:
            inputs = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)
        self._writer = _native.Writer(self.out, json.dumps(spec), y_np, inputs,
                                      None, format, overwrite, resume, list(extra.values()))
        if stream is not None:
            labels = [np.asarray(v, dtype=np.uint32) for v in [y_np, *extra.values()]]
            self._stream = _native.SoftStream(self._writer.manifest_json, labels, json.dumps(stream_params or {}))
            self._stream_out = os.fspath(stream_out) if stream_out is not None else self.out.rstrip("/") + "-soft.csv"
        self._auto = [p.register_post_accumulate_grad_hook(self._hook(i))
                      for i, (_, p) in enumerate(self._params)] if auto_step else []

    # -- the analysis pass ------------------------------------------------------------------

    def _run_analysis(self, keep_data: bool, record: bool = True):
        """The analysis set through the model (eval, no_grad) with hooks on the tracked
        modules: ({layer: N x H float32}, labels, inputs, {layer: output kind hint})."""
        torch = _torch()
        outputs = {name: [] for name, _ in self._tracked}
        shapes, is_output = {}, {}
        last = {}
        # After the first pass every layer's N x H is known: each pass writes into the same
        # host buffers (the writer copies them on hand-over), no allocation per batch or epoch.
        buffers = None if keep_data else self._buffers
        filled = {name: 0 for name in outputs}

        self._calls = {name: 0 for name, _ in self._tracked}
        self._forwards = 0

        def hook(name, module):
            def f(_m, _inp, out):
                self._calls[name] += 1
                flat, shape = _flat_output(module, out, self._tokens, self._at)
                last[name] = out if isinstance(out, torch.Tensor) else None
                shapes[name] = shape
                # A copy now: an in-place op after the module (ReLU(inplace=True), h += x)
                # would otherwise rewrite what was recorded.
                if buffers is None:
                    outputs[name].append(flat.detach().to("cpu", torch.float32, copy=True))
                else:
                    if self._stream is not None:
                        host = flat.detach().to("cpu", torch.float32).numpy()
                        self._stream.add(name, np.ascontiguousarray(host), self._batch_labels)
                    if record:
                        self._into_buffer(name, flat, filled)
            return f

        handles = [m.register_forward_hook(hook(name, m)) for name, m in self._tracked]
        was_training = self.model.training
        ys, xs = [], []
        # Further label sets: gathered at the first pass (stored once) and, when streaming, at
        # every pass (the stream's sums are per label set).
        extra = {k: [] for k in self._label_sets} if keep_data or self._stream is not None else {}
        try:
            self.model.eval()
            device = _device(self.model)
            with torch.no_grad():
                self._at = 0
                for xb, yb in self._batches():
                    length = xb.shape[1] if xb.dim() > 1 else 1
                    for y_b, into in [(yb, ys)] + [(self._label_sets[k][self._at:self._at + len(xb)], v)
                                                   for k, v in extra.items()]:
                        y_b = y_b if isinstance(y_b, torch.Tensor) else torch.as_tensor(np.asarray(y_b))
                        if self._tokens is None:
                            into.append(y_b.reshape(-1).cpu())
                        else:
                            into.append(self._tokens.labels(y_b, self._at, length).cpu())
                    if self._stream is not None:
                        self._batch_labels = [class_indices(v[-1].numpy(), self.out).astype(np.uint32)
                                              for v in [ys, *extra.values()]]
                    result = self.model(xb.to(device))
                    self._forwards += 1
                    for name in outputs:
                        is_output[name] = is_output.get(name, True) and last.get(name) is result
                    self._at += len(xb)
                    if keep_data:
                        xs.append(xb.detach().to("cpu", torch.float32))
        finally:
            for h in handles:
                h.remove()
            self.model.train(was_training)
        repeated = {n: c for n, c in self._calls.items() if c > self._forwards}
        if repeated:
            raise _Repeated(repeated, self._forwards)
        if buffers is None:
            acts = {name: torch.cat(v).numpy() if v else np.zeros((0, 0), np.float32)
                    for name, v in outputs.items()}
        else:
            short = [n for n, k in filled.items() if record and k != len(buffers[n])]
            if short:
                raise _native.InfoplaneError(
                    f"{self.out}: layer {short[0]!r} gave {filled[short[0]]} samples in this analysis "
                    f"pass, {len(buffers[short[0]])} in the first")
            acts = {name: buffers[name].numpy() for name in outputs}
        y = torch.cat(ys).numpy() if ys else np.zeros(0, np.int64)
        if keep_data:
            self._extra = {k: torch.cat(v).numpy() if v else np.zeros(0, np.int64) for k, v in extra.items()}
        x = torch.cat(xs).numpy() if keep_data else None
        if not keep_data:
            self._check_same_order(y)
        return acts, y, x, {n: (shapes.get(n), is_output.get(n, False)) for n in outputs}

    def _into_buffer(self, name: str, flat, filled: dict) -> None:
        buf, at = self._buffers[name], filled[name]
        if at + len(flat) > len(buf) or flat.shape[1] != buf.shape[1]:
            raise _native.InfoplaneError(
                f"{self.out}: layer {name!r} gave more samples or another width ({flat.shape[1]}) in "
                f"this analysis pass than in the first ({len(buf)} x {buf.shape[1]})")
        buf[at:at + len(flat)].copy_(flat.detach())
        filled[name] = at + len(flat)

    def _check_same_order(self, y) -> None:
        """Every pass must see the samples of the first, in the same order: rows of different
        epochs (and their labels) would otherwise belong to different samples."""
        first = self._labels
        same = len(y) == len(first) and np.array_equal(np.asarray(y).astype(np.int64), first.astype(np.int64))
        if not same:
            where = next((i for i, (a, b) in enumerate(zip(y, first)) if int(a) != int(b)), min(len(y), len(first)))
            raise _native.InfoplaneError(
                f"{self.out}: the analysis set came in another order (or size) than at the first pass "
                f"(labels differ from sample {where} on; {len(y)} samples now, {len(first)} then): "
                "give a DataLoader that does not shuffle, or a tensor")

    def _first_pass(self):
        """One analysis pass before anything is written: widths, shapes, kinds, labels, X."""
        return self._run_analysis(keep_data=True)

    # -- gradient statistics ----------------------------------------------------------------

    def _hook(self, i):
        def f(param):
            self._stats.push(i, param.grad)
        return f

    def step(self) -> None:
        """Adds the current ``.grad`` of every tracked parameter as one batch (call it after
        ``loss.backward()``, before ``optimizer.step()`` and ``zero_grad``)."""
        if self._auto:
            raise _native.InfoplaneError(f"{self.out}: step() with auto_step=True would count batches twice")
        self._stats.push_all()

    # -- epochs -----------------------------------------------------------------------------

    def log(self, epoch: int, **metrics: float) -> None:
        """Metrics of ``epoch`` (train_loss, train_accuracy, validation_loss,
        validation_accuracy; aliases like val_acc), committed with the epoch."""
        nxt = self._writer.next_epoch if self._writer is not None else None
        if nxt is None or epoch < nxt[0]:
            raise _native.InfoplaneError(f"{self.out}: epoch {epoch} is already committed or was not planned")
        store = self._pending_metrics.setdefault(int(epoch), {})
        for k, v in metrics.items():
            store[METRIC_ALIASES.get(k, k)] = float(v)

    def end_epoch(self, epoch: int) -> None:
        """Commits ``epoch``: activations when the schedule says, gradient statistics, metrics."""
        w = self._open()
        nxt = w.next_epoch
        if nxt is None or nxt[0] != epoch:
            expected = "none (every planned epoch is committed)" if nxt is None else nxt[0]
            raise _native.InfoplaneError(f"{self.out}: epoch {epoch} ended out of order: the next planned epoch is {expected}")
        acts = []
        if nxt[1] or self._stream is not None:
            acts = list(self._run_analysis(keep_data=False, record=nxt[1])[0].values())
            acts = acts if nxt[1] else []
        if self._stream is not None:
            import polars as pl

            table = self._stream.end_epoch(epoch, self._stream_out)
            self.streamed = pl.read_parquet(io.BytesIO(table))
        grads, batches = [], []
        for g, b in self._stats.finish():
            grads.append(g)
            batches.append(b)
        metrics = self._pending_metrics.pop(epoch, {})
        self._last_loss = metrics.get("train_loss", self._last_loss)
        metrics.setdefault("wall_time_s", time.monotonic() - self._start)
        w.commit(epoch, metrics, acts, grads, batches if self._stats.keep is not None else [])

    def epochs(self) -> Iterator[int]:
        """Commits epoch 0, then yields 1..E, committing each after the loop body; the archive
        is finished when the loop ends (``break`` leaves it open until ``close``). With
        ``progress`` a bar (tqdm, when installed) shows the epochs and the last logged loss."""
        start = self.next_epoch
        if start == 0:
            self.end_epoch(0)
            start = 1
        bar = self._progress_bar()
        try:
            for epoch in range(start or self.total_epochs + 1, self.total_epochs + 1):
                yield epoch
                self.end_epoch(epoch)
                if bar is not None:
                    bar.update(1)
                    loss = self._last_loss
                    if loss is not None:
                        bar.set_postfix(train_loss=f"{loss:.4g}", refresh=False)
        finally:
            if bar is not None:
                bar.close()
        self.close()

    @property
    def next_epoch(self) -> int | None:
        """The next epoch to commit (0 for a new archive, later when ``resume`` found one),
        None when every planned epoch is committed."""
        nxt = self._open().next_epoch
        return None if nxt is None else nxt[0]

    def _progress_bar(self):
        if not self._progress:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(total=self.total_epochs, desc=f"recording {os.path.basename(self.out)}",
                    unit="epoch")

    def close(self, complete: bool = True) -> str:
        """Finishes the archive (complete, with the epochs committed so far), or with
        ``complete=False`` leaves it incomplete; the committed epochs stay readable."""
        for h in self._auto:
            h.remove()
        self._auto = []
        if self._writer is None:
            return self.out
        w, self._writer = self._writer, None
        if complete and w.handed_over > 0:
            return str(w.finish())
        w.close()
        return self.out

    def _open(self):
        if self._writer is None:
            raise _native.InfoplaneError(f"{self.out}: the recorder is closed")
        return self._writer

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, kind, value, tb) -> bool:
        # Ctrl-C: a clean, complete archive of the committed epochs (stopped early). Any other
        # exception: the committed epochs stay readable, the archive is marked incomplete.
        self.close(complete=kind is None or issubclass(kind, KeyboardInterrupt))
        return False


def _device(model):
    for p in model.parameters():
        return p.device
    return _torch().device("cpu")


def _analysis_batches(analysis, labels, batch_size: int, per_token: bool = False):
    """A function yielding the analysis set's (x, y) batches in the same order every time;
    ``per_token``: labels may be N x T (one per token)."""
    torch = _torch()
    if isinstance(analysis, tuple) and len(analysis) == 2 and labels is None:
        analysis, labels = analysis
    if isinstance(analysis, (torch.Tensor, np.ndarray)):
        x = torch.as_tensor(analysis)
        if labels is None:
            raise _native.InfoplaneError("analysis is a tensor: give its labels (labels=...)")
        y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
        y = y if per_token and y.dim() == 2 else y.reshape(-1)
        if len(y) != len(x):
            raise _native.InfoplaneError(f"{len(y)} labels for {len(x)} analysis samples")
        return lambda: ((x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size))
    if labels is not None:
        raise _native.InfoplaneError("labels= is only for a tensor analysis set; the batches carry theirs")
    sampler = getattr(analysis, "sampler", None)
    if sampler is not None and type(sampler).__name__ in ("RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler"):
        raise _native.InfoplaneError(
            f"analysis: the DataLoader shuffles ({type(sampler).__name__}), so every epoch would record "
            "the samples in another order and rows would not match labels; use shuffle=False for the "
            "analysis set (training may shuffle)")
    return lambda: iter(analysis)


def _sources(model) -> dict:
    """For every module, the module whose type gives its kind: itself, or for an activation
    module the last module with parameters of its own before it (``fc1`` for the Tanh after it)."""
    out, last = {}, None
    for n, m in model.named_modules():
        if isinstance(m, _activation_types()):
            out[n] = last
        else:
            out[n] = n
            if any(True for _ in m.parameters(recurse=False)):
                last = n
    return out


def _tracked_modules(model, layers, types, post_activation: bool = True):
    """(layer name, module whose output is recorded). By default every module of ``types``,
    recorded after its activation: when the next module registered after it (past dropout and
    normalisation modules) is an activation module (``nn.ReLU``, ``nn.Tanh``, ...), that one's
    output is recorded under the layer's name, as information-plane papers plot it."""
    modules = dict(model.named_modules())
    if layers is None:
        tracked = [(n, m) for n, m in modules.items() if n and isinstance(m, types)]
        if post_activation:
            tracked = [(n, _activation_after(model, n) or m) for n, m in tracked]
    else:
        layers = list(layers)
        unknown = [n for n in layers if n not in modules or not n]
        if unknown:
            raise _native.InfoplaneError(
                f"no submodule named {', '.join(map(repr, unknown))} (submodules: "
                f"{', '.join(n for n in modules if n)})")
        tracked = [(n, modules[n]) for n in layers]
    if not tracked:
        raise _native.InfoplaneError("no module to track: name them with layers=[...]")
    return tracked


def _activation_after(model, name):
    """The activation module registered right after ``name`` (past its children, dropout and
    normalisation modules), or None."""
    items = [(n, m) for n, m in model.named_modules() if n]
    at = next(i for i, (n, _) in enumerate(items) if n == name)
    for n, m in items[at + 1:]:
        if n.startswith(name + "."):
            continue
        if isinstance(m, _activation_types()):
            return m
        if not isinstance(m, _between_types()):
            return None
    return None


def _layer_infos(model, sources, tracked, first, hints, kinds, activations):
    """Manifest entries: kinds inferred from the module type (activation modules take the kind
    of the parametric module before them), the model's output module is ``output``."""
    infos, modules = [], dict(model.named_modules())
    for name, m in tracked:
        shape, is_output = hints[name]
        source = sources.get(name)
        kind = _kind_of(modules[source]) if source is not None else None
        activation = type(m).__name__.lower() if isinstance(m, _activation_types()) else None
        if is_output:
            kind = "output"
        infos.append({"name": name, "kind": kinds.get(name, kind or "unknown"),
                      "width": int(first[name].shape[1]), "shape": shape,
                      "activation": activations.get(name, activation)})
    return infos


def _parameters(model, gradients):
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if gradients is True:
        return params
    if not gradients:
        return []
    wanted = list(gradients)
    known = dict(params)
    missing = [n for n in wanted if n not in known]
    if missing:
        raise _native.InfoplaneError(f"no trainable parameter named {', '.join(map(repr, missing))}")
    return [(n, known[n]) for n in wanted]


def _owner(param: str, sources: dict, tracked) -> str | None:
    """The tracked layer a parameter belongs to: the one whose module (or, for an activation
    module, the parametric module before it) has the longest name that prefixes it."""
    best = None
    for name, _ in tracked:
        src = sources.get(name)
        if src is not None and param.startswith(src + ".") and (best is None or len(src) > len(best[1])):
            best = (name, src)
    return None if best is None else best[0]
