#!/usr/bin/env bash
# The wheel as a new user meets it: a fresh venv, `pip install` of the wheel in dist/ (built by
# scripts/wheel.sh), and the README's Python quickstart run as written, with no Rust toolchain on
# PATH and the SIMD kernels forced onto the portable path (a machine without AVX-512 or AVX2).
# torch is not installed again (4.7 GB): the project venv's site-packages are appended to the
# fresh venv's path, after its own, so infoplane comes from the wheel (checked below).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
wheel=$(ls dist/infoplane-*.whl)
project_venv="${INFOPLANE_VENV:-.venv}"
project_venv=$(cd "$project_venv" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel"
site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$project_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > "$site/zz-project-venv.pth"
# The README's first ```python block, as written.
awk '/^```python$/{on=1; next} /^```$/{if(on) exit} on' README.md > "$work/quickstart.py"
cd "$work"
env -i HOME="$work" PATH="$work/venv/bin:/usr/bin:/bin" INFOPLANE_SIMD=portable \
    "$work/venv/bin/python" - <<PY
import runpy, sys, pathlib
import infoplane
where = pathlib.Path(infoplane.__file__).resolve()
assert str(where).startswith("$work/venv/"), f"infoplane came from {where}, not from the wheel"
assert not any(pathlib.Path(p, "cargo").exists() for p in "$work/venv/bin:/usr/bin:/bin".split(":")), "cargo is on PATH"
runpy.run_path("quickstart.py")
png = pathlib.Path("runs/tishby-plane.png")
assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
page = pathlib.Path("runs/tishby-report/index.html").read_text()
assert "tanh-12bit" in page and "<h2>Verdict</h2>" in page
print(f"wheel test: {pathlib.Path('$wheel').name} installed in a fresh venv; the README quickstart ran on the portable SIMD path from {where.parent}")
PY
