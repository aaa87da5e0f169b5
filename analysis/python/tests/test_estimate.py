"""Estimation from Python is the CLI's: the same table bit for bit on the same archive, and the
same numbers on plain arrays."""
import pathlib
import subprocess
import sys

import numpy as np
import polars as pl
import torch

import infoplane
from conftest import ConvResRnn, cli, toy_data, train

FLAGS = ["--estimator", "kl,bd,mc,bin", "--sigma2", "0.01,1,nn*4", "--error", "subsample:3",
         "--layers", "gru,head", "--epochs", "every:2"]


def recorded(path):
    torch.manual_seed(2)
    model = ConvResRnn()
    x, y = toy_data(64)
    with infoplane.Recorder(model, path, analysis=(x, y), epochs=4, record_epochs="all",
                            seed=2) as rec:
        train(model, rec, x, y)


def same_bits(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns and a.height == b.height
    for c in a.columns:
        x, y = a[c], b[c]
        assert x.dtype == y.dtype, c
        if x.dtype == pl.Float64:
            assert np.array_equal(x.to_numpy().view(np.uint64), y.to_numpy().view(np.uint64)), c
        else:
            assert x.to_list() == y.to_list(), c


def test_python_estimate_archive_equals_cli_estimate_bit_for_bit(tmp):
    recorded(tmp / "run")
    r = cli("estimate", tmp / "run", *FLAGS, "--out", tmp / "cli.parquet")
    assert r.returncode == 0, r.stderr
    py = infoplane.estimate_archive(tmp / "run", "kl,bd,mc,bin", sigma2=[0.01, 1, "nn*4"],
                                    error="subsample:3", layers=["gru", "head"], epochs="every:2",
                                    out=tmp / "py.parquet", progress=False)
    cli_table = pl.read_parquet(tmp / "cli.parquet")
    assert cli_table.height == 2 * 3 * (3 * 3 + 1)   # layers x epochs x (3 estimators x 3 σ² + bin)
    same_bits(py, cli_table)
    same_bits(pl.read_parquet(tmp / "py.parquet"), cli_table)
    assert py["i_xz_se"].is_not_nan().all()
    # pandas users get the same table.
    pdf = py.to_pandas()
    assert list(pdf.columns) == py.columns and len(pdf) == py.height
    assert np.array_equal(pdf["i_xz"].to_numpy(), py["i_xz"].to_numpy(), equal_nan=True)
    # Nats, and the CSV the CLI writes, carry the same values.
    nats = infoplane.estimate_archive(tmp / "run", ["kl"], sigma2=0.01, unit="nats", progress=False)
    r = cli("estimate", tmp / "run", "--estimator", "kl", "--sigma2", "0.01", "--unit", "nats",
            "--out", tmp / "cli.csv")
    assert r.returncode == 0, r.stderr
    csv = pl.read_csv(tmp / "cli.csv")
    assert np.array_equal(csv["i_xz"].to_numpy(), nats["i_xz"].to_numpy())


def test_estimate_on_arrays_equals_the_archive_rows(tmp):
    recorded(tmp / "run")
    a = infoplane.open(tmp / "run")
    rows = infoplane.estimate_archive(tmp / "run", ["kl", "bd", "bin"], sigma2=[0.1],
                                      layers=["gru"], epochs="4", progress=False)
    arr = infoplane.estimate(a.read("gru", 4), a.labels(), ["kl", "bd", "bin"], sigma2=0.1,
                             classes=len(a.classes))
    assert arr["run"].unique().to_list() == ["arrays"]
    for col in ("i_xz", "i_yz", "i_yz_lo", "i_yz_hi", "h_y", "n_eff"):
        assert np.array_equal(arr[col].to_numpy(), rows[col].to_numpy(), equal_nan=True), col


def test_estimate_on_a_closed_form():
    # N points 1000 apart with σ² = 1e-3: the Gaussians do not overlap, so the KL bound of
    # I(X;Z) is ln N (6 bits) and I(Y;Z) = H(Y) = 1 bit for two balanced classes.
    n = 64
    z = np.arange(n, dtype=np.float64)[:, None] * 1e3
    y = np.repeat([0, 1], n // 2)
    t = infoplane.estimate(z, y, ["kl"], sigma2=1e-3)
    assert abs(t["i_xz"][0] - np.log2(n)) < 1e-9
    assert abs(t["i_yz"][0] - 1.0) < 1e-9
    assert abs(t["h_y"][0] - 1.0) < 1e-12


def test_renyi_above_max_n_is_the_quadrature_with_standard_errors():
    # With a tiny width every sample is its own: A = I/N, so I(Y;Z) = H(Y) = 1 bit for two
    # balanced classes on every path; above --renyi-max-n the rows say how they were computed
    # (the quadrature deflates at most (N - 1) / 2 = 31 eigenvectors).
    n = 64
    z = np.arange(n, dtype=np.float64)[:, None] * 1e3
    y = np.repeat([0, 1], n // 2)
    t = infoplane.estimate(z, y, ["renyi"], renyi_max_n=16, renyi_width="1e-6")
    assert "approximate=slq_probes_16_steps_20_deflate_31" in t["params"][0]
    assert abs(t["i_yz"][0] - 1.0) < 1e-6 and 0 <= t["i_yz_se"][0] < 1e-6
    s = infoplane.estimate(z, y, ["renyi"], renyi_max_n=16, renyi_width="1e-6",
                           renyi_large="subsets", renyi_subsamples=2)
    assert "approximate=mean_of_2_subsets_of_16" in s["params"][0]
    assert abs(s["i_yz"][0] - 1.0) < 0.2 and np.isnan(s["i_yz_se"][0])


def test_progress_reaches_the_callback_and_the_gil_is_free(tmp):
    recorded(tmp / "run")
    calls = []
    import threading
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.001)

    th = threading.Thread(target=ticker)
    th.start()
    from infoplane import _native
    _native.estimate_archives([str(tmp / "run")], ["kl", "bd"], '{"sigma2": 0.1}', None,
                              "all", "bits", None, lambda d, t: calls.append((d, t)))
    stop.set()
    th.join()
    assert calls[-1] == (25, 25) and [d for d, _ in calls] == list(range(1, 26))
    assert len(ticks) > 1   # another Python thread ran while Rust estimated


def test_python_defaults_are_the_librarys_and_the_stub_is_current():
    d = infoplane.default_params()
    # The library's defaults, which the CLI's flags share (a Rust test checks that side).
    assert d["sigma2"] == "0.001,0.01,0.1,1,thesis,nn"
    assert d["renyi_alpha"] == 1.01 and d["mine_folds"] == 5 and d["bin_range"] == [-1.0, 1.0]
    assert "eval_every" not in d
    # No keyword argument is the same as every default given explicitly.
    rng = np.random.default_rng(0)
    z = rng.standard_normal((120, 4))
    y = rng.integers(0, 3, 120)
    same_bits(infoplane.estimate(z, y, ["kl", "bd", "bin"]),
              infoplane.estimate(z, y, ["kl", "bd", "bin"], **d))
    assert infoplane.estimate(z, y)["estimator"].unique(maintain_order=True).to_list() == ["kl", "bd"]
    # The editors' stub lists exactly these parameters with these defaults.
    root = pathlib.Path(__file__).resolve().parents[3]
    r = subprocess.run([sys.executable, str(root / "scripts/python_stub.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
