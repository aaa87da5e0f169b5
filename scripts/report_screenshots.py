"""Screenshots of a report's interactive plane (controls, plane, values table) at σ² positions
(docs/report.md's images).

usage: report_screenshots.py REPORT_DIR OUT_PREFIX [POSITION ...]   (default positions 0 2)
"""
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def main():
    report, prefix = Path(sys.argv[1]).resolve(), sys.argv[2]
    positions = [int(p) for p in sys.argv[3:]] or [0, 2]
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1600"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        d.get((report / "index.html").as_uri())
        time.sleep(0.5)
        for k in positions:
            d.execute_script(
                "const e = document.getElementById('ip-sigma'); e.value = arguments[0];"
                "e.dispatchEvent(new Event('input'));", str(k))
            panel = d.execute_script(
                "return document.getElementById('ip-svg').parentElement;")
            d.execute_script("arguments[0].scrollIntoView();", panel)
            block = d.find_element("css selector", ".ip-controls")
            shot = f"{prefix}-{k}.png"
            # The controls and the plane together.
            d.execute_script(
                "const w = document.createElement('div'); w.id = 'ip-shot';"
                "const c = document.querySelector('.ip-controls'), s = document.getElementById('ip-svg');"
                "const v = document.getElementById('ip-values');"
                "c.parentNode.insertBefore(w, c); w.appendChild(c); w.appendChild(s); if (v) w.appendChild(v);")
            d.find_element("id", "ip-shot").screenshot(shot)
            print(shot, block.text.replace("\n", " | "))
    finally:
        d.quit()


if __name__ == "__main__":
    main()
