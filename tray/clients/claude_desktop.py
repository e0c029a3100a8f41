"""Claude Desktop: `mcpServers` in claude_desktop_config.json, strict JSON, read once at launch.

    macOS    ~/Library/Application Support/Claude/claude_desktop_config.json
    Windows  %APPDATA%\\Claude\\claude_desktop_config.json; the Microsoft Store / MSIX install reads its
             virtualised copy, %LOCALAPPDATA%\\Packages\\Claude_<publisher id>\\LocalCache\\Roaming\\Claude\\,
             and newer Store builds (reported, not verified here) %LOCALAPPDATA%\\Claude-Data\\claude_*\\
    Linux    no official app: no file, unless OLLAMA_MCP_TRAY_CLAUDE_DESKTOP_DIR names the folder (tests, and
             the unofficial Linux builds that keep the macOS layout under ~/.config/Claude)
"""

from __future__ import annotations

from pathlib import Path

from .base import Applies, Client, Machine

CONFIG_NAME = "claude_desktop_config.json"
FOLDER_OVERRIDE = "OLLAMA_MCP_TRAY_CLAUDE_DESKTOP_DIR"


def data_folders(machine: Machine) -> list[Path]:
    """Newer Store builds' own data folders, %LOCALAPPDATA%\\Claude-Data\\claude_*, when the app made one."""
    root = machine.local_appdata / "Claude-Data"
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and p.name.lower().startswith("claude"))
    except OSError:
        return []


def msix_folders(machine: Machine) -> list[Path]:
    """The MSIX package's virtualised Roaming\\Claude folders that exist (normally none or one)."""
    packages = machine.local_appdata / "Packages"
    try:
        found = sorted(p for p in packages.glob("Claude_*") if p.is_dir())
    except OSError:
        return []
    return [p / "LocalCache" / "Roaming" / "Claude" for p in found]


class ClaudeDesktop(Client):
    name = "claude-desktop"
    display = "Claude Desktop"
    applies = Applies.RESTART

    def config_folder(self, machine: Machine) -> Path | None:
        override = machine.folder_from(FOLDER_OVERRIDE)
        if override is not None:
            return override
        if machine.macos:
            return machine.app_support / "Claude"
        if machine.windows:
            plain = machine.appdata / "Claude"
            if (plain / CONFIG_NAME).is_file():
                return plain  # a real file outside the package is what the app reads
            packaged = data_folders(machine) + [folder for folder in msix_folders(machine) if folder.parent.is_dir()]
            with_config = [folder for folder in packaged if (folder / CONFIG_NAME).is_file()]
            return (with_config or packaged or [plain])[0]
        return None

    def user_file(self, machine: Machine) -> Path | None:
        folder = self.config_folder(machine)
        return folder / CONFIG_NAME if folder is not None else None

    def installed(self, machine: Machine) -> bool:
        folder = self.config_folder(machine)
        if folder is None:
            return False
        if machine.macos and Path("/Applications/Claude.app").is_dir():
            return True
        if machine.windows and (msix_folders(machine) or data_folders(machine)):
            return True
        return folder.is_dir()
