#!/usr/bin/env bash
# The OS packages the tests use: Debian's Chromium, driven by Playwright in the browser tests
# (Playwright's own browser download is not reachable here), and HAProxy, the balancer of the
# cluster tests (scripts/cluster.py). Install what is missing when we may (root); otherwise say how.
set -euo pipefail
chromium="${ATIENDE_CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -eq 0 ]; then echo "[setup] chromium and haproxy present"; exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[setup] installing Debian's ${missing[*]} for the tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "[setup] missing: ${missing[*]} (apt-get install -y ${missing[*]}; or set ATIENDE_CHROMIUM)" >&2
exit 1
