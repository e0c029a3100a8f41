"""The shared registrar: enable, disable, inspect and repair our entry in any client declared over `Client`.

Every edit goes through the careful editor (`SafeEditor`): the file is re-read, edited by its format core so
every other byte stays as it was, verified, and written atomically with a backup. What enabling created (the
file, the table of servers) is recorded, so disabling takes exactly that away again and the file is left as it
was found. Claude Code, with its local scope and approvals, keeps its own registrar (registrar.py) over the
same records, states and outcomes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ollama_mcp_tray.server.paths import AppPaths

from ..configfile.errors import ConfigFileError, ConfigFileRefused
from ..configfile.json_document import MISSING, DocumentError
from ..configfile.safe_edit import SafeEditor
from ..launch import ServerLaunch
from .base import Client, ConfigDocument, Machine, open_document
from .records import Created, KeepsRecords, Scope, State, Target, missing_folders, remove_created_folders
from .registrar import RegistrationStatus, RepairOutcome, command_exists, foreign_entry, remove_if, repair_outcome


class ClientUnavailable(ConfigFileError):
    """The client keeps no config at that scope on this machine (Claude Desktop on Linux, say)."""


@dataclass
class ClientRegistrar(KeepsRecords):
    """Our registrations in one client. Paths, the machine and the launch are parameters."""

    client: Client
    paths: AppPaths
    machine: Machine
    launch: ServerLaunch
    env: Mapping[str, str] = field(default_factory=dict)
    editor: SafeEditor | None = None

    def target(self, name: str, scope: Scope = Scope.USER, project: Path | None = None) -> Target:
        return Target(scope, name, project, self.client.name)

    # where ------------------------------------------------------------------------------------------------
    def file_for(self, target: Target) -> Path:
        """The file that holds `target`'s registration.

        Raises:
            ClientUnavailable: the client has no such file on this machine.
        """
        file = self.client.file(self.machine, target.scope, target.project)
        if file is None:
            where = "here" if target.scope is Scope.USER else f"in the {target.scope.value} scope"
            raise ClientUnavailable(
                f"{self.client.display} keeps no MCP configuration {where}; nothing to do.",
                Path(target.project or self.machine.home),
            )
        return file

    def desired_entry(self, target: Target) -> dict[str, Any]:
        return self.client.build_entry(self.launch, self.env, target.scope)

    def _open(self, file: Path, text: str | None) -> ConfigDocument:
        try:
            return open_document(self.client.format, text)
        except DocumentError as exc:
            where = f" (line {exc.line}, column {exc.column})" if exc.line is not None else ""
            raise ConfigFileRefused(f"{file}{where} is not valid: {exc}. Fix it and try again.", file) from exc

    def _read(self, file: Path) -> ConfigDocument:
        try:
            text: str | None = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigFileRefused(f"Cannot read {file}: {exc}.", file) from exc
        return self._open(file, text)

    # status -----------------------------------------------------------------------------------------------
    def classify(self, entry: Any) -> State:
        if entry is MISSING or entry is None:
            return State.ABSENT
        if not self.client.is_ours(entry, self.launch):
            return State.FOREIGN
        command = self.client.entry_command(entry)
        return State.CURRENT if command is not None and command_exists(command) else State.STALE

    def status(self, target: Target) -> RegistrationStatus:
        """The state of `target` as its file says now.

        Raises:
            ConfigFileRefused: the file does not parse (or the client has none here: ClientUnavailable).
        """
        file = self.file_for(target)
        entry = self._read(file).get((*self.client.servers_path, target.name))
        return self._status_of(target, file, entry)

    def _status_of(self, target: Target, file: Path, entry: Any) -> RegistrationStatus:
        state = self.classify(entry)
        approved = trusted = None
        if target.scope is Scope.PROJECT and target.project is not None:
            # The user's own gates on a project's servers (Codex's trust, Qwen's approval); None: no such gate.
            trusted = self.client.project_trusted(self.machine, target.project)
            if isinstance(entry, dict):
                approved = self.client.project_approved(self.machine, target.project, target.name, entry)
        return RegistrationStatus(
            target=target,
            file=file,
            state=state,
            entry=None if entry is MISSING else entry,
            up_to_date=state is State.CURRENT and _same(entry, self.desired_entry(target)),
            approved=approved,
            trusted=trusted,
        )

    def records(self) -> list[Target]:
        return [record.target for record in self.book.of(self.client.name)]

    def status_all(self, name: str) -> list[RegistrationStatus]:
        """Our name in the user scope (when the client has a file here) and in the projects we registered."""
        targets: list[Target] = []
        if self.client.user_file(self.machine) is not None:
            targets.append(self.target(name))
        targets += [t for t in self.records() if t.name == name and t.scope is not Scope.USER]
        return [self.status(target) for target in targets]

    # changes ----------------------------------------------------------------------------------------------
    def enable(self, target: Target, *, force: bool = False, approve: bool = False) -> RegistrationStatus:
        """`AnyRegistrar.enable`. `approve` is Claude Code's and means nothing here."""
        file = self.file_for(target)
        desired = self.desired_entry(target)
        table = self.client.servers_path
        created: list[frozenset[Created]] = [frozenset()]

        def edit(text: str | None) -> str | None:
            document = self._open(file, text)
            existing = document.get((*table, target.name))
            if self.classify(existing) is State.FOREIGN and not force:
                raise foreign_entry(file, target.name, existing, removing=False)
            made = set()
            if text is None:
                made.add(Created.CONFIG_FILE)
            if document.get(table) is MISSING:
                made.add(Created.SERVERS_TABLE)
            created[0] = frozenset(made)
            if existing is not MISSING and _same(existing, desired):
                return None
            return document.set(table, target.name, desired)

        def verify(text: str) -> bool:
            try:
                return _same(open_document(self.client.format, text).get((*table, target.name)), desired)
            except DocumentError:
                return False

        missing = missing_folders(file.parent)  # e.g. ~/.cursor/ for a Cursor that never ran here
        self._editor.edit(file, edit, new_mode=self.client.file_mode(target.scope), verify=verify)
        folders = tuple(folder for folder in missing if folder.is_dir())
        self.book.remember(target, created=created[0], folders=folders)
        return self._status_of(target, file, desired)

    def disable(self, target: Target, *, force: bool = False) -> RegistrationStatus:
        """`AnyRegistrar.disable`. What enabling created goes too once nothing else is in it: the table of
        servers, then the file, then the folders made for it (a folder that was there before stays, empty or
        not)."""
        file = self.file_for(target)
        table = self.client.servers_path

        def edit(text: str | None) -> str | None:
            if text is None:
                return None
            document = self._open(file, text)
            existing = document.get((*table, target.name))
            state = self.classify(existing)
            if state is State.ABSENT:
                return None
            if state is State.FOREIGN and not force:
                raise foreign_entry(file, target.name, existing, removing=True)
            result = document.remove(table, target.name)
            if Created.SERVERS_TABLE in created:
                after = self._open(file, result)
                if after.get(table) == {}:
                    result = after.remove(table[:-1], table[-1])
            return result

        def verify(text: str) -> bool:
            try:
                return open_document(self.client.format, text).get((*table, target.name)) is MISSING
            except DocumentError:
                return False

        with self.book.forgotten(target) as record:
            created = record.created if record is not None else frozenset()  # what `edit` may take away too
            self._editor.edit(file, edit, verify=verify)
        if Created.CONFIG_FILE in created:
            remove_if(file, lambda value: value == {}, read=lambda text: self._open(file, text).value)
        if record is not None:
            remove_created_folders(record.folders)
        return self._status_of(target, file, MISSING)

    def repair(self) -> list[RepairOutcome]:
        """Bring back every registration the user enabled in this client that vanished, went stale or drifted.
        A foreign one is left as found. One outcome per recorded registration."""
        return [repair_outcome(self.status(t), functools.partial(self.enable, t)) for t in self.records()]


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
