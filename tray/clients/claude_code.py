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
