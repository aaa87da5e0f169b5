"""The optional integrations on tiny models, on CPU: the Lightning and Hugging Face callbacks
record what a hand-written loop would (epochs, batches counted, metrics), and the estimates
reach TensorBoard, W&B (offline) and Trackio (local) with the table's values."""
import math
import os

import numpy as np
import polars as pl
import pytest
import torch
from torch import nn

import infoplane
import infoplane.trackers


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] + x[:, 1] > 0).long()


def close_to_table(values: dict, table: pl.DataFrame, prefix="infoplane"):
    """Every logged scalar is the table's value; returns how many were checked."""
    checked = 0
    for r in table.iter_rows(named=True):
        for q in ("i_xz", "i_yz"):
            key = f"{prefix}/{r['layer']}/{r['estimator']}/{r['setting']}/{q}"
            if r[q] is not None and not math.isnan(r[q]):
                assert values[(key, r["epoch"])] == pytest.approx(r[q], rel=1e-6), key
                checked += 1
    return checked


def test_lightning_callback_records_two_epochs_and_logs_to_tensorboard(tmp):
    import pytorch_lightning as L
    from pytorch_lightning.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    import infoplane.lightning

    class Net(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 2))

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _):
            loss = nn.functional.cross_entropy(self(batch[0]), batch[1])
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    x, y = data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    cb = infoplane.lightning.InformationPlane(tmp / "run", (x, y), estimators=["kl"], sigma2=[0.1],
                                              record_epochs="all", name="lit")
    logger = TensorBoardLogger(tmp / "tb", name="", version="")
    trainer = L.Trainer(max_epochs=2, callbacks=[cb], logger=logger, accelerator="cpu",
                        enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False)
    trainer.fit(Net(), loader)
    a = infoplane.open(tmp / "run")
    assert a.complete and a.epochs == [0, 1, 2] and a.layer_names == ["net.0", "net.2"]
    assert a.layers[0]["activation"] == "tanh"
    g = a.gradients([1, 2])
    assert set(g["n_batches"]) == {4}                      # 64 samples / 16 per batch
    m = a.metrics()
    assert m["train_loss"][1] is not None and m["train_loss"][2] < m["train_loss"][1] + 1
    assert cb.state_dict() == {"out": os.fspath(tmp / "run"), "committed": [0, 1, 2]}
    assert set(cb.table["run"]) == {"lit"} and cb.table.height == 6   # 2 layers x 3 epochs
    logger.experiment.flush()
    ea = EventAccumulator(str(tmp / "tb"))
    ea.Reload()
    values = {(tag, e.step): e.value for tag in ea.Tags()["scalars"] if tag.startswith("infoplane/")
              for e in ea.Scalars(tag)}
    assert close_to_table(values, cb.table) == 12
    assert "infoplane/plane" in ea.Tags()["images"]


def test_hugging_face_callback_records_every_optimiser_step(tmp):
    from transformers import Trainer, TrainingArguments
    import infoplane.hf

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 4)
            self.act = nn.ReLU()
            self.out = nn.Linear(4, 2)

        def forward(self, x, labels=None):
            logits = self.out(self.act(self.fc(x)))
            if labels is None:
                return logits
            return {"loss": nn.functional.cross_entropy(logits, labels), "logits": logits}

    class Rows(torch.utils.data.Dataset):
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return {"x": self.x[i], "labels": self.y[i]}

    torch.manual_seed(1)
    x, y = data(48, seed=1)
    cb = infoplane.hf.InformationPlaneCallback(tmp / "run", (x, y), estimators=["kl", "bd"],
                                               record_epochs="all", name="hf")
    args = TrainingArguments(output_dir=str(tmp / "out"), num_train_epochs=2, per_device_train_batch_size=8,
                             gradient_accumulation_steps=2, logging_steps=1, save_strategy="no",
                             report_to=[], use_cpu=True, disable_tqdm=True)
    Trainer(model=Net(), args=args, train_dataset=Rows(x, y), callbacks=[cb]).train()
    a = infoplane.open(tmp / "run")
    assert a.complete and a.epochs == [0, 1, 2] and a.layer_names == ["fc", "out"]
    assert [l["activation"] for l in a.layers] == ["relu", None]
    assert set(a.gradients([1, 2])["n_batches"]) == {3}    # 48 / 8 = 6 batches, 2 per step
    assert a.metrics()["train_loss"][2] is not None
    assert set(cb.table["estimator"]) == {"kl", "bd"} and set(cb.table["run"]) == {"hf"}


@pytest.fixture(scope="module")
def table():
    x, y = data(200, seed=2)
    z = torch.tanh(x @ torch.randn(6, 3, generator=torch.Generator().manual_seed(3)))
    rows = []
    for epoch in range(3):
        t = infoplane.estimate(z.numpy() * (1 + epoch), y.numpy(), ["kl"], sigma2=[0.1])
        rows.append(t.with_columns(pl.lit(epoch, dtype=t["epoch"].dtype).alias("epoch")))
    return pl.concat(rows)


def test_tensorboard_wandb_and_trackio_receive_the_tables_values(tmp, table, monkeypatch):
    from torch.utils.tensorboard import SummaryWriter
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    import trackio
    import wandb
    from trackio.sqlite_storage import SQLiteStorage

    rep = infoplane.report(table, tmp / "rep")
    w = SummaryWriter(str(tmp / "tb"))
    logged = infoplane.trackers.log_estimates(w, table, report=rep.out)
    w.close()
    assert sorted(logged) == [0, 1, 2]
    ea = EventAccumulator(str(tmp / "tb"), size_guidance={"images": 0})
    ea.Reload()
    values = {(tag, e.step): e.value for tag in ea.Tags()["scalars"] for e in ea.Scalars(tag)}
    assert close_to_table(values, table) == 6
    assert ea.Tags()["images"] == ["infoplane/plane"]

    monkeypatch.setenv("WANDB_SILENT", "true")
    run = wandb.init(project="infoplane-test", mode="offline", dir=str(tmp))
    infoplane.trackers.log_estimates(run, table, report=rep.out)
    last = table.filter(pl.col("epoch") == 2).row(0, named=True)
    assert run.summary["infoplane/z/kl/0.1/i_xz"] == pytest.approx(last["i_xz"], rel=1e-12)
    run.finish()
    media = list((tmp / "wandb").glob("offline-run-*/files/media/**/*.*"))
    assert any(p.suffix == ".png" for p in media) and any(p.suffix == ".html" for p in media)

    monkeypatch.setenv("TRACKIO_DIR", str(tmp / "trackio"))
    trackio.init(project="infoplane-test", name="r", auto_log_cpu=False, auto_log_gpu=False)
    infoplane.trackers.log_estimates(trackio, table, report=rep.out)
    trackio.finish()
    logs = SQLiteStorage.get_logs("infoplane-test", "r")
    values = {(k, l["step"]): v for l in logs for k, v in l.items() if k.startswith("infoplane/z/")}
    assert close_to_table(values, table) == 6
    assert "infoplane/plane" in logs[-1] and "infoplane/report" in logs[-1]


def test_an_unknown_tracker_is_refused(table):
    with pytest.raises(TypeError, match="unknown tracker builtins.object"):
        infoplane.trackers.log_estimates(object(), table)


def test_a_lightning_fit_resumed_from_its_checkpoint_goes_on_with_its_archive(tmp):
    import pytorch_lightning as L
    from pytorch_lightning.callbacks import ModelCheckpoint
    import infoplane.lightning

    class Net(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 2))

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _):
            return nn.functional.cross_entropy(self(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    class Crash(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            if trainer.current_epoch == 2:
                raise RuntimeError("the node went away")

    torch.manual_seed(0)
    x, y = data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    ckpt = ModelCheckpoint(dirpath=tmp / "ckpt", save_last=True)
    opts = dict(max_epochs=3, accelerator="cpu", logger=False, enable_progress_bar=False,
                enable_model_summary=False)
    cb = infoplane.lightning.InformationPlane(tmp / "run", (x, y), record_epochs="all")
    with pytest.raises(RuntimeError, match="the node went away"):
        L.Trainer(callbacks=[cb, ckpt, Crash()], **opts).fit(Net(), loader)
    a = infoplane.open(tmp / "run")
    assert not a.complete and a.epochs == [0, 1, 2]
    cb = infoplane.lightning.InformationPlane(tmp / "run", (x, y), record_epochs="all")
    L.Trainer(callbacks=[cb, ModelCheckpoint(dirpath=tmp / "ckpt2")], **opts).fit(
        Net(), loader, ckpt_path=str(tmp / "ckpt" / "last.ckpt"))
    a = infoplane.open(tmp / "run")
    assert a.complete and a.epochs == [0, 1, 2, 3]
    assert set(a.gradients([3])["n_batches"]) == {4}
    assert cb.state_dict()["committed"] == [0, 1, 2, 3]
