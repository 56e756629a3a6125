#!/usr/bin/env bash
# Builds the one executable: dist/Couchcast (Linux), dist/Couchcast.exe (Windows, from Git Bash),
# dist/Couchcast.app (macOS). Installs what the build needs into .venv first (Python 3.11+ with venv).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d .venv ]; then python3 -m venv .venv; fi
PYTHON=.venv/bin/python
if [ -x .venv/Scripts/python.exe ]; then PYTHON=.venv/Scripts/python.exe; fi
# On Linux the tray's menu needs GTK (PyGObject; Debian: libgirepository1.0-dev libcairo2-dev gir1.2-gtk-3.0
# pkg-config gcc python3-dev python3-tk). Without it the executable falls back to a menu-less tray icon.
EXTRAS=""
if [ "$(uname -s)" = "Linux" ]; then EXTRAS="[tray-gtk]"; fi
"$PYTHON" -m pip install -q -e ".$EXTRAS" "pyinstaller>=6.10,<7"
# hls.js (the player's HLS for browsers without it) is fetched from npm into the static files, not committed.
if [ -f scripts/fetch-hlsjs.sh ]; then bash scripts/fetch-hlsjs.sh; fi
# The icon files (PNG, ICO, ICNS) are build output, drawn by the desktop app's Pillow code.
if [ -f assets/make_icons.py ]; then "$PYTHON" assets/make_icons.py >/dev/null; fi
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level ERROR build.spec
