"""infoplane for Python: record any PyTorch model into an infoplane archive with forward hooks,
read archives, and run the estimators on archives or on plain NumPy arrays.

The work is done by the Rust library (the extension module ``infoplane._native``): the
archive writer and reader, the estimators and their defaults are the CLI's, so a table from
``estimate_archive`` equals the CLI's ``infoplane estimate`` table value for value.

    import infoplane
    with infoplane.Recorder(model, "runs/a", analysis=(x, y), epochs=100) as rec:
        for epoch in rec.epochs():
            ...  # train one epoch; call rec.step() after each loss.backward()
    table = infoplane.estimate_archive("runs/a", ["kl", "bd"], sigma2=[1e-3, 1e-1])
    infoplane.report(table, "report/")      # the CLI's report of that table, nothing re-estimated
"""
from ._native import VERSION as __version__
from ._native import InfoplaneError
from ._archive import Archive, open
from ._estimate import default_params, estimate, estimate_archive, estimator_names
from ._recorder import Recorder, schedule
from ._checkpoints import record_checkpoints
from ._tokens import hidden_states
from ._tables import DpiCheck, Plane, Report, Verdict, aggregate, dpi, plane, plot, report, verdict
from . import datasets, trackers

__all__ = [
    "Archive",
    "DpiCheck",
    "Plane",
    "Report",
    "Verdict",
    "aggregate",
    "dpi",
    "plane",
    "plot",
    "report",
    "verdict",
    "InfoplaneError",
    "Recorder",
    "hidden_states",
    "record_checkpoints",
    "datasets",
    "trackers",
    "default_params",
    "estimate",
    "estimate_archive",
    "estimator_names",
    "open",
    "schedule",
]
