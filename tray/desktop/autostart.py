"""Start the tray at login: an XDG autostart entry on Linux, a LaunchAgent on macOS, the Run key on Windows.

The entry runs the app with no arguments, which starts the tray quietly (no window, no notification). The
file contents are pure functions of the command; enabling writes them atomically and is idempotent,
disabling removes them. Paths and platform are parameters so tests run each flavour in a temporary HOME.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..configfile.safe_edit import write_atomic
from ..launch import APP_ID, tray_command
from .menu_entry import render_desktop_entry

LAUNCH_AGENT_LABEL = "io.github.ollama-mcp-tray"
RUN_VALUE_NAME = "OllamaMcpTray"
_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def desktop_entry(command: Sequence[str]) -> str:
    """The XDG autostart file's text: the app's desktop entry, marked for autostart."""
    return render_desktop_entry(command, extra={"X-GNOME-Autostart-enabled": "true"})


def launch_agent(command: Sequence[str]) -> bytes:
    """The macOS LaunchAgent property list."""
    return plistlib.dumps(
        {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
        }
    )


def windows_command_line(command: Sequence[str]) -> str:
    """The Run key's value: one command line, quoted the way Windows parses it."""
    return subprocess.list2cmdline(list(command))


class Autostart:
    """The login item of the current platform.

    Args:
        home: the user's home folder (macOS LaunchAgents live under it).
        env: the environment (XDG_CONFIG_HOME on Linux).
        platform: `sys.platform`'s value.
        command: what to start; `tray_command()` by default.
    """

    def __init__(
        self,
        home: Path | None = None,
        env: Mapping[str, str] | None = None,
        platform: str = sys.platform,
        command: Sequence[str] | None = None,
    ) -> None:
        self.home = home if home is not None else Path.home()
        self.env = os.environ if env is None else env
        self.platform = platform
        self.command = list(command) if command is not None else tray_command()

    @property
    def path(self) -> Path | None:
        """The file that makes the tray start at login (None on Windows, which uses the registry)."""
        if self.platform == "win32":
            return None
        if self.platform == "darwin":
            return self.home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        config = self.env.get("XDG_CONFIG_HOME") or str(self.home / ".config")
        return Path(config) / "autostart" / f"{APP_ID}.desktop"

    def is_enabled(self) -> bool:
        """Whether the tray starts at login."""
        if self.platform == "win32":
            return _windows_run_value() is not None
        path = self.path
        return path is not None and path.is_file()

    def enable(self) -> None:
        """Start the tray at login (rewrites the entry: idempotent, and it follows a moved interpreter)."""
        if self.platform == "win32":
            _windows_set_run_value(windows_command_line(self.command))
            return
        path = self.path
        assert path is not None
        data = launch_agent(self.command) if self.platform == "darwin" else desktop_entry(self.command).encode()
        write_atomic(path, data, mode=0o644)

    def disable(self) -> None:
        """Stop starting at login; nothing to do when it was not enabled."""
        if self.platform == "win32":
            _windows_delete_run_value()
            return
        path = self.path
        if path is not None:
            path.unlink(missing_ok=True)

    def set_enabled(self, enabled: bool) -> None:
        if enabled:
            self.enable()
        else:
            self.disable()


# ---- Windows registry (only reachable on Windows) -----------------------------------------------------

if sys.platform == "win32":
    import winreg

    def _windows_run_value() -> str | None:
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY) as key:
                value, _kind = winreg.QueryValueEx(key, RUN_VALUE_NAME)
        except FileNotFoundError:
            return None
        return str(value)

    def _windows_set_run_value(command_line: str) -> None:
        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, _RUN_KEY) as key:
            winreg.SetValueEx(key, RUN_VALUE_NAME, 0, winreg.REG_SZ, command_line)

    def _windows_delete_run_value() -> None:
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, RUN_VALUE_NAME)
        except FileNotFoundError:
            pass

else:

    def _not_windows(*_args: object) -> None:
        raise OSError("The Run key exists on Windows only.")

    _windows_run_value = _windows_set_run_value = _windows_delete_run_value = _not_windows
