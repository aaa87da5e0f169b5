"""Report, drawings and diagnostics from Python: the CLI's ``report``, ``plot``, ``verdict``,
``dpi`` and ``aggregate``, calling the Rust library directly (no subprocess), with the
library's defaults wherever an argument is left as None."""
from __future__ import annotations

import io
import os
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from . import _native

PathLike = str | os.PathLike


def _frame(parquet: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(parquet))


class _Tables:
    """Paths of estimates tables given as paths or DataFrames (written to a temporary Parquet
    file that lives as long as this object)."""

    def __init__(self, tables):
        if isinstance(tables, (str, os.PathLike, pl.DataFrame)) or _is_pandas(tables):
            tables = [tables]
        self._tmp = None
        self.paths: list[str] = []
        for i, t in enumerate(tables):
            if _is_pandas(t):
                t = pl.from_pandas(t)
            if isinstance(t, pl.DataFrame):
                if self._tmp is None:
                    self._tmp = tempfile.TemporaryDirectory(prefix="infoplane-")
                path = os.path.join(self._tmp.name, f"table-{i}.parquet")
                t.write_parquet(path)
                self.paths.append(path)
            else:
                self.paths.append(os.fspath(t))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._tmp is not None:
            self._tmp.cleanup()


def _is_pandas(t) -> bool:
    return type(t).__module__.startswith("pandas") and type(t).__name__ == "DataFrame"


def _sigma2(sigma2) -> str | None:
    if sigma2 is None or isinstance(sigma2, str):
        return sigma2
    if isinstance(sigma2, Iterable):
        return ",".join(str(s) for s in sigma2)
    return str(sigma2)


def _names(v: str | Iterable[str] | None) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    return [str(s) for s in v]


@dataclass
class Report:
    """What ``report`` wrote: the folder, its ``index.html``, every file and the findings."""

    out: Path
    files: list[str]
    findings: list[str]

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    def __str__(self) -> str:
        return "\n".join([*self.findings, f"wrote {len(self.files)} files; open {self.index}"])

    def _repr_html_(self) -> str:
        import html
        items = "".join(f"<li>{html.escape(f)}</li>" for f in self.findings)
        return f"<p>infoplane report: <a href=\"{html.escape(str(self.index))}\">{html.escape(str(self.index))}</a></p><ul>{items}</ul>"


def report(
    source,
    out: PathLike,
    *,
    archives: Sequence[PathLike] | None = None,
    estimators: str | Iterable[str] | None = None,
    sigma2=None,
    epochs: str | None = None,
    unit: str | None = None,
    tolerance: float | None = None,
) -> Report:
    """The CLI's ``infoplane report``: CSVs, plots and a self-contained ``index.html`` in ``out``.

    ``source`` is either archives (a directory or a list of them: estimated here, with
    ``estimators``, ``sigma2`` and ``epochs``), or an estimates table (a ``.csv``/``.parquet``
    path or a DataFrame, as ``estimate_archive`` returns): reported as it is, nothing estimated
    again — the same page as ``infoplane report --table``. With a table, ``archives`` add each
    run's summary, accuracy and gradient SNR. None means the library's default.
    """
    dirs = [os.fspath(a) for a in (archives or [])]
    is_table = isinstance(source, pl.DataFrame) or _is_pandas(source) or (
        isinstance(source, (str, os.PathLike)) and os.path.isfile(source)
    )
    params = dict(
        estimators=_names(estimators), sigma2=_sigma2(sigma2), epochs=epochs, unit=unit,
        tolerance=tolerance,
    )
    if is_table:
        with _Tables(source) as t:
            files, findings = _native.report(os.fspath(out), dirs, t.paths[0], **params)
    else:
        if isinstance(source, (str, os.PathLike)):
            source = [source]
        files, findings = _native.report(os.fspath(out), [os.fspath(s) for s in source] + dirs, None, **params)
    return Report(Path(out), list(files), list(findings))


def plot(
    source,
    out: PathLike,
    *,
    kind: str = "infoplane",
    band: bool = False,
    estimators: str | Iterable[str] | None = None,
    sigma2: str | Iterable | None = None,
) -> list[Path]:
    """The CLI's ``infoplane plot``: ``kind`` is ``infoplane`` or ``movie`` (from an estimates
    table: a path or a DataFrame) or ``snr``, ``accuracy``, ``distances`` (from an archive).
    ``out`` is a path without extension (PNG and SVG are written; a folder for distances).
    ``estimators`` and ``sigma2`` keep only those rows (σ² groups as in the ``setting``
    column). Returns the files written."""
    with _Tables(source) as t:
        files = _native.plot(t.paths[0], kind, os.fspath(out), band, _names(estimators), _names(sigma2))
    return [Path(f) for f in files]


@dataclass
class Verdict:
    """Per layer, whether a fitting and a compression phase show, and under which estimators,
    σ² and runs that holds; ``table`` is the CLI's ``verdict --out`` table."""

    note: str | None
    layers: list[str]
    dpi: list[str]
    table: pl.DataFrame = field(repr=False)

    def __str__(self) -> str:
        lines = ([f"note: {self.note}"] if self.note else []) + self.layers
        return "\n".join(lines + [f"DPI {d}" for d in self.dpi])


def verdict(tables, *, tolerance: float | None = None, out: PathLike | None = None) -> Verdict:
    """The CLI's ``infoplane verdict`` over one or more estimates tables (paths or DataFrames,
    in one unit); ``tolerance`` in the tables' unit (None: the library's default)."""
    with _Tables(tables) as t:
        note, layers, dpi_lines, table = _native.verdict(
            t.paths, tolerance, None if out is None else os.fspath(out))
    return Verdict(note, list(layers), list(dpi_lines), _frame(table))


@dataclass
class DpiCheck:
    """Data-processing-inequality and bound checks of a table: the CLI's summary, whether a
    violation is definite, and the violations (``dpi --out``)."""

    summary: str
    definite: bool
    violations: pl.DataFrame = field(repr=False)

    def __str__(self) -> str:
        return self.summary.rstrip()


def dpi(table, *, tolerance: float | None = None, out: PathLike | None = None) -> DpiCheck:
    """The CLI's ``infoplane dpi`` on an estimates table (a path or a DataFrame)."""
    with _Tables(table) as t:
        summary, definite, violations = _native.dpi(
            t.paths[0], tolerance, None if out is None else os.fspath(out))
    return DpiCheck(summary, definite, _frame(violations))


def aggregate(tables, *, by: str = "seed", out: PathLike | None = None) -> pl.DataFrame:
    """The CLI's ``infoplane aggregate``: estimates tables of runs of one configuration (paths
    or DataFrames) into means, spreads and 95 % t-intervals; notes become warnings."""
    with _Tables(tables) as t:
        notes, table = _native.aggregate(t.paths, by, None if out is None else os.fspath(out))
    for n in notes:
        warnings.warn(n, stacklevel=2)
    return _frame(table)


class Plane:
    """The report's interactive information plane of an estimates table (σ² slider, estimator
    and run selectors, epoch scrubber, tooltips), shown inline in Jupyter and VS Code notebooks
    as one self-contained cell output (an iframe holding the page: no network, no server)."""

    def __init__(self, table, *, unit: str | None = None, height: int = 640):
        with _Tables(table) as t:
            self.page: str = _native.plane_page(t.paths[0], unit)
        self.height = height

    def _repr_html_(self) -> str:
        import html
        return (f'<iframe srcdoc="{html.escape(self.page, quote=True)}" sandbox="allow-scripts" '
                f'style="width:100%;height:{self.height}px;border:0" title="information plane"></iframe>')

    def save(self, path: PathLike) -> Path:
        """Writes the page (open it in a browser)."""
        p = Path(path)
        p.write_text(self.page, encoding="utf-8")
        return p


def plane(table, *, unit: str | None = None) -> Plane:
    """The interactive information plane of a table (a path or a DataFrame), for a notebook:
    ``infoplane.plane(table)`` as a cell's last line draws it."""
    return Plane(table, unit=unit)
