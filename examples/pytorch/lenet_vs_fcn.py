#!/usr/bin/env python3
"""Thesis §5.1.3 in PyTorch: LeNet against the 1024-20-20-20 ReLU FCN on 4000 MNIST training
images (validation: the first 1000 test images), both recorded with the hook recorder, then
compared in one report. It also records the tch recorder's LeNet for a few epochs and checks
that the two archives have the same schema: the same layers (names, kinds, widths, shapes,
activations), parameters, plan entries and files.

Usage: .venv/bin/python examples/pytorch/lenet_vs_fcn.py [OUT_DIR] [EPOCHS]   (about 3 minutes at 30)
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

import infoplane
from common import cli, mnist


class ConvReluPool(nn.Conv2d):
    """conv, ReLU, 2x2 max-pool in one module, so that its hook sees what the tch LeNet records
    and its parameters are named like the tch recorder's (conv1.weight)."""

    def forward(self, x):
        return nn.functional.max_pool2d(torch.relu(super().forward(x)), 2)


class LinearRelu(nn.Linear):
    def forward(self, x):
        return torch.relu(super().forward(x))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = ConvReluPool(1, 10, 5), ConvReluPool(10, 20, 5)
        self.fc1, self.output = LinearRelu(320, 50), nn.Linear(50, 10)

    def forward(self, x):
        return self.output(self.fc1(self.conv2(self.conv1(x)).flatten(1)))


class Fcn(nn.Module):
    def __init__(self, widths=(1024, 20, 20, 20)):
        super().__init__()
        dims = (784, *widths)
        for i in range(len(widths)):
            setattr(self, f"fc{i + 1}", LinearRelu(dims[i], dims[i + 1]))
        self.n = len(widths)
        self.output = nn.Linear(widths[-1], 10)

    def forward(self, x):
        h = x.flatten(1)
        for i in range(self.n):
            h = getattr(self, f"fc{i + 1}")(h)
        return self.output(h)


def record(model, out, x, y, vx, vy, epochs, dataset):
    torch.manual_seed(0)
    names = [n for n, _ in model.named_children() if n != "n"]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    relu = {n: "relu" for n in names if n != "output"}
    with infoplane.Recorder(model, out, analysis=(x, y), epochs=epochs, record_epochs="all",
                            layers=names, activations=relu, name=Path(out).name,
                            model_name=type(model).__name__.lower(), dataset=dataset, seed=0,
                            analysis_description="train", overwrite=True) as rec:
        for epoch in rec.epochs():
            perm = torch.randperm(len(x))
            total = 0.0
            for i in range(0, len(x), 128):
                b = perm[i:i + 128]
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x[b]), y[b])
                loss.backward()
                rec.step()
                opt.step()
                total += loss.item() * len(b)
            with torch.no_grad():
                model.eval()
                val = (model(vx).argmax(1) == vy).float().mean().item()
                model.train()
            rec.log(epoch, train_loss=total / len(x), validation_accuracy=val)
    print(f"{out}: validation accuracy {val:.3f} after {epochs} epochs")


def schema(path):
    """What two recorders of the same model must agree on."""
    m = json.loads((Path(path) / "manifest.json").read_text())
    files = sorted(str(p.relative_to(path)) for p in Path(path).rglob("*") if p.is_file()
                   and "epoch-0000" in str(p) and p.parent.name == "epoch-000000")
    return {"format": m["format"], "schema_version": m["schema_version"], "layers": m["layers"],
            "parameters": m["parameters"], "plan_keys": sorted(m["epochs"][0]),
            "analysis_set": {k: m["analysis_set"][k] for k in ("n", "classes", "description")},
            "files_of_epoch_0": files}


def main(out: str, epochs: int) -> None:
    x, y, dataset = mnist(4000)
    vx, vy, _ = mnist(1000, "t10k")
    record(LeNet(), f"{out}/lenet", x, y, vx, vy, epochs, dataset)
    record(Fcn(), f"{out}/fcn", x, y, vx, vy, epochs, dataset)
    binary = cli()
    if dataset == "mnist":
        rec = Path(binary).with_name("infoplane-record")
        data = Path(os.environ.get("INFOPLANE_DATA", Path(__file__).resolve().parents[3] / "shared" / "datasets"))
        subprocess.run([str(rec), "--model", "lenet", "--dataset", "mnist", "--data-dir", str(data / "mnist"),
                        "--epochs", "2", "--record-epochs", "all", "--out", f"{out}/tch-lenet",
                        "--force"], check=True, stdout=subprocess.DEVNULL)
        ours, theirs = schema(f"{out}/lenet"), schema(f"{out}/tch-lenet")
        same = {k: ours[k] == theirs[k] for k in ours}
        print("schema of the hook recorder's LeNet vs infoplane-record's:", same)
        if not all(same.values()):
            sys.exit(f"schemas differ: {json.dumps({k: (ours[k], theirs[k]) for k in ours if not same[k]})}")
    for run in ("lenet", "fcn"):
        infoplane.estimate_archive(f"{out}/{run}", ["kl", "bd"], sigma2=[0.1, "thesis"],
                                   epochs="every:10", out=f"{out}/{run}-estimates.csv", progress=False)
    subprocess.run([binary, "report", f"{out}/lenet", f"{out}/fcn", "--epochs", "every:10",
                    "--out", f"{out}/report"], check=True)
    print(f"report: {out}/report/index.html")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/examples/pytorch-mnist",
         int(sys.argv[2]) if len(sys.argv) > 2 else 30)
