#!/usr/bin/env bash
# Builds the one executable: dist/Couchcast (Linux), dist/Couchcast.exe (Windows), dist/Couchcast.app (macOS).
# Installs what the build needs into .venv first (Python 3.11+ with venv; on Debian: python3-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q -e . "pyinstaller>=6.10,<7"
.venv/bin/pyinstaller --noconfirm --clean --log-level ERROR build.spec
