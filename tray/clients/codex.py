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

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..configfile.json_document import DocumentError
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
    trust_fix = "start `codex` in the project and trust it"

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

    def project_trusted(self, machine: Machine, project: Path) -> bool:
        """Whether Codex reads `project`'s `.codex/config.toml`: the user's config marks the project trusted
        (`[projects."<path>"] trust_level = "trusted"`), by its own path or that of the git repository holding
        it, which is what Codex keys a project by. A user file that does not parse trusts nothing."""
        from ..configfile.toml_document import Document  # here: the CLI's start does not pay for tomlkit

        try:
            projects = Document(self.user_file(machine).read_text(encoding="utf-8")).get(("projects",))
        except (OSError, UnicodeDecodeError, DocumentError):
            return False
        if not isinstance(projects, dict):
            return False
        return any(
            isinstance(projects.get(str(folder)), dict) and projects[str(folder)].get("trust_level") == "trusted"
            for folder in _project_keys(project)
        )


def _project_keys(project: Path) -> list[Path]:
    """The folders Codex may key `project` by: itself and its git root, as given and with links resolved."""
    keys: list[Path] = []
    for folder in (project.absolute(), Path(os.path.realpath(project))):
        keys.append(folder)
        for parent in (folder, *folder.parents):
            if (parent / ".git").exists():
                keys.append(parent)
                break
    return list(dict.fromkeys(keys))
