"""Report, drawings and diagnostics from Python are the CLI's: the same page from the same
table, the same verdict, DPI summary and aggregate, and clear errors."""
import numpy as np
import polars as pl
import pytest

import infoplane
from conftest import cli
from test_estimate import recorded


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tables")
    recorded(tmp / "run")
    path = tmp / "est.parquet"
    df = infoplane.estimate_archive(tmp / "run", ["kl", "bd"], sigma2=[0.01, 1], out=path,
                                    progress=False)
    return tmp, path, df


def test_report_of_a_table_is_the_clis_page(table):
    tmp, path, df = table
    r = cli("report", "--table", path, "--out", tmp / "cli")
    assert r.returncode == 0, r.stderr
    page = (tmp / "cli" / "index.html").read_bytes()
    rep = infoplane.report(path, tmp / "py")
    assert rep.index.read_bytes() == page
    # A DataFrame is the same table: the same page.
    assert infoplane.report(df, tmp / "py-df").index.read_bytes() == page
    assert sorted(rep.files) == sorted(p.name for p in (tmp / "cli").iterdir())
    assert "distances-run.csv" not in rep.files and "estimates-run.csv" in rep.files
    assert rep.findings and str(rep).endswith(f"open {rep.index}")


def test_report_of_archives_is_the_clis_page(table):
    tmp, _, _ = table
    r = cli("report", tmp / "run", "--estimator", "kl,bd", "--sigma2", "0.01,1", "--epochs",
            "every:2", "--out", tmp / "cli-a")
    assert r.returncode == 0, r.stderr
    rep = infoplane.report(tmp / "run", tmp / "py-a", estimators="kl,bd", sigma2=[0.01, 1],
                           epochs="every:2")
    assert rep.index.read_bytes() == (tmp / "cli-a" / "index.html").read_bytes()
    assert "distances-run.csv" in rep.files


def test_verdict_and_dpi_are_the_clis(table):
    tmp, path, df = table
    v = infoplane.verdict(df)
    r = cli("verdict", path)
    assert r.returncode == 0, r.stderr
    assert str(v) == r.stdout.rstrip("\n")
    assert v.table.height > 0 and set(v.table["layer"]) <= set(df["layer"])
    d = infoplane.dpi(path, out=tmp / "v.csv")
    r = cli("dpi", path)
    assert str(d) == r.stdout.rstrip("\n")
    assert d.violations.height == pl.read_csv(tmp / "v.csv").height
    assert d.definite == (d.violations.filter(pl.col("category") == "definite").height > 0)


def test_aggregate_of_two_copies_is_the_copy_with_zero_spread(table):
    tmp, _, df = table
    a, b = tmp / "s1.parquet", tmp / "s2.parquet"
    df.with_columns(pl.lit("s1").alias("run"), pl.lit("1").alias("seed")).write_parquet(a)
    df.with_columns(pl.lit("s2").alias("run"), pl.lit("2").alias("seed")).write_parquet(b)
    agg = infoplane.aggregate([a, b], out=tmp / "agg.csv")
    r = cli("aggregate", a, b, "--out", tmp / "agg-cli.csv")
    assert r.returncode == 0, r.stderr
    assert (tmp / "agg.csv").read_bytes() == (tmp / "agg-cli.csv").read_bytes()
    key = ["layer", "epoch", "estimator", "setting"]
    joined = agg.join(df, on=key, suffix="_one")
    assert joined.height == df.height
    np.testing.assert_allclose(joined["i_xz"], joined["i_xz_one"], rtol=1e-12)
    assert (joined["runs"] == 2).all() and (joined["i_xz_sd"] == 0).all()


def test_plot_draws_and_refuses_clearly(table):
    tmp, path, df = table
    files = infoplane.plot(df, tmp / "plane", estimators=["kl"], sigma2="1")
    assert [f.suffix for f in files] == [".png", ".svg"]
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    acc = infoplane.plot(tmp / "run", tmp / "acc", kind="accuracy")
    assert acc[0].is_file()
    with pytest.raises(infoplane.InfoplaneError, match="kind unknown drawing 'pie'"):
        infoplane.plot(path, tmp / "x", kind="pie")
    with pytest.raises(infoplane.InfoplaneError, match="no rows left to plot"):
        infoplane.plot(path, tmp / "x", estimators=["mine"])
    with pytest.raises(infoplane.InfoplaneError, match="by unknown grouping 'layer'"):
        infoplane.aggregate([path], by="layer")
