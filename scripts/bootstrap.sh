#!/usr/bin/env bash
# Bring a fresh Debian 12 machine to a working dev/test setup; quick and silent when already done.
#   1. system packages (apt-get, as root; otherwise one message naming what to install)
#   2. .venv with the pinned Python dependencies (requirements/lock.txt) and the project, editable
#   3. the npm packages of tools/contract-check (ajv, the AsyncAPI parser) and of the city
#      console's browser assets (city/console/assets: htmx, ECharts), each from its lockfile
#   4. the single-face Simplified-Chinese font Kivy needs (docs/design.md §3), generated, never committed
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
  mosquitto          # the local broker for `make run` and the tests
  postgresql         # the city platform's database: tests and `make run` start private clusters (docs/design.md §5)
  rabbitmq-server    # the city's clustered broker: the tests start a private 3-node cluster (docs/design.md §5)
  nats-server        # tests: a broker whose MQTT listener speaks 3.1.1 only (mqtt.protocol auto)
  libzbar0           # pyzbar's decoder
  libgl1 libegl1 libgles2 libgl1-mesa-dri  # Mesa GL: Kivy offscreen/Xvfb rendering
  libmtdev1          # Kivy's input provider library
  xvfb xauth         # screenshots and UI tests on a virtual screen
  fonts-noto-cjk     # source of the Simplified-Chinese font (face 2 of the .ttc)
  espeak-ng          # offline read-aloud, Mandarin and English
  python3-venv       # venv/ensurepip for Debian's python3
  shellcheck         # the tests lint deploy/*.sh
  systemd            # systemd-analyze verifies deploy/systemd units in the tests
  nodejs             # runs tools/contract-check: ajv and the AsyncAPI parser read docs/contract
  chromium           # the city console's browser tests (Playwright drives /usr/bin/chromium)
)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# Debian ships npm as its own package; a NodeSource nodejs brings npm with it.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: missing system packages; as root run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "bootstrap: installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: $PYTHON is older than 3.11; set PYTHON=python3.11" >&2
  exit 1
fi

stamp_input=$(cat requirements/lock.txt pyproject.toml | sha256sum | cut -d' ' -f1)
stamp=.venv/.bootstrap-stamp
if [[ ! -x .venv/bin/python || ! -f $stamp || $(cat "$stamp") != "$stamp_input" ]]; then
  echo "bootstrap: preparing .venv"
  [[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/lock.txt
  log=$(mktemp)
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e . >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$stamp_input" > "$stamp"
fi

# npm packages, exactly as locked, in the repository (never global): the contract checks and
# the console's browser assets (served by the console itself, docs/console.md).
for npm_dir in tools/contract-check city/console/assets; do
  npm_stamp=$npm_dir/node_modules/.bootstrap-stamp
  npm_input=$(sha256sum "$npm_dir/package-lock.json" | cut -d' ' -f1)
  if [[ ! -f $npm_stamp || $(cat "$npm_stamp") != "$npm_input" ]]; then
    echo "bootstrap: installing $npm_dir npm packages"
    npm ci --prefix "$npm_dir" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
    echo "$npm_input" > "$npm_stamp"
  fi
done

.venv/bin/python scripts/make_font.py
