#!/usr/bin/env bash
# Headless Chromium for the `exp ui` browser tests (tests/ui), from Debian's packages.
# Idempotent: does nothing when /usr/bin/chromium is already there. Playwright
# drives this system browser (executable_path); `playwright install` is never run.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "ensure-browser: chromium is missing and installing it needs root:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
    exit 1
fi
echo "ensure-browser: installing Debian's chromium (headless browser for tests/ui)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version >&2
