#!/usr/bin/env bash
# Builds the one executable: dist/Couchcast (Linux), dist/Couchcast.exe (Windows, from Git Bash),
# dist/Couchcast.app (macOS). Installs what the build needs into .venv first (Python 3.11+ with venv).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d .venv ]; then python3 -m venv .venv; fi
PYTHON=.venv/bin/python
if [ -x .venv/Scripts/python.exe ]; then PYTHON=.venv/Scripts/python.exe; fi
"$PYTHON" -m pip install -q -e . "pyinstaller>=6.10,<7"
# The icon files (PNG, ICO, ICNS) are build output, drawn by the desktop app's Pillow code.
if [ -f assets/make_icons.py ]; then "$PYTHON" assets/make_icons.py >/dev/null; fi
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level ERROR build.spec
