"""A PyTorch Lightning callback that records the information plane while a ``Trainer`` fits:

    trainer = L.Trainer(max_epochs=20, callbacks=[infoplane.lightning.InformationPlane("runs/a", (x, y))])

The LightningModule is recorded with the hook recorder (``infoplane.Recorder``: its default
layers, after their activations): epoch 0 before training, then after every training epoch,
with gradient statistics from every backward (``on_after_backward``) and the epoch's logged
loss and accuracy. With ``estimators``, the archive is estimated when training ends
(``.table``) and the estimates are logged to the Trainer's TensorBoard and W&B loggers and to
``trackers``. Needs ``pytorch_lightning`` (or ``lightning``), imported here only.
"""
from __future__ import annotations

import os

try:
    from pytorch_lightning import Callback
except ImportError:  # the unified package
    from lightning.pytorch import Callback

from ._estimate import estimate_archive
from ._recorder import METRIC_ALIASES, Recorder
from .trackers import log_estimates

#: The metrics an archive stores (the recorder's names and its aliases).
_METRICS = {"train_loss", "train_accuracy", "validation_loss", "validation_accuracy", *METRIC_ALIASES}


def _epoch_metrics(logged: dict) -> dict[str, float]:
    """The logged values whose names the archive knows (``train_loss``, ``val_acc``, ...)."""
    out = {}
    for k, v in logged.items():
        name = k.removesuffix("_epoch")
        if name in _METRICS:
            try:
                out[name] = float(v)
            except (TypeError, ValueError):
                pass
    return out


class InformationPlane(Callback):
    """Records ``trainer.fit``'s module into the archive ``out`` (see the module's docstring).

    ``analysis``: the samples whose representations are recorded (a tensor with ``labels``, an
    ``(x, y)`` pair, or a non-shuffling DataLoader); ``estimators``/``sigma2``: estimate when
    training ends; ``trackers``: more trackers for the estimates (``infoplane.trackers``); the
    other keywords go to ``infoplane.Recorder`` (``record_epochs``, ``layers``, ``name``, ...).
    """

    def __init__(self, out, analysis, labels=None, *, estimators=None, sigma2=None,
                 trackers=(), **recorder_kwargs):
        self.out = os.fspath(out)
        self.analysis, self.labels = analysis, labels
        self.estimators, self.sigma2 = estimators, sigma2
        self.trackers = list(trackers)
        self.kwargs = recorder_kwargs
        self.recorder: Recorder | None = None
        self.committed: list[int] = []
        self.table = None

    def on_train_start(self, trainer, pl_module):
        epochs = self.kwargs.pop("epochs", None) or trainer.max_epochs
        if epochs is None or epochs < 0:
            raise ValueError("the Trainer has no max_epochs: give InformationPlane(..., epochs=E)")
        # A fit resumed from a checkpoint goes on with the archive of the fit it resumes.
        resumed = trainer.current_epoch > 0 and os.path.isdir(self.out)
        self.recorder = Recorder(pl_module, self.out, analysis=self.analysis, labels=self.labels,
                                 epochs=epochs, resume=resumed, **self.kwargs)
        if self.recorder.next_epoch == 0:
            self.recorder.end_epoch(0)
            self.committed.append(0)

    def on_after_backward(self, trainer, pl_module):
        if self.recorder is not None:
            self.recorder.step()

    def on_train_epoch_end(self, trainer, pl_module):
        epoch = trainer.current_epoch + 1
        nxt = self.recorder.next_epoch
        if nxt is not None and epoch < nxt:
            return  # committed before the checkpoint this fit resumed from was taken
        self.recorder.log(epoch, **_epoch_metrics(trainer.callback_metrics))
        self.recorder.end_epoch(epoch)
        self.committed.append(epoch)

    def on_fit_end(self, trainer, pl_module):
        self._close(complete=True)
        if self.estimators is None:
            return
        self.table = estimate_archive(self.out, self.estimators, progress=False,
                                      **({} if self.sigma2 is None else {"sigma2": self.sigma2}))
        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if type(experiment).__name__ == "SummaryWriter" or type(experiment).__module__.startswith("wandb"):
                log_estimates(experiment, self.table)
        for t in self.trackers:
            log_estimates(t, self.table)

    def on_exception(self, trainer, pl_module, exception):
        self._close(complete=isinstance(exception, KeyboardInterrupt))

    def _close(self, complete: bool):
        if self.recorder is not None:
            self.recorder.close(complete=complete)
            self.recorder = None

    def state_dict(self):
        """Saved in Lightning checkpoints: where the archive is and the epochs it committed. A
        fit resumed from a checkpoint (``ckpt_path=``) goes on with that archive."""
        return {"out": self.out, "committed": list(self.committed)}

    def load_state_dict(self, state_dict):
        self.committed = list(state_dict.get("committed", []))
