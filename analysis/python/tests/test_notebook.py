"""Notebook display: an archive's and a plane's ``_repr_html_``, the plane rendered in
Debian's chromium as a notebook shows a cell output (an iframe of one self-contained page)."""
import html
import json

import pytest

import infoplane
from test_estimate import recorded


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb")
    recorded(tmp / "run")
    table = infoplane.estimate_archive(tmp / "run", ["kl", "bd"], sigma2=[0.01, 1], progress=False)
    return tmp, table


def test_archive_html_lists_its_layers_and_state(run):
    tmp, _ = run
    a = infoplane.open(tmp / "run")
    page = a._repr_html_()
    assert f"<code>{html.escape(a.path)}</code>" in page and "complete" in page
    for l in a.layers:
        assert f"<td>{html.escape(l['name'])}</td><td>{l['kind']}</td><td>{l['width']}</td>" in page
    assert f"epochs {len(a.epochs)} ({a.epochs[0]}..{a.epochs[-1]})" in page


def test_the_plane_draws_inline_in_chromium_without_network_or_errors(run):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    tmp, table = run
    p = infoplane.plane(table)
    cell = p._repr_html_()
    assert cell.startswith('<iframe srcdoc="') and "<script>" not in cell   # all inside srcdoc
    notebook = tmp / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><body><div class=\"output\">{cell}</div></body></html>")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        d.get(notebook.as_uri())
        d.switch_to.frame(d.find_element("tag name", "iframe"))
        d.implicitly_wait(2)
        drawn = d.execute_script(
            "return Array.from(document.querySelectorAll('#ip-points circle.ip-sel')).map(c => c.dataset.layer);")
        resources = d.execute_script("return performance.getEntriesByType('resource').map(r => r.name);")
        estimators = d.execute_script(
            "return Array.from(document.getElementById('ip-est').options).map(o => o.text);")
        console = [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    finally:
        d.quit()
    layers = sorted(set(table["layer"]))
    assert sorted(drawn) == layers, drawn                   # one point per layer at the epoch
    assert sorted(estimators) == ["bd", "kl"]
    assert resources == [] and console == [], (resources, json.dumps(console))
