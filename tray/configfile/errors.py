"""Errors of the tray's config editing and registration, under the app's one tree (server/errors.py).

OllamaMcpError
└── ConfigError
    └── ConfigFileError          one of Claude Code's (or our) files cannot be used as it is
        ├── ConfigFileRefused    it does not parse, or a key we must edit has an unexpected type;
        │   │                    the file is left untouched
        │   └── ConfigFileInaccessible  the system refused to read or write it (permissions, an
        │                        immutable file, a read-only or full disk, a symlink loop); untouched too
        ├── ConcurrentEditError  another process kept rewriting it, or held our lock, too long
        └── ForeignEntryError    a server with our name is registered but is not ours
"""

from __future__ import annotations

import errno
import os
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


class ConfigFileInaccessible(ConfigFileRefused):
    """The system refused to read or write the file (or its folder); the file was not changed."""


# What each refusal means for a user, and what to do about it. `{file}` is the user's file, `{folder}` its folder.
_REMEDIES: dict[int, str] = {
    errno.ELOOP: "{file} is a symbolic link that leads back to itself (a loop). Point it at a real file "
    "(see `ls -l {file}`) or remove the link",
    errno.EACCES: "permission denied. Check that you own {file} and its folder {folder} and may write them "
    "(`ls -ld {folder} {file}`)",
    errno.EPERM: "the system does not allow this change: the file or its folder may be immutable or append-only "
    "(`lsattr {file}`; `chattr -i` undoes that) or owned by someone else",
    errno.EROFS: "{folder} is on a read-only file system. Remount it read-write, or point CLAUDE_CONFIG_DIR "
    "at a writable folder",
    errno.ENOSPC: "the disk holding {folder} is full. Free some space",
    errno.EDQUOT: "your disk quota for {folder} is used up. Free some space",
}


def inaccessible(path: Path, exc: OSError) -> ConfigFileInaccessible:
    """Our error for an OSError met while reading or writing `path`: names the file, the cause and the fix."""
    remedy = _REMEDIES.get(exc.errno or 0, "the system refused to read or write it")
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    where = f" on {exc.filename}" if exc.filename and os.fspath(exc.filename) != os.fspath(path) else ""
    message = (
        f"Cannot edit {path}: " + remedy.format(file=path, folder=path.parent) + f" ({reason}{where}). "
        "The file was left untouched; try again once that is fixed."
    )
    return ConfigFileInaccessible(message, path)
