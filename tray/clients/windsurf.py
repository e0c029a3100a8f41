"""Windsurf: `mcpServers` in ~/.codeium/windsurf/mcp_config.json (%USERPROFILE% on Windows), user scope only.
JSON; Cascade picks a change up on a refresh of its MCP panel, or when Windsurf restarts. (The Windsurf
plugins for other editors keep theirs in ~/.codeium/mcp_config.json: not this client.)"""

from __future__ import annotations

from pathlib import Path

from .base import Applies, Client, Machine


class Windsurf(Client):
    name = "windsurf"
    display = "Windsurf"
    applies = Applies.REFRESH
    programs = ("windsurf",)

    def user_file(self, machine: Machine) -> Path:
        return machine.home / ".codeium" / "windsurf" / "mcp_config.json"
