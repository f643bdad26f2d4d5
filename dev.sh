#!/usr/bin/env bash
# meter2cash quick start: installs what is missing, then runs the demo or the tests.
#   ./dev.sh demo [m2c demo options]   the whole system on simulators
#   ./dev.sh test [pytest options]     lint, type check and the test suite
#   ./dev.sh bench                     the benchmarks (figures, not pass/fail)
set -euo pipefail
cd "$(dirname "$0")"

VENV=${M2C_VENV:-.venv}
DEBS=(mosquitto python3-venv fonts-dejavu-core fonts-noto-cjk)
TEST_DEBS=(mbpoll systemd)

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_debs() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
      echo "missing Debian packages: ${missing[*]} (no apt-get here: install them yourself)" >&2
      return 1
    fi
    echo "installing Debian packages: ${missing[*]}"
    sudo_ apt-get update -qq
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

pick_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$py"; return 0
    fi
  done
  echo "Python 3.11 or newer is required" >&2; return 1
}

install_project() {
  local py stamp
  py=$(pick_python)
  [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
  stamp="$VENV/.m2c-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing meter2cash and its packages into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[dev]"
    touch "$stamp"
  fi
}

cmd=${1:-help}; shift || true
case "$cmd" in
  demo)
    need_debs "${DEBS[@]}"; install_project
    exec "$VENV/bin/m2c" demo "$@" ;;
  test)
    need_debs "${DEBS[@]}" "${TEST_DEBS[@]}"; install_project
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check . >/dev/null || echo "note: ruff format would reformat some files"
    "$VENV/bin/mypy"
    exec "$VENV/bin/pytest" "$@" ;;
  bench)
    need_debs "${DEBS[@]}" "${TEST_DEBS[@]}"; install_project
    exec "$VENV/bin/python" -m tests.bench "$@" ;;
  *)
    sed -n '2,5p' "$0"; exit 2 ;;
esac
