"""A Hugging Face ``Trainer`` callback that records the information plane while it trains:

    trainer = Trainer(model, args, train_dataset=ds,
                      callbacks=[infoplane.hf.InformationPlaneCallback("runs/a", (x, y))])

The model is recorded with the hook recorder (``infoplane.Recorder``): epoch 0 when training
begins, then at the end of every epoch, with gradient statistics once per optimiser step
(``on_pre_optimizer_step``: after backward and accumulation, before the update) and the
epoch's last logged loss. ``analysis`` is what the model is called with, positionally (input
ids, features) and its labels. With ``estimators``, the archive is estimated when training
ends (``.table``) and logged to ``trackers``. Needs ``transformers``, imported here only.
"""
from __future__ import annotations

import os

from transformers import TrainerCallback

from ._estimate import estimate_archive
from ._recorder import Recorder
from .trackers import log_estimates


class InformationPlaneCallback(TrainerCallback):
    """Records the Trainer's model into the archive ``out`` (see the module's docstring); the
    other keywords go to ``infoplane.Recorder`` (``record_epochs``, ``layers``, ``name``, ...)."""

    def __init__(self, out, analysis, labels=None, *, estimators=None, sigma2=None,
                 trackers=(), **recorder_kwargs):
        self.out = os.fspath(out)
        self.analysis, self.labels = analysis, labels
        self.estimators, self.sigma2 = estimators, sigma2
        self.trackers = list(trackers)
        self.kwargs = recorder_kwargs
        self.recorder: Recorder | None = None
        self.epoch = 0
        self.table = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        epochs = self.kwargs.pop("epochs", None) or int(round(args.num_train_epochs))
        self.recorder = Recorder(model, self.out, analysis=self.analysis, labels=self.labels,
                                 epochs=epochs, **self.kwargs)
        self.recorder.end_epoch(0)

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        if self.recorder is not None:
            self.recorder.step()

    def on_epoch_end(self, args, state, control, **kwargs):
        self.epoch += 1
        losses = [h["loss"] for h in state.log_history if "loss" in h]
        if losses:
            self.recorder.log(self.epoch, train_loss=float(losses[-1]))
        self.recorder.end_epoch(self.epoch)

    def on_train_end(self, args, state, control, **kwargs):
        if self.recorder is None:
            return
        self.recorder.close()
        self.recorder = None
        if self.estimators is not None:
            self.table = estimate_archive(self.out, self.estimators, progress=False,
                                      **({} if self.sigma2 is None else {"sigma2": self.sigma2}))
            for t in self.trackers:
                log_estimates(t, self.table)
