#!/usr/bin/env bash
# Installs Couchcast on Debian 12 (the system packages its GTK tray and build need, hls.js, a .venv
# with couchcast in it), then starts it: `couchcast` (the tray app; without a display it serves
# headless), or whatever arguments this script was given, e.g. `serve ~/Videos`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/apt-install.sh python3-venv python3-dev python3-tk gcc pkg-config \
  libgirepository1.0-dev libcairo2-dev gir1.2-gtk-3.0

scripts/fetch-hlsjs.sh
python3 -m venv .venv
.venv/bin/python -m pip install -q '.[tray-gtk]'
exec .venv/bin/couchcast "$@"
