#!/usr/bin/env bash
# CI, after the test suite: build the one executable, then run the smoke test on the built file
# (empty PATH, Range, thumbnail from the bundled ffmpeg, clean SIGTERM) and print its size and start time.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-exe.sh
COUCHCAST_EXE=dist/Couchcast .venv/bin/python -m pytest tests/test_executable.py
.venv/bin/python bench/bench_startup.py --exe dist/Couchcast
