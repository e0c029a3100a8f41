"""The tray's state snapshot: everything the icon, tooltip and menu are drawn from, as one immutable value.

The tray process keeps exactly one current `TrayState` and replaces it whole (`dataclasses.replace`) when
something changes, so the menu and icon are pure functions of it and tests build states by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ollama_mcp_tray.server.ollama_client import OllamaSnapshot
from ollama_mcp_tray.server.resident.status import ResidentStatus
from ollama_mcp_tray.server.usage import UsageSummary


class IconState(str, Enum):
    """What the icon shows; the values name the asset files (`status-<value>-<size>.png`)."""

    UP = "up"
    LOADED = "loaded"
    DOWN = "down"
    AUTH = "auth"
    STARTING = "starting"


@dataclass(frozen=True)
class ProjectRegistration:
    """One project folder where our server is registered (local or project scope)."""

    path: str
    scope: str  # "local" (~/.claude.json projects[...]) or "project" (<path>/.mcp.json)
    healthy: bool = True


@dataclass(frozen=True)
class ClaudeState:
    """Where our server is registered in Claude Code, as last read from its files."""

    user_enabled: bool = False
    user_healthy: bool = True
    projects: tuple[ProjectRegistration, ...] = ()
    claude_md_rule: bool = False
    kit: frozenset[str] = frozenset()  # the adoption-kit pieces installed (`adoption_kit.Piece` values)
    # A file we could not read (e.g. ~/.claude.json does not parse): shown instead of guessing.
    problem: str | None = None


@dataclass(frozen=True)
class ClientEntry:
    """One MCP client in the "Connect to" submenu, as last read from its files."""

    name: str  # the CLI's --client value
    display: str
    state: str  # a ClientState value: not-installed, off, on, stale, foreign
    restart_needed: bool = False  # the client reads its config at launch only
    problem: str | None = None  # its file could not be read

    @property
    def enabled(self) -> bool:
        return self.state in ("on", "stale")


@dataclass(frozen=True)
class ServerChoice:
    """One saved Ollama server in the "Ollama server" submenu."""

    id: str
    name: str
    url: str
    active: bool = False


@dataclass(frozen=True)
class TrayState:
    """One snapshot of everything the tray shows.

    `ollama` is None until the first poll answered (the icon shows "starting" meanwhile).
    """

    ollama_url: str
    ollama: OllamaSnapshot | None = None
    starting_ollama: bool = False  # we launched `ollama serve` and it has not answered yet
    ollama_executable: str | None = None
    default_model: str = ""
    claude: ClaudeState = field(default_factory=ClaudeState)
    clients: tuple[ClientEntry, ...] = ()  # every client we know, detected or not
    usage_today: UsageSummary | None = None
    autostart: bool = False
    autostart_supported: bool = True
    guard: bool = True
    busy: str | None = None  # a long action in flight, e.g. "Testing connection…"
    servers: tuple[ServerChoice, ...] = ()  # the saved Ollama servers (tray/servers.py), the active one marked
    resident: ResidentStatus | None = None  # the shared local server, as last asked (None: not asked yet)
    starting_resident: bool = False  # the tray started one and it has not answered yet
