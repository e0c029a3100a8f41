"""opencode 1.18: key `mcp` in ~/.config/opencode/opencode.json or .jsonc ($OPENCODE_CONFIG_DIR when set), and per
project in <project>/opencode.json(c). JSON with comments and trailing commas, kept. A new session picks a
change up.

opencode merges `opencode.json` and then `opencode.jsonc` from each folder, the later winning, so we edit the
`.jsonc` when it exists, else the `.json`. Its entry is its own shape and unknown keys are an error:
`{"type": "local", "command": [program, args...], "environment": {...}, "enabled": true}`. It passes its whole
environment to the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..launch import ServerLaunch
from .base import Client, Format, Machine
from .records import Scope

NAMES = ("opencode.jsonc", "opencode.json")


def config_in(folder: Path) -> Path:
    """The file opencode reads last in `folder` (the one that wins), or `opencode.json` when there is none."""
    for name in NAMES:
        if (folder / name).is_file():
            return folder / name
    return folder / "opencode.json"


def as_stdio(entry: Any) -> Any:
    """An opencode entry in the `{command, args}` shape the other clients use (for the is-ours check)."""
    if not isinstance(entry, dict) or entry.get("type") != "local":
        return entry
    command = entry.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(part, str) for part in command):
        return entry
    return {"command": command[0], "args": command[1:], "env": entry.get("environment", {})}


class OpenCode(Client):
    name = "opencode"
    display = "opencode"
    format = Format.JSONC
    servers_path = ("mcp",)
    scopes = (Scope.USER, Scope.PROJECT)
    programs = ("opencode",)

    def user_file(self, machine: Machine) -> Path:
        return config_in(machine.folder_from("OPENCODE_CONFIG_DIR") or machine.xdg_config / "opencode")

    def project_file(self, project: Path) -> Path:
        return config_in(project)

    def build_entry(self, launch: ServerLaunch, env: Mapping[str, str], scope: Scope) -> dict[str, Any]:
        return {
            "type": "local",
            "command": [launch.command, *launch.args],
            "environment": dict(env),
            "enabled": True,
        }

    def entry_command(self, entry: Any) -> str | None:
        return super().entry_command(as_stdio(entry))

    def is_ours(self, entry: Any, launch: ServerLaunch) -> bool:
        return super().is_ours(as_stdio(entry), launch)
