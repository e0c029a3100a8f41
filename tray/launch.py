"""How the app starts itself: the server, the tray, the connection-test child, side by side.

Three processes are started from a command we build: Claude Code starts the server from its registered entry,
the login item and the menu entry start the tray, and the tray starts the connection test's child. Each has a
frozen form (the PyInstaller binary, which has no `-m`) and a source form (this interpreter with `-m`); keeping
them here means a change to how we start (say, an interpreter flag) is made once for all three.

This module imports nothing of ours, so every other module can import it without a cycle.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

APP_ID = "ollama-mcp-tray"
"""The desktop's name for the app: the menu entry, the autostart file and the icons are named after it."""

SERVER_MODULE = "ollama_mcp_tray.server"
TRAY_MODULE = "ollama_mcp_tray.tray"
CHILD_MODULE = "ollama_mcp_tray.tray.gui.connection_test"
SERVE_ARGUMENT = "serve"  # the frozen app's way to run the server
CHILD_ARGUMENT = "_connection-test"  # the frozen app's way to run the tray's connection-test child


def _frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


@dataclass(frozen=True)
class ServerLaunch:
    """How Claude Code must start our server: an absolute command, since it spawns with a minimal PATH."""

    command: str
    args: tuple[str, ...]

    @classmethod
    def current(cls) -> ServerLaunch:
        """The interpreter running us (kept as a path, not resolved: a venv's python is a symlink on purpose)."""
        if _frozen():
            return cls(sys.executable, (SERVE_ARGUMENT,))
        return cls(os.path.abspath(sys.executable), ("-m", SERVER_MODULE))


def tray_command(executable: str = sys.executable, frozen: bool = _frozen()) -> list[str]:
    """The absolute command that starts the tray: the frozen binary, or this interpreter with `-m`."""
    if frozen:
        return [executable]
    exe = Path(executable)
    # pythonw.exe starts without a console window on Windows.
    windowless = exe.with_name("pythonw.exe")
    if exe.name.lower() == "python.exe" and windowless.exists():
        exe = windowless
    return [str(exe), "-m", TRAY_MODULE]


def child_command(python: str = sys.executable) -> list[str]:
    """How to start the connection test's child: a frozen app has no `-m`, so it takes a hidden argument."""
    if _frozen():
        return [sys.executable, CHILD_ARGUMENT]
    return [python, "-m", CHILD_MODULE]
