#!/usr/bin/env bash
# The packaging tests' needs: binutils (PyInstaller reads shared-library dependencies with objdump),
# desktop-file-utils (desktop-file-validate checks our .desktop entry) and PyInstaller in the test
# virtualenv ($VENV, else ./.venv) for the frozen-build smoke test. Idempotent: installs only what is missing.
set -euo pipefail

packages=(binutils desktop-file-utils)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "40-freeze: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv="${VENV:-$(cd "$(dirname "$0")/../.." && pwd)/.venv}"
py="$venv/bin/python"
if ! "$py" -c 'import PyInstaller' 2>/dev/null; then
  echo "40-freeze: installing PyInstaller into $venv"
  "$py" -m pip install -q --disable-pip-version-check 'pyinstaller>=6'
fi
"$py" -c 'import PyInstaller; print("40-freeze: PyInstaller", PyInstaller.__version__, "ready")'
