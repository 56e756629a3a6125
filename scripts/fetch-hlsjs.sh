#!/usr/bin/env bash
# Puts hls.js (for browsers without native HLS: desktop Firefox, older Chromium) into the static files,
# from the npm registry at a pinned version. The file is never committed: run this before building
# the wheel or the executable (both carry server/**/static/**), and before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
HLS_JS_VERSION=1.7.4
TARGET=server/transcode/static/couchcast/vendor
if ! command -v npm >/dev/null; then
  # Debian's npm only when there is none: a Node.js from elsewhere (NodeSource) brings its own,
  # and its package conflicts with Debian's.
  echo "npm is missing: installing Debian's npm with apt-get…"
  scripts/apt-install.sh npm
fi
npm install --silent --no-audit --no-fund --no-save --prefix build/npm "hls.js@${HLS_JS_VERSION}"
mkdir -p "$TARGET"
cp build/npm/node_modules/hls.js/dist/hls.min.js "$TARGET/hls.min.js"
cp build/npm/node_modules/hls.js/LICENSE "$TARGET/hls.js-LICENSE.txt"
echo "hls.js ${HLS_JS_VERSION} -> $TARGET/hls.min.js"
