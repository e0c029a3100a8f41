"""Registering our stdio server in Claude Code, in its three scopes, and keeping that registration healthy.

    user     top-level `mcpServers` in ~/.claude.json ($CLAUDE_CONFIG_DIR/.claude.json when set)
    local    `projects[<project key>].mcpServers` in the same file
    project  `mcpServers` in <project>/.mcp.json, connected once approved (`enabledMcpjsonServers`) and the
             folder trusted (`hasTrustDialogAccepted`, the user's own decision: never set here)

An entry is "ours" when its command and args start our server; a server registered under our name that is not
ours is reported and only replaced or removed with `force`. A small record of what the user enabled (in our
config folder) tells `repair` what a vanished registration was, and which files `disable` may remove again.

The launch command never imports from the folder Claude Code starts it in (see `ServerLaunch.current`), and the
shared `.mcp.json` names no path of this user's (see `PORTABLE_COMMAND`).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ollama_mcp_tray.server.config import normalize_url
from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.settings import DEFAULT_OLLAMA_URL, Settings

from ..configfile.errors import ConfigFileRefused, ForeignEntryError
from ..configfile.json_document import (
    MISSING,
    Document,
    DocumentError,
    Splice,
    get_value,
    json_type,
    parse_document,
)
from ..configfile.safe_edit import SafeEditor
from ..launch import SERVER_MODULE, SERVER_SCRIPT, ServerLaunch
from .claude_code import ClaudeHome, choose_project_key, project_key
from .claude_code import norm_key as _norm_key
from .records import CLAUDE_CODE, Created, KeepsRecords, Record, record_id
from .records import Scope as Scope
from .records import State as State
from .records import Target as Target

PORTABLE_VARIABLE = "OLLAMA_MCP_SERVER"
PORTABLE_COMMAND = f"${{{PORTABLE_VARIABLE}:-{SERVER_SCRIPT}}}"
"""The project-scope command: `.mcp.json` is committed, so it names no path inside this user's home. Claude Code
expands `${NAME:-default}` in a command (checked with 2.1.330), so each teammate's `ollama-mcp-server` on PATH
starts, or the program their OLLAMA_MCP_SERVER names."""


@dataclass(frozen=True)
class RegistrationStatus:
    """What one scope holds under our name."""

    target: Target
    file: Path
    state: State
    entry: Any = None
    up_to_date: bool = False  # exactly what enable would write now
    # The user's own gates, None where the client has none: `approved`, the project server approved (Claude
    # Code's enabledMcpjsonServers, Qwen Code's `qwen mcp approve`); `trusted`, the folder trusted (Claude Code's
    # trust dialog for the local and project scopes, Codex's trust_level for a project's .codex/config.toml).
    approved: bool | None = None
    trusted: bool | None = None

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


EMPTY_MCP_JSON: tuple[dict[str, Any], ...] = ({"mcpServers": {}}, {})
"""What a .mcp.json we created holds once our entry is gone: the file we would have created, minus our entry."""
APPROVAL_KEY = "enabledMcpjsonServers"


class RepairKind(Enum):
    """What `repair` did with one recorded registration."""

    UNCHANGED = "unchanged"  # already what enable writes now
    RESTORED = "restored"  # it had vanished
    REPOINTED = "repointed"  # ours, but its command no longer existed
    UPDATED = "updated"  # ours and working, but not what enable writes now (launch command, Ollama URL)
    UNRESOLVED = "unresolved"  # the portable project command does not resolve here; nothing to rewrite
    LEFT_ALONE = "left-alone"  # another server uses the name


class Change(Enum):
    """A part of an entry that a repair rewrote."""

    LAUNCH = "launch"  # command or args
    OLLAMA_URL = "ollama-url"  # the env that points the server at Ollama


@dataclass(frozen=True)
class RepairOutcome:
    """One registration's repair: what was done, and the status before and after."""

    kind: RepairKind
    before: RegistrationStatus
    after: RegistrationStatus

    @property
    def wrote(self) -> bool:
        return self.kind in (RepairKind.RESTORED, RepairKind.REPOINTED, RepairKind.UPDATED)

    @property
    def changes(self) -> frozenset[Change]:
        """For an update: which parts of the entry changed."""
        old, new = self.before.entry, self.after.entry
        if not isinstance(old, dict) or not isinstance(new, dict):
            return frozenset()
        found = set()
        if (old.get("command"), old.get("args")) != (new.get("command"), new.get("args")):
            found.add(Change.LAUNCH)
        if old.get("env") != new.get("env"):
            found.add(Change.OLLAMA_URL)
        return frozenset(found)

    @property
    def ollama_url(self) -> str:
        """The Ollama URL the entry points the server at now (the default one when it carries none)."""
        return entry_url(self.after.entry)


def repair_outcome(
    before: RegistrationStatus, enable: Callable[[], RegistrationStatus], *, unresolved: bool = False
) -> RepairOutcome:
    """Repair one recorded registration whose status is `before`: leave a foreign or up-to-date one as found,
    else `enable` it again. `unresolved`: rewriting would change nothing (Claude Code's portable project
    command, not found here)."""
    if before.state is State.FOREIGN:
        return RepairOutcome(RepairKind.LEFT_ALONE, before, before)
    if before.state is State.CURRENT and before.up_to_date:
        return RepairOutcome(RepairKind.UNCHANGED, before, before)
    if unresolved:
        return RepairOutcome(RepairKind.UNRESOLVED, before, before)
    kind = {State.ABSENT: RepairKind.RESTORED, State.STALE: RepairKind.REPOINTED}.get(before.state, RepairKind.UPDATED)
    return RepairOutcome(kind, before, enable())


def foreign_entry(file: Path, name: str, entry: Any, *, removing: bool) -> ForeignEntryError:
    """The refusal to replace (or, `removing`, to remove) another server registered under our name."""
    if removing:
        message = (
            f'The MCP server "{name}" in {file} is not ours ({describe_entry(entry)}); it was left alone. '
            "Remove it with --force if you are sure."
        )
    else:
        message = (
            f'{file} already has an MCP server named "{name}" that is not ours ({describe_entry(entry)}). '
            "Choose another name with --name, or replace it with --force."
        )
    return ForeignEntryError(message, file, name)


def describe_entry(entry: Any) -> str:
    """An entry in a message: its command (or URL), or what it is when it is no entry at all."""
    if isinstance(entry, dict):
        command = entry.get("command") or entry.get("url") or "?"
        return f"command {command!r}"
    return json_type(entry)


def entry_url(entry: Any) -> str:
    """The Ollama URL an entry gives the server (a project entry's `${OLLAMA_URL:-url}` by its default)."""
    env = entry.get("env") if isinstance(entry, dict) else None
    value = env.get("OLLAMA_URL") if isinstance(env, dict) else None
    return expand_variables(value, {}) if isinstance(value, str) and value else DEFAULT_OLLAMA_URL


def entry_env(settings: Settings) -> dict[str, str]:
    """The environment the entry carries: only what differs from the server's defaults, never the key."""
    env: dict[str, str] = {}
    if normalize_url(settings.ollama_url) != DEFAULT_OLLAMA_URL:
        env["OLLAMA_URL"] = normalize_url(settings.ollama_url)
    return env


def build_entry(launch: ServerLaunch, env: Mapping[str, str], scope: Scope) -> dict[str, Any]:
    """The stdio entry for `scope`. A shared .mcp.json holds no path of this user's: its command is
    `PORTABLE_COMMAND`, and each env value is a `${NAME:-value}` default, so a teammate's own environment wins;
    the `:-` matters, since an unset variable without a default makes Claude Code reject the whole file. The
    user and local scopes are this user's alone and keep the absolute command."""
    if scope is Scope.PROJECT:
        env = {name: f"${{{name}:-{value}}}" for name, value in env.items()}
        return {"type": "stdio", "command": PORTABLE_COMMAND, "args": [], "env": dict(env)}
    return {"type": "stdio", "command": launch.command, "args": list(launch.args), "env": dict(env)}


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_variables(text: str, environ: Mapping[str, str]) -> str:
    """`${NAME}` and `${NAME:-default}` as Claude Code 2.1.330 expands them in .mcp.json: a set variable (even
    an empty one) wins, then the default; an unset one without a default stays as written."""

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        return default if default is not None else match.group(0)

    return _VARIABLE.sub(value, text)


def _basename(command: str) -> str:
    return command.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe")


def is_ours(entry: Any, launch: ServerLaunch) -> bool:
    """Whether `entry` starts our server: the same command line, our module (with or without -I: entries
    written before isolated mode are ours too, and simply not up to date), our binaries, or the portable
    project command."""
    if not isinstance(entry, dict):
        return False
    command, args = entry.get("command"), entry.get("args", [])
    if not isinstance(command, str) or not isinstance(args, list):
        return False
    if command == launch.command and args == list(launch.args):
        return True
    if "${" in command:
        command = expand_variables(command, {})  # judged by its default, whatever this user's environment says
    if any(a == "-m" and b == SERVER_MODULE for a, b in itertools.pairwise(args)):
        return True
    squashed = _basename(command).replace("-", "").replace("_", "").replace(" ", "")
    if squashed == "ollamamcpserver":
        return True
    return args == ["serve"] and squashed.startswith("ollamamcptray")


def command_exists(command: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether Claude Code could start `command` (an absolute path that exists, or a name on PATH), after
    expanding its `${NAME:-default}` variables in this environment."""
    environ = os.environ if environ is None else environ
    command = expand_variables(command, environ)
    if "${" in command or not command:
        return False
    if os.path.isabs(command):
        return os.path.exists(command)
    import shutil  # only here: importing it costs a CLI command's start a few milliseconds

    return shutil.which(command, path=environ.get("PATH")) is not None


def classify(entry: Any, launch: ServerLaunch) -> State:
    """The state of whatever is registered under our name (MISSING or None for nothing)."""
    if entry is MISSING or entry is None:
        return State.ABSENT
    if not is_ours(entry, launch):
        return State.FOREIGN
    return State.CURRENT if command_exists(entry["command"]) else State.STALE


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
class Registrar(KeepsRecords):
    """Enables, disables, inspects and repairs our registrations. Paths and the launch are parameters."""

    paths: AppPaths
    claude: ClaudeHome
    launch: ServerLaunch
    env: Mapping[str, str] = field(default_factory=dict)
    windows: bool = sys.platform == "win32"
    editor: SafeEditor | None = None

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

    def desired_entry(self, target: Target) -> dict[str, Any]:
        """What enable writes for `target` now."""
        return build_entry(self.launch, self.env, target.scope)

    # status -----------------------------------------------------------------------------------------------
    def status(self, target: Target) -> RegistrationStatus:
        """The state of `target` as the files say now.

        Raises:
            ConfigFileRefused: the file does not parse.
        """
        return self._status_in(target, None)

    def _status_in(self, target: Target, claude_doc: Mapping[str, Any] | None) -> RegistrationStatus:
        """`status`, with Claude Code's own file already parsed as `claude_doc` (None: read it when needed):
        a status of several scopes parses a big ~/.claude.json once."""
        file = self.file_for(target)
        if target.scope is Scope.PROJECT or claude_doc is None:
            document: Mapping[str, Any] = read_document(file) or {}
        else:
            document = claude_doc
        entry = get_value(dict(document), (*self._servers_path(target, document), target.name))
        return self._status_of(target, file, entry, document, claude_doc)

    def _status_of(
        self,
        target: Target,
        file: Path,
        entry: Any,
        document: Mapping[str, Any],
        claude_doc: Mapping[str, Any] | None = None,
    ) -> RegistrationStatus:
        """The status for `entry` found in `document` (the parsed `file`); `claude_doc` as in `_status_in`."""
        state = classify(entry, self.launch)
        approved = trusted = None
        if target.scope is not Scope.USER:
            assert target.project is not None
            if target.scope is Scope.LOCAL:
                claude_doc = document
            elif claude_doc is None:
                claude_doc = read_document(self.claude.config_file) or {}
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
        return [self._status_in(target, document) for target in targets]

    # changes ----------------------------------------------------------------------------------------------
    def enable(self, target: Target, *, force: bool = False, approve: bool = False) -> RegistrationStatus:
        """`AnyRegistrar.enable`; with `approve`, also pre-approve the server in a project."""
        file = self.file_for(target)
        desired = self.desired_entry(target)
        seen: list[dict[str, Any]] = []
        created_file: list[bool] = []

        def edit(text: str | None) -> str | Splice | None:
            created_file.append(text is None)
            document = Document(_empty_as_object(text))
            seen.append(document.value)
            path = self._servers_path(target, document.value)
            existing = document.get((*path, target.name))
            if classify(existing, self.launch) is State.FOREIGN and not force:
                raise foreign_entry(file, target.name, existing, removing=False)
            if text is None or not text.strip():
                return document.set(path, target.name, desired)
            return document.set_splice(path, target.name, desired)

        def verify(text: str) -> bool:
            # Another writer may have put back a version without our entry (MISSING: not JSON to compare).
            document = parse_document(_empty_as_object(text))
            entry = get_value(document, (*self._servers_path(target, document), target.name))
            return entry is not MISSING and json.dumps(entry) == json.dumps(desired)

        mode = 0o600 if target.scope is not Scope.PROJECT else 0o644
        created: set[Created] = set()
        changed = self._editor.edit(file, edit, new_mode=mode, verify=verify).changed
        if changed and target.scope is Scope.PROJECT and created_file[-1]:
            created.add(Created.MCP_JSON)
        if approve and target.scope is Scope.PROJECT:
            created |= self.approve(target)
        self._remember(target, approve=approve, created=created)
        # Our entry is in place (verified); the rest of the document is as the edit last saw it.
        return self._status_of(target, file, desired, seen[-1])

    def approval_file(self, project: Path) -> Path:
        """The project's personal settings, where Claude Code reads `enabledMcpjsonServers`."""
        return project / ".claude" / "settings.local.json"

    def approve(self, target: Target) -> set[Created]:
        """Pre-approve our project-scope server by name. Trusting the folder stays the user's decision.
        Returns what this created (the .claude folder, the file, the list in the user's file)."""
        assert target.project is not None
        approval = self.approval_file(target.project)
        created = set() if approval.parent.exists() else {Created.CLAUDE_DIR}
        return created | self._edit_list(approval, APPROVAL_KEY, target.name, add=True)

    def disable(self, target: Target, *, force: bool = False) -> RegistrationStatus:
        """`AnyRegistrar.disable`; in a project, our approval goes too, and what enabling created there."""
        file = self.file_for(target)
        seen: list[dict[str, Any]] = [{}]

        def edit(text: str | None) -> str | Splice | None:
            if text is None:
                return None
            document = Document(_empty_as_object(text))
            seen.append(document.value)
            path = self._servers_path(target, document.value)
            existing = document.get((*path, target.name))
            state = classify(existing, self.launch)
            if state is State.ABSENT:
                return None
            if state is State.FOREIGN and not force:
                raise foreign_entry(file, target.name, existing, removing=True)
            return document.remove_splice(path, target.name)

        def verify(text: str) -> bool:
            document = parse_document(_empty_as_object(text))
            return get_value(document, (*self._servers_path(target, document), target.name)) is MISSING

        with self.book.forgotten(target) as record:
            self._editor.edit(file, edit, verify=verify)
        if target.scope is Scope.PROJECT:
            assert target.project is not None
            created = record.created if record is not None else frozenset()
            self._withdraw_approval(target, created)
            if Created.MCP_JSON in created and remove_if(file, lambda value: value in EMPTY_MCP_JSON):
                seen.append({})
            if Created.CLAUDE_DIR in created:
                _remove_empty_folder(self.approval_file(target.project).parent)
        return self._status_of(target, file, MISSING, seen[-1])

    def _withdraw_approval(self, target: Target, created: frozenset[Created]) -> None:
        """Take our name out of the project's approvals; drop the list, or the file, when we created it and it
        is empty now. What the user had before stays, even when empty."""
        assert target.project is not None
        approval = self.approval_file(target.project)
        if not approval.exists():
            return
        self._edit_list(approval, APPROVAL_KEY, target.name, add=False, drop_empty=Created.APPROVAL_LIST in created)
        if Created.APPROVAL_FILE in created:
            remove_if(approval, lambda value: value in ({APPROVAL_KEY: []}, {}))

    def repair(self) -> list[RepairOutcome]:
        """Bring back every registration the user enabled that vanished, went stale or drifted (an older launch
        command, another Ollama URL). A foreign one is left as found. One outcome per recorded registration."""
        results: list[RepairOutcome] = []
        approvals = self._record_approvals()
        for target in self.records():
            before = self.status(target)
            # The portable project command, not found here: rewriting it would change nothing.
            unresolved = before.state is State.STALE and before.entry == self.desired_entry(target)
            enable = functools.partial(self.enable, target, approve=approvals.get(record_id(target), False))
            results.append(repair_outcome(before, enable, unresolved=unresolved))
        return results

    def _edit_list(self, path: Path, key: str, name: str, *, add: bool, drop_empty: bool = False) -> set[Created]:
        """Add `name` to (or take it out of) the list at `key`; returns what the addition created. With
        `drop_empty`, a list left empty goes too (it was ours)."""
        created: list[set[Created]] = [set()]

        def edit(text: str | None) -> str | None:
            if text is None and not add:
                return None
            document = Document(_empty_as_object(text))
            current = document.get((key,))
            created[0] = {Created.APPROVAL_FILE} if text is None else set()
            if current is MISSING:
                created[0] = created[0] or {Created.APPROVAL_LIST}
                current = []
            if not isinstance(current, list):
                raise DocumentError(f'"{key}" should be a JSON array but is {json_type(current)}')
            if (name in current) == add and not (drop_empty and current == []):
                return None
            updated = [*current, name] if add else [item for item in current if item != name]
            if not add and drop_empty and not updated:
                return document.remove((), key)
            return document.set((), key, updated)

        changed = self._editor.edit(path, edit, new_mode=0o644).changed
        return created[0] if changed else set()

    # the record of what the user enabled ------------------------------------------------------------------

    def records(self) -> list[Target]:
        """The Claude Code registrations the user enabled through us (and has not disabled)."""
        return [record.target for record in self._read_records()]

    def _record_approvals(self) -> dict[str, bool]:
        return {record_id(record.target): record.approve for record in self._read_records()}

    def _read_records(self) -> list[Record]:
        return self.book.of(CLAUDE_CODE)

    def _remember(self, target: Target, *, approve: bool, created: set[Created]) -> None:
        self.book.remember(target, approve=approve, created=frozenset(created))


def _read_json(text: str) -> Any:
    return parse_document(_empty_as_object(text))


def remove_if(path: Path, empty: Callable[[Any], bool], read: Callable[[str], Any] = _read_json) -> bool:
    """Delete `path` when what it holds at the moment of deletion passes `empty`.

    The file is first renamed aside (atomic), so the content judged is exactly the content deleted: a program
    that rewrites it meanwhile either wrote before the rename (and is judged) or writes a new file (kept).
    """
    if path.is_symlink() or not path.is_file():
        return False
    parked = path.with_name(f".{path.name}.ollama-mcp-tray-removing")
    try:
        os.replace(path, parked)
    except OSError:
        return False
    try:
        value = read(parked.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, DocumentError, ConfigFileRefused):
        value = None
    if value is not None and empty(value):
        parked.unlink(missing_ok=True)
        return True
    try:
        os.link(parked, path)  # back in place, unless a newer file took it meanwhile (then that one wins)
    except FileExistsError:
        pass
    except OSError:  # no hard links here (some network and FAT folders): a plain rename back
        if not path.exists():
            os.replace(parked, path)
        return False
    parked.unlink(missing_ok=True)
    return False


def _remove_empty_folder(folder: Path) -> None:
    """Remove `folder` if it is empty; anything in it (the user's or Claude Code's) keeps it."""
    with contextlib.suppress(OSError):
        folder.rmdir()
