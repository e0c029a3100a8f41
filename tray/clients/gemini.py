"""Gemini CLI 0.61: `mcpServers` in ~/.gemini/settings.json ($GEMINI_CLI_HOME/.gemini/settings.json when set),
and per project in <project>/.gemini/settings.json. JSON with comments, kept. A new session picks a change up.

Gemini starts a server with a filtered copy of its own environment: names holding KEY, TOKEN, AUTH, SECRET and
the like are removed (our key reaches the server through the key file instead), and an entry whose `env` sets
PYTHONPATH, LD_* or NODE_OPTIONS is refused, so those never go into our entry. `gemini mcp list` connects only
in a trusted folder (`~/.gemini/trustedFolders.json`); that trust stays the user's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ..launch import ServerLaunch
from .base import Applies, Client, Format, Machine
from .records import Scope

REFUSED_NAMES = frozenset({"PYTHONPATH", "NODE_OPTIONS"})
REFUSED_PREFIXES = ("LD_", "DYLD_")


def allowed_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without the names Gemini CLI (and Qwen Code, its fork) refuse in an entry's `env`."""
    return {
        name: value
        for name, value in env.items()
        if name.upper() not in REFUSED_NAMES and not name.upper().startswith(REFUSED_PREFIXES)
    }


class SettingsJsonClient(Client):
    """A Gemini-style client: `<home>/<folder>/settings.json` and `<project>/<folder>/settings.json`."""

    format = Format.JSONC
    scopes = (Scope.USER, Scope.PROJECT)
    applies = Applies.NEW_SESSION
    folder: ClassVar[str]

    def project_file(self, project: Path) -> Path:
        return project / self.folder / "settings.json"

    def build_entry(self, launch: ServerLaunch, env: Mapping[str, str], scope: Scope) -> dict[str, Any]:
        return {"command": launch.command, "args": list(launch.args), "env": allowed_env(env)}


class GeminiCli(SettingsJsonClient):
    name = "gemini"
    display = "Gemini CLI"
    folder = ".gemini"
    programs = ("gemini",)

    # Gemini's own default for a session (MCP_DEFAULT_TIMEOUT_MSEC, 10 minutes, for the connection and every
    # call), written out because `gemini mcp list` otherwise gives a server only 5 s to answer `initialize`,
    # which our server (Python importing the MCP SDK) misses on a busy machine: the list then says
    # "Disconnected" for a server that works. Sessions keep the timeout they already had.
    TIMEOUT_MS: ClassVar[int] = 600_000

    def user_file(self, machine: Machine) -> Path:
        # GEMINI_CLI_HOME stands for the home folder: the CLI keeps its `.gemini` inside it.
        return (machine.folder_from("GEMINI_CLI_HOME") or machine.home) / self.folder / "settings.json"

    def build_entry(self, launch: ServerLaunch, env: Mapping[str, str], scope: Scope) -> dict[str, Any]:
        return {**super().build_entry(launch, env, scope), "timeout": self.TIMEOUT_MS}
