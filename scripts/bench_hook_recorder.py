#!/usr/bin/env python3
"""The hook recorder's cost (not a test): the MNIST FCN (1024-20-20-20 ReLU, 4000 training
images, Adam, batch 128) trained by plain PyTorch, by the same loop with infoplane.Recorder
recording gradient statistics only (record_epochs="none") and recording every epoch
(activations of the 5 layers and gradient statistics of every parameter);
alternating runs, each in its own process; prints the wall times, the ratio of the medians
(goal <= 1.10, as for the tch recorder; "forward", plain training plus the analysis set's
forward pass each epoch without infoplane, is the floor of recording every epoch) and each process's peak resident memory at two
numbers of epochs (goal: the recorder's peak does not grow with the epochs).

Usage: .venv/bin/python scripts/bench_hook_recorder.py [EPOCHS] [ROUNDS] [fcn|lenet]
(lenet: the thesis's LeNet on the same images, more compute per epoch.)
Uses ../shared/datasets/mnist when present, else generated images of the same shape.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import sys, time, torch
from torch import nn
sys.path.insert(0, sys.argv[4])
from common import mnist
mode, epochs, out, arch = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[5]
torch.manual_seed(0)
x, y, _ = mnist(4000)
if arch == "fcn":
    widths = (784, 1024, 20, 20, 20)
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(nn.Flatten(), *layers, nn.Linear(20, 10))
    tracked = ["2", "4", "6", "8", "9"]
else:  # LeNet as in the thesis: conv-relu-pool twice, fc 50, logits
    model = nn.Sequential(nn.Conv2d(1, 10, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(10, 20, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(320, 50), nn.ReLU(), nn.Linear(50, 10))
    tracked = ["2", "5", "8", "9"]
opt = torch.optim.Adam(model.parameters(), lr=1e-3)

def epoch_loop(rec):
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 128):
        b = perm[i:i + 128]
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[b]), y[b]).backward()
        if rec is not None:
            rec.step()
        opt.step()

start = time.perf_counter()
if mode == "plain":
    for _ in range(epochs):
        epoch_loop(None)
elif mode == "forward":  # plain training plus the analysis set through the model each epoch
    for _ in range(epochs):
        epoch_loop(None)
        model.eval()
        with torch.no_grad():
            for i in range(0, len(x), 1024):
                model(x[i:i + 1024])
        model.train()
else:
    import infoplane
    with infoplane.Recorder(model, out, analysis=(x, y), epochs=epochs, record_epochs=mode,
                            layers=tracked, overwrite=True, progress=False) as rec:
        for epoch in rec.epochs():
            epoch_loop(rec)
print(time.perf_counter() - start)
"""


def run(mode: str, epochs: int, out: str):
    """(seconds of training, peak RSS in MiB) of one child process."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "pytorch")
    p = subprocess.Popen([sys.executable, "-c", CHILD, mode, str(epochs), out, here, ARCH],
                         stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    seconds = float(p.stdout.read().strip())
    if status != 0:
        sys.exit(f"{mode} run failed")
    return seconds, usage.ru_maxrss / 1024


ARCH = "fcn"


def main():
    global ARCH
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    ARCH = sys.argv[3] if len(sys.argv) > 3 else "fcn"
    print(f"model: {ARCH}")
    times = {"plain": [], "forward": [], "none": [], "all": []}
    peak = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for mode in times:
                s, rss = run(mode, epochs, f"{tmp}/run")
                times[mode].append(s)
                peak[(mode, epochs)] = max(peak.get((mode, epochs), 0), rss)
        for mode in times:
            print(f"{mode:7s}: " + " ".join(f"{t:.2f}" for t in times[mode]) + " s")
        med = {m: statistics.median(t) for m, t in times.items()}
        print(f"overhead of recording every epoch over plain training: {med['all'] / med['plain']:.3f}x (goal <= 1.10)")
        print(f"  floor: the analysis set's forward pass each epoch, without infoplane: {med['forward'] / med['plain']:.3f}x")
        print(f"  the recorder beyond that floor (all / forward): {med['all'] / med['forward']:.3f}x")
        print(f"  of gradient statistics alone (record_epochs=none): {med['none'] / med['plain']:.3f}x")
        print(f"  of activations, as scripts/bench_recorder.sh measures the tch recorder (all / none): "
              f"{med['all'] / med['none']:.3f}x")
        per = (med["all"] - med["plain"]) / epochs
        print(f"  recording cost per epoch: {1000 * per:.0f} ms against {1000 * med['plain'] / epochs:.0f} ms of training")
        long = 4 * epochs
        peak[("all", long)] = run("all", long, f"{tmp}/run")[1]
        peak[("plain", long)] = run("plain", long, f"{tmp}/run")[1]
        for (mode, e), mib in sorted(peak.items()):
            if mode not in ("none", "forward"):
                print(f"peak RSS {mode:7s} {e:3d} epochs: {mib:.0f} MiB")
        grow = peak[("all", long)] - peak[("all", epochs)]
        width = {"fcn": 1024 + 20 * 3 + 10, "lenet": 1440 + 320 + 50 + 10}[ARCH]
        print(f"recorder peak growth from {epochs} to {long} epochs: {grow:+.0f} MiB "
              f"(an epoch of activations is {4000 * width * 4 / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
