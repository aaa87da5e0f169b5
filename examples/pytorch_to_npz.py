#!/usr/bin/env python3
"""Record hidden activations from a PyTorch training loop with forward hooks; save an .npz for
`infoplane import`.

Every epoch (epoch 0 = before training) the model runs on a fixed analysis set in eval mode with
no gradient; each tracked module's output is kept. The .npz has one key per layer, each
E x N x H (float32), in network order, which is the layer order `infoplane import` uses.

Usage: pytorch_to_npz.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
from torch import nn

out = sys.argv[1] if len(sys.argv) > 1 else "out/example"
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
n, d, classes, epochs = 512, 8, 3, 5
x = torch.randn(n, d)
y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()

model = nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, classes))
tracked = {"h1": model[1], "h2": model[3], "logits": model[4]}  # post-activation outputs
recorded = {name: [] for name in tracked}
current = {}
for name, module in tracked.items():
    module.register_forward_hook(lambda m, i, o, name=name: current.__setitem__(name, o.detach()))


def record():
    model.eval()
    with torch.no_grad():
        model(x)  # the analysis set, fixed order
    for name in tracked:
        recorded[name].append(current[name].numpy().astype(np.float32))
    model.train()


opt = torch.optim.Adam(model.parameters(), lr=1e-2)
record()  # epoch 0
for epoch in range(1, epochs + 1):
    for b in range(0, n, 64):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x[b : b + 64]), y[b : b + 64])
        loss.backward()
        opt.step()
    record()

np.savez(os.path.join(out, "activations.npz"), **{k: np.stack(v) for k, v in recorded.items()})
np.save(os.path.join(out, "labels.npy"), y.numpy())
np.save(os.path.join(out, "inputs.npy"), x.numpy())
print(f"saved {len(tracked)} layers x {epochs + 1} epochs of N = {n} to {out}")
