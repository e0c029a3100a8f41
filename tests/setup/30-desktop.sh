#!/usr/bin/env bash
# The desktop tests' needs: Tk for the windows (python3-tk), a virtual X server, a tray host (tint2), a notification server (dunst), xdotool,
# GTK 3 and Ayatana AppIndicator typelibs, and PyGObject inside the test virtualenv ($VENV, else ./.venv).
# Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  xvfb xdotool x11-utils dbus-daemon dbus-x11 libglib2.0-bin tint2 dunst python3-tk
  gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1
  libgirepository1.0-dev libcairo2-dev pkg-config gcc
)
# shellcheck source=apt-install-missing.bash
source "$(dirname "${BASH_SOURCE[0]}")/apt-install-missing.bash"
apt_install_missing 30-desktop "${packages[@]}"

venv="${VENV:-$(cd "$(dirname "$0")/../.." && pwd)/.venv}"
py="$venv/bin/python"
if ! "$py" -c 'import gi' 2>/dev/null; then
  echo "30-desktop: building PyGObject into $venv"
  # 3.51+ needs a newer GLib than Debian 12 ships.
  "$py" -m pip install -q --disable-pip-version-check 'pygobject<3.51'
fi
"$py" -c 'import gi; print("30-desktop: PyGObject", gi.__version__, "ready")'
