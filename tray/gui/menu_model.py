"""Pure views of a `TrayState`: which icon to show, the tooltip, and a neutral description of the menu.

Nothing here knows pystray: `icon.py` turns a `Menu` into pystray objects, and each clickable item carries an
`Action` value that the tray's controller carries out. Tests check the menu as plain data, without a display.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path

from ollama_mcp_tray.server.errors import OllamaAuthError
from ollama_mcp_tray.server.ollama_client import LoadedModel, ModelInfo, same_model
from ollama_mcp_tray.server.resident import status as rs
from ollama_mcp_tray.server.units import human_size

from ..servers import is_this_machine
from .state import ClaudeState, ClientEntry, IconState, ServerChoice, TrayState

TOOLTIP_MAX = 127  # Windows cuts tooltips at 128 characters including the terminator


# ---- actions: what a click asks the controller to do --------------------------------------------------


@dataclass(frozen=True)
class Refresh:
    """Poll Ollama now (the icon's default action: a left click where the backend has one)."""


@dataclass(frozen=True)
class StartOllama:
    executable: str


@dataclass(frozen=True)
class SetDefaultModel:
    model: str


@dataclass(frozen=True)
class UnloadModel:
    model: str


@dataclass(frozen=True)
class SetUserScope:
    enabled: bool


@dataclass(frozen=True)
class SetClient:
    """Register our server in (or remove it from) one MCP client's user scope."""

    client: str
    enabled: bool


@dataclass(frozen=True)
class EnableProject:
    """Ask for a folder, then register there (with pre-approval of our server name)."""


@dataclass(frozen=True)
class RemoveProject:
    path: str
    scope: str


@dataclass(frozen=True)
class CheckConnection:
    pass


@dataclass(frozen=True)
class SetClaudeMdRule:
    enabled: bool


@dataclass(frozen=True)
class SetKitPiece:
    """Install (or remove) one piece of the adoption kit (an `adoption_kit.Piece` value: skill, agent, ...)."""

    piece: str
    enabled: bool


@dataclass(frozen=True)
class OpenSettings:
    pass


@dataclass(frozen=True)
class SetKey:
    pass


@dataclass(frozen=True)
class OpenWindow:
    """Open one of the app's windows (welcome, settings, models, usage) in a child process."""

    name: str


@dataclass(frozen=True)
class UseServer:
    """Make a saved Ollama server the active one (what Claude Code's server and the tray talk to)."""

    server_id: str


@dataclass(frozen=True)
class SetAutostart:
    enabled: bool


@dataclass(frozen=True)
class SetResident:
    """Turn the shared local server (the resident) on or off in the settings."""

    enabled: bool


@dataclass(frozen=True)
class OpenLogs:
    pass


@dataclass(frozen=True)
class Quit:
    pass


Action = (
    Refresh
    | StartOllama
    | SetDefaultModel
    | UnloadModel
    | SetUserScope
    | SetClient
    | EnableProject
    | RemoveProject
    | CheckConnection
    | SetClaudeMdRule
    | SetKitPiece
    | OpenSettings
    | OpenWindow
    | SetKey
    | UseServer
    | SetAutostart
    | SetResident
    | OpenLogs
    | Quit
)


# ---- the neutral menu ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One menu entry. `action` None with no submenu: an informational line (shown disabled)."""

    text: str
    action: Action | None = None
    checked: bool | None = None  # None: not a check item
    radio: bool = False
    submenu: tuple[Entry, ...] | None = None
    default: bool = False
    visible: bool = True

    @property
    def enabled(self) -> bool:
        return self.action is not None or bool(self.submenu)


@dataclass(frozen=True)
class Separator:
    pass


SEPARATOR = Separator()
Entry = Item | Separator
Menu = tuple[Entry, ...]


# ---- icon and tooltip ---------------------------------------------------------------------------------


def icon_state(state: TrayState) -> IconState:
    """The icon for a state: starting until Ollama first answers (or while our `ollama serve` boots)."""
    snap = state.ollama
    if snap is None:
        return IconState.STARTING
    if isinstance(snap.error, OllamaAuthError):
        return IconState.AUTH
    if not snap.up:
        return IconState.STARTING if state.starting_ollama else IconState.DOWN
    return IconState.LOADED if snap.loaded else IconState.UP


def _short_version(version: str) -> str:
    """'0.12.3' -> '0.12': the tooltip has little room."""
    parts = version.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else version


def tooltip(state: TrayState) -> str:
    """The icon's tooltip: the state in words, e.g. 'Ollama 0.12 · 6 models · qwen2.5-coder:3b loaded'."""
    snap = state.ollama
    kind = icon_state(state)
    if kind is IconState.STARTING:
        text = "Ollama: starting…" if state.starting_ollama else "Ollama: checking…"
    elif kind is IconState.AUTH:
        text = f"Ollama at {where(state)} refused the key"
    elif kind is IconState.DOWN or snap is None or snap.version is None:
        text = f"Ollama is not running ({where(state)})"
    else:
        n = len(snap.models)
        parts = [f"Ollama {_short_version(snap.version)}", f"{n} model{'s' if n != 1 else ''}"]
        active = active_server(state)
        if active is not None and len(state.servers) > 1:
            parts.insert(1, active.name)
        if snap.loaded:
            parts.append(", ".join(m.name for m in snap.loaded) + " loaded")
        text = " · ".join(parts)
    if len(text) > TOOLTIP_MAX:
        text = text[: TOOLTIP_MAX - 1] + "…"
    return text


# ---- formatting ---------------------------------------------------------------------------------------


def parse_time(text: str | None) -> dt.datetime | None:
    """An Ollama RFC3339 timestamp (nanoseconds, 'Z' or an offset) as an aware datetime; None if unreadable.

    >>> parse_time("2025-01-02T03:04:05.123456789+01:00").isoformat()
    '2025-01-02T03:04:05.123456+01:00'
    >>> parse_time("2025-01-02T03:04:05Z").isoformat()
    '2025-01-02T03:04:05+00:00'
    """
    if not text:
        return None
    text = text.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(itertools.takewhile(str.isdigit, rest))
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def unloads_in(expires_at: str | None, now: dt.datetime) -> str:
    """When a loaded model leaves memory, in words.

    >>> now = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    >>> unloads_in("2025-01-01T00:04:30Z", now)
    'unloads in 4 min'
    >>> unloads_in("2025-01-01T00:00:20Z", now)
    'unloads in 20 s'
    >>> unloads_in("2318-01-01T00:00:00Z", now)
    'stays loaded'
    """
    when = parse_time(expires_at)
    if when is None:
        return "unload time unknown"
    seconds = (when - now).total_seconds()
    if seconds > 365 * 86400:
        return "stays loaded"  # keep_alive < 0: Ollama reports a date centuries ahead
    if seconds < 60:
        return f"unloads in {max(0, int(seconds))} s"
    if seconds < 3600:
        return f"unloads in {int(seconds // 60)} min"
    return f"unloads in {seconds / 3600:.1f} h"


def model_label(model: ModelInfo) -> str:
    """'qwen2.5-coder:3b · 1.9 GB · 3.1B · Q4_K_M'."""
    parts = [model.name, human_size(model.size)]
    parts += [p for p in (model.parameter_size, model.quantization) if p]
    return " · ".join(parts)


def placement(model: LoadedModel) -> str:
    """Where a loaded model sits, as `ollama ps` tells it (GPU share of its memory).

    >>> placement(LoadedModel("m", 2_100_000_000, 1_806_000_000, None, None))
    '2.1 GB, 86% on GPU'
    >>> placement(LoadedModel("m", 1_900_000_000, 1_900_000_000, None, None))
    '1.9 GB on GPU'
    >>> placement(LoadedModel("m", 1_900_000_000, 0, None, None))
    '1.9 GB on CPU'
    """
    memory = human_size(model.size)
    if model.size_vram <= 0 or model.size <= 0:
        return f"{memory} on CPU"
    share = round(100 * model.size_vram / model.size)
    return f"{memory} on GPU" if share >= 100 else f"{memory}, {share}% on GPU"


def loaded_label(model: LoadedModel, now: dt.datetime) -> str:
    """The unload item: 'Unload qwen2.5-coder:3b · 2.1 GB, 86% on GPU · unloads in 4 min'."""
    return f"Unload {model.name} · {placement(model)} · {unloads_in(model.expires_at, now)}"


def short_path(path: str, home: str | None = None) -> str:
    """A folder as the user knows it: '~/src/app' under the home folder."""
    home = home if home is not None else str(Path.home())
    if home and (path == home or path.startswith(home.rstrip("/\\") + ("/" if "/" in home else "\\"))):
        return "~" + path[len(home.rstrip("/\\")) :]
    return path


def _compact_count(n: int) -> str:
    """
    >>> _compact_count(950), _compact_count(12_400), _compact_count(3_100_000)
    ('950', '12.4k', '3.1M')
    """
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 1000:
        return f"{n / 1e3:.1f}k"
    return str(n)


def usage_line(state: TrayState) -> str:
    """What Claude Code asked of Ollama today (through our server), in one line.

    'Today: 12 calls from Claude Code · 5.0k tokens in, 3.1k out · 41 tok/s · 1 failed': the calls say how
    much work went local, the tokens how big it was, the speed what to expect next time.
    """
    usage = state.usage_today
    if usage is None or usage.calls == 0:
        return "Today: no calls from Claude Code yet"
    parts = [f"Today: {usage.calls} call{'s' if usage.calls != 1 else ''} from Claude Code"]
    if usage.prompt_tokens or usage.output_tokens:
        parts.append(f"{_compact_count(usage.prompt_tokens)} tokens in, {_compact_count(usage.output_tokens)} out")
    if usage.kept_out_tokens:
        parts.append(f"{_compact_count(usage.kept_out_tokens)} kept out of Claude")
    if usage.median_tokens_per_second is not None:
        parts.append(f"{usage.median_tokens_per_second:.0f} tok/s")
    if usage.errors:
        parts.append(f"{usage.errors} failed")
    return " · ".join(parts)


# ---- the menu -----------------------------------------------------------------------------------------


def _status_entries(state: TrayState) -> list[Entry]:
    snap = state.ollama
    kind = icon_state(state)
    if kind in (IconState.UP, IconState.LOADED) and snap is not None:
        entries: list[Entry] = [Item(f"Ollama {snap.version} · {where(state)}")]
        if snap.error is not None:
            entries.append(Item(f"Ollama answered, but: {snap.error}"[:200]))
        return entries
    if kind is IconState.AUTH:
        return [
            Item(f"Ollama at {where(state)} refused the key"),
            Item("Set Ollama key…", SetKey()),
        ]
    if kind is IconState.STARTING:
        return [Item("Starting Ollama…" if state.starting_ollama else f"Checking Ollama at {where(state)}…")]
    entries = [Item(f"Ollama is not running · {where(state)}")]
    if state.ollama_executable:
        entries.append(Item("Start Ollama", StartOllama(state.ollama_executable)))
    else:
        entries.append(Item("Ollama not found: install it from ollama.com"))
    return entries


def _models_entry(state: TrayState, now: dt.datetime) -> Item:
    snap = state.ollama
    if icon_state(state) is IconState.AUTH:
        # Something answers (the proxy): "not answering" would send the user to start Ollama.
        return Item("Models: the key was refused")
    if snap is None or not snap.up:
        return Item("Models: Ollama is not answering")
    if not snap.models:
        return Item("Models: none installed (ollama pull <model>)")
    loaded = [m.name for m in snap.loaded]
    default = state.default_model
    entries: list[Entry] = [
        Item("Default model for Claude Code:" if default else "Default model for Claude Code: none chosen yet")
    ]
    for model in snap.models:
        label = model_label(model)
        if any(same_model(model.name, name) for name in loaded):
            label += " · loaded"
        if model.embedding_only:
            # It cannot generate or chat, so it cannot be the default for delegated work.
            label += " · embeddings only"
        entries.append(
            Item(
                label,
                None if model.embedding_only else SetDefaultModel(model.name),
                checked=bool(default) and same_model(model.name, default),
                radio=True,
            )
        )
    if default and not any(same_model(m.name, default) for m in snap.models):
        entries.append(Item(f"{default} is not installed: ollama pull {default}"))
    if snap.loaded:
        entries.append(SEPARATOR)
        entries.append(Item("In memory now:"))
        entries += [Item(loaded_label(m, now), UnloadModel(m.name)) for m in snap.loaded]
    return Item(f"Models ({len(snap.models)})", submenu=tuple(entries))


def claude_summary(claude: ClaudeState) -> str:
    """The Claude Code item's text: where Claude Code can use Ollama, readable without opening the submenu.

    >>> claude_summary(ClaudeState())
    'Claude Code: not enabled'
    >>> claude_summary(ClaudeState(user_enabled=True))
    'Claude Code: on for all projects'
    """
    if claude.problem:
        return "Claude Code: needs attention"
    if (claude.user_enabled and not claude.user_healthy) or not all(p.healthy for p in claude.projects):
        return "Claude Code: needs repair"
    if claude.user_enabled:
        return "Claude Code: on for all projects"
    if claude.projects:
        n = len(claude.projects)
        return f"Claude Code: on in {n} project{'s' if n != 1 else ''}"
    return "Claude Code: not enabled"


def _claude_entry(state: TrayState, home: str | None) -> Item:
    claude = state.claude
    entries: list[Entry] = []
    if claude.problem:
        entries.append(Item(claude.problem[:200]))
    user_text = "Enabled for all projects"
    if claude.user_enabled and not claude.user_healthy:
        user_text += " (needs repair)"
    entries.append(Item(user_text, SetUserScope(not claude.user_enabled), checked=claude.user_enabled))
    entries.append(Item("Enable for a project…", EnableProject()))
    if claude.projects:
        entries.append(SEPARATOR)
        entries.append(Item("Enabled in projects (click to remove):"))
        for project in claude.projects:
            label = f"{short_path(project.path, home)} ({project.scope})"
            if not project.healthy:
                label += " (needs repair)"
            entries.append(Item(label, RemoveProject(project.path, project.scope)))
    entries.append(SEPARATOR)
    entries.append(Item(state.busy or "Test connection", None if state.busy else CheckConnection()))
    entries += _kit_entries(claude)
    return Item(claude_summary(claude), submenu=tuple(entries))


KIT_ITEMS = (
    ("skill", "Add delegation skill"),
    ("agent", "Add local-work subagent"),
    ("prompt-hook", "Hook: hint on delegable prompts"),
    ("bash-hook", "Hook: digest very long Bash output"),
)
"""The adoption kit's pieces in the Claude Code submenu, after the CLAUDE.md section: each a check item."""


def _kit_entries(claude: ClaudeState) -> list[Entry]:
    """What helps Claude reach for the local model, each installed or removed on its own by a click."""
    entries: list[Entry] = [
        SEPARATOR,
        Item("Help Claude use the local model:"),
        Item(
            "Add local-model rule to CLAUDE.md",
            SetClaudeMdRule(not claude.claude_md_rule),
            checked=claude.claude_md_rule,
        ),
    ]
    for piece, text in KIT_ITEMS:
        installed = piece in claude.kit
        entries.append(Item(text, SetKitPiece(piece, not installed), checked=installed))
    return entries


def client_label(client: ClientEntry) -> str:
    """A client's line in "Connect to": its name, and what needs the user's eye.

    >>> client_label(ClientEntry("cursor", "Cursor", "on"))
    'Cursor'
    >>> client_label(ClientEntry("claude-desktop", "Claude Desktop", "on", restart_needed=True))
    'Claude Desktop (restart it to apply a change)'
    """
    if client.problem:
        return f"{client.display}: its config file needs fixing"
    if client.state == "foreign":
        return f"{client.display}: another server uses our name"
    label = client.display
    if client.state == "stale":
        label += " (needs repair)"
    elif client.restart_needed:
        label += " (restart it to apply a change)"
    return label


def _connect_entry(state: TrayState) -> Item:
    """The detected clients (installed, or holding our entry), each checked where our server is on."""
    detected = [c for c in state.clients if c.state != "not-installed" or c.problem]
    if not detected:
        return Item("Connect to: no MCP client found")
    entries: list[Entry] = []
    for client in detected:
        usable = client.problem is None and client.state != "foreign"
        action = SetClient(client.name, not client.enabled) if usable else None
        entries.append(Item(client_label(client), action, checked=client.enabled))
    return Item("Connect to", submenu=tuple(entries))


# ---- the Ollama servers ----------------------------------------------------------------------------------


def active_server(state: TrayState) -> ServerChoice | None:
    """The saved server in effect: the active one, unless the environment points the tray elsewhere."""
    active = next((s for s in state.servers if s.active), None)
    return active if active is not None and active.url == state.ollama_url else None


def where(state: TrayState) -> str:
    """The Ollama the tray talks to, for the menu's header and the tooltip: its address, named once the user
    saved more than one server ('GPU box · https://gpu:8443').

    >>> local = ServerChoice("m", "This machine", "http://127.0.0.1:11434")
    >>> where(TrayState("http://127.0.0.1:11434", servers=(local,)))
    'http://127.0.0.1:11434'
    >>> where(TrayState("https://gpu:8443", servers=(local, ServerChoice("g", "GPU box", "https://gpu:8443", True))))
    'GPU box · https://gpu:8443'
    """
    active = active_server(state)
    named = active is not None and len(state.servers) > 1
    return f"{active.name} · {state.ollama_url}" if active is not None and named else state.ollama_url


def remote_active(state: TrayState) -> bool:
    """Whether the tray talks to an Ollama that is not this machine: the icon then carries a mark."""
    return not is_this_machine(state.ollama_url)


def _server_entry(state: TrayState) -> Item:
    """ "Ollama server: <name>" with one radio item per saved server, and the Servers window."""
    active = active_server(state)
    entries: list[Entry] = [
        Item(f"{s.name} · {s.url}", UseServer(s.id), checked=s.active, radio=True) for s in state.servers
    ]
    if state.servers and active is None:
        entries.insert(0, Item(f"In effect: {state.ollama_url} (set by the environment)"))
    if entries:
        entries.append(SEPARATOR)
    entries.append(Item("Add or edit servers…", OpenWindow("servers")))
    label = active.name if active is not None else state.ollama_url
    return Item(f"Ollama server: {label}", submenu=tuple(entries))


def resident_line(state: TrayState) -> str:
    """The local server's item: how the next session of Claude Code gets its server.

    >>> resident_line(TrayState("u", resident=rs.Running("/s", 7, "1", "1+a", 3, 7300)))
    'Local server: resident · 3 sessions · up 2 h'
    >>> resident_line(TrayState("u", resident=rs.Off("the setting resident is false")))
    'Local server: starts with each session'
    """
    status = state.resident
    if status is None:
        return "Local server: checking…"
    if isinstance(status, rs.Running):
        n = status.sessions
        line = f"Local server: resident · {n} session{'s' if n != 1 else ''} · up {rs.human_uptime(status.uptime_s)}"
        return line + (" · finishing" if status.retiring else "")
    if isinstance(status, rs.OtherVersion):
        return "Local server: another version runs · replaced at the next session"
    if isinstance(status, rs.NotRunning):
        return "Local server: starting…" if state.starting_resident else "Local server: starts with the next session"
    if isinstance(status, rs.NotAnswering):
        return "Local server: not answering · sessions start their own"
    return "Local server: starts with each session"


def _resident_entry(state: TrayState) -> Item:
    """The local server's state, its details, and the switch that keeps one running for all sessions."""
    status = state.resident
    entries: list[Entry] = []
    if status is not None:
        entries.append(Item(status.describe()[:200]))
    if isinstance(status, rs.Running | rs.OtherVersion):
        entries.append(Item(f"pid {status.pid} · {status.build}"))
    if isinstance(status, rs.Unsupported):
        return Item(resident_line(state), submenu=tuple(entries))
    on = not isinstance(status, rs.Off)
    entries.append(Item("Keep one server running for all sessions", SetResident(not on), checked=on))
    return Item(resident_line(state), submenu=tuple(entries))


def build_menu(state: TrayState, now: dt.datetime, home: str | None = None) -> Menu:
    """The whole menu for a state. `now` dates the "unloads in" hints; `home` shortens project paths."""
    entries: list[Entry] = [Item("Refresh", Refresh(), default=True, visible=False)]
    entries += _status_entries(state)
    entries.append(_server_entry(state))
    entries.append(SEPARATOR)
    entries.append(_models_entry(state, now))
    entries.append(_claude_entry(state, home))
    entries.append(Item(usage_line(state)))
    entries.append(_connect_entry(state))
    entries.append(_resident_entry(state))
    entries.append(SEPARATOR)
    entries.append(Item("Manage models…", OpenWindow("models")))
    entries.append(Item("Usage…", OpenWindow("usage")))
    entries.append(Item("Getting started…", OpenWindow("welcome")))
    entries.append(Item("Settings…", OpenWindow("settings")))
    if state.autostart_supported:
        entries.append(Item("Start at login", SetAutostart(not state.autostart), checked=state.autostart))
    entries.append(Item("Open logs", OpenLogs()))
    entries.append(Item("Quit", Quit()))
    return tuple(entries)


def selectable_path(menu: Menu, *texts: str) -> list[int]:
    """Keyboard steps to reach an item: for each level, the item's index among the entries a keyboard can
    select (visible and enabled, separators skipped). Used by desktop tests that drive a real menu.

    Raises:
        KeyError: no item starts with that text at that level.
    """
    steps: list[int] = []
    level: tuple[Entry, ...] | None = menu
    for text in texts:
        if level is None:
            raise KeyError(text)
        selectable = [e for e in level if isinstance(e, Item) and e.visible and e.enabled]
        for index, item in enumerate(selectable):
            if item.text.startswith(text):
                steps.append(index)
                level = item.submenu
                break
        else:
            raise KeyError(text)
    return steps
