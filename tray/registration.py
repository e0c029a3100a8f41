"""Registering our stdio server in Claude Code, in its three scopes, and keeping that registration healthy.

    user     top-level `mcpServers` in ~/.claude.json ($CLAUDE_CONFIG_DIR/.claude.json when set)
    local    `projects[<project key>].mcpServers` in the same file
    project  `mcpServers` in <project>/.mcp.json, connected once approved (`enabledMcpjsonServers`) and the
             folder trusted (`hasTrustDialogAccepted`, the user's own decision: never set here)

An entry is "ours" when its command and args start our server; a server registered under our name that is not
ours is reported and only replaced or removed with `force`. A small record of what the user enabled (in our
config folder) tells `repair` what a vanished registration was.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ollama_mcp_tray.server.config import normalize_url
from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.settings import DEFAULT_OLLAMA_URL, Settings

from .claude_config import (
    MISSING,
    Document,
    DocumentError,
    Splice,
    get_value,
    json_type,
    parse_document,
    render_document,
)
from .config_errors import ConfigFileRefused, ForeignEntryError
from .safe_edit import SafeEditor

SERVER_MODULE = "ollama_mcp_tray.server"
RECORD_NAME = "registrations.json"
REUSE_SECONDS = 10.0
"""How long the document of our own last write stays at hand for the next edit of that file."""


class Scope(str, Enum):
    USER = "user"
    LOCAL = "local"
    PROJECT = "project"


class State(str, Enum):
    ABSENT = "absent"
    CURRENT = "ours-current"
    STALE = "ours-stale"  # ours, but its command no longer exists (a deleted virtualenv, a moved app)
    FOREIGN = "foreign"  # another server under our name


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


@dataclass(frozen=True)
class ServerLaunch:
    """How Claude Code must start our server: an absolute command, since it spawns with a minimal PATH."""

    command: str
    args: tuple[str, ...]

    @classmethod
    def current(cls) -> ServerLaunch:
        """The interpreter running us (kept as a path, not resolved: a venv's python is a symlink on purpose)."""
        if getattr(sys, "frozen", False):
            return cls(sys.executable, ("serve",))
        return cls(os.path.abspath(sys.executable), ("-m", SERVER_MODULE))


@dataclass(frozen=True)
class Target:
    """One place a registration can live. `project` is required for the local and project scopes."""

    scope: Scope
    name: str
    project: Path | None = None

    def __post_init__(self) -> None:
        if self.scope is not Scope.USER and self.project is None:
            raise ValueError(f"the {self.scope.value} scope needs a project folder")

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope.value, "name": self.name, "project": str(self.project) if self.project else None}


@dataclass(frozen=True)
class RegistrationStatus:
    """What one scope holds under our name."""

    target: Target
    file: Path
    state: State
    entry: Any = None
    up_to_date: bool = False  # exactly what enable would write now
    approved: bool | None = None  # project scope: name listed in enabledMcpjsonServers
    trusted: bool | None = None  # local/project scope: the folder passed Claude Code's trust dialog

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view; entries never hold the key, so showing them is safe."""
        return {
            **self.target.to_json(),
            "file": str(self.file),
            "state": self.state.value,
            "up_to_date": self.up_to_date,
            "approved": self.approved,
            "trusted": self.trusted,
            "command": self.entry.get("command") if isinstance(self.entry, dict) else None,
        }


def entry_env(settings: Settings) -> dict[str, str]:
    """The environment the entry carries: only what differs from the server's defaults, never the key."""
    env: dict[str, str] = {}
    if normalize_url(settings.ollama_url) != DEFAULT_OLLAMA_URL:
        env["OLLAMA_URL"] = normalize_url(settings.ollama_url)
    return env


def build_entry(launch: ServerLaunch, env: Mapping[str, str], scope: Scope) -> dict[str, Any]:
    """The stdio entry for `scope`. In a shared .mcp.json each value is a `${NAME:-value}` default, so a
    teammate's own environment wins; the `:-` matters, since an unset variable without a default makes Claude
    Code reject the whole file."""
    if scope is Scope.PROJECT:
        env = {name: f"${{{name}:-{value}}}" for name, value in env.items()}
    return {"type": "stdio", "command": launch.command, "args": list(launch.args), "env": dict(env)}


def _basename(command: str) -> str:
    return command.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe")


def is_ours(entry: Any, launch: ServerLaunch) -> bool:
    """Whether `entry` starts our server: the same command line, our module, or our binaries."""
    if not isinstance(entry, dict):
        return False
    command, args = entry.get("command"), entry.get("args", [])
    if not isinstance(command, str) or not isinstance(args, list):
        return False
    if command == launch.command and args == list(launch.args):
        return True
    if any(a == "-m" and b == SERVER_MODULE for a, b in itertools.pairwise(args)):
        return True
    squashed = _basename(command).replace("-", "").replace("_", "").replace(" ", "")
    if squashed == "ollamamcpserver":
        return True
    return args == ["serve"] and squashed.startswith("ollamamcptray")


def command_exists(command: str) -> bool:
    """Whether Claude Code could start `command` (an absolute path that exists, or a name on PATH)."""
    if os.path.isabs(command):
        return os.path.exists(command)
    import shutil  # only here: importing it costs a CLI command's start a few milliseconds

    return shutil.which(command) is not None


def classify(entry: Any, launch: ServerLaunch) -> State:
    """The state of whatever is registered under our name (MISSING or None for nothing)."""
    if entry is MISSING or entry is None:
        return State.ABSENT
    if not is_ours(entry, launch):
        return State.FOREIGN
    return State.CURRENT if command_exists(entry["command"]) else State.STALE


def _norm_key(key: str, windows: bool) -> str:
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
    norm = _norm_key(wanted, True)
    return next((key for key in existing if _norm_key(key, True) == norm), wanted)


def _empty_as_object(text: str | None) -> str:
    return text if text is not None and text.strip() else "{}"


def read_document(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None when it does not exist.

    Raises:
        ConfigFileRefused: it does not parse; the message names the line and column.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileRefused(f"Cannot read {path}: {exc}.", path) from exc
    try:
        return parse_document(_empty_as_object(text))
    except DocumentError as exc:
        where = f" (line {exc.line}, column {exc.column})" if exc.line is not None else ""
        raise ConfigFileRefused(f"{path}{where} is not valid: {exc}. Fix it and try again.", path) from exc


@dataclass
class Registrar:
    """Enables, disables, inspects and repairs our registrations. Paths and the launch are parameters."""

    paths: AppPaths
    claude: ClaudeHome
    launch: ServerLaunch
    env: Mapping[str, str] = field(default_factory=dict)
    windows: bool = sys.platform == "win32"
    editor: SafeEditor | None = None
    clock: Callable[[], float] = time.monotonic
    _written: dict[Path, tuple[Document, Splice, float]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.editor is None:
            self.editor = SafeEditor(backups_dir=self.paths.backups_dir, lock_dir=self.paths.data_dir / "locks")

    @property
    def _editor(self) -> SafeEditor:
        assert self.editor is not None
        return self.editor

    # where ------------------------------------------------------------------------------------------------
    def file_for(self, target: Target) -> Path:
        """The file that holds `target`'s registration."""
        if target.scope is Scope.PROJECT:
            assert target.project is not None
            return target.project / ".mcp.json"
        return self.claude.config_file

    def _servers_path(self, target: Target, document: Mapping[str, Any]) -> tuple[str, ...]:
        if target.scope is not Scope.LOCAL:
            return ("mcpServers",)
        assert target.project is not None
        projects = document.get("projects")
        keys = projects.keys() if isinstance(projects, dict) else ()
        return (
            "projects",
            choose_project_key(keys, project_key(target.project, self.windows), self.windows),
            "mcpServers",
        )

    def _document(self, file: Path, text: str | None) -> Document:
        """`text` (the file's content now) parsed. When it is exactly what our last edit of `file` wrote, the
        document comes from that edit's (one splice, already validated) instead of a second parse of a big
        file: enable then disable, or repair then enable, parse once. Remembered once and briefly, so no
        parsed copy of a big file stays in memory."""
        text = _empty_as_object(text)
        remembered = self._written.pop(file, None)
        if remembered is not None:
            before, splice, when = remembered
            size = len(before.text) + len(splice.insert) - (splice.end - splice.start)
            if self.clock() - when <= REUSE_SECONDS and len(text) == size:
                document = before.spliced(splice)
                if document.text == text:
                    return document
        return Document(text)

    def _forget_old_writes(self) -> None:
        """Let go of remembered writes past their time: a long-lived Registrar (the tray's guard looks at the
        status every so often, and edits rarely) must not keep a big parsed file in memory."""
        now = self.clock()
        for file, (_, _, when) in list(self._written.items()):
            if now - when > REUSE_SECONDS:
                del self._written[file]

    def _wrote(self, file: Path, edits: list[tuple[Document, Splice | None]]) -> None:
        """Remember the last attempt's document and splice, which the editor has just written."""
        document, splice = edits[-1]
        if splice is not None:
            self._written[file] = (document, splice, self.clock())

    def desired_entry(self, target: Target) -> dict[str, Any]:
        """What enable writes for `target` now."""
        return build_entry(self.launch, self.env, target.scope)

    # status -----------------------------------------------------------------------------------------------
    def status(self, target: Target) -> RegistrationStatus:
        """The state of `target` as the files say now.

        Raises:
            ConfigFileRefused: the file does not parse.
        """
        self._forget_old_writes()
        file = self.file_for(target)
        document = read_document(file) or {}
        entry = get_value(document, (*self._servers_path(target, document), target.name))
        return self._status_of(target, file, entry, document)

    def _status_of(self, target: Target, file: Path, entry: Any, document: Mapping[str, Any]) -> RegistrationStatus:
        """The status for `entry` found in `document` (the parsed `file`)."""
        state = classify(entry, self.launch)
        approved = trusted = None
        if target.scope is not Scope.USER:
            assert target.project is not None
            claude_doc = document if target.scope is Scope.LOCAL else (read_document(self.claude.config_file) or {})
            trusted = self._trusted(claude_doc, target.project)
            if target.scope is Scope.PROJECT:
                approved = self._approved(claude_doc, target)
        return RegistrationStatus(
            target=target,
            file=file,
            state=state,
            entry=None if entry is MISSING else entry,
            up_to_date=state is State.CURRENT and json.dumps(entry) == json.dumps(self.desired_entry(target)),
            approved=approved,
            trusted=trusted,
        )

    def _trusted(self, claude_doc: Mapping[str, Any], project: Path) -> bool:
        projects = claude_doc.get("projects")
        if not isinstance(projects, dict):
            return False
        real = Path(os.path.realpath(project))
        wanted = {
            _norm_key(str(p).replace("\\", "/") if self.windows else str(p), self.windows)
            for p in (real, *real.parents)
        }
        return any(
            _norm_key(key, self.windows) in wanted
            and isinstance(value, dict)
            and value.get("hasTrustDialogAccepted") is True
            for key, value in projects.items()
        )

    def _approved(self, claude_doc: Mapping[str, Any], target: Target) -> bool:
        assert target.project is not None
        sources: list[Any] = [read_document(self.approval_file(target.project)) or {}]
        sources.append(read_document(target.project / ".claude" / "settings.json") or {})
        key = choose_project_key(
            claude_doc.get("projects", {}) if isinstance(claude_doc.get("projects"), dict) else {},
            project_key(target.project, self.windows),
            self.windows,
        )
        sources.append(get_value(dict(claude_doc), ("projects", key)))
        for source in sources:
            if not isinstance(source, dict):
                continue
            listed = source.get("enabledMcpjsonServers")
            if source.get("enableAllProjectMcpServers") is True or (isinstance(listed, list) and target.name in listed):
                return True
        return False

    def status_all(self, name: str) -> list[RegistrationStatus]:
        """Our name in every scope we can see: user, each local-scope project in Claude Code's file, and the
        project folders we registered before (a disk scan for .mcp.json files would be too slow)."""
        targets = [Target(Scope.USER, name)]
        document = read_document(self.claude.config_file) or {}
        projects = document.get("projects")
        seen: set[tuple[Scope, str]] = set()
        for key, project in projects.items() if isinstance(projects, dict) else ():
            if isinstance(project, dict) and get_value(project, ("mcpServers", name)) is not MISSING:
                targets.append(Target(Scope.LOCAL, name, Path(key)))
                seen.add((Scope.LOCAL, _norm_key(key, self.windows)))
        for record in self.records():
            if record.name != name or record.scope is Scope.USER or record.project is None:
                continue
            marker = (record.scope, _norm_key(project_key(record.project, self.windows), self.windows))
            if record.scope is Scope.PROJECT:
                marker = (record.scope, str(record.project))
            if marker not in seen:
                seen.add(marker)
                targets.append(record)
        return [self.status(target) for target in targets]

    # changes ----------------------------------------------------------------------------------------------
    def enable(self, target: Target, *, force: bool = False, approve: bool = False) -> RegistrationStatus:
        """Register our server at `target` (idempotent); with `approve`, also pre-approve it in a project.

        Raises:
            ForeignEntryError: another server holds our name there and `force` is not set.
            ConfigFileRefused / ConcurrentEditError: from the careful editor; the file is untouched.
        """
        file = self.file_for(target)
        desired = self.desired_entry(target)
        seen: list[dict[str, Any]] = []
        edits: list[tuple[Document, Splice | None]] = []

        def edit(text: str | None) -> str | Splice | None:
            document = self._document(file, text)
            seen.append(document.value)
            path = self._servers_path(target, document.value)
            existing = document.get((*path, target.name))
            if classify(existing, self.launch) is State.FOREIGN and not force:
                raise ForeignEntryError(
                    f'{file} already has an MCP server named "{target.name}" that is not ours '
                    f"({_describe(existing)}). Choose another name with --name, or replace it with --force.",
                    file,
                    target.name,
                )
            if text is None or not text.strip():
                edits.append((document, None))
                return document.set(path, target.name, desired)
            edits.append((document, document.set_splice(path, target.name, desired)))
            return edits[-1][1]

        def verify(text: str) -> bool:
            # Another writer may have put back a version without our entry (MISSING: not JSON to compare).
            document = parse_document(_empty_as_object(text))
            entry = get_value(document, (*self._servers_path(target, document), target.name))
            return entry is not MISSING and json.dumps(entry) == json.dumps(desired)

        mode = 0o600 if target.scope is not Scope.PROJECT else 0o644
        if self._editor.edit(file, edit, new_mode=mode, verify=verify).changed:
            self._wrote(file, edits)
        if approve and target.scope is Scope.PROJECT:
            self.approve(target)
        self._remember(target, approve=approve)
        # Our entry is in place (verified); the rest of the document is as the edit last saw it.
        return self._status_of(target, file, desired, seen[-1])

    def approval_file(self, project: Path) -> Path:
        """The project's personal settings, where Claude Code reads `enabledMcpjsonServers`."""
        return project / ".claude" / "settings.local.json"

    def approve(self, target: Target) -> None:
        """Pre-approve our project-scope server by name. Trusting the folder stays the user's decision."""
        assert target.project is not None
        self._edit_list(self.approval_file(target.project), "enabledMcpjsonServers", target.name, add=True)

    def disable(self, target: Target, *, force: bool = False) -> RegistrationStatus:
        """Remove our registration from `target` (idempotent); a foreign one only with `force`.

        Raises:
            ForeignEntryError: the server under our name is not ours and `force` is not set.
        """
        file = self.file_for(target)
        seen: list[dict[str, Any]] = [{}]
        edits: list[tuple[Document, Splice | None]] = []

        def edit(text: str | None) -> str | Splice | None:
            if text is None:
                return None
            document = self._document(file, text)
            seen.append(document.value)
            path = self._servers_path(target, document.value)
            existing = document.get((*path, target.name))
            state = classify(existing, self.launch)
            if state is State.ABSENT:
                return None
            if state is State.FOREIGN and not force:
                raise ForeignEntryError(
                    f'The MCP server "{target.name}" in {file} is not ours ({_describe(existing)}); it was left '
                    "alone. Remove it with --force if you are sure.",
                    file,
                    target.name,
                )
            edits.append((document, document.remove_splice(path, target.name)))
            return edits[-1][1]

        def verify(text: str) -> bool:
            document = parse_document(_empty_as_object(text))
            return get_value(document, (*self._servers_path(target, document), target.name)) is MISSING

        if self._editor.edit(file, edit, verify=verify).changed:
            self._wrote(file, edits)
        if target.scope is Scope.PROJECT:
            assert target.project is not None
            if self.approval_file(target.project).exists():
                self._edit_list(self.approval_file(target.project), "enabledMcpjsonServers", target.name, add=False)
        self._forget(target)
        return self._status_of(target, file, MISSING, seen[-1])

    def repair(self) -> list[tuple[RegistrationStatus, str]]:
        """Bring back every registration the user enabled that vanished, went stale or drifted.

        Returns (status after, what was done) per recorded registration; a foreign one is left as found.
        """
        results: list[tuple[RegistrationStatus, str]] = []
        approvals = self._record_approvals()
        for target in self.records():
            before = self.status(target)
            if before.state is State.FOREIGN:
                results.append((before, "left alone: another server uses the name"))
            elif before.state is State.CURRENT and before.up_to_date:
                results.append((before, "ok"))
            else:
                after = self.enable(target, approve=approvals.get(_record_id(target), False))
                results.append((after, f"restored (was {before.state.value})"))
        return results

    def _edit_list(self, path: Path, key: str, name: str, *, add: bool) -> None:
        def edit(text: str | None) -> str | None:
            if text is None and not add:
                return None
            document = Document(_empty_as_object(text))
            current = document.get((key,))
            if current is MISSING:
                current = []
            if not isinstance(current, list):
                raise DocumentError(f'"{key}" should be a JSON array but is {json_type(current)}')
            if (name in current) == add:
                return None
            updated = [*current, name] if add else [item for item in current if item != name]
            return document.set((), key, updated)

        self._editor.edit(path, edit, new_mode=0o644)

    # the record of what the user enabled ------------------------------------------------------------------
    @property
    def record_file(self) -> Path:
        return self.paths.config_dir / RECORD_NAME

    def records(self) -> list[Target]:
        """The registrations the user enabled through us (and has not disabled)."""
        return [target for target, _ in self._read_records()]

    def _record_approvals(self) -> dict[str, bool]:
        return {_record_id(target): approve for target, approve in self._read_records()}

    def _read_records(self) -> list[tuple[Target, bool]]:
        try:
            document = read_document(self.record_file) or {}
        except ConfigFileRefused:
            return []  # our own bookkeeping; a broken record only costs repair its memory
        items = document.get("registrations")
        result: list[tuple[Target, bool]] = []
        for item in items if isinstance(items, list) else []:
            try:
                project = item.get("project")
                target = Target(Scope(item["scope"]), str(item["name"]), Path(project) if project else None)
            except (KeyError, ValueError, TypeError, AttributeError):
                continue
            result.append((target, bool(item.get("approve", False))))
        return result

    def _write_records(self, records: list[tuple[Target, bool]]) -> None:
        content = {"registrations": [{**t.to_json(), "approve": approve} for t, approve in records]}
        self._editor.edit(self.record_file, lambda _text: render_document(content), new_mode=0o600)

    def _remember(self, target: Target, *, approve: bool) -> None:
        records = [(t, a) for t, a in self._read_records() if _record_id(t) != _record_id(target)]
        previous = self._record_approvals().get(_record_id(target), False)
        self._write_records([*records, (target, approve or previous)])

    def _forget(self, target: Target) -> None:
        records = self._read_records()
        kept = [(t, a) for t, a in records if _record_id(t) != _record_id(target)]
        if len(kept) != len(records):
            self._write_records(kept)


def _record_id(target: Target) -> str:
    project = os.path.realpath(target.project) if target.project else ""
    return f"{target.scope.value}\0{target.name}\0{project}"


def _describe(entry: Any) -> str:
    if isinstance(entry, dict):
        command = entry.get("command") or entry.get("url") or "?"
        return f"command {command!r}"
    return json_type(entry)
