"""Cursor: `mcpServers` in ~/.cursor/mcp.json (every OS; %USERPROFILE% on Windows), and per project in
<project>/.cursor/mcp.json. JSON; Cursor notices the file change and lists the server in its MCP settings."""

from __future__ import annotations

from pathlib import Path

from .base import Applies, Client, Machine
from .records import Scope


class Cursor(Client):
    name = "cursor"
    display = "Cursor"
    scopes = (Scope.USER, Scope.PROJECT)
    applies = Applies.LIVE
    programs = ("cursor",)

    def user_file(self, machine: Machine) -> Path:
        return machine.home / ".cursor" / "mcp.json"

    def project_file(self, project: Path) -> Path:
        return project / ".cursor" / "mcp.json"
