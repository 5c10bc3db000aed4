#!/usr/bin/env bash
# Debian's chromium + chromium-driver for tests/test_site.py (the headless-browser test of the docs site).
# Present: nothing to do. Missing and root: apt-get installs them (quiet, idempotent).
# Missing and not root: a notice; the browser test then skips (and fails under CI=1).
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then exit 0; fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing Debian chromium + chromium-driver for the docs browser test"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation >/dev/null
    /usr/bin/chromium --version
else
    echo "notice: /usr/bin/chromium or /usr/bin/chromedriver is missing and this is not root with apt-get;"
    echo "        the browser test of the docs site (tests/test_site.py) will be skipped."
    echo "        To run it: sudo apt-get install chromium chromium-driver"
fi
