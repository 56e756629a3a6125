#!/usr/bin/env bash
# Installs Debian packages (the arguments) with apt-get: through sudo unless run as root, quietly,
# without recommended extras, after refreshing the package lists (a fresh machine has none).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
