"""The registration guard: notices when Claude Code's config lost our entry or when it went stale, and restores it.

Claude Code rewrites ~/.claude.json whole and often, from several processes, and entries have been known to
vanish. Parsing a file of megabytes every second would cost real CPU, so the guard only looks at the files'
`stat` each second and reads them when something changed (or when our own server command appeared or
disappeared, which is how an entry goes stale). Then it lets the registrar `repair()` what the user enabled,
and reports what Claude Code's files say now.

The thread waits on an event between checks and stops promptly; it hands results to callbacks that only queue
them for the tray's controller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ollama_mcp_tray.server.errors import OllamaMcpError

from ..clients.base import Client, Machine
from ..clients.catalog import AnyRegistrar, ClientStatus, client_named, client_status
from ..clients.claude_code import ClaudeCodeClient
from ..clients.registrar import Change, Registrar, RegistrationStatus, RepairKind, RepairOutcome, Scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OtherClients:
    """The clients besides Claude Code that the guard looks after: their registrars, and the machine."""

    machine: Machine
    registrars: Sequence[tuple[Client, AnyRegistrar]]


@dataclass(frozen=True)
class Repair:
    """One registration the guard restored or brought up to date."""

    outcome: RepairOutcome

    @property
    def status(self) -> RegistrationStatus:
        return self.outcome.after

    @property
    def message(self) -> str:
        target = self.status.target
        where = "all projects" if target.scope is Scope.USER else f"{target.project} ({target.scope.value})"
        if target.client != ClaudeCodeClient.name:
            where = "its user settings" if target.scope is Scope.USER else f"{target.project}"
        subject = f"The Ollama server's registration in {client_named(target.client).display} for {where}"
        kind = self.outcome.kind
        if kind is RepairKind.RESTORED:
            return f"{subject} was missing; it has been restored."
        if kind is RepairKind.REPOINTED:
            return f"{subject} was stale (its command no longer exists); it has been restored."
        changes = self.outcome.changes
        parts = []
        if Change.LAUNCH in changes and target.scope is Scope.PROJECT:
            parts.append("now starts `ollama-mcp-server` from each teammate's PATH")
        elif Change.LAUNCH in changes:
            parts.append("now starts the server in a way no project folder can tamper with")
        if Change.OLLAMA_URL in changes:
            parts.append(f"now uses Ollama at {self.outcome.ollama_url}")
        return f"{subject} was out of date; it {' and '.join(parts) or 'has been brought up to date'}."


def _stat_key(path: Path) -> Hashable:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class Guard:
    """Watches our registrations from a background thread.

    Args:
        registrar: reads and repairs registrations.
        name: our server's name in Claude Code's config.
        on_status: receives every scope's status (our name only) whenever the files changed.
        on_repair: receives the registrations it restored.
        on_problem: receives a message when a file cannot be read or repaired (once per distinct message).
        enabled: whether to repair (False: only report).
        interval: seconds between `stat` checks.
        others: the other clients to repair (what the user enabled in them) and report.
        on_clients: receives every client's status (Claude Code's included) whenever the files changed.
    """

    def __init__(
        self,
        registrar: Registrar,
        name: str,
        on_status: Callable[[list[RegistrationStatus]], None],
        on_repair: Callable[[list[Repair]], None],
        on_problem: Callable[[str | None], None],
        *,
        enabled: bool = True,
        interval: float = 1.0,
        others: OtherClients | None = None,
        on_clients: Callable[[list[ClientStatus]], None] | None = None,
    ) -> None:
        self.registrar = registrar
        self.others = others
        self.on_clients = on_clients
        self._other_files: list[Path] = []
        self.name = name
        self.on_status = on_status
        self.on_repair = on_repair
        self.on_problem = on_problem
        self.enabled = enabled
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = False
        self._force = True
        self._last_key: Hashable = object()
        self._last_problem: str | None = None
        self._record_key: Hashable = object()
        self._project_files: list[Path] = []
        self._thread = threading.Thread(target=self._run, name="registration-guard", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def refresh(self) -> None:
        """Re-read everything now (after the tray changed a registration itself)."""
        self._force = True
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _watched(self) -> list[Path]:
        reg = self.registrar
        record_key = _stat_key(reg.record_file)
        if record_key != self._record_key:
            # The record lists the project files to watch; re-read it only when it changed (once a second
            # adds up in a process meant to cost nothing while idle).
            self._record_key = record_key
            self._project_files = [
                path
                for target in reg.records()
                if target.project is not None
                for path in (reg.file_for(target), reg.approval_file(target.project))
            ]
            self._other_files = self._files_of_others()
        return [
            reg.claude.config_file,
            reg.record_file,
            Path(reg.launch.command),
            *self._project_files,
            *self._other_files,
        ]

    def _files_of_others(self) -> list[Path]:
        """Each other client's user file (the menu shows its state) and the files of what the user enabled."""
        if self.others is None:
            return []
        files: list[Path] = []
        for client, registrar in self.others.registrars:
            user_file = client.user_file(self.others.machine)
            files += [user_file] if user_file is not None else []
            try:
                files += [registrar.file_for(t) for t in registrar.records() if t.scope is not Scope.USER]
            except OllamaMcpError as exc:  # a record this machine has no file for
                log.info("Not watching a registration: %s", exc)
        return files

    def _run(self) -> None:
        while not self._stopping:
            try:
                self.check()
            except Exception:  # the guard must outlive any surprise; the log keeps the traceback
                log.exception("The registration guard's check failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def check(self) -> None:
        """One round: if any watched file changed, repair (when enabled) and report."""
        key = tuple(_stat_key(p) for p in self._watched())
        if key == self._last_key and not self._force:
            return
        self._force = False
        try:
            repairs: list[Repair] = []
            if self.enabled:
                repairs = [Repair(outcome) for outcome in self.registrar.repair() if outcome.wrote]
            statuses = self.registrar.status_all(self.name)
        except OllamaMcpError as exc:
            self._problem(str(exc))
            self._last_key = key
            return
        self._problem(None)
        repairs += self._repair_others()
        # Re-stat after our own writes, so they do not count as a change next round.
        self._last_key = tuple(_stat_key(p) for p in self._watched())
        if repairs:
            log.warning("Restored registrations: %s", "; ".join(r.message for r in repairs))
            self.on_repair(repairs)
        self.on_status(statuses)
        if self.on_clients is not None:
            self.on_clients(self._client_statuses(statuses))

    def _repair_others(self) -> list[Repair]:
        """Repair what the user enabled in the other clients; one client's broken file spoils only its own."""
        if self.others is None or not self.enabled:
            return []
        repairs: list[Repair] = []
        for client, registrar in self.others.registrars:
            try:
                if registrar.records():
                    repairs += [Repair(outcome) for outcome in registrar.repair() if outcome.wrote]
            except OllamaMcpError as exc:
                log.warning("Could not repair the %s registration: %s", client.display, exc)
        return repairs

    def _client_statuses(self, claude: list[RegistrationStatus]) -> list[ClientStatus]:
        if self.others is None:
            return []
        claude_code = ClaudeCodeClient()
        result = [ClientStatus(claude_code, claude_code.installed(self.others.machine), tuple(claude))]
        for client, registrar in self.others.registrars:
            result.append(client_status(client, self.others.machine, registrar, self.name))
        return result

    def _problem(self, message: str | None) -> None:
        if message != self._last_problem:
            self._last_problem = message
            self.on_problem(message)
