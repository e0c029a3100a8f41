"""VS Code: top-level `servers` in the user profile's mcp.json, and per workspace in <folder>/.vscode/mcp.json.
JSON with comments (kept); VS Code watches the file. (Docs only: VS Code does not run here.)

    macOS    ~/Library/Application Support/Code/User/mcp.json
    Windows  %APPDATA%\\Code\\User\\mcp.json
    Linux    ~/.config/Code/User/mcp.json ($XDG_CONFIG_HOME when set)

An entry is `{"type": "stdio", "command", "args", "env"}`; secrets would go through `inputs`, but ours needs
none (the key file covers the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..launch import ServerLaunch
from .base import Applies, Client, Format, Machine
from .records import Scope


class VSCode(Client):
    name = "vscode"
    display = "VS Code"
    format = Format.JSONC
    servers_path = ("servers",)
    scopes = (Scope.USER, Scope.PROJECT)
    applies = Applies.LIVE
    programs = ("code",)

    def user_file(self, machine: Machine) -> Path:
        if machine.macos:
            folder = machine.app_support
        elif machine.windows:
            folder = machine.appdata
        else:
            folder = machine.xdg_config
        return folder / "Code" / "User" / "mcp.json"

    def project_file(self, project: Path) -> Path:
        return project / ".vscode" / "mcp.json"

    def build_entry(self, launch: ServerLaunch, env: Mapping[str, str], scope: Scope) -> dict[str, Any]:
        return {"type": "stdio", "command": launch.command, "args": list(launch.args), "env": dict(env)}
