#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine: system packages, the project-local Python venv
# (.venv, with torch for the recorder), and nothing else. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential pkg-config libhdf5-dev libopenblas-dev libfontconfig1-dev python3-venv python3-pip time fonts-dejavu-core chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
    echo "setup: cargo is missing; install Rust (https://rustup.rs) first" >&2
    exit 1
fi

# The venv lives in .venv unless INFOPLANE_VENV names another place (CI keeps it outside the clone).
venv="${INFOPLANE_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating the Python venv in $venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
want = [l.split("==") for l in open("scripts/requirements.txt") if "==" in l and not l.startswith("#")]
sys.exit(any(version(n.strip()) != v.strip() for n, v in want))
PY
then
    echo "setup: installing Python packages (torch is large: about 1 minute and 4.7 GB)"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r scripts/requirements.txt
fi
echo "setup: done"
