#!/usr/bin/env bash
# Install Debian's Chromium for the end-to-end web test (tests/serve/test_web.py drives it with
# Playwright at /usr/bin/chromium). Idempotent: does nothing when it is already installed.
# Never use `playwright install`: it downloads its own browser builds, which fails here.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "install_browser.sh: need root (or sudo) to apt-get install chromium" >&2; exit 1
  fi
}
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
/usr/bin/chromium --version
