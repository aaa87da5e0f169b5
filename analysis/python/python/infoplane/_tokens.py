"""Token activations: a sequence model's N x T x H outputs reduced to samples (``mean``,
``last``, ``first``, or ``tokens:K`` sampled positions per sequence, each a sample), and a
Hugging Face model's hidden states as named layers ``hidden.0`` ... ``hidden.L``.

Every sequence of the analysis set has the same length T (no padding is masked out: pad to a
common length with real tokens, or give sequences of one length). ``tokens:K`` draws K distinct
positions of each sequence from a generator seeded with (seed, sequence index), so every epoch
and every checkpoint records the same tokens; per-token labels (an N x T array, such as the next
token) are taken at those positions, per-sequence labels (N) are repeated for each.
"""
from __future__ import annotations

import numpy as np

from . import _native


def _torch():
    import torch

    return torch


class Tokens:
    """A token reduction, parsed from ``mean``, ``last``, ``first`` or ``tokens:K``."""

    KINDS = ("mean", "last", "first")

    def __init__(self, spec: str, seed: int = 0):
        self.spec, self.seed = str(spec), int(seed)
        self._positions = {}  # (start, batch, length) -> positions: the same every pass
        if self.spec in self.KINDS:
            self.k = None
        elif self.spec.startswith("tokens:") and self.spec[7:].isdigit() and int(self.spec[7:]) > 0:
            self.k = int(self.spec[7:])
        else:
            raise _native.InfoplaneError(
                f"tokens={spec!r}: expected mean, last, first or tokens:K (K ≥ 1 positions per sequence)")

    @property
    def per_sequence(self) -> int:
        """Samples per sequence: K for ``tokens:K``, else 1."""
        return self.k or 1

    def positions(self, start: int, batch: int, length: int):
        """The sampled positions (batch x K) of sequences start .. start + batch."""
        if self.k > length:
            raise _native.InfoplaneError(
                f"tokens:{self.k} needs sequences of at least {self.k} tokens (they have {length})")
        key = (start, batch, length)
        if key not in self._positions:
            rows = [np.sort(np.random.default_rng([self.seed, start + i]).choice(length, self.k, replace=False))
                    for i in range(batch)]
            self._positions[key] = _torch().as_tensor(np.stack(rows), dtype=_torch().long)
        return self._positions[key]

    def reduce(self, out, start: int):
        """A B x T x H output as samples: B x H (mean, last, first) or B·K x H (tokens:K)."""
        if self.spec == "mean":
            return out.mean(dim=1)
        if self.spec == "last":
            return out[:, -1]
        if self.spec == "first":
            return out[:, 0]
        b, t, h = out.shape
        idx = self.positions(start, b, t).to(out.device)
        return out.gather(1, idx.unsqueeze(-1).expand(b, self.k, h)).reshape(b * self.k, h)

    def labels(self, y, start: int, length: int):
        """The labels of a batch's samples: per-token labels (B x T) at the sampled positions,
        per-sequence labels (B) repeated K times; pooled reductions take per-sequence labels."""
        torch = _torch()
        y = torch.as_tensor(y)
        if self.k is None:
            if y.dim() > 1:
                raise _native.InfoplaneError(
                    f"tokens={self.spec!r} records one sample per sequence: give one label per sequence "
                    f"(labels of shape {tuple(y.shape)} are per token; use tokens:K for those)")
            return y.reshape(-1)
        if y.dim() == 1:
            return y.repeat_interleave(self.k)
        if y.shape[1] != length:
            raise _native.InfoplaneError(
                f"per-token labels of length {y.shape[1]} for sequences of {length} tokens")
        idx = self.positions(start, y.shape[0], length)
        return y.gather(1, idx.to(y.device)).reshape(-1)


def hidden_states(model, layers: int | None = None):
    """``model`` (a Hugging Face model) wrapped so that its hidden states, asked for with
    ``output_hidden_states=True``, pass through identity modules named ``hidden.0`` (the
    embeddings) ... ``hidden.L`` (the last block): the hook recorder records them as layers.
    ``layers`` is L + 1, by default ``model.config.num_hidden_layers + 1``."""
    nn = _torch().nn
    n = layers if layers is not None else model.config.num_hidden_layers + 1

    class HiddenStates(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            self.hidden = nn.ModuleList([nn.Identity() for _ in range(n)])

        def forward(self, x):
            out = self.model(x, output_hidden_states=True)
            states = out.hidden_states
            if len(states) != n:
                raise _native.InfoplaneError(f"the model gave {len(states)} hidden states, {n} expected")
            for h, identity in zip(states, self.hidden):
                identity(h)
            return out.logits if getattr(out, "logits", None) is not None else states[-1]

    return HiddenStates()
