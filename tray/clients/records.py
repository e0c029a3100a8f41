"""The words every client's registration shares (scopes, states, targets), and the record of what the user
enabled through us: which client, which scope, and what enabling created, so `repair` knows what a vanished
registration was and `disable` what it may remove again.

The record is one file for every client. A record written before there were several clients names none: it is
Claude Code's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ollama_mcp_tray.server.paths import AppPaths, make_private_dir

from ..configfile.json_document import DocumentError, parse_document, render_document
from ..configfile.safe_edit import SafeEditor

CLAUDE_CODE = "claude-code"
RECORD_NAME = "registrations.json"


class Scope(str, Enum):
    USER = "user"
    LOCAL = "local"  # Claude Code only: one project's entry in the user's own file
    PROJECT = "project"


class State(str, Enum):
    ABSENT = "absent"
    CURRENT = "ours-current"
    STALE = "ours-stale"  # ours, but its command no longer exists (a deleted virtualenv, a moved app)
    FOREIGN = "foreign"  # another server under our name


@dataclass(frozen=True)
class Target:
    """One place a registration can live. `project` is required for the local and project scopes."""

    scope: Scope
    name: str
    project: Path | None = None
    client: str = CLAUDE_CODE

    def __post_init__(self) -> None:
        if self.scope is not Scope.USER and self.project is None:
            raise ValueError(f"the {self.scope.value} scope needs a project folder")

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "scope": self.scope.value,
            "name": self.name,
            "project": str(self.project) if self.project else None,
        }


class Created(Enum):
    """Something `enable` created, so `disable` may remove it again once it holds nothing else."""

    MCP_JSON = "mcp.json"  # Claude Code: <project>/.mcp.json
    CLAUDE_DIR = "claude-dir"  # Claude Code: <project>/.claude/
    APPROVAL_FILE = "approval-file"  # Claude Code: <project>/.claude/settings.local.json
    APPROVAL_LIST = "approval-list"  # Claude Code: its `enabledMcpjsonServers`, added to the user's own file
    CONFIG_FILE = "config-file"  # another client's config file, which did not exist
    SERVERS_TABLE = "servers-table"  # the table of servers in another client's file, which did not exist


def record_id(target: Target) -> str:
    project = os.path.realpath(target.project) if target.project else ""
    return f"{target.client}\0{target.scope.value}\0{target.name}\0{project}"


@dataclass(frozen=True)
class Record:
    """One registration the user enabled through us, with what enabling it created."""

    target: Target
    approve: bool = False
    created: frozenset[Created] = frozenset()
    folders: tuple[Path, ...] = ()  # folders enabling created for the client's file, deepest first

    def to_json(self) -> dict[str, Any]:
        return {
            **self.target.to_json(),
            "approve": self.approve,
            "created": sorted(c.value for c in self.created),
            "folders": [str(folder) for folder in self.folders],
        }


@dataclass
class RecordBook:
    """Reads and updates the record file through the careful editor; other clients' records are kept as read."""

    paths: AppPaths
    editor: SafeEditor

    @property
    def file(self) -> Path:
        return self.paths.config_dir / RECORD_NAME

    def read(self) -> list[Record]:
        try:
            text = self.file.read_text(encoding="utf-8")
            document = parse_document(text if text.strip() else "{}")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, DocumentError):
            return []  # our own bookkeeping; a broken record only costs repair its memory
        items = document.get("registrations")
        result: list[Record] = []
        for item in items if isinstance(items, list) else []:
            try:
                project = item.get("project")
                client = item.get("client", CLAUDE_CODE)
                target = Target(
                    Scope(item["scope"]), str(item["name"]), Path(project) if project else None, str(client)
                )
                listed = item.get("created", [])
                created = frozenset(Created(c) for c in listed) if isinstance(listed, list) else frozenset()
                made = item.get("folders", [])
                folders = tuple(Path(f) for f in made if isinstance(f, str)) if isinstance(made, list) else ()
            except (KeyError, ValueError, TypeError, AttributeError):
                continue
            result.append(Record(target, bool(item.get("approve", False)), created, folders))
        return result

    def of(self, client: str) -> list[Record]:
        return [record for record in self.read() if record.target.client == client]

    def find(self, target: Target) -> Record | None:
        wanted = record_id(target)
        return next((r for r in self.read() if record_id(r.target) == wanted), None)

    def write(self, records: list[Record]) -> None:
        content = {"registrations": [record.to_json() for record in records]}
        make_private_dir(self.file.parent, narrow=True)  # our data folder: 0700 whatever the umask
        self.editor.edit(self.file, lambda _text: render_document(content), new_mode=0o600)

    def remember(
        self,
        target: Target,
        *,
        approve: bool = False,
        created: frozenset[Created] = frozenset(),
        folders: tuple[Path, ...] = (),
    ) -> None:
        """Add (or widen) the record of `target`: what an earlier enable created stays recorded."""
        records = self.read()
        previous = next((r for r in records if record_id(r.target) == record_id(target)), None)
        kept = [r for r in records if r is not previous]
        if previous is not None:
            approve, created = approve or previous.approve, created | previous.created
            folders = tuple(dict.fromkeys((*folders, *previous.folders)))
        record = Record(target, approve, frozenset(created), folders)
        if record != previous:
            self.write([*kept, record])

    def forget(self, target: Target) -> None:
        records = self.read()
        kept = [r for r in records if record_id(r.target) != record_id(target)]
        if len(kept) != len(records):
            self.write(kept)

    @contextlib.contextmanager
    def forgotten(self, target: Target) -> Iterator[Record | None]:
        """Forget `target` before the block (a disable's edit) runs, and remember it again if the block fails;
        yields the record as it was. First, because the tray's guard, looking between the edit and a later
        update of the record, would find a recorded registration missing and restore it."""
        record = self.find(target)
        self.forget(target)
        try:
            yield record
        except BaseException:
            if record is not None:
                self.remember(target, approve=record.approve, created=record.created, folders=record.folders)
            raise


class KeepsRecords:
    """What both registrars share: their careful editor (made on first use from `paths` when none was given)
    and the book of what the user enabled."""

    paths: AppPaths
    editor: SafeEditor | None

    @property
    def _editor(self) -> SafeEditor:
        if self.editor is None:
            self.editor = SafeEditor(backups_dir=self.paths.backups_dir, lock_dir=self.paths.data_dir / "locks")
        return self.editor

    @property
    def book(self) -> RecordBook:
        return RecordBook(self.paths, self._editor)

    @property
    def record_file(self) -> Path:
        return self.book.file


def missing_folders(folder: Path) -> tuple[Path, ...]:
    """`folder` and those of its parents that do not exist yet, deepest first: what writing a file in `folder`
    would create."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return tuple(missing)


def remove_created_folders(folders: tuple[Path, ...]) -> None:
    """Remove the folders we created (deepest first) while they are empty: one that holds anything (the user's,
    the client's) stays, and so do the folders above it."""
    for folder in folders:
        try:
            if folder.is_symlink():
                return
            folder.rmdir()  # only an empty folder goes
        except FileNotFoundError:
            continue  # gone already (the user removed it)
        except OSError:
            return
