"""Can this session show a usable tray icon? The messages for when it cannot.

pystray on Linux falls back to its `xorg` backend when PyGObject is missing, and that backend draws an icon
that cannot be clicked and has no menu. Rather than start a useless icon, the app names what to install.
Everything here is pure (environment and platform are parameters); `icon.py` reports the backend it got.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

CLI_HINT = (
    "Everything the tray does is also available on the command line: "
    "`ollama-mcp-tray setup` (one-time Claude Code setup), `ollama-mcp-tray status`, `ollama-mcp-tray doctor`."
)

# What a clickable backend needs, per family of distributions.
_INSTALL_LINUX = """\
The tray icon needs PyGObject and GTK 3 to be clickable on Linux.

Install the system libraries:
  Debian/Ubuntu:  sudo apt install gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 \\
                      libgirepository1.0-dev libcairo2-dev pkg-config gcc
  Fedora:         sudo dnf install gtk3 libayatana-appindicator-gtk3 \\
                      gobject-introspection-devel cairo-gobject-devel pkg-config gcc
  Arch:           sudo pacman -S gtk3 libayatana-appindicator gobject-introspection cairo pkgconf gcc

then PyGObject into the Python that runs the app ({python}):
  {python} -m pip install 'ollama-mcp-tray[linux-desktop]'     (or: 'PyGObject<3.51')

Or install the distribution's python3-gi and run the app from a virtualenv made with
--system-site-packages."""

CLICKABLE_BACKENDS = frozenset({"gtk", "appindicator", "darwin", "win32"})


def display_problem(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Why no tray can be shown in this session, or None when a desktop session seems present.

    >>> display_problem({}, "linux") is not None
    True
    >>> display_problem({"DISPLAY": ":0"}, "linux") is None
    True
    >>> display_problem({}, "darwin") is None
    True
    """
    if platform in ("darwin", "win32"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "The Ollama MCP Tray icon needs a desktop session, and this one has none (neither DISPLAY nor "
        "WAYLAND_DISPLAY is set). Start it from your desktop, or use the command line. " + CLI_HINT
    )


def backend_name(module_name: str) -> str:
    """pystray's backend from the module its Icon class lives in: 'pystray._gtk' -> 'gtk'."""
    return module_name.rsplit(".", 1)[-1].lstrip("_")


def unusable_backend_message(backend: str, python: str = sys.executable) -> str | None:
    """What to install when pystray gave us a backend that cannot be clicked; None when the backend is fine."""
    if backend in CLICKABLE_BACKENDS:
        return None
    if backend == "xorg":
        return (
            "pystray fell back to its 'xorg' backend: its icon cannot be clicked and has no menu.\n\n"
            + _INSTALL_LINUX.format(python=python)
            + "\n\n"
            + CLI_HINT
        )
    return f"pystray's '{backend}' backend cannot show a usable tray icon here. {CLI_HINT}"


def import_failure_message(error: BaseException, env: Mapping[str, str], platform: str = sys.platform) -> str:
    """The message for pystray failing to load at all (no display it can open, missing libraries)."""
    problem = display_problem(env, platform)
    if problem:
        return problem
    where = env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or "this session"
    text = f"The tray icon could not start on {where}: {type(error).__name__}: {error}."
    if platform not in ("darwin", "win32"):
        text += "\n\n" + _INSTALL_LINUX.format(python=sys.executable)
    return text + "\n\n" + CLI_HINT
