"""Every client we can register in, by name, and what each one's state is as a whole.

Adding a client: write its module (a `Client` subclass, with every fact of that client), and list it in
`CLIENTS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from .base import Applies, Client, Machine
from .claude_code import ClaudeCodeClient
from .claude_desktop import ClaudeDesktop
from .codex import CodexCli
from .cursor import Cursor
from .gemini import GeminiCli
from .opencode import OpenCode
from .qwen import QwenCode
from .records import Scope, State, Target
from .registrar import RegistrationStatus, RepairOutcome
from .vscode import VSCode
from .windsurf import Windsurf

CLIENTS: tuple[Client, ...] = (
    ClaudeCodeClient(),
    ClaudeDesktop(),
    Cursor(),
    VSCode(),
    Windsurf(),
    GeminiCli(),
    CodexCli(),
    OpenCode(),
    QwenCode(),
)
"""Every client, in the order the CLI and the tray list them. Each one's facts live in its own module: this
list is the one other place a new client is named."""

CLIENT_NAMES = tuple(client.name for client in CLIENTS)
"""Every name `--client` takes, in that order."""


class UnknownClient(ValueError):
    """A client name we do not know (a usage error)."""


def client_named(name: str) -> Client:
    """The client called `name`.

    Raises:
        UnknownClient: no such client (or not built yet); the message lists the known ones.
    """
    for client in CLIENTS:
        if client.name == name:
            return client
    known = ", ".join(c.name for c in CLIENTS)
    raise UnknownClient(f'Unknown client "{name}". Known clients: {known}.')


def ordered(clients: Sequence[Client]) -> list[Client]:
    """`clients` in the order of `CLIENTS` (one not listed there last)."""
    order = {name: i for i, name in enumerate(CLIENT_NAMES)}
    return sorted(clients, key=lambda c: order.get(c.name, len(order)))


class AnyRegistrar(Protocol):
    """What Claude Code's registrar and the shared one both offer."""

    @property
    def record_file(self) -> Path: ...

    def file_for(self, target: Target) -> Path: ...

    def desired_entry(self, target: Target) -> dict[str, Any]: ...

    def status(self, target: Target) -> RegistrationStatus: ...

    def status_all(self, name: str) -> list[RegistrationStatus]: ...

    def records(self) -> list[Target]: ...

    def enable(self, target: Target, *, force: bool = False, approve: bool = False) -> RegistrationStatus:
        """Register our server at `target` (idempotent).

        Raises:
            ForeignEntryError: another server holds our name there and `force` is not set.
            ConfigFileRefused / ConcurrentEditError: from the careful editor; the file is untouched.
        """
        ...

    def disable(self, target: Target, *, force: bool = False) -> RegistrationStatus:
        """Remove our registration from `target` (idempotent); a foreign one only with `force`.

        Raises:
            ForeignEntryError: the server under our name is not ours and `force` is not set.
        """
        ...

    def repair(self) -> list[RepairOutcome]: ...


class ClientState(str, Enum):
    NOT_INSTALLED = "not-installed"
    OFF = "off"
    ON = "on"  # ours, current
    STALE = "stale"  # ours, but its command no longer exists
    FOREIGN = "foreign"  # another server holds our name


@dataclass(frozen=True)
class ClientStatus:
    """One client as a whole: installed or not, and what its scopes hold under our name."""

    client: Client
    installed: bool
    registrations: tuple[RegistrationStatus, ...] = ()
    problem: str | None = None  # its file could not be read (the message names the file and the fix)

    @property
    def state(self) -> ClientState:
        states = {s.state for s in self.registrations}
        if State.STALE in states:
            return ClientState.STALE
        if State.CURRENT in states:
            return ClientState.ON
        if State.FOREIGN in states:
            return ClientState.FOREIGN
        return ClientState.OFF if self.installed else ClientState.NOT_INSTALLED

    @property
    def enabled(self) -> bool:
        return self.state in (ClientState.ON, ClientState.STALE)

    @property
    def restart_needed(self) -> bool:
        """A change takes effect only once the client is restarted."""
        return self.client.applies is Applies.RESTART

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client.name,
            "display": self.client.display,
            "installed": self.installed,
            "state": self.state.value,
            "scopes": [s.value for s in self.client.scopes],
            "applies": self.client.applies.value,
            "restart_needed": self.restart_needed,
            "problem": self.problem,
            "registrations": [s.to_json() for s in self.registrations],
        }


def client_status(
    client: Client,
    machine: Machine,
    registrar: AnyRegistrar,
    name: str,
    statuses: Sequence[RegistrationStatus] | None = None,
) -> ClientStatus:
    """`client`'s state now; a file that does not parse is reported, not raised. `statuses`: its registrations,
    when the caller has just read them (`status` shows Claude Code's twice, and its file can be big)."""
    from ..configfile.errors import ConfigFileError

    installed = client.installed(machine)
    if statuses is not None:
        return ClientStatus(client, installed, tuple(statuses))
    if client.user_file(machine) is None and not registrar.records():
        return ClientStatus(client, installed)
    try:
        statuses = registrar.status_all(name)
    except ConfigFileError as exc:
        return ClientStatus(client, installed, problem=str(exc))
    return ClientStatus(client, installed, tuple(statuses))


__all__ = ["CLIENTS", "CLIENT_NAMES", "ClientState", "ClientStatus", "Scope", "client_named", "client_status"]
