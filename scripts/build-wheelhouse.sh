#!/usr/bin/env bash
# Build an offline wheelhouse for installing the gateway on a Raspberry Pi with no internet.
#
#   scripts/build-wheelhouse.sh [OUT_DIR]          (default dist/wheelhouse-<arch>)
#
# Environment:
#   ARCH=aarch64|armv7l|x86_64   target CPU: 64-bit Raspberry Pi OS (default), 32-bit, or a PC
#   PYVER=3.11            the Pi's Python (Raspberry Pi OS bookworm ships 3.11)
#   EXTRA=edge            which extra of pyproject.toml to pack (edge = the gateway)
#   PYTHON=python3        the Python running pip here (any OS; nothing is compiled for the Pi)
#
# On the Pi, with the wheelhouse copied over:
#   python3 -m venv /opt/meter2cash/.venv
#   /opt/meter2cash/.venv/bin/pip install --no-index --find-links <wheelhouse> 'meter2cash[edge]'
set -euo pipefail
cd "$(dirname "$0")/.."

ARCH=${ARCH:-aarch64}
PYVER=${PYVER:-3.11}
EXTRA=${EXTRA:-edge}
PY=${PYTHON:-python3}
OUT=${1:-dist/wheelhouse-$ARCH}
ABI="cp${PYVER/./}"

case "$ARCH" in
  aarch64)
    PLATFORMS=(manylinux_2_36_aarch64 manylinux_2_28_aarch64 manylinux_2_17_aarch64
               manylinux2014_aarch64 musllinux_1_2_aarch64 linux_aarch64)
    INDEX=() ;;
  armv7l)
    # Few projects publish 32-bit ARM wheels on PyPI; piwheels builds them for Raspberry Pi OS.
    PLATFORMS=(manylinux_2_36_armv7l manylinux_2_31_armv7l manylinux_2_17_armv7l
               manylinux2014_armv7l linux_armv7l)
    INDEX=(--extra-index-url https://www.piwheels.org/simple) ;;
  x86_64)
    # Industrial PCs, and checking the wheelhouse on a development machine.
    PLATFORMS=(manylinux_2_36_x86_64 manylinux_2_28_x86_64 manylinux_2_17_x86_64
               manylinux2014_x86_64 linux_x86_64)
    INDEX=() ;;
  *) echo "ARCH must be aarch64, armv7l or x86_64" >&2; exit 2 ;;
esac

mkdir -p "$OUT"
echo "wheelhouse for $ARCH, CPython $PYVER, extra [$EXTRA] -> $OUT"

# 1. meter2cash itself: pure Python, one wheel for every platform.
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$OUT" .

# 2. Its requirements (the base ones and the extra's), resolved for the target.
mapfile -t REQS < <("$PY" - "$EXTRA" <<'PYEOF'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for req in project["dependencies"] + project["optional-dependencies"][sys.argv[1]]:
    print(req)
PYEOF
)
platform_args=()
for p in "${PLATFORMS[@]}"; do platform_args+=(--platform "$p"); done

if ! "$PY" -m pip download --quiet --dest "$OUT" --only-binary=:all: \
      --implementation cp --python-version "$PYVER" --abi "$ABI" --abi abi3 --abi none \
      "${platform_args[@]}" "${INDEX[@]}" "${REQS[@]}"; then
  # A requirement published only as a source archive: fetch the binary ones one by one and
  # build the rest here (they are pure Python, so the wheel built here suits the Pi).
  echo "some requirements have no wheel for $ARCH: building pure-Python ones locally"
  for req in "${REQS[@]}"; do
    "$PY" -m pip download --quiet --dest "$OUT" --only-binary=:all: \
      --implementation cp --python-version "$PYVER" --abi "$ABI" --abi abi3 --abi none \
      "${platform_args[@]}" "${INDEX[@]}" "$req" \
    || "$PY" -m pip wheel --quiet --wheel-dir "$OUT" "${INDEX[@]}" "$req"
  done
fi

# 3. A listing, and a check that pip on the Pi will find everything without the network.
ls "$OUT" > "$OUT/CONTENTS.txt"
echo "$(ls "$OUT"/*.whl | wc -l) wheels in $OUT"
if [ "$(uname -m)" = "$ARCH" ]; then
  tmp=$(mktemp -d)
  "$PY" -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install --quiet --no-index --find-links "$OUT" "meter2cash[$EXTRA]"
  "$tmp/venv/bin/m2c" --help >/dev/null && echo "offline install checked in $tmp"
fi
