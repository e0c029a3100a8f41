"""Status and health checks: what Ollama says, what Claude Code's files hold, whether our server starts.

Each check carries the fix to try next. The server handshake goes through the MCP SDK's client over
stdio, exactly as Claude Code would start it; `claude mcp get` is asked too when the CLI is installed.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import anyio

from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.server.errors import ConfigError, OllamaAuthError
from ollama_mcp_tray.server.ollama_client import OllamaClient, OllamaSnapshot
from ollama_mcp_tray.server.resident import status as resident
from ollama_mcp_tray.server.usage import UsageSummary, read_usage, summarize

from .app_context import AppContext
from .clients import claude_md
from .clients.adoption_kit import Piece
from .clients.claude_cli import find_claude, mcp_get
from .clients.records import CLAUDE_CODE
from .clients.registrar import RegistrationStatus, Scope, State, read_document
from .configfile.errors import ConfigFileRefused
from .kit_actions import digest_warning

# Claude Code hands servers its own environment; these are what decides where ours finds its files.
# XDG_RUNTIME_DIR and the resident's switches too: they decide which resident (socket) a session's relay uses.
_PASS_THROUGH = (
    "HOME",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
    "OLLAMA_MCP_RESIDENT",
    "OLLAMA_MCP_RESIDENT_IDLE_S",
)


DOWN_FIX = "Start Ollama (`ollama serve`) or set its address: `ollama-mcp-tray config set ollama_url URL`."
KEY_FIX = (
    "Store the key your proxy expects: `ollama-mcp-tray set-key`. If the key is right, check how it is sent: "
    "`ollama-mcp-tray config set key_header NAME` (the header your proxy reads; default X-Ollama-Key) or "
    "`ollama-mcp-tray config set auth_scheme bearer` (Authorization: Bearer)."
)


class OllamaState(Enum):
    """What one poll found: Ollama answered, its proxy refused our key, or nothing useful answered."""

    UP = "up"
    KEY_REFUSED = "key-refused"
    DOWN = "down"


def ollama_state(snap: OllamaSnapshot) -> OllamaState:
    """A refused key is told apart from a down Ollama: the fix is different (set-key, not `ollama serve`)."""
    if isinstance(snap.error, OllamaAuthError):
        return OllamaState.KEY_REFUSED
    return OllamaState.UP if snap.up else OllamaState.DOWN


def probe(config: ServerConfig) -> OllamaSnapshot:
    """One poll of Ollama from synchronous code (never raises for Ollama's failures)."""
    return anyio.run(snapshot, config)


@dataclass(frozen=True)
class Check:
    """One doctor check: passed or not, what was seen, and what to do about a failure."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class Handshake:
    """The result of starting our server and listing its tools."""

    ok: bool
    tools: tuple[str, ...] = ()
    server: str | None = None
    error: str | None = None


async def snapshot(config: ServerConfig) -> OllamaSnapshot:
    """One poll of Ollama (never raises for Ollama's failures)."""
    async with OllamaClient(config) as client:
        return await client.snapshot()


async def handshake(command: str, args: Sequence[str], env: Mapping[str, str], limit: float = 30.0) -> Handshake:
    """Start the server as Claude Code would, initialize, and list its tools.

    The server's stderr (its log) goes to a temporary file, shown only when the handshake fails.
    """
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=command, args=list(args), env=dict(env))
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
        try:
            with anyio.fail_after(limit):
                async with Client(stdio_client(params, errlog=errlog)) as client:
                    info = client.server_info
                    tools = await client.list_tools()
            return Handshake(
                ok=True,
                tools=tuple(t.name for t in tools.tools),
                server=f"{info.name} {info.version}" if info else None,
            )
        except TimeoutError:
            return Handshake(ok=False, error=f"no answer within {limit:.0f} s{_tail(errlog)}")
        except Exception as exc:  # noqa: BLE001 - any failure to start or talk is the finding itself
            return Handshake(ok=False, error=f"{type(exc).__name__}: {exc}{_tail(errlog)}")


def _tail(errlog: Any) -> str:
    errlog.seek(0)
    lines = errlog.read().strip().splitlines()[-5:]
    return ("; server stderr: " + " | ".join(lines)) if lines else ""


def server_env(ctx: AppContext, entry_env: Mapping[str, str]) -> dict[str, str]:
    """The environment our server gets from Claude Code: the entry's, over the user's own folders."""
    env = {name: ctx.env[name] for name in _PASS_THROUGH if ctx.env.get(name)}
    env.update(entry_env)
    return env


def usage_today(ctx: AppContext, now: dt.datetime | None = None) -> UsageSummary:
    """Tool calls since local midnight, from the server's usage records."""
    now = now or dt.datetime.now().astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return summarize(read_usage(ctx.paths.usage_file), since=midnight.timestamp())


def claude_verdict(ctx: AppContext, status: RegistrationStatus, timeout: float = 60.0) -> Check | None:
    """`claude mcp get` for one registration, run where that scope applies; None without the CLI."""
    claude = find_claude(ctx.env, ctx.home)
    if claude is None:
        return None
    cwd = status.target.project if status.target.scope is not Scope.USER else ctx.home
    label = f"claude mcp get {status.target.name} ({_where(status)})"
    try:
        result = mcp_get(claude, status.target.name, cwd=cwd, env=ctx.env, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(label, False, f"could not run {claude}: {exc}", "Check that Claude Code runs: `claude --version`.")
    if result.connected:
        return Check(label, True, "Connected")
    if result.status and result.status.startswith("Pending approval"):
        return Check(
            label,
            False,
            result.status,
            "Approve it: run `claude` in the project and accept, "
            "or `ollama-mcp-tray enable --scope project --approve`.",
        )
    return Check(label, False, result.status or result.output[-300:], "Run `ollama-mcp-tray doctor` checks above.")


def _where(status: RegistrationStatus) -> str:
    if status.target.scope is Scope.USER:
        return "user scope"
    return f"{status.target.scope.value} scope, {status.target.project}"


def run_checks(ctx: AppContext, name: str, *, ask_claude: bool = True) -> list[Check]:
    """All doctor checks, in the order a user would fix them."""
    checks: list[Check] = []
    registrar = ctx.registrar()
    try:
        read_document(ctx.claude.config_file)
        checks.append(Check("Claude Code config parses", True, str(ctx.claude.config_file)))
    except ConfigFileRefused as exc:
        checks.append(Check("Claude Code config parses", False, str(exc), "Fix the JSON at the line named."))
        return checks
    statuses = registrar.status_all(name)
    present = [s for s in statuses if s.state is not State.ABSENT]
    checks.extend(_registration_check(status) for status in present)
    if not present:
        checks.append(
            Check(f"registered as {name!r}", False, "not registered in any scope", "Run `ollama-mcp-tray enable`.")
        )
    launch_ok = os.path.exists(ctx.launch.command)
    checks.append(
        Check(
            "server command exists",
            launch_ok,
            f"{ctx.launch.command} {' '.join(ctx.launch.args)}",
            None if launch_ok else "Reinstall ollama-mcp-tray, then run `ollama-mcp-tray repair`.",
        )
    )
    entry_env = registrar.desired_entry(statuses[0].target)["env"]
    shake = anyio.run(handshake, ctx.launch.command, ctx.launch.args, server_env(ctx, entry_env))
    checks.append(
        Check(
            "server starts and lists tools",
            shake.ok,
            f"{shake.server}: {len(shake.tools)} tools" if shake.ok else (shake.error or "failed"),
            None if shake.ok else "See the server log in `ollama-mcp-tray status` paths; run `ollama-mcp-tray serve`.",
        )
    )
    checks.append(resident_check(resident.status_for(ctx.env)))
    checks.extend(_client_checks(ctx))
    checks.extend(_ollama_checks(ctx))
    checks.append(_kit_check(ctx))
    if ask_claude:
        for status in statuses:
            if status.state in (State.CURRENT, State.STALE):
                verdict = claude_verdict(ctx, status)
                if verdict is not None:
                    checks.append(verdict)
    return checks


def resident_check(status: resident.ResidentStatus) -> Check:
    """The shared local server: only one that holds its socket without answering needs the user (sessions
    still work then, each with its own server, but start slowly and the socket stays taken)."""
    name = "local server (resident)"
    if isinstance(status, resident.NotAnswering):
        return Check(
            name,
            False,
            status.describe(),
            f"Sessions still work. Find the process with `lsof {status.socket}` (or `fuser {status.socket}`) and "
            "stop it; the next session starts a new one. Or turn it off: `ollama-mcp-tray config set resident false`.",
        )
    return Check(name, True, status.describe())


def _client_checks(ctx: AppContext) -> list[Check]:
    """For each other client the user enabled (or that holds our entry): its file parses, and our entry in it."""
    checks: list[Check] = []
    for summary in ctx.client_statuses():
        client = summary.client
        if client.name == CLAUDE_CODE:
            continue
        recorded = set(ctx.registrar_for(client.name).records())
        if summary.problem is not None:
            checks.append(
                Check(f"{client.display} config parses", False, summary.problem, "Fix the file at the line named.")
            )
            continue
        if not recorded and not summary.enabled:
            continue
        files = sorted({str(s.file) for s in summary.registrations})
        checks.append(Check(f"{client.display} config parses", True, ", ".join(files)))
        for status in summary.registrations:
            if status.state is State.ABSENT and status.target not in recorded:
                continue
            checks.append(_registration_check(status, client.display))
    return checks


def _registration_check(status: RegistrationStatus, client: str | None = None) -> Check:
    label = f"registration ({_where(status)})" if client is None else f"registration in {client} ({_where(status)})"
    if status.state is State.CURRENT:
        detail = "ours, up to date" if status.up_to_date else "ours, differs from current settings"
        fix = None if status.up_to_date else "Run `ollama-mcp-tray repair` to refresh it."
        if status.target.scope is Scope.PROJECT and status.approved is False:
            return Check(
                label, False, detail + "; not approved", "Run `ollama-mcp-tray enable --scope project --approve`."
            )
        return Check(label, status.up_to_date, detail, fix)
    if status.state is State.STALE:
        return Check(
            label,
            False,
            f"ours, but {status.entry['command']} is gone",
            "Run `ollama-mcp-tray repair` to point it here.",
        )
    if status.state is State.FOREIGN:
        return Check(
            label,
            False,
            f"another server uses the name {status.target.name!r}",
            "Register ours under another name (--name), or replace it with --force.",
        )
    again = "`ollama-mcp-tray repair`" if client is not None else "`ollama-mcp-tray enable`"
    return Check(label, False, "absent", f"Run {again}.")


def _ollama_checks(ctx: AppContext) -> list[Check]:
    try:
        config = ctx.server_config()
    except ConfigError as exc:
        return [Check("settings and key file", False, str(exc), "Fix the file named, or `ollama-mcp-tray config set`.")]
    snap = probe(config)
    if ollama_state(snap) is OllamaState.KEY_REFUSED:
        # Something answers (the proxy), so "start Ollama" would send the user the wrong way.
        return [Check("key accepted", False, str(snap.error), KEY_FIX)]
    checks = [
        Check(
            "Ollama answers",
            snap.up,
            f"{config.base_url}: version {snap.version}" if snap.up else str(snap.error),
            None if snap.up else DOWN_FIX,
        )
    ]
    if snap.up and snap.error is None:
        checks.append(Check("key accepted", True, "a key is sent" if config.key else "no key needed"))
    return checks


def _kit_check(ctx: AppContext) -> Check:
    """Which adoption-kit pieces are installed (informational: none is required), and whether the installed
    Claude Code can use the Bash digest hook (older ones run it and ignore its answer)."""
    try:
        pieces = {"claude-md": claude_md.is_installed(ctx.claude.claude_md), **ctx.kit().status()}
    except OSError as exc:
        return Check("adoption kit", False, str(exc), "Check the permissions of ~/.claude.")
    on = [name for name, installed in pieces.items() if installed]
    detail = ("installed: " + ", ".join(on)) if on else "none installed"
    warning = digest_warning(ctx) if pieces.get(Piece.BASH_HOOK.value) else None
    if warning:
        return Check("adoption kit", False, f"{detail}; {warning}", "Update Claude Code: `claude update`.")
    return Check("adoption kit", True, detail + " (`ollama-mcp-tray kit --help`)")


def status_report(ctx: AppContext, name: str) -> dict[str, Any]:
    """Everything `status` shows, JSON-ready. The key is never in it: only whether one is set."""
    report: dict[str, Any] = {}
    try:
        config = ctx.server_config()
        snap = probe(config)
        report["ollama"] = {
            "url": config.base_url,
            "state": ollama_state(snap).value,
            "up": snap.up,
            "version": snap.version,
            "error": str(snap.error) if snap.error else None,
            "key_set": config.key is not None,
            "default_model": config.default_model,
            "models": [{"name": m.name, "size": m.size, "capabilities": list(m.capabilities)} for m in snap.models],
            "loaded": [{"name": m.name, "size_vram": m.size_vram, "expires_at": m.expires_at} for m in snap.loaded],
        }
    except ConfigError as exc:
        report["ollama"] = {"error": str(exc)}
    report["resident"] = resident.to_json(resident.status_for(ctx.env))
    registrations = ctx.registrar().status_all(name)
    report["registrations"] = [s.to_json() for s in registrations]
    report["clients"] = [c.to_json() for c in ctx.client_statuses(name, known={CLAUDE_CODE: registrations})]
    report["adoption_kit"] = [
        {
            "piece": "claude-md",
            "installed": claude_md.is_installed(ctx.claude.claude_md),
            "file": str(ctx.claude.claude_md),
        },
        *ctx.kit().report(),
    ]
    usage = usage_today(ctx)
    report["usage_today"] = {
        "calls": usage.calls,
        "errors": usage.errors,
        "prompt_tokens": usage.prompt_tokens,
        "output_tokens": usage.output_tokens,
        "median_tokens_per_second": usage.median_tokens_per_second,
        "kept_out_tokens": usage.kept_out_tokens,
    }
    report["files"] = {
        "claude_config": str(ctx.claude.config_file),
        "settings": str(ctx.paths.settings_file),
        "server_log": str(ctx.paths.server_log),
        "backups": str(ctx.paths.backups_dir),
    }
    return report
