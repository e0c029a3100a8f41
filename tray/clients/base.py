"""The seam every MCP client is declared over: what one client module says about itself.

A client module subclasses `Client` and declares its name, where its config lives per scope and OS (with the
client's own override variables), the format core that edits that file, where the table of servers sits in
it, the shape of our entry, how to tell an entry is ours, and when the client picks a change up. The shared
`ClientRegistrar` (engine.py) does the rest: enable, disable, status and repair through the careful editor.

Format cores live in `tray/configfile/`: `json_document` (strict JSON), `jsonc_document` (comments and
trailing commas kept), `toml_document` (tomlkit, format-preserving). Each offers a `Document(text)` with
`value`, `get(path)`, `set(path, key, value) -> text` and `remove(path, key) -> text`, and raises
`json_document.DocumentError` (or a subclass) with the line and column for a text it cannot parse.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from ..launch import ServerLaunch
from .records import Scope


class Format(Enum):
    JSON = "json"  # strict: a comment is an error for the client
    JSONC = "jsonc"  # comments and trailing commas, kept
    TOML = "toml"


class ConfigDocument(Protocol):
    """What the registrar needs from a format core's parsed document."""

    value: dict[str, Any]

    def get(self, path: Sequence[str]) -> Any: ...

    def set(self, path: Sequence[str], key: str, value: Any) -> str: ...

    def remove(self, path: Sequence[str], key: str) -> str: ...


_CORES: dict[Format, tuple[str, str]] = {
    Format.JSON: ("json_document", "{}"),
    Format.JSONC: ("jsonc_document", "{}"),
    Format.TOML: ("toml_document", ""),
}


def empty_text(fmt: Format) -> str:
    """The text of an empty document in `fmt` (what a missing or blank file counts as)."""
    return _CORES[fmt][1]


def open_document(fmt: Format, text: str | None) -> ConfigDocument:
    """`text` parsed by the core of `fmt`; a missing or blank text is an empty document.

    Raises:
        DocumentError: the text does not parse; carries the line and column.
    """
    module, empty = _CORES[fmt]
    # Imported on use: a CLI command that edits one JSON file does not pay for tomlkit.
    core = importlib.import_module(f"ollama_mcp_tray.tray.configfile.{module}")
    factory = cast("Callable[[str], ConfigDocument]", core.Document)
    # A blank file is an empty TOML document as it is (its line breaks stay); JSON needs `{}` in its place.
    blank_is_empty = text is None or (not text.strip() and fmt is not Format.TOML)
    return factory(empty if blank_is_empty or text is None else text)


@dataclass(frozen=True)
class Machine:
    """The machine the clients live on: the home folder, the environment and the OS (parameters for tests)."""

    home: Path
    environ: Mapping[str, str] = field(default_factory=dict)
    platform: str = sys.platform

    @property
    def macos(self) -> bool:
        return self.platform == "darwin"

    @property
    def windows(self) -> bool:
        return self.platform == "win32"

    def folder_from(self, variable: str) -> Path | None:
        """The folder an override variable names, when it is set and not blank."""
        value = self.environ.get(variable, "").strip()
        return Path(value).expanduser() if value else None

    @property
    def app_support(self) -> Path:
        """macOS: ~/Library/Application Support."""
        return self.home / "Library" / "Application Support"

    @property
    def appdata(self) -> Path:
        """Windows: %APPDATA% (Roaming)."""
        return self.folder_from("APPDATA") or self.home / "AppData" / "Roaming"

    @property
    def local_appdata(self) -> Path:
        """Windows: %LOCALAPPDATA%."""
        return self.folder_from("LOCALAPPDATA") or self.home / "AppData" / "Local"

    @property
    def xdg_config(self) -> Path:
        return self.folder_from("XDG_CONFIG_HOME") or self.home / ".config"

    def on_path(self, program: str) -> bool:
        import shutil  # only here: a CLI command's start does not pay for it

        return shutil.which(program, path=self.environ.get("PATH", os.defpath)) is not None


class Applies(Enum):
    """When a client sees a change to its config."""

    LIVE = "live"  # it watches the file
    NEW_SESSION = "new-session"  # a session started after the change (a CLI)
    REFRESH = "refresh"  # a refresh in its MCP panel, or a restart
    RESTART = "restart"  # read once at launch: quit and reopen the app


class Client:
    """One MCP client's facts. Subclass it and override what differs from these defaults (a JSON file with
    `mcpServers: {name: {command, args, env}}`, user scope only)."""

    name: ClassVar[str]  # the CLI's --client value
    display: ClassVar[str]
    format: ClassVar[Format] = Format.JSON
    servers_path: ClassVar[tuple[str, ...]] = ("mcpServers",)
    scopes: ClassVar[tuple[Scope, ...]] = (Scope.USER,)
    applies: ClassVar[Applies] = Applies.NEW_SESSION
    programs: ClassVar[tuple[str, ...]] = ()  # any of these on PATH means installed
    trust_fix: ClassVar[str] = ""  # how the user trusts a project, where `project_trusted` can say no
    approve_fix: ClassVar[str] = ""  # how the user approves a project server `{name}`, where approval is asked

    def user_file(self, machine: Machine) -> Path | None:
        """The user-scope file on this machine; None when the client has none on this OS."""
        raise NotImplementedError

    def project_file(self, project: Path) -> Path | None:
        """The project-scope file in `project`; None when the client has no project scope."""
        return None

    def file(self, machine: Machine, scope: Scope, project: Path | None) -> Path | None:
        if scope is Scope.USER:
            return self.user_file(machine)
        if scope is Scope.PROJECT and scope in self.scopes and project is not None:
            return self.project_file(project)
        return None

    def installed(self, machine: Machine) -> bool:
        """Whether the client is on this machine: its config folder exists, or one of its programs is on PATH."""
        file = self.user_file(machine)
        if file is not None and file.parent.is_dir():
            return True
        return any(machine.on_path(program) for program in self.programs)

    def build_entry(self, launch: ServerLaunch, env: Mapping[str, str], scope: Scope) -> dict[str, Any]:
        """Our entry, from the launch command and the settings the server must get (never the key: the key
        file covers it)."""
        return {"command": launch.command, "args": list(launch.args), "env": dict(env)}

    def entry_command(self, entry: Any) -> str | None:
        """The program an entry starts (for the stale check)."""
        command = entry.get("command") if isinstance(entry, dict) else None
        return command if isinstance(command, str) else None

    def is_ours(self, entry: Any, launch: ServerLaunch) -> bool:
        from .registrar import is_ours

        return is_ours(entry, launch)

    def project_trusted(self, machine: Machine, project: Path) -> bool | None:
        """Whether the client reads `project`'s servers at all, for a client that does so only in a project the
        user trusted (Codex); None for a client without such a gate."""
        return None

    def project_approved(self, machine: Machine, project: Path, name: str, entry: dict[str, Any]) -> bool | None:
        """Whether the user approved the project server `name` as `entry` is now, for a client that starts a
        project's server only once approved (Qwen Code); None for a client without such a gate."""
        return None

    def file_mode(self, scope: Scope) -> int:
        """The mode of a file we create: the user's own files are private; a project's is shared."""
        return 0o644 if scope is Scope.PROJECT else 0o600
