#!/usr/bin/env python3
"""A model the tch recorder does not have, recorded with the hook recorder: a small ResNet-style
CNN (two residual blocks with skip connections) on 2000 MNIST images, then estimated from Python
and with the CLI, which also draws the report.

Usage: .venv/bin/python examples/pytorch/resnet_recorder.py [OUT_DIR]   (about 1 minute)
"""
import subprocess
import sys
import time

import torch
from torch import nn

import infoplane
from common import cli, mnist


class Block(nn.Module):
    """relu(x + conv(relu(conv(x)))): a residual block."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU())  # 8x14x14
        self.block1 = Block(8)
        self.down = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())  # 16x7x7
        self.block2 = Block(16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 32)
        self.act = nn.ReLU()
        self.output = nn.Linear(32, 10)

    def forward(self, x):
        h = self.pool(self.block2(self.down(self.block1(self.stem(x))))).flatten(1)
        return self.output(self.act(self.fc(h)))


def main(out: str) -> None:
    torch.manual_seed(0)
    x, y, dataset = mnist(2000)
    model = SmallResNet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    start = time.time()
    with infoplane.Recorder(model, f"{out}/resnet", analysis=(x, y), epochs=12,
                            record_epochs="all", layers=["block1", "block2", "act", "output"],
                            kinds={"block1": "conv", "block2": "conv"},
                            activations={"block1": "relu", "block2": "relu"},
                            name="resnet", dataset=dataset, seed=0, overwrite=True,
                            hyperparameters={"lr": 2e-3, "batch": 100}) as rec:
        for epoch in rec.epochs():
            perm = torch.randperm(len(x))
            correct = total = 0.0
            for i in range(0, len(x), 100):
                b = perm[i:i + 100]
                opt.zero_grad()
                logits = model(x[b])
                loss = nn.functional.cross_entropy(logits, y[b])
                loss.backward()
                rec.step()
                opt.step()
                total += loss.item() * len(b)
                correct += (logits.argmax(1) == y[b]).sum().item()
            rec.log(epoch, train_loss=total / len(x), train_accuracy=correct / len(x))
    print(f"recorded {out}/resnet in {time.time() - start:.1f} s")

    archive = infoplane.open(f"{out}/resnet")
    print(archive)
    table = infoplane.estimate_archive(archive.path, ["kl", "bd"], sigma2=[0.1, "nn*4"],
                                       epochs="every:4", out=f"{out}/estimates.csv")
    print(table.filter(table["estimator"] == "kl").select(
        "layer", "epoch", "setting", "i_xz", "i_yz").head(8))
    binary = cli()
    for args in (["dpi", f"{out}/estimates.csv"],
                 ["report", f"{out}/resnet", "--out", f"{out}/report", "--epochs", "every:2"]):
        print("$ infoplane " + " ".join(args), flush=True)
        subprocess.run([binary, *args], check=True)
    print(f"report: {out}/report/index.html")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/examples/pytorch-resnet")
