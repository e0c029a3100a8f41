"""Codex CLI 0.171: `[mcp_servers.<name>]` in ~/.codex/config.toml ($CODEX_HOME/config.toml when set), and per
project in <project>/.codex/config.toml, which Codex reads only for a trusted project
(`[projects."<path>"] trust_level = "trusted"`, the user's decision). TOML, edited keeping its comments (Codex's
own `codex mcp add` rewrites the file without them). A new session picks a change up.

Codex starts a server with a few basic variables only (HOME, PATH, USER, ...): `env_vars` names the ones of the
parent environment our server needs too, where it finds its settings and key file (the XDG folders on Linux,
APPDATA on Windows) and the Ollama address a user may have set for every Ollama tool. The key itself never
goes into the file; the key file covers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..launch import ServerLaunch
from .base import Client, Format, Machine
from .records import Scope

PASSED_FROM_PARENT = (
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "APPDATA",
    "LOCALAPPDATA",
    "OLLAMA_HOST",
)
STARTUP_TIMEOUT_SEC = 30
"""Codex waits 10 s for a server by default; a first start of Python on a cold disk can take longer."""


class CodexCli(Client):
    name = "codex"
    display = "Codex CLI"
    format = Format.TOML
    servers_path = ("mcp_servers",)
    scopes = (Scope.USER, Scope.PROJECT)
    programs = ("codex",)

    def user_file(self, machine: Machine) -> Path:
        return (machine.folder_from("CODEX_HOME") or machine.home / ".codex") / "config.toml"

    def project_file(self, project: Path) -> Path:
        return project / ".codex" / "config.toml"

    def build_entry(self, launch: ServerLaunch, env: Mapping[str, str], scope: Scope) -> dict[str, Any]:
        return {
            "command": launch.command,
            "args": list(launch.args),
            "env": dict(env),
            "env_vars": list(PASSED_FROM_PARENT),
            "startup_timeout_sec": STARTUP_TIMEOUT_SEC,
            "enabled": True,
        }
