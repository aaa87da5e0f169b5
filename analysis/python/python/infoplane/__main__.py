"""``python -m infoplane checkpoints`` (also the ``infoplane-checkpoints`` command): a series of
local checkpoint directories (``save_pretrained``) or ``torch.save`` files recorded as the
epochs of one archive from the shell, through ``record_checkpoints``. It only parses
arguments: the analysis set comes from ``.npy`` files, the model class is named by import path.

    python -m infoplane checkpoints run/step1000 run/step8000 run/step64000 \\
        --analysis ids.npy --labels next.npy --label-set state=states.npy \\
        --tokens tokens:8 --hidden-states --out runs/lm
    infoplane estimate runs/lm --estimator kl,bd --labels state --out state.csv
"""
from __future__ import annotations

import argparse
import importlib
import sys

import numpy as np

from . import _native


def _model_class(path: str):
    """``package.module.Name`` (default ``transformers.AutoModel``) imported."""
    module, _, name = path.rpartition(".")
    if not module:
        raise _native.InfoplaneError(f"--model-class {path!r}: give it as package.module.Name")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise _native.InfoplaneError(f"--model-class {path!r}: {e}") from None


def _array(path: str, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise _native.InfoplaneError(f"{path}: cannot read {what} as .npy: {e}") from None


def _label_sets(items: list[str]) -> dict:
    sets = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise _native.InfoplaneError(f"--label-set {item!r}: give it as NAME=FILE.npy")
        sets[name] = _array(path, f"label set {name!r}")
    return sets


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m infoplane checkpoints",
                                description="Record checkpoints (directories or files) as the epochs of one archive.")
    p.add_argument("checkpoints", nargs="+", help="checkpoint directories or torch.save files, in training order")
    p.add_argument("--out", required=True, help="the archive (resumed when it holds the first of these checkpoints)")
    p.add_argument("--analysis", required=True, help=".npy of the analysis inputs (token ids N x T for language models)")
    p.add_argument("--labels", help=".npy of the labels (N, or N x T per token); default: zeros")
    p.add_argument("--label-name", help="the labels' name (default class)")
    p.add_argument("--label-set", action="append", default=[], metavar="NAME=FILE.npy",
                   help="a further label set (repeatable)")
    p.add_argument("--model-class", default="transformers.AutoModel",
                   help="what loads a directory: a class with from_pretrained (default transformers.AutoModel)")
    p.add_argument("--layers", help="module names, comma-separated (default: every hidden state with --hidden-states)")
    p.add_argument("--hidden-states", action="store_true", help="record output_hidden_states as hidden.0 .. hidden.L")
    p.add_argument("--tokens", help="mean, last, first or tokens:K for sequence outputs")
    p.add_argument("--token-seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--name", default="", help="the run's name (default: the folder's)")
    p.add_argument("--format", default="parquet", choices=["parquet", "hdf5"])
    return p


def checkpoints(argv: list[str]) -> str:
    """Parses ``argv`` and records; the archive's path."""
    import torch

    from ._checkpoints import record_checkpoints

    a = _parser().parse_args(argv)
    x = torch.as_tensor(_array(a.analysis, "the analysis inputs"))
    y = torch.as_tensor(_array(a.labels, "the labels")) if a.labels else torch.zeros(len(x), dtype=torch.long)
    return record_checkpoints(
        _model_class(a.model_class), a.checkpoints, a.out, analysis=(x, y),
        layers=a.layers.split(",") if a.layers else None, tokens=a.tokens, token_seed=a.token_seed,
        hidden_states=a.hidden_states, name=a.name, label_name=a.label_name,
        label_sets=_label_sets(a.label_set), batch_size=a.batch_size, format=a.format)


def main(argv: list[str] | None = None) -> int:
    """``python -m infoplane checkpoints ...``; errors are one line on stderr and exit 1."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "checkpoints":
        print("usage: python -m infoplane checkpoints CHECKPOINT... --analysis X.npy --out ARCHIVE [...]"
              " (--help for more)", file=sys.stderr)
        return 2
    try:
        out = checkpoints(argv[1:])
    except (_native.InfoplaneError, OSError, ValueError) as e:
        # OSError, ValueError: what from_pretrained raises for a folder that is not a model.
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


def console() -> None:
    """The ``infoplane-checkpoints`` command."""
    sys.exit(main(["checkpoints", *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
