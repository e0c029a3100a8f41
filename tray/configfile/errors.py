"""Errors of the tray's config editing and registration, under the app's one tree (server/errors.py).

OllamaMcpError
└── ConfigError
    └── ConfigFileError          one of Claude Code's (or our) files cannot be used as it is
        ├── ConfigFileRefused    it does not parse, or a key we must edit has an unexpected type;
        │                        the file is left untouched
        ├── ConcurrentEditError  another process kept rewriting it, or held our lock, too long
        └── ForeignEntryError    a server with our name is registered but is not ours
"""

from __future__ import annotations

from pathlib import Path

from ollama_mcp_tray.server.errors import ConfigError


class ConfigFileError(ConfigError):
    """A config file cannot be edited as it is; `path` names it."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class ConfigFileRefused(ConfigFileError):
    """The file does not parse, or holds an unexpected type where we must edit; it was not changed."""


class ConcurrentEditError(ConfigFileError):
    """Another process kept changing the file (or held the lock) while we tried to edit it."""


class ForeignEntryError(ConfigFileError):
    """A server with our name is registered, but its command is not our server."""

    def __init__(self, message: str, path: Path, name: str) -> None:
        super().__init__(message, path)
        self.name = name
