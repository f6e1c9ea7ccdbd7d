#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download is
# not reachable here). Install it when missing and we may (root); otherwise say how.
set -euo pipefail
bin="${ATIENDE_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$bin" ]; then echo "[setup] chromium present: $bin"; exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[setup] installing Debian's chromium for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "[setup] chromium is missing: install it (apt-get install -y chromium) or set ATIENDE_CHROMIUM" >&2
exit 1
