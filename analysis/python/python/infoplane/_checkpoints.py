"""A series of checkpoints recorded as the epochs of one archive: checkpoint i is epoch i, its
label (a file's stem, a directory's name, a revision) kept in the manifest's ``epoch_labels``
and in tables' ``epoch_label``. A re-run after a crash or an interruption goes on with the
checkpoints not yet committed.
"""
from __future__ import annotations

import json
import os

from . import _native
from ._recorder import Recorder


def _torch():
    import torch

    return torch


def label_of(checkpoint, i: int) -> str:
    """A checkpoint's label: a file's stem, a directory's name, a revision's name, or
    ``checkpoint-i`` for a state dict in memory."""
    if isinstance(checkpoint, (str, os.PathLike)):
        path = os.fspath(checkpoint).rstrip("/")
        base = os.path.basename(path)
        return os.path.splitext(base)[0] if os.path.isfile(path) else base
    return f"checkpoint-{i}"


def load(build_model, checkpoint, model_id: str | None = None):
    """The model of one checkpoint: a state dict (in memory, or a file saved with
    ``torch.save``) loaded into ``build_model()``; a directory loaded with
    ``build_model.from_pretrained(dir)`` (or ``build_model(dir)``); a Hugging Face revision
    name with ``build_model.from_pretrained(model_id, revision=name)``."""
    torch = _torch()
    if isinstance(checkpoint, dict):
        model = build_model()
        model.load_state_dict(checkpoint)
        return model
    path = os.fspath(checkpoint)
    if os.path.isfile(path):
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]  # a Lightning checkpoint
        model = build_model()
        model.load_state_dict(state)
        return model
    pretrained = getattr(build_model, "from_pretrained", None)
    if os.path.isdir(path):
        return pretrained(path) if pretrained else build_model(path)
    if model_id is not None and pretrained is not None:
        return pretrained(model_id, revision=path)
    raise _native.InfoplaneError(
        f"checkpoint {path!r}: no such file or directory (a revision name needs model_id= and a "
        "build_model with from_pretrained)")


def _committed(out: str) -> tuple[dict, bool] | None:
    """The labels of an archive already at ``out`` and whether it holds every planned epoch."""
    manifest = os.path.join(out, "manifest.json")
    if not os.path.exists(manifest):
        return None
    with open(manifest, encoding="utf-8") as f:
        m = json.load(f)
    every = bool(m.get("complete")) and m.get("committed_epochs") == len(m.get("epochs", []))
    return m.get("run", {}).get("epoch_labels", {}), every


def record_checkpoints(build_model, checkpoints, out, *, analysis, labels=None, layers=None,
                       tokens: str | None = None, hidden_states: bool = False,
                       model_id: str | None = None, checkpoint_labels=None, name: str = "",
                       progress: bool = True, **recorder) -> str:
    """Records every checkpoint of ``checkpoints`` into the archive ``out`` (epoch i = the
    i-th checkpoint) and returns its path.

    checkpoints : state dicts, ``torch.save`` files, ``from_pretrained`` directories, or
        Hugging Face revision names (with ``model_id``), in training order (see ``load``).
    build_model : a function returning a fresh model (state dicts and files), or a class with
        ``from_pretrained`` (directories, revisions).
    tokens, hidden_states : token reductions and ``hidden.0 .. hidden.L`` layers for sequence
        models (``infoplane._tokens``); with ``hidden_states`` the layers default to every
        hidden state.
    checkpoint_labels : the labels (default: ``label_of`` each checkpoint).
    Other keyword arguments go to ``Recorder`` (format, batch_size, store_inputs, dataset...).
    An archive already at ``out`` from the same list is resumed: its committed checkpoints are
    not recorded again; one from another list is refused.
    """
    from ._tokens import hidden_states as wrap_hidden

    items = list(checkpoints)
    if not items:
        raise _native.InfoplaneError(f"{os.fspath(out)}: no checkpoints given")
    names = [str(n) for n in (checkpoint_labels or [label_of(c, i) for i, c in enumerate(items)])]
    if len(names) != len(items):
        raise _native.InfoplaneError(f"{len(names)} checkpoint labels for {len(items)} checkpoints")
    out = os.fspath(out)
    found = _committed(out)
    done = None if found is None else found[0]
    if done is not None:
        wrong = [(int(k), v) for k, v in sorted(done.items(), key=lambda kv: int(kv[0]))
                 if int(k) >= len(names) or names[int(k)] != v]
        if wrong:
            e, v = wrong[0]
            raise _native.InfoplaneError(
                f"{out}: an archive of other checkpoints (its epoch {e} is {v!r}); give another out")
    if found is not None and found[1] and len(done) == len(names):
        return out  # every checkpoint is recorded
    model = load(build_model, items[0], model_id)
    target = wrap_hidden(model) if hidden_states else model
    if hidden_states and layers is None:
        layers = [f"hidden.{i}" for i in range(len(target.hidden))]
    rec = Recorder(target, out, analysis=analysis, labels=labels, epochs=len(items) - 1,
                   record_epochs="all", layers=layers, gradients=False, tokens=tokens,
                   epoch_labels=dict(enumerate(names)), resume=done is not None, name=name,
                   progress=False, **recorder)
    bar = _bar(progress, len(items), out)
    with rec:
        start = rec.next_epoch
        for i in range(len(items) if start is None else start, len(items)):
            if i > 0:
                model.load_state_dict(load(build_model, items[i], model_id).state_dict())
            rec.end_epoch(i)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return out


def _bar(progress: bool, total: int, out: str):
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"checkpoints → {os.path.basename(out)}", unit="checkpoint")
