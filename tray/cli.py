"""`ollama-mcp-tray <command>`: set up, register and check the server from a terminal, without the GUI.

Results go to stdout, diagnostics to stderr; a user error is a message, never a traceback.

Exit codes:
    0  done / every check passed / (status) Ollama answers
    1  a check failed or a problem was found (doctor, setup's verification, a model that is not installed, a
       client that keeps no MCP configuration on this machine)
    2  usage error (unknown command or option, a value a setting does not accept, an empty key)
    3  a config file was refused (does not parse, or unexpected content); it was left untouched
    4  the server name is taken by another MCP server (use --name, or --force to replace it)
    5  Ollama cannot be reached, or refused the key
    6  another program kept rewriting the file, or our lock stayed taken; try again
  130  interrupted

Commands are one function each, registered in `COMMANDS`; add one with `command(...)`. Heavy imports (the
HTTP client, anyio, the MCP SDK) happen inside the commands that need them, so `enable`/`disable` start fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ollama_mcp_tray.server.config import ServerConfig, normalize_url, resolve_config
from ollama_mcp_tray.server.errors import ConfigError, OllamaError, OllamaMcpError
from ollama_mcp_tray.server.settings import read_key_file

from .app_context import AppContext
from .app_settings import (
    InvalidValue,
    clean_key,
    delete_key,
    parse_setting,
    save_settings,
    setting_names,
    settings_help,
    store_key,
)
from .clients import claude_md
from .clients.adoption_kit import DEFAULT_PIECES, Piece
from .clients.catalog import CLIENT_NAMES, CLIENTS, UnknownClient, client_named, ordered
from .clients.engine import ClientUnavailable
from .clients.records import CLAUDE_CODE
from .clients.registrar import Change, RegistrationStatus, RepairKind, RepairOutcome, Scope, State, Target
from .configfile.errors import ConcurrentEditError, ForeignEntryError
from .kit_actions import KitChange, apply_piece

if TYPE_CHECKING:
    from .doctor import Check

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_CONFIG_REFUSED = 3
EXIT_NAME_TAKEN = 4
EXIT_OLLAMA = 5
EXIT_BUSY = 6
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Command:
    """A subcommand: its help line, how it adds its arguments, and what it runs."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, AppContext], int]


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable[[Callable[[argparse.Namespace, AppContext], int]], Callable[[argparse.Namespace, AppContext], int]]:
    """Register a subcommand (also for other modules, e.g. desktop integration)."""

    def register(
        run: Callable[[argparse.Namespace, AppContext], int],
    ) -> Callable[[argparse.Namespace, AppContext], int]:
        COMMANDS[name] = Command(help, configure or (lambda _parser: None), run)
        return run

    return register


def out(text: str = "") -> None:
    print(text)


def err(text: str) -> None:
    print(text, file=sys.stderr)


# ---- shared arguments ------------------------------------------------------------------------------------
def _client_arg(parser: argparse.ArgumentParser, default: str | None = CLAUDE_CODE, help: str | None = None) -> None:
    what = help or "the MCP client (default: claude-code)"
    names = ", ".join(CLIENT_NAMES)
    parser.add_argument(
        "--client", choices=CLIENT_NAMES, default=default, metavar="NAME", help=f"{what}; one of {names}"
    )


def _client(args: argparse.Namespace) -> str:
    """The client named on the command line (Claude Code when none was).

    Raises:
        UsageError: a client whose module is not built yet.
    """
    name = getattr(args, "client", None) or CLAUDE_CODE
    try:
        return client_named(name).name
    except UnknownClient as exc:
        raise UsageError(str(exc)) from exc


def _target_args(parser: argparse.ArgumentParser) -> None:
    _client_arg(parser, None)
    parser.add_argument(
        "--scope",
        choices=[s.value for s in Scope],
        default="user",
        help="where (default: user); local is Claude Code's, project where the client has one",
    )
    parser.add_argument("--project", type=Path, help="the project folder for local/project scope (default: here)")
    parser.add_argument("--name", help="the server's name in Claude Code (default: settings' server_name)")
    parser.add_argument("--force", action="store_true", help="replace or remove a server of that name that is not ours")


def _target(args: argparse.Namespace, ctx: AppContext) -> Target:
    client = client_named(_client(args))
    scope = Scope(args.scope)
    if scope not in client.scopes:
        scopes = ", ".join(s.value for s in client.scopes)
        raise UsageError(f"{client.display} has no {scope.value} scope; its scopes: {scopes}.")
    name = args.name or ctx.settings.server_name
    project = None
    if scope is not Scope.USER:
        project = (args.project or Path.cwd()).expanduser().absolute()
        if not project.is_dir():
            raise UsageError(
                f"The project folder {project} does not exist (or is not a folder): give --project an existing "
                "folder, or run the command inside the project."
            )
    elif args.project is not None:
        raise UsageError("--project goes with --scope local or --scope project.")
    return Target(scope, name, project, client.name)


class UsageError(OllamaMcpError):
    """The command line itself is wrong (exit code 2)."""


def _describe(status: RegistrationStatus) -> str:
    where = str(status.file)
    parts = [f"{status.target.scope.value:<8} {status.state.value:<13} {where}"]
    if status.target.scope is Scope.LOCAL:
        parts.append(f"project {status.target.project}")
    if status.target.scope is Scope.PROJECT and status.approved is not None:
        parts.append("approved" if status.approved else "not approved")
    if status.trusted is not None:
        parts.append("trusted" if status.trusted else "folder not yet trusted in Claude Code")
    if status.state.value.startswith("ours") and not status.up_to_date:
        parts.append("needs refresh (`ollama-mcp-tray repair`)")
    return ", ".join(parts)


# ---- commands ----------------------------------------------------------------------------------------------
def _configure_setup(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="the default model (default: the best installed one, a coder model first)")
    parser.add_argument("--name", help="the server's name in Claude Code (default: ollama)")
    parser.add_argument("--force", action="store_true", help="replace a server of that name that is not ours")
    parser.add_argument("--claude-md", action="store_true", help="add a 'local model usage' section to CLAUDE.md")
    parser.add_argument("--kit", action="store_true", help="install the Claude Code skill and subagent (see `kit`)")
    parser.add_argument("--hooks", action="store_true", help="install the prompt-hint and Bash-digest hooks")


@command("setup", "one-time setup: check Ollama, pick a model, register in Claude Code, verify", _configure_setup)
def cmd_setup(args: argparse.Namespace, ctx: AppContext) -> int:
    from ollama_mcp_tray.server.ollama_client import same_model

    from .default_model import choose_default_model
    from .doctor import DOWN_FIX, KEY_FIX, OllamaState, claude_verdict, ollama_state, probe

    config = ctx.server_config()
    snap = probe(config)
    state = ollama_state(snap)
    if state is OllamaState.KEY_REFUSED:
        err(f"Ollama at {config.base_url} refused the key: {snap.error}")
        err(KEY_FIX)
        if not args.model:
            return EXIT_OLLAMA
    elif state is OllamaState.DOWN:
        err(f"Ollama does not answer at {config.base_url}: {snap.error}")
        err(DOWN_FIX)
        if not args.model:
            return EXIT_OLLAMA
    out(
        f"Ollama {snap.version} at {config.base_url}"
        if state is OllamaState.UP
        else f"Ollama at {config.base_url}: {state.value}"
    )
    if state is OllamaState.UP:
        from ollama_mcp_tray.server.descriptions import write_model_cache

        # The server's tool descriptions name the installed models from its first start on.
        write_model_cache(ctx.paths.model_cache, [m.name for m in snap.models])
    model = args.model
    if model and state is OllamaState.UP and not any(same_model(m.name, model) for m in snap.models):
        err(f"The model {model!r} is not installed. Install it with `ollama pull {model}`, or pick one of:")
        for m in snap.models:
            err(f"  {m.name}")
        return EXIT_PROBLEM
    model = model or choose_default_model(snap.models, [m.name for m in snap.loaded])
    updates = _environment_settings(ctx, config)
    if model:
        updates["default_model"] = model
    if args.name:
        updates["server_name"] = args.name
    if updates:
        save_settings(ctx.paths.settings_file, updates)
        ctx.reload_settings()
    if state is not OllamaState.KEY_REFUSED:  # a refused key is not worth keeping
        _store_environment_key(ctx, config)
    out(f"Default model: {model}" if model else "No completion model installed (try `ollama pull qwen2.5-coder`).")
    status = ctx.registrar().enable(Target(Scope.USER, ctx.settings.server_name), force=args.force)
    out(f"Registered: {_describe(status)}")
    if args.claude_md:
        changed = claude_md.install(ctx.editor, ctx.claude.claude_md, ctx.settings.server_name, model)
        out(f"CLAUDE.md section {'added' if changed else 'already there'}: {ctx.claude.claude_md}")
    pieces = [*(DEFAULT_PIECES if args.kit else ()), *((Piece.PROMPT_HOOK, Piece.BASH_HOOK) if args.hooks else ())]
    _install_pieces(ctx, pieces)
    verdict = claude_verdict(ctx, status)
    if verdict is None:
        out("Claude Code's CLI was not found; open Claude Code and run /mcp to see the server.")
    else:
        _print_check(verdict)
    ok = status.state.value == "ours-current" and (verdict is None or verdict.ok) and model is not None
    return EXIT_OK if ok else EXIT_PROBLEM


# What setup found only in the environment is saved, so the registered server (which Claude Code may start
# without that environment) and the tray use the same Ollama. The key goes to the key file, never an entry.
_FROM_ENVIRONMENT = {
    "OLLAMA_KEY_HEADER": "key_header",
    "OLLAMA_AUTH_SCHEME": "auth_scheme",
    "OLLAMA_CA_FILE": "ca_file",
}


def _environment_settings(ctx: AppContext, config: ServerConfig) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    source = next((name for name in ("OLLAMA_URL", "OLLAMA_HOST") if ctx.env.get(name, "").strip()), None)
    if source and config.base_url != normalize_url(ctx.settings.ollama_url):
        updates["ollama_url"] = config.base_url
        out(f"Saved the Ollama address from {source} in {ctx.paths.settings_file}: {config.base_url}")
    resolved = {"key_header": config.key_header, "auth_scheme": config.auth_scheme, "ca_file": config.ca_file or ""}
    for variable, name in _FROM_ENVIRONMENT.items():
        if ctx.env.get(variable, "").strip() and resolved[name] != getattr(ctx.settings, name):
            updates[name] = resolved[name]
            out(f"Saved {name} from {variable} in {ctx.paths.settings_file}: {resolved[name]}")
    return updates


def _store_environment_key(ctx: AppContext, config: ServerConfig) -> None:
    key = ctx.env.get("OLLAMA_KEY", "").strip()
    if not key or config.key != key:
        return
    try:
        stored = read_key_file(ctx.paths.key_file)
    except ConfigError:
        stored = None  # unreadable or too open: replaced by a private copy below
    if stored == key:
        return
    store_key(ctx.paths.key_file, key)
    out(f"Stored the key from OLLAMA_KEY in {ctx.paths.key_file} (readable by you alone; no registration holds it).")


def _configure_enable(parser: argparse.ArgumentParser) -> None:
    _target_args(parser)
    parser.add_argument(
        "--approve",
        action="store_true",
        help="project scope: also pre-approve the server in <project>/.claude/settings.local.json "
        "(trusting the folder stays your decision in Claude Code)",
    )


@command("enable", "register the server in an MCP client (default: Claude Code; idempotent)", _configure_enable)
def cmd_enable(args: argparse.Namespace, ctx: AppContext) -> int:
    target = _target(args, ctx)
    if args.approve and (target.scope is not Scope.PROJECT or target.client != CLAUDE_CODE):
        raise UsageError("--approve goes with --scope project, for Claude Code.")
    from .default_model import fill_default_model

    status = ctx.registrar_for(target.client).enable(target, force=args.force, approve=args.approve)
    out(f"Enabled{_in_client(target)}: {_describe(status)}")
    chosen = fill_default_model(ctx)
    if chosen:
        out(f"Default model: {chosen} (none was set; change it with `ollama-mcp-tray config set default_model NAME`)")
    elif not ctx.settings.default_model:
        err("No default model is set and Ollama offered none: tool calls must name a model until you pull one.")
    if target.client == CLAUDE_CODE and target.scope is Scope.PROJECT and not status.trusted:
        err("Claude Code connects project servers only in a folder you trusted: run `claude` there once and accept.")
    _say_when_it_applies(target.client)
    return EXIT_OK


def _in_client(target: Target) -> str:
    return "" if target.client == CLAUDE_CODE else f" in {client_named(target.client).display}"


def _say_when_it_applies(client: str) -> None:
    from .clients.base import Applies

    spec = client_named(client)
    if spec.applies is Applies.RESTART:
        out(f"Restart {spec.display} to apply the change (it reads its MCP servers when it starts).")
    elif spec.applies is Applies.REFRESH:
        out(f"Press refresh in {spec.display}'s MCP panel (or restart {spec.display}) to apply the change.")


def _configure_disable(parser: argparse.ArgumentParser) -> None:
    _target_args(parser)
    parser.add_argument(
        "--all",
        action="store_true",
        help="remove every registration of ours, in every client and scope (before uninstalling); "
        "with --client, in that client's scopes",
    )


@command("disable", "remove the server from an MCP client (default: Claude Code; idempotent)", _configure_disable)
def cmd_disable(args: argparse.Namespace, ctx: AppContext) -> int:
    if not args.all:
        target = _target(args, ctx)
        status = ctx.registrar_for(target.client).disable(target, force=args.force)
        out(f"Disabled{_in_client(target)}: {_describe(status)}")
        _say_when_it_applies(target.client)
        return EXIT_OK
    if args.project is not None or args.scope != "user":
        raise UsageError("--all covers every scope and project; leave out --scope and --project.")
    name = args.name or ctx.settings.server_name
    clients = [client_named(_client(args))] if args.client else ordered(CLIENTS)
    found: list[RegistrationStatus] = []
    left = 0
    for client in clients:
        registrar = ctx.registrar_for(client.name)
        try:
            nothing = client.user_file(ctx.machine) is None and not registrar.records()
            statuses = [] if nothing else registrar.status_all(name)
        except ConfigError as exc:
            if client.name == CLAUDE_CODE or args.client:
                raise
            err(f"Skipped {client.display}: {exc}")
            left += 1
            continue
        for status in (s for s in statuses if s.state is not State.ABSENT):
            found.append(status)
            label = _in_client(status.target)
            if status.state is State.FOREIGN and not args.force:
                out(f"Left alone{label} (not ours): {_describe(status)}")
                left += 1
                continue
            out(f"Disabled{label}: {_describe(registrar.disable(status.target, force=args.force))}")
    if not found:
        out("No registrations found.")
    return EXIT_PROBLEM if left else EXIT_OK


@command("install-desktop", "add the app to the desktop's menu (Linux: .desktop entry and icons)")
def cmd_install_desktop(args: argparse.Namespace, ctx: AppContext) -> int:
    from .desktop.menu_entry import install_desktop

    result = install_desktop()
    for path in result.changed:
        out(f"wrote {path}")
    for note in result.cache_notes:
        err(note)
    out("The menu entry is up to date." if not result.changed else "Ollama MCP Tray is in the desktop's menu.")
    return EXIT_OK


@command("uninstall-desktop", "remove the app's menu entry, icons and login item")
def cmd_uninstall_desktop(args: argparse.Namespace, ctx: AppContext) -> int:
    from .desktop.autostart import Autostart
    from .desktop.menu_entry import uninstall_desktop

    result = uninstall_desktop()
    for path in result.changed:
        out(f"removed {path}")
    login_item = Autostart()
    if login_item.is_enabled():
        login_item.disable()
        out("removed the login item")
    return EXIT_OK


def _where(status: RegistrationStatus) -> str:
    target = status.target
    if target.scope is Scope.USER:
        return "user scope"
    return f"{target.scope.value} scope, {target.project}"


_NOT_ON_PATH = (
    "`ollama-mcp-server` is not on PATH. Install Ollama MCP Tray (packaging/install.py, pipx or uv tool), "
    "or set OLLAMA_MCP_SERVER to the server's path."
)


def _render_outcome(outcome: RepairOutcome) -> str:
    """One repair, said as what changed (or why nothing did)."""
    kind, status = outcome.kind, outcome.after
    where = _where(status)
    client = client_named(status.target.client).display
    if kind is RepairKind.UNCHANGED:
        return f"Up to date ({where}){_in_client(status.target)}: {_describe(status)}"
    if kind is RepairKind.RESTORED:
        return f"Restored the {client} registration ({where}): it had vanished. {_describe(status)}"
    if kind is RepairKind.REPOINTED:
        gone = outcome.before.entry.get("command") if isinstance(outcome.before.entry, dict) else None
        return f"Pointed the {client} registration ({where}) at this installation ({gone} no longer exists)."
    if kind is RepairKind.UPDATED:
        said = []
        if Change.OLLAMA_URL in outcome.changes:
            said.append(f"to use {outcome.ollama_url}")
        if Change.LAUNCH in outcome.changes and status.target.scope is Scope.PROJECT:
            said.append("to start `ollama-mcp-server` from each teammate's PATH (no path of yours in the file)")
        elif Change.LAUNCH in outcome.changes:
            said.append("to start the server isolated from the project folder")
        line = f"Updated the {client} registration ({where}) {' and '.join(said) or 'to the current settings'}."
        return f"{line} {_NOT_ON_PATH}" if status.state is State.STALE else line
    if kind is RepairKind.UNRESOLVED:
        return f"Cannot start here ({where}): {_NOT_ON_PATH}"
    return f"Left alone ({where}){_in_client(status.target)}: another MCP server uses the name {status.target.name!r}."


def _configure_repair(parser: argparse.ArgumentParser) -> None:
    _client_arg(parser, None, "repair only this client's registrations (default: every client's)")


def repair_all(ctx: AppContext, client: str | None = None) -> list[RepairOutcome]:
    """Repair what the user enabled in `client`, or in every client that has a record."""
    names = [client] if client else [c.name for c in ordered(CLIENTS)]
    results: list[RepairOutcome] = []
    for name in names:
        registrar = ctx.registrar_for(name)
        if name == CLAUDE_CODE or registrar.records():
            results += registrar.repair()
    return results


@command("repair", "restore registrations that vanished, went stale or no longer match the settings", _configure_repair)
def cmd_repair(args: argparse.Namespace, ctx: AppContext) -> int:
    results = repair_all(ctx, _client(args) if args.client else None)
    if not results:
        out("Nothing to repair: no registrations were enabled through ollama-mcp-tray.")
    for outcome in results:
        out(_render_outcome(outcome))
    problems = (RepairKind.LEFT_ALONE, RepairKind.UNRESOLVED)
    return EXIT_PROBLEM if any(outcome.kind in problems for outcome in results) else EXIT_OK


def _configure_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--name", help="the server's name in Claude Code (default: settings' server_name)")


@command(
    "status", "Ollama, models, registrations and today's usage (exit 5: Ollama down or key refused)", _configure_json
)
def cmd_status(args: argparse.Namespace, ctx: AppContext) -> int:
    from .doctor import DOWN_FIX, KEY_FIX, status_report

    report = status_report(ctx, args.name or ctx.settings.server_name)
    ollama = report["ollama"]
    state = ollama.get("state")
    code = EXIT_CONFIG_REFUSED if state is None else EXIT_OK if state == "up" and not ollama["error"] else EXIT_OLLAMA
    if args.json:
        out(json.dumps(report, indent=2))
        return code
    if state is None:
        out(f"Ollama: settings problem: {ollama['error']}")
    elif state == "key-refused":
        out(f"Ollama: KEY REFUSED at {ollama['url']}: {ollama['error']}")
        out(f"  fix: {KEY_FIX}")
    elif ollama["up"]:
        out(f"Ollama: up at {ollama['url']} (version {ollama['version']})")
        if ollama["error"]:
            out(f"  but: {ollama['error']}")
    else:
        out(f"Ollama: DOWN at {ollama['url']}: {ollama['error']}")
        out(f"  fix: {DOWN_FIX}")
    if "models" in ollama:
        out(f"  key: {'set' if ollama['key_set'] else 'none'}; default model: {ollama['default_model'] or '(none)'}")
        out("  installed: " + (", ".join(m["name"] for m in ollama["models"]) or "(none)"))
        out("  loaded: " + (", ".join(m["name"] for m in ollama["loaded"]) or "(none)"))
    out(f"Local server: {report['resident']['summary']}")
    kit = ", ".join(f"{p['piece']} {'on' if p['installed'] else 'off'}" for p in report["adoption_kit"])
    out(f"Adoption kit: {kit}")
    out("Registrations:")
    for item in report["registrations"]:
        line = f"  {item['scope']:<8} {item['state']:<13} {item['file']}"
        if item["project"] and item["scope"] == "local":
            line += f" [{item['project']}]"
        if item["scope"] == "project":
            line += ", approved" if item["approved"] else ", not approved"
        out(line)
    out("Clients:")
    for item in report["clients"]:
        out(f"  {_client_line(item)}")
    usage = report["usage_today"]
    speed = usage["median_tokens_per_second"]
    out(
        f"Today: {usage['calls']} calls, {usage['errors']} errors, {usage['prompt_tokens']} prompt + "
        f"{usage['output_tokens']} output tokens"
        + (f", median {speed:.1f} tokens/s" if speed else "")
        + f"; context kept out of Claude: {usage['kept_out_tokens']} tokens"
    )
    return code


def _client_line(item: dict[str, Any]) -> str:
    """One client in `status`: its state, where it is on (and whether the user's gates let it run there), and
    when a change applies."""
    line = f"{item['display']:<15} {item['state']:<13}"
    where = [
        _registration_words(item, r)
        for r in item["registrations"]
        if r["state"] in (State.CURRENT.value, State.STALE.value)
    ]
    if where:
        line += " " + ", ".join(where)
    if item["problem"]:
        line += f" ({item['problem']})"
    if item["restart_needed"] and item["state"] in ("on", "stale"):
        line += f" (restart {item['display']} after a change)"
    return line


def _registration_words(client: dict[str, Any], registration: dict[str, Any]) -> str:
    """Where one registration is, with what still keeps a project's entry from running (Claude Code's gates
    have lines of their own under Registrations)."""
    if registration["scope"] == "user":
        return "user"
    words = f"{registration['scope']} {registration['project']}"
    if client["client"] == CLAUDE_CODE:
        return words
    spec = client_named(client["client"])
    if registration["trusted"] is False:
        words += f" (project not trusted: {spec.display} ignores it until you {spec.trust_fix})"
    if registration["approved"] is False:
        words += f" (pending approval: {spec.approve_fix.format(name=registration['name'])})"
    return words


def _print_check(check: Check) -> None:
    out(f"{'ok ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if not check.ok and check.fix:
        out(f"     fix: {check.fix}")


@command("doctor", "check everything, each failure with its fix", _configure_json)
def cmd_doctor(args: argparse.Namespace, ctx: AppContext) -> int:
    from .doctor import run_checks

    checks = run_checks(ctx, args.name or ctx.settings.server_name)
    if args.json:
        out(json.dumps({"ok": all(c.ok for c in checks), "checks": [c.to_json() for c in checks]}, indent=2))
    else:
        for check in checks:
            _print_check(check)
    return EXIT_OK if all(c.ok for c in checks) else EXIT_PROBLEM


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    # Hidden: how the frozen app starts its own resident (`serve --resident`) and the relay's fallback child
    # (`serve --direct`); see server/resident/spawn.py.
    role = parser.add_mutually_exclusive_group()
    role.add_argument("--direct", action="store_true", help=argparse.SUPPRESS)
    role.add_argument("--resident", action="store_true", help=argparse.SUPPRESS)


@command("serve", "run the stdio MCP server (what Claude Code starts)", _configure_serve)
def cmd_serve(args: argparse.Namespace, ctx: AppContext) -> int:
    from ollama_mcp_tray.server.__main__ import main as server_main

    return server_main(["--direct"] if args.direct else ["--resident"] if args.resident else [])


def _configure_set_key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delete", action="store_true", help="remove the stored key")
    parser.add_argument(
        "--no-check", action="store_true", help="store the key without asking Ollama (or its proxy) whether it works"
    )


_NO_KEY = (
    "No key was given: the input was empty or closed (Ctrl-D). Type the key at the prompt, or pipe it in: "
    "`printf '%s' \"$KEY\" | ollama-mcp-tray set-key`. To remove the stored key: `ollama-mcp-tray set-key --delete`."
)


@command(
    "set-key",
    "store the Ollama key (read from stdin or a prompt; kept 0600), checked against Ollama",
    _configure_set_key,
)
def cmd_set_key(args: argparse.Namespace, ctx: AppContext) -> int:
    if args.delete:
        removed = delete_key(ctx.paths.key_file)
        out("Key removed." if removed else "No key was stored.")
        return EXIT_OK
    try:
        raw = getpass.getpass("Ollama key: ") if sys.stdin.isatty() else sys.stdin.readline()
    except EOFError:
        raw = ""
    if not raw.strip():
        raise UsageError(_NO_KEY)
    key = clean_key(raw)
    verdict = None if args.no_check else _check_key(ctx, key)
    if verdict is not None and not verdict:
        return EXIT_OLLAMA
    store_key(ctx.paths.key_file, key)
    out(f"Key stored in {ctx.paths.key_file} (readable by you alone).")
    if ctx.env.get("OLLAMA_KEY", "").strip():
        err("Note: OLLAMA_KEY is set in this environment; where it is set, it wins over the stored key.")
    return EXIT_OK


def _check_key(ctx: AppContext, key: str) -> bool | None:
    """Ask Ollama with the new key: True accepted, False refused (message printed), None not checked."""
    from .doctor import OllamaState, ollama_state, probe

    env = {name: value for name, value in ctx.env.items() if name != "OLLAMA_KEY"}
    try:
        config = dataclasses.replace(resolve_config(env, None, ctx.settings), key=key)
    except ConfigError as exc:
        err(f"Warning: the key was not checked: {exc}")
        return None
    snap = probe(config)
    state = ollama_state(snap)
    if state is OllamaState.KEY_REFUSED:
        err(f"Ollama at {config.base_url} refused this key: {snap.error}")
        err(
            "The key was not stored (a key stored before stays). If it is right, check how it is sent: "
            f"`ollama-mcp-tray config set key_header NAME` (now {config.key_header}) or "
            f"`ollama-mcp-tray config set auth_scheme bearer` (now {config.auth_scheme}); "
            "`ollama-mcp-tray set-key --no-check` stores it anyway."
        )
        return False
    if state is OllamaState.DOWN:
        err(f"Warning: Ollama does not answer at {config.base_url} ({snap.error}): the key is stored unchecked.")
        return None
    out(f"Ollama {snap.version} at {config.base_url} accepted the key.")
    return True


def _configure_config(parser: argparse.ArgumentParser) -> None:
    help_text = settings_help()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = help_text
    actions = parser.add_subparsers(dest="action", required=True, metavar="{get,set}")
    get = actions.add_parser(
        "get", help="show one setting, or all", epilog=help_text, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    get.add_argument("setting", nargs="?", choices=setting_names(), metavar="SETTING", help="one of the settings below")
    put = actions.add_parser(
        "set",
        help="change a setting (checked against Ollama when it answers)",
        epilog=help_text,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    put.add_argument("setting", choices=setting_names(), metavar="SETTING", help="one of the settings below")
    put.add_argument("value", help="the new value (see 'allowed' below)")
    put.add_argument(
        "--no-check", action="store_true", help="save a default_model without asking Ollama whether it is installed"
    )


@command("config", "show or change settings", _configure_config)
def cmd_config(args: argparse.Namespace, ctx: AppContext) -> int:
    if args.action == "get":
        values = ctx.settings.to_dict()
        if args.setting:
            out(_show(values[args.setting]))
        else:
            for name, value in values.items():
                out(f"{name} = {_show(value)}")
        return EXIT_OK
    value = parse_setting(args.setting, args.value)
    if args.setting == "default_model" and value and not args.no_check and not _model_installed(ctx, value):
        return EXIT_PROBLEM
    save_settings(ctx.paths.settings_file, {args.setting: value})
    ctx.reload_settings()
    out(f"{args.setting} = {_show(getattr(ctx.settings, args.setting))}")
    if args.setting == "ollama_url":
        _check_url(ctx, value)
        # Registrations carry a non-default URL in their env; refresh the ones the user enabled.
        for outcome in repair_all(ctx):
            if outcome.kind is not RepairKind.UNCHANGED:
                out(_render_outcome(outcome))
    return EXIT_OK


def _model_installed(ctx: AppContext, model: str) -> bool:
    """False (and why, printed) only when Ollama answers without the model: offline, the model is saved with a
    warning, since the setting is a preference the server checks again at every call."""
    from ollama_mcp_tray.server.ollama_client import same_model

    from .doctor import KEY_FIX, OllamaState, ollama_state, probe

    try:
        config = ctx.server_config()
    except ConfigError as exc:
        err(f"Warning: {model!r} was not checked against Ollama: {exc}")
        return True
    snap = probe(config)
    state = ollama_state(snap)
    if state is OllamaState.UP and snap.error is None:
        if any(same_model(m.name, model) for m in snap.models):
            return True
        err(f"The model {model!r} is not installed in Ollama at {config.base_url}; nothing was saved.")
        names = ", ".join(m.name for m in snap.models) or "(none)"
        err(f"Install it with `ollama pull {model}`, or pick one of: {names}")
        err("(`--no-check` saves it anyway.)")
        return False
    err(f"Warning: Ollama at {config.base_url} could not tell whether {model!r} is installed: {snap.error}")
    err(KEY_FIX if state is OllamaState.KEY_REFUSED else "Saved unchecked; `ollama-mcp-tray doctor` checks again.")
    return True


def _check_url(ctx: AppContext, url: str) -> None:
    """Say whether Ollama answers at the address just saved (saved either way: Ollama may start later)."""
    from .doctor import KEY_FIX, OllamaState, ollama_state, probe

    overridden = [name for name in ("OLLAMA_URL", "OLLAMA_HOST") if ctx.env.get(name, "").strip()]
    if overridden:
        err(f"Note: {overridden[0]} is set in this environment; where it is set, it wins over this setting.")
    try:
        config = dataclasses.replace(ctx.server_config(), base_url=url)
    except ConfigError as exc:
        err(f"Warning: {url} was not checked: {exc}")
        return
    snap = probe(config)
    state = ollama_state(snap)
    if state is OllamaState.UP:
        out(f"Ollama {snap.version} answers at {url}.")
    elif state is OllamaState.KEY_REFUSED:
        err(f"Warning: something answers at {url} but refused the key: {snap.error}")
        err(KEY_FIX)
    else:
        err(
            f"Warning: Ollama does not answer at {url} yet ({snap.error}). Saved anyway: start Ollama there, "
            "or correct the address with `ollama-mcp-tray config set ollama_url URL`."
        )


def _show(value: Any) -> str:
    return (
        json.dumps(list(value) if isinstance(value, tuple) else value)
        if isinstance(value, bool | tuple)
        else str(value)
    )


def _configure_claude_md(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--remove", action="store_true", help="remove the section")


@command("claude-md", "add (or --remove) the 'local model usage' section in your CLAUDE.md", _configure_claude_md)
def cmd_claude_md(args: argparse.Namespace, ctx: AppContext) -> int:
    path = ctx.claude.claude_md
    if args.remove:
        changed = claude_md.uninstall(ctx.editor, path)
        out(f"Section {'removed from' if changed else 'was not in'} {path}.")
    else:
        changed = claude_md.install(ctx.editor, path, ctx.settings.server_name, ctx.settings.default_model or None)
        out(f"Section {'added to' if changed else 'already up to date in'} {path}.")
    return EXIT_OK


# ---- windows ---------------------------------------------------------------------------------------------
EXIT_NO_WINDOW = 7
_WINDOW_HELP = {
    "welcome": "open the welcome window: find Ollama, get a model, enable Claude Code",
    "settings": "open the settings window (every setting, checked as you type)",
    "models": "open the models window: installed and loaded models; pull, delete, unload",
    "usage": "open the usage window: local calls and tokens over the last 7 and 30 days",
    "servers": "open the servers window: saved Ollama servers (this machine, a remote one); add, test, switch",
}


def _window_command(name: str) -> Callable[[argparse.Namespace, AppContext], int]:
    def run(args: argparse.Namespace, ctx: AppContext) -> int:
        from .gui.windows.run import run_window
        from .gui.windows.toolkit import ToolkitMissing

        try:
            return run_window(name, ctx)
        except ToolkitMissing as exc:
            err(str(exc))
            return EXIT_NO_WINDOW

    return run


for _name, _help in _WINDOW_HELP.items():
    command(_name, _help)(_window_command(_name))


def _install_pieces(ctx: AppContext, pieces: Sequence[Piece]) -> None:
    for piece in pieces:
        _report_change(apply_piece(ctx, piece, True), "installed", "already up to date")


def _report_change(change: KitChange, done: str, nothing: str) -> None:
    out(f"{change.piece.value} {done if change.changed else nothing}: {change.where}")
    if change.warning:
        err(f"warning: {change.warning}")


def _configure_kit(parser: argparse.ArgumentParser) -> None:
    for piece in Piece:
        parser.add_argument(f"--{piece.value}", dest="pieces", action="append_const", const=piece)
    parser.add_argument("--hooks", dest="hooks_flag", action="store_true", help="both hooks")
    parser.add_argument("--all", action="store_true", help="every piece")
    parser.add_argument("--remove", action="store_true", help="remove the pieces named (default: every piece)")
    parser.epilog = (
        "pieces: skill (~/.claude/skills/ollama-local/SKILL.md), agent (~/.claude/agents/ollama-local.md), "
        "prompt-hook and bash-hook (opt-in hooks in ~/.claude/settings.json; bash-hook needs Claude Code 2.1.121 or "
        "newer). Without pieces: skill and agent."
    )


@command("kit", "install (or --remove) the Claude Code skill, subagent and opt-in hooks", _configure_kit)
def cmd_kit(args: argparse.Namespace, ctx: AppContext) -> int:
    pieces: list[Piece] = list(dict.fromkeys(args.pieces or []))
    if args.hooks_flag:
        pieces += [p for p in (Piece.PROMPT_HOOK, Piece.BASH_HOOK) if p not in pieces]
    if args.all or (args.remove and not pieces):
        pieces = list(Piece)
    if not args.remove:
        _install_pieces(ctx, pieces or list(DEFAULT_PIECES))
        return EXIT_OK
    for piece in pieces:
        _report_change(apply_piece(ctx, piece, False), "removed", "was not installed")
    return EXIT_OK


# ---- entry -------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered command."""
    parser = argparse.ArgumentParser(
        prog="ollama-mcp-tray",
        description="Use your local Ollama models from Claude Code. Without a command, starts the tray app.",
        epilog="Exit codes: 0 ok, 1 a check failed, 2 usage error, 3 config file refused, 4 name taken by "
        "another server, 5 Ollama unreachable or key refused, 6 file busy, 7 no window toolkit (Tk) or display, "
        "130 interrupted.",
    )
    from ollama_mcp_tray.server import __version__

    parser.add_argument("--version", action="version", version=f"ollama-mcp-tray {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for name, spec in COMMANDS.items():
        spec.configure(commands.add_parser(name, help=spec.help, description=spec.help))
    return parser


def exit_code_for(error: OllamaMcpError) -> int:
    """The documented exit code of an error from our tree."""
    if isinstance(error, UsageError | InvalidValue):
        return EXIT_USAGE
    if isinstance(error, ForeignEntryError):
        return EXIT_NAME_TAKEN
    if isinstance(error, ClientUnavailable):
        return EXIT_PROBLEM
    if isinstance(error, ConcurrentEditError):
        return EXIT_BUSY
    if isinstance(error, ConfigError):
        return EXIT_CONFIG_REFUSED
    if isinstance(error, OllamaError):
        return EXIT_OLLAMA
    return EXIT_PROBLEM


def main(argv: Sequence[str] | None = None, ctx: AppContext | None = None) -> int:
    """Run one command; returns its exit code."""
    args = build_parser().parse_args(argv)
    try:
        ctx = ctx or AppContext.default()
        return COMMANDS[args.command].run(args, ctx)
    except OllamaMcpError as exc:
        err(f"ollama-mcp-tray {args.command}: {exc}")
        return exit_code_for(exc)
    except KeyboardInterrupt:
        err("Interrupted.")
        return EXIT_INTERRUPTED
