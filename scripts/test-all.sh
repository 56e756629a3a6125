#!/usr/bin/env bash
# Installs everything the test suite needs on Debian 12 (system packages too), then runs all of it:
# lint, the tests (real server, real ffmpeg videos, real Chromium, Firefox and WebKitGTK, real tray
# under Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/apt-install.sh \
  python3-venv python3-dev python3-tk gcc pkg-config \
  chromium ffmpeg xvfb xauth trayer xdotool x11-utils imagemagick nginx-light \
  dbus dbus-x11 libgirepository1.0-dev libcairo2-dev gir1.2-gtk-3.0 \
  mpv gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav \
  vlc-bin vlc-plugin-base gupnp-tools minidlna \
  firefox-esr webkit2gtk-driver

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,tray-gtk]"
scripts/fetch-hlsjs.sh

.venv/bin/ruff check .
.venv/bin/python -m pytest tests "$@"
