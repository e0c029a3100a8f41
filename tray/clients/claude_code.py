"""Claude Code's own facts: where it keeps its config, and how it names a project in `~/.claude.json`.

What is Claude-Code-specific and not about editing lives here, so the registrar stays the part that other
clients can share.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .base import Applies, Client, Machine
from .records import CLAUDE_CODE, Scope


@dataclass(frozen=True)
class ClaudeHome:
    """Where Claude Code keeps this user's config."""

    config_dir: Path
    config_file: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, home: Path | None = None) -> ClaudeHome:
        """Honour CLAUDE_CONFIG_DIR as Claude Code does: it moves both ~/.claude and ~/.claude.json."""
        env = os.environ if env is None else env
        custom = env.get("CLAUDE_CONFIG_DIR", "").strip()
        if custom:
            folder = Path(custom).expanduser()
            return cls(config_dir=folder, config_file=folder / ".claude.json")
        home = home or Path.home()
        return cls(config_dir=home / ".claude", config_file=home / ".claude.json")

    @property
    def claude_md(self) -> Path:
        """The user's own memory file, read by Claude Code in every project."""
        return self.config_dir / "CLAUDE.md"


def norm_key(key: str, windows: bool) -> str:
    """A project key as Claude Code compares it: on Windows, any case and either slash."""
    if not windows:
        return key
    return key.replace("\\", "/").rstrip("/").casefold()


def project_key(folder: Path, windows: bool = sys.platform == "win32") -> str:
    """The key Claude Code gives a project in ~/.claude.json: the real path of its git root, or of the folder
    itself outside git; on Windows with forward slashes."""
    real = Path(os.path.realpath(folder))
    for candidate in (real, *real.parents):
        if (candidate / ".git").exists():
            real = candidate
            break
    return str(real).replace("\\", "/") if windows else str(real)


def choose_project_key(existing: Iterable[str], wanted: str, windows: bool) -> str:
    """An existing key naming the same folder (on Windows: any case, either slash), else `wanted`."""
    if not windows:
        return wanted
    norm = norm_key(wanted, True)
    return next((key for key in existing if norm_key(key, True) == norm), wanted)


class ClaudeCodeClient(Client):
    """Claude Code over the shared seam. Its local scope, project approvals and trust live in its own
    registrar (registrar.py); this declares what the catalogue, the CLI and the tray need to know."""

    name = CLAUDE_CODE
    display = "Claude Code"
    scopes = (Scope.USER, Scope.LOCAL, Scope.PROJECT)
    applies = Applies.NEW_SESSION
    programs = ("claude",)

    def user_file(self, machine: Machine) -> Path:
        return ClaudeHome.from_env(machine.environ, machine.home).config_file

    def project_file(self, project: Path) -> Path:
        return project / ".mcp.json"

    def installed(self, machine: Machine) -> bool:
        home = ClaudeHome.from_env(machine.environ, machine.home)
        # Not "the file's folder exists": ~/.claude.json sits in the home folder itself.
        found = home.config_dir.is_dir() or home.config_file.is_file()
        return found or any(machine.on_path(program) for program in self.programs)
