#!/usr/bin/env bash
# The server side of the suite once more on Django 6 (Python 3.12+), with deprecation warnings as
# errors: the code must run warning-free on Django 5.2 (Python 3.11, the main run) and 6.x alike.
# Skipped, with a line saying so, when this machine has no Python 3.12 or newer.
set -euo pipefail
cd "$(dirname "$0")/.."

python=""
for candidate in python3.12 python3.13; do
  if command -v "$candidate" >/dev/null && "$candidate" -c "" 2>/dev/null; then python="$candidate"; break; fi
done
if [ -z "$python" ] && command -v pyenv >/dev/null; then
  version="$(pyenv versions --bare | grep -E '^3\.1[2-9]\.[0-9]+$' | sort -V | head -n 1 || true)"
  if [ -n "$version" ]; then python="$(pyenv root)/versions/$version/bin/python3"; fi
fi
if [ -z "$python" ]; then
  echo "Django 6 run skipped: no Python 3.12 or newer on this machine."
  exit 0
fi

"$python" -m venv .venv-django6
.venv-django6/bin/python -m pip install -q --upgrade pip
.venv-django6/bin/python -m pip install -q -e ".[test]"
echo "Django $(.venv-django6/bin/python -c 'import django; print(django.__version__)') on $(.venv-django6/bin/python -V)"
# The tray and the executable are the desktop's (GTK, PyInstaller), and the whole-film conversion tests
# exercise ffmpeg, PyAV, the players and the other browser engines (minutes of video each), not
# Django: the 3.11 run covers them.
.venv-django6/bin/python -m pytest tests -q -p no:cacheprovider \
  --ignore=tests/test_desktop_tray.py --ignore=tests/test_desktop_gui.py --ignore=tests/test_executable.py \
  --ignore=tests/test_whole_films.py --ignore=tests/test_long_films.py \
  --ignore=tests/test_transcode_scheduler.py --ignore=tests/test_players.py \
  --ignore=tests/test_firefox.py --ignore=tests/test_webkit.py \
  -W error::DeprecationWarning -W error::PendingDeprecationWarning "$@"
