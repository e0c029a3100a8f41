#!/usr/bin/env bash
# The packaging tests' needs: binutils (PyInstaller reads shared-library dependencies with objdump), the
# shared libpython when the venv's Python is Debian's (PyInstaller bundles it), desktop-file-utils
# (desktop-file-validate checks our .desktop entry) and PyInstaller in the test virtualenv ($VENV, else
# ./.venv) for the frozen-build smoke test. Idempotent: installs only what is missing.
set -euo pipefail

venv="${VENV:-$(cd "$(dirname "$0")/../.." && pwd)/.venv}"
py="$venv/bin/python"

packages=(binutils desktop-file-utils)
# PyInstaller bundles the shared libpython; Debian ships it apart from the interpreter (libpython3.X).
if [[ "$("$py" -c 'import sys; print(sys.base_prefix)')" == /usr ]]; then
  packages+=("libpython$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')")
fi
# shellcheck source=apt-install-missing.bash
source "$(dirname "${BASH_SOURCE[0]}")/apt-install-missing.bash"
apt_install_missing 40-freeze "${packages[@]}"

if ! "$py" -c 'import PyInstaller' 2>/dev/null; then
  echo "40-freeze: installing PyInstaller into $venv"
  "$py" -m pip install -q --disable-pip-version-check 'pyinstaller>=6'
fi
"$py" -c 'import PyInstaller; print("40-freeze: PyInstaller", PyInstaller.__version__, "ready")'
