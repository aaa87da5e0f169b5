#!/usr/bin/env python3
"""Generates demo data for the README's main job until the recorder lands.

Tishby's 12-bit task: all 4096 binary patterns; label y = 1 iff x . w > median(x . w) with
w_k = sin(k + 1), so p(y = 1) = 0.5 exactly. The activations are those of a 12-10-7-5-4-3-2 tanh
network whose random weights grow by a factor 1.35 per "epoch" (E = 8), a stand-in for training
that moves the layers from the linear regime towards saturation.

Usage: demo_data.py OUT_DIR   (writes activations.npz, labels.npy, inputs.npy)
"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
x = ((np.arange(4096)[:, None] >> np.arange(12)[None, :]) & 1).astype(np.float32)
score = x @ np.sin(np.arange(1, 13))
y = (score > np.median(score)).astype(np.int64)
rng = np.random.default_rng(0)
widths = [12, 10, 7, 5, 4, 3, 2]
weights = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in zip(widths[:-1], widths[1:])]
layers = {f"l{i + 1}": [] for i in range(len(weights))}
for epoch in range(8):
    h = 2 * x - 1
    for i, w in enumerate(weights):
        h = h @ (w * 1.35**epoch)
        if i < len(weights) - 1:
            h = np.tanh(h)
        layers[f"l{i + 1}"].append(h.astype(np.float32))
np.savez(os.path.join(out, "activations.npz"), **{k: np.stack(v) for k, v in layers.items()})
np.save(os.path.join(out, "labels.npy"), y)
np.save(os.path.join(out, "inputs.npy"), x)
print(f"demo data: N = {len(y)}, p(y=1) = {y.mean():.3f}, {len(layers)} layers x 8 epochs -> {out}")
