"""Drives a report's index.html in Debian's chromium through chromedriver (selenium) and prints
what the Rust test (analysis/tests/cli/browser.rs) asserts, as JSON.

usage: check_report.py REPORT_DIR SCREENSHOT_PNG
"""
import json
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def driver():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1400"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def selected(d):
    """(layer, epoch, x, y) of the points of the selected epoch, as drawn."""
    return d.execute_script(
        "return Array.from(document.querySelectorAll('#ip-points circle.ip-sel')).map(c => "
        "[c.dataset.layer, +c.dataset.epoch, +c.dataset.x, +c.dataset.y]);"
    )


def set_control(d, cid, value, event):
    d.execute_script(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event(arguments[2]));",
        cid, str(value), event,
    )
    return d.execute_script("return window.infoplaneLastRedrawMs;")


def main():
    report, shot = Path(sys.argv[1]).resolve(), sys.argv[2]
    d = driver()
    out = {}
    try:
        d.get((report / "index.html").as_uri())
        time.sleep(0.5)
        out["resources"] = d.execute_script(
            "return performance.getEntriesByType('resource').map(r => r.name);")
        out["settings"] = d.execute_script(
            "return Array.from({length: +document.getElementById('ip-sigma').max + 1}, (_, i) => i);")
        states = {}
        redraws = []
        for est in (0, 1):
            redraws.append(set_control(d, "ip-est", est, "change"))
            name = d.execute_script("const s = document.getElementById('ip-est'); return s.options[s.selectedIndex].text;")
            for k in out["settings"]:
                redraws.append(set_control(d, "ip-sigma", k, "input"))
                label = d.find_element("id", "ip-sigma-label").text
                states[f"{name}|{k}"] = {"label": label, "points": selected(d)}
        out["states"] = states
        set_control(d, "ip-est", 0, "change")
        set_control(d, "ip-sigma", 0, "input")
        redraws.append(set_control(d, "ip-epoch", 0, "input"))
        out["first_epoch_points"] = selected(d)
        set_control(d, "ip-epoch", d.execute_script("return +document.getElementById('ip-epoch').max;"), "input")
        redraws.append(set_control(d, "ip-view", "sigma", "change"))
        out["sigma_view"] = d.execute_script(
            "return Array.from(document.querySelectorAll('circle.ip-sig')).map(c => "
            "[c.dataset.layer, +c.dataset.x]);")
        out["redraw_ms_max"] = max(redraws)
        d.save_screenshot(shot)
        out["console"] = [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        out["bytes"] = (report / "index.html").stat().st_size
    finally:
        d.quit()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
