"""The tray's controller: owns the one `TrayState`, applies events to it, and redraws the icon.

Threads: the monitor and the guard run their own loops and hand results over with `post()`; menu clicks
arrive on pystray's thread and are posted too; long actions (registering, the connection test, dialogs) run
on short-lived worker threads that post their outcome, and an `ollama serve` we started is waited on by a
thread of its own. Everything that reads or replaces the state, and every call into the icon, happens on the
controller's own thread, one event at a time.

Dialogs are parameters (`choose_folder`, `ask_secret`), defaulting to the desktop's real ones, so a test can
answer them without a display.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ollama_mcp_tray.server.config import ServerConfig, parse_host
from ollama_mcp_tray.server.descriptions import write_model_cache
from ollama_mcp_tray.server.errors import ConfigError, OllamaMcpError
from ollama_mcp_tray.server.ollama_client import OllamaClient, OllamaSnapshot
from ollama_mcp_tray.server.paths import make_private_dir, open_private
from ollama_mcp_tray.server.resident.places import Places
from ollama_mcp_tray.server.resident.spawn import start_resident
from ollama_mcp_tray.server.resident.status import SWITCH_VARIABLE, status_for
from ollama_mcp_tray.server.settings import Settings, load_settings
from ollama_mcp_tray.server.usage import read_usage, summarize

from .. import app_settings, servers
from ..app_context import AppContext
from ..clients import claude_md
from ..clients.adoption_kit import Piece
from ..clients.base import Applies
from ..clients.catalog import CLIENTS, ClientStatus, client_named, ordered
from ..clients.records import CLAUDE_CODE
from ..clients.registrar import Registrar, RegistrationStatus, Scope, State, Target, expand_variables
from ..default_model import fill_default_model
from ..desktop import dialogs
from ..desktop.autostart import Autostart
from ..desktop.ollama_process import find_ollama, start_ollama
from ..kit_actions import apply_piece
from ..launch import window_command
from . import menu_model as mm
from .connection_test import run_connection_test
from .guard import Guard, OtherClients, Repair
from .icon import View
from .monitor import Monitor, OllamaPoller, PollPolicy, is_down
from .resident_watch import ResidentWatch, WatchPolicy
from .state import ClaudeState, ClientEntry, ProjectRegistration, ServerChoice, TrayState

log = logging.getLogger(__name__)

TICK = 5.0  # seconds between housekeeping rounds (settings and usage files, "unloads in" texts)
APP_TITLE = "Ollama MCP Tray"


class IconPort(Protocol):
    def show(self, view: View) -> None: ...
    def notify(self, title: str, message: str) -> None: ...
    def stop(self) -> None: ...


def claude_state(statuses: list[RegistrationStatus], rule: bool, kit: frozenset[str] = frozenset()) -> ClaudeState:
    """What the menu shows about Claude Code, from the registrar's statuses of our name."""
    user = next((s for s in statuses if s.target.scope is Scope.USER), None)
    problem = None
    if user is not None and user.state is State.FOREIGN:
        problem = f'Another server named "{user.target.name}" is registered in {user.file}'
    projects = tuple(
        ProjectRegistration(str(s.target.project), s.target.scope.value, s.state is State.CURRENT and s.up_to_date)
        for s in statuses
        if s.target.scope is not Scope.USER and s.target.project is not None and s.state in (State.CURRENT, State.STALE)
    )
    return ClaudeState(
        user_enabled=user is not None and user.state in (State.CURRENT, State.STALE),
        user_healthy=user is None or (user.state is State.CURRENT and user.up_to_date),
        projects=projects,
        claude_md_rule=rule,
        kit=kit,
        problem=problem,
    )


def client_entry(status: ClientStatus) -> ClientEntry:
    """What the "Connect to" submenu shows about one client."""
    return ClientEntry(
        status.client.name, status.client.display, status.state.value, status.restart_needed, status.problem
    )


def _midnight(now: dt.datetime) -> float:
    return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _normal_url(url: str) -> str:
    """An address as the server resolves it, so a hand-written one ('localhost') matches the one in effect."""
    try:
        return parse_host(url)
    except ConfigError:
        return url


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class Controller:
    """The tray's logic, without pystray: tests drive it with any `IconPort`.

    Args:
        ctx: the user's paths, settings and environment.
        autostart: the login item to toggle.
        policy: how often the monitor polls Ollama.
        guard_interval: seconds between the registration guard's checks.
        now: the wall clock (dates the usage day and the "unloads in" hints).
        tick: seconds between housekeeping rounds.
        choose_folder: asks the user for a project folder (None: cancelled); runs on a worker thread.
        ask_secret: asks the user for the Ollama key (None: cancelled); runs on a worker thread.
        resident_policy: how often the resident watch asks (default: every poll interval).
    """

    def __init__(
        self,
        ctx: AppContext,
        autostart: Autostart,
        *,
        policy: PollPolicy | None = None,
        guard_interval: float = 1.0,
        now: Callable[[], dt.datetime] = dt.datetime.now,
        tick: float = TICK,
        choose_folder: Callable[[], Path | None] = dialogs.choose_folder,
        ask_secret: Callable[[], str | None] = dialogs.ask_secret,
        resident_policy: WatchPolicy | None = None,
    ) -> None:
        self.ctx = ctx
        self.autostart = autostart
        self.now = now
        self.tick = tick
        self.choose_folder = choose_folder
        self.ask_secret = ask_secret
        self.icon: IconPort | None = None
        self.events: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._policy = policy
        self._thread = threading.Thread(target=self._loop, name="tray-controller", daemon=True)
        self._stopped = threading.Event()
        self._file_keys: dict[str, object] = {}
        settings = self._load_settings()
        config = self._config()
        self.state = TrayState(
            ollama_url=config.base_url,
            ollama_executable=find_ollama(ctx.env),
            default_model=settings.default_model,
            autostart=autostart.is_enabled(),
            guard=settings.guard,
            servers=self._server_choices(),
        )
        self.monitor = self._new_monitor()
        self.resident = ResidentWatch(
            lambda: status_for(ctx.env, keep=True),
            self._start_resident,
            lambda status, starting: self.post(lambda: self._set(resident=status, starting_resident=starting)),
            resident_policy or WatchPolicy(interval=max(1.0, settings.poll_interval)),
        )
        self.guard = Guard(
            ctx.registrar(settings),
            settings.server_name,
            on_status=lambda statuses: self.post(lambda: self._on_statuses(statuses)),
            on_repair=lambda repairs: self.post(lambda: self._on_repairs(repairs)),
            on_problem=lambda message: self.post(lambda: self._on_config_problem(message)),
            enabled=settings.guard,
            interval=guard_interval,
            others=self._other_clients(settings),
            on_clients=lambda clients: self.post(lambda: self._on_clients(clients)),
            reload=self._fresh_registrars,
            settings_file=ctx.paths.settings_file,
        )

    # ---- lifecycle ------------------------------------------------------------------------------------

    def start(self, icon: IconPort) -> None:
        """Start the controller, monitor and guard threads; returns at once."""
        self.icon = icon
        self._refresh_files()
        self._render()
        self._thread.start()
        self.monitor.start()
        self.guard.start()
        self.resident.start()

    def post(self, event: Callable[[], None]) -> None:
        """Run `event` on the controller thread (safe from any thread)."""
        self.events.put(event)

    def on_action(self, action: mm.Action) -> None:
        """A menu click (pystray's thread): only queued here."""
        self.post(lambda: self._act(action))

    def shutdown(self) -> None:
        """Stop every thread of ours and the icon's loop."""
        self.events.put(None)
        self.monitor.stop()
        self.guard.stop()
        self.resident.stop()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5)

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def _loop(self) -> None:
        # The tick keeps its own deadline: a steady stream of events must not postpone it forever.
        next_tick = time.monotonic() + self.tick
        try:
            while True:
                event: Callable[[], None] | None
                left = next_tick - time.monotonic()
                if left <= 0:
                    event = self._tick
                    next_tick = time.monotonic() + self.tick
                else:
                    try:
                        event = self.events.get(timeout=left)
                    except queue.Empty:
                        continue
                if event is None:
                    break
                before = self.state
                try:
                    event()
                except Exception:  # one bad event must not take the tray down; the log keeps it
                    log.exception("A tray event failed")
                if self.state is not before or event == self._tick:
                    self._render()
        finally:
            self._stopped.set()

    # ---- drawing --------------------------------------------------------------------------------------

    def view(self) -> View:
        state = self.state
        menu = mm.build_menu(state, self._utc_now(), str(self.ctx.home))
        return View(mm.icon_state(state), mm.tooltip(state), menu, remote=mm.remote_active(state))

    def _utc_now(self) -> dt.datetime:
        now = self.now()
        return now if now.tzinfo else now.astimezone()

    def _render(self) -> None:
        if self.icon is not None:
            self.icon.show(self.view())

    def notify(self, message: str, title: str = APP_TITLE) -> None:
        if self.icon is not None:
            self.icon.notify(title, message)

    def _set(self, **changes: object) -> None:
        self.state = dataclasses.replace(self.state, **changes)  # type: ignore[arg-type]

    # ---- settings and files ---------------------------------------------------------------------------

    def _load_settings(self) -> Settings:
        try:
            return self.ctx.reload_settings()
        except ConfigError as exc:
            log.warning("%s", exc)
            self.notify(str(exc))
            return self.ctx.use_settings(Settings())

    def _config(self) -> ServerConfig:
        try:
            return self.ctx.server_config()
        except ConfigError as exc:
            self.notify(str(exc))
            return ServerConfig()

    def _new_monitor(self) -> Monitor:
        settings = self.ctx.settings
        policy = self._policy or PollPolicy(interval=max(1.0, settings.poll_interval))
        poller = OllamaPoller(self._config())
        return Monitor(poller, lambda snap: self.post(lambda: self._on_snapshot(snap)), policy)

    def _changed(self, name: str, path: Path) -> bool:
        key = _stat(path)
        if self._file_keys.get(name, ()) == key:
            return False
        self._file_keys[name] = key
        return True

    def _refresh_files(self) -> None:
        paths = self.ctx.paths
        now = self.now()
        usage_changed = self._changed("usage", paths.usage_file)
        new_day = self._file_keys.get("day") != now.date()
        if usage_changed or new_day:
            self._file_keys["day"] = now.date()
            self._set(usage_today=summarize(read_usage(paths.usage_file), _midnight(now)))
        settings_changed = self._changed("settings", paths.settings_file)
        key_changed = self._changed("key", paths.key_file)
        if (settings_changed or key_changed) and self.icon is not None:
            self._apply_settings()

    def _apply_settings(self) -> None:
        old_config = self.monitor.poller.config
        settings = self._load_settings()
        self.guard.enabled = settings.guard
        self.guard.name = settings.server_name
        self._set(default_model=settings.default_model, guard=settings.guard, servers=self._server_choices())
        config = self._config()
        if config != old_config or self.monitor.schedule.policy.interval != max(1.0, settings.poll_interval):
            log.info("Settings changed: watching Ollama at %s", config.base_url)
            self.monitor.stop()
            self.monitor = self._new_monitor()
            self._set(ollama_url=config.base_url, ollama=None)
            self.monitor.start()
        self.guard.refresh()

    def _tick(self) -> None:
        self._refresh_files()

    @property
    def _ollama_log(self) -> Path:
        return self.ctx.paths.log_dir / "ollama-serve.log"

    # ---- events from the monitor and the guard --------------------------------------------------------

    def _on_snapshot(self, snap: OllamaSnapshot) -> None:
        previous = self.state.ollama
        we_started_it = self.state.starting_ollama
        changes: dict[str, object] = {"ollama": snap}
        if snap.up:
            changes["starting_ollama"] = False
            names = [m.name for m in snap.models]
            if previous is None or names != [m.name for m in previous.models]:
                # The server reads these at start, so its tool descriptions name the models at once.
                write_model_cache(self.ctx.paths.model_cache, names)
        self._set(**changes)
        if previous is None:
            return
        if previous.up and is_down(snap):
            self.notify(f"Ollama stopped answering at {snap.base_url}.")
        elif not previous.up and snap.up:
            verb = "started" if we_started_it else "is back"
            self.notify(f"Ollama {verb} (version {snap.version}).")

    def _on_statuses(self, statuses: list[RegistrationStatus]) -> None:
        rule = claude_md.is_installed(self.ctx.claude.claude_md)
        kit = frozenset(piece for piece, installed in self.ctx.kit().status().items() if installed)
        problem = self.state.claude.problem if self.state.claude.problem and not statuses else None
        claude = claude_state(statuses, rule, kit)
        self._set(claude=dataclasses.replace(claude, problem=claude.problem or problem))

    def _other_clients(self, settings: Settings) -> OtherClients:
        ctx = self.ctx
        clients = [c for c in ordered(CLIENTS) if c.name != CLAUDE_CODE]
        return OtherClients(ctx.machine, [(c, ctx.registrar_for(c.name, settings)) for c in clients])

    def _fresh_registrars(self) -> tuple[Registrar, OtherClients | None]:
        """The guard's registrars, from the settings file as it is now (the guard's thread calls this)."""
        settings = load_settings(self.ctx.paths.settings_file)
        return self.ctx.registrar(settings), self._other_clients(settings)

    def _on_clients(self, clients: list[ClientStatus]) -> None:
        self._set(clients=tuple(client_entry(c) for c in clients))

    def _on_repairs(self, repairs: list[Repair]) -> None:
        for repair in repairs:
            self.notify(repair.message)

    def _on_config_problem(self, message: str | None) -> None:
        self._set(claude=dataclasses.replace(self.state.claude, problem=message))
        if message:
            self.notify(message)

    # ---- menu actions ---------------------------------------------------------------------------------

    def _work(self, job: Callable[[], None], what: str) -> None:
        """Run a slow job off the controller thread; failures become notifications."""

        def run() -> None:
            try:
                job()
            except (OllamaMcpError, dialogs.DialogUnavailable, OSError) as exc:
                log.warning("%s failed: %s", what, exc)
                message = f"{what} failed: {exc}"
                self.post(lambda: self.notify(message))

        threading.Thread(target=run, name=f"tray-{what}", daemon=True).start()

    def _act(self, action: mm.Action) -> None:
        log.info("menu: %s", action)
        name = self.ctx.settings.server_name
        if isinstance(action, mm.Refresh):
            self.monitor.poke()
        elif isinstance(action, mm.StartOllama):
            self._start_ollama(action.executable)
        elif isinstance(action, mm.SetDefaultModel):
            self._set_default_model(action.model)
        elif isinstance(action, mm.UnloadModel):
            self._work(lambda: self._unload(action.model), "Unloading the model")
        elif isinstance(action, mm.SetUserScope):
            self._work(lambda: self._set_scope(Target(Scope.USER, name), action.enabled), "Changing the registration")
        elif isinstance(action, mm.SetClient):
            self._work(lambda: self._set_client(action.client, action.enabled), "Changing the registration")
        elif isinstance(action, mm.EnableProject):
            self._work(lambda: self._enable_project(name), "Enabling for a project")
        elif isinstance(action, mm.RemoveProject):
            target = Target(Scope(action.scope), name, Path(action.path))
            self._work(lambda: self._set_scope(target, False), "Removing the registration")
        elif isinstance(action, mm.CheckConnection):
            self._set(busy="Testing connection…")
            self._work(self._test_connection, "The connection test")
        elif isinstance(action, mm.SetClaudeMdRule):
            self._work(lambda: self._set_rule(action.enabled), "Changing CLAUDE.md")
        elif isinstance(action, mm.SetKitPiece):
            self._work(lambda: self._set_kit_piece(Piece(action.piece), action.enabled), "Changing Claude Code's kit")
        elif isinstance(action, mm.OpenSettings):
            self._open_settings()
        elif isinstance(action, mm.OpenWindow):
            self._open_window(action.name)
        elif isinstance(action, mm.SetKey):
            self._work(self._ask_key, "Storing the key")
        elif isinstance(action, mm.UseServer):
            self._work(lambda: self._use_server(action.server_id), "Switching the Ollama server")
        elif isinstance(action, mm.SetAutostart):
            self.autostart.set_enabled(action.enabled)
            self._set(autostart=self.autostart.is_enabled())
        elif isinstance(action, mm.SetResident):
            self._set_resident(action.enabled)
        elif isinstance(action, mm.OpenLogs):
            make_private_dir(self.ctx.paths.log_dir, narrow=True)
            dialogs.open_path(self.ctx.paths.log_dir)
        elif isinstance(action, mm.Quit):
            self.monitor.stop()
            self.guard.stop()
            self.resident.stop()
            if self.icon is not None:
                self.icon.stop()
            self.events.put(None)

    def _start_ollama(self, executable: str) -> None:
        try:
            proc = start_ollama(executable, self._ollama_log, self.state.ollama_url, self.ctx.env)
        except OSError as exc:
            self.notify(f"Could not start Ollama ({executable}): {exc}.")
            return
        self._set(starting_ollama=True)
        self.monitor.poke()
        # A thread that waits on the process reaps it (no zombie) and reports an early exit at once. The
        # tray never stops it: it keeps running after Quit, like an Ollama started from a terminal.
        threading.Thread(target=self._wait_for_ollama, args=(proc,), name="ollama-serve", daemon=True).start()

    def _wait_for_ollama(self, proc: subprocess.Popen[bytes]) -> None:
        code = proc.wait()
        self.post(lambda: self._on_ollama_exit(code))

    def _on_ollama_exit(self, code: int) -> None:
        if self.state.starting_ollama:
            self._set(starting_ollama=False)
            self.notify(f"Ollama exited at start (code {code}); see {self._ollama_log}.")
        self.monitor.poke()

    def _start_resident(self) -> bool:
        """Start a detached resident for the app folders this tray serves (the watch's thread calls this).

        Started with the server's registered command (never the tray's own), so it is the resident a session
        of Claude Code would start; it outlives the tray and exits by itself after its idle time.
        """
        places = Places.from_env(self.ctx.env)
        return start_resident(places, self.ctx.env, [self.ctx.launch.command, *self.ctx.launch.args])

    def _set_resident(self, enabled: bool) -> None:
        try:
            saved = app_settings.save_settings(self.ctx.paths.settings_file, {"resident": enabled})
        except ConfigError as exc:
            self.notify(f"The setting was not saved: {exc}")
            return
        self.ctx.use_settings(saved)
        self.resident.poke()
        forced = self.ctx.env.get(SWITCH_VARIABLE, "").strip()
        if forced.lower() in ("0", "false", "off", "no", "1", "true", "on", "yes"):
            # The tray's own environment wins over the setting for what the tray shows and keeps warm.
            self.notify(f"Saved. {SWITCH_VARIABLE}={forced} in the tray's environment decides here all the same.")
        elif enabled:
            self.notify("Claude Code sessions now share one local server that stays running: they start in a blink.")
        else:
            self.notify(
                "Each Claude Code session now starts its own server. A shared one still running exits by itself "
                "when its sessions have ended."
            )

    def _set_default_model(self, model: str) -> None:
        try:
            saved = app_settings.save_settings(self.ctx.paths.settings_file, {"default_model": model})
        except ConfigError as exc:
            self.notify(f"The default model was not saved: {exc}")
            return
        # Use it at once (a CLAUDE.md refresh or an enable right after must see it), not at the next tick.
        self.ctx.use_settings(saved)
        self._set(default_model=model)
        if self.state.claude.claude_md_rule:
            # The rule names the default model; keep it true.
            self._work(lambda: self._set_rule(True), "Updating CLAUDE.md")

    def _unload(self, model: str) -> None:
        async def unload() -> None:
            async with OllamaClient(self.monitor.poller.config) as client:
                await client.unload(model)

        try:
            asyncio.run(unload())
        finally:
            self.monitor.poke()

    def _set_scope(self, target: Target, enabled: bool) -> None:
        registrar = self.ctx.registrar()
        try:
            with self.guard.paused:
                self._change_scope(registrar, target, enabled)
        finally:
            self.guard.refresh()

    def _set_client(self, client: str, enabled: bool) -> None:
        """Connect one client (its user scope), or disconnect it; says when the client must be restarted."""
        name = self.ctx.settings.server_name
        if client == CLAUDE_CODE:
            self._set_scope(Target(Scope.USER, name), enabled)
            return
        registrar = self.ctx.registrar_for(client)
        target = Target(Scope.USER, name, None, client)
        try:
            with self.guard.paused:
                if enabled:
                    self._fill_default_model()
                    registrar.enable(target)
                else:
                    registrar.disable(target)
        finally:
            self.guard.refresh()
        spec = client_named(client)
        if spec.applies is Applies.RESTART:
            done = "connected to" if enabled else "disconnected from"
            message = f"Ollama is {done} {spec.display}: restart {spec.display} to apply it."
            self.post(lambda: self.notify(message))

    def _change_scope(self, registrar: Registrar, target: Target, enabled: bool) -> None:
        if enabled:
            chosen = self._fill_default_model()
            registrar.enable(target, approve=target.scope is Scope.PROJECT)
            if chosen:
                self.post(lambda: self.notify(f"Default model for Claude Code: {chosen} (change it in Models)."))
        else:
            registrar.disable(target)

    def _fill_default_model(self) -> str | None:
        """Enabling with no default model: choose one as `setup` does, so Claude's first call works (worker)."""
        snap = self.state.ollama
        chosen = fill_default_model(self.ctx, snap if snap is not None and snap.up else None)
        if chosen:
            self.post(lambda: self._set(default_model=chosen))
        return chosen

    def _enable_project(self, name: str) -> None:
        folder = self.choose_folder()
        if folder is not None:
            self._set_scope(Target(Scope.PROJECT, name, folder), True)
            self.post(lambda: self.notify(f"Enabled for {folder}. Claude Code asks to trust the folder once."))

    def _test_connection(self) -> None:
        try:
            registrar = self.ctx.registrar()
            statuses = registrar.status_all(self.ctx.settings.server_name)
            mine = [s for s in statuses if s.state is State.CURRENT and isinstance(s.entry, dict)]
            entry = (
                mine[0].entry if mine else registrar.desired_entry(Target(Scope.USER, self.ctx.settings.server_name))
            )
            # A project entry's command is `${OLLAMA_MCP_SERVER:-ollama-mcp-server}`: started as Claude Code would.
            result = run_connection_test(
                expand_variables(str(entry["command"]), os.environ),
                [str(a) for a in entry.get("args", [])],
                dict(entry.get("env") or {}),
            )
            prefix = "" if mine else "Not registered yet; tested the server as it would be registered. "
            self.post(lambda: self.notify(prefix + result.message))
        finally:
            self.post(lambda: self._set(busy=None))

    def _set_rule(self, enabled: bool) -> None:
        path = self.ctx.claude.claude_md
        if enabled:
            claude_md.install(self.ctx.editor, path, self.ctx.settings.server_name, self.ctx.settings.default_model)
        else:
            claude_md.uninstall(self.ctx.editor, path)
        self.guard.refresh()

    def _set_kit_piece(self, piece: Piece, enabled: bool) -> None:
        """Install or remove one piece as `ollama-mcp-tray kit` does (worker thread); the menu follows the files."""
        try:
            warning = apply_piece(self.ctx, piece, enabled).warning
        finally:
            self.guard.refresh()
        if warning:
            self.post(lambda: self.notify(warning))

    def _open_settings(self) -> None:
        path = self.ctx.paths.settings_file
        if not path.exists():
            # Write every field, so the file the user opens shows what can be set.
            app_settings.save_settings(path, self.ctx.settings.to_dict())
        dialogs.open_path(path)
        self.notify(f"Settings are in {path}; changes apply when you save it. The key is set from the menu.")

    def _open_window(self, name: str) -> None:
        """Start the window as a child process (never in the tray's own: rule 6); it talks back through files."""
        try:
            fd = open_private(self.ctx.paths.log_dir / "windows.log", os.O_WRONLY | os.O_APPEND)
            try:
                proc = subprocess.Popen(
                    window_command(name), stdin=subprocess.DEVNULL, stdout=fd, stderr=subprocess.PIPE
                )
            finally:
                os.close(fd)
        except OSError as exc:
            self.notify(f"The {name} window could not open: {exc}.")
            return
        threading.Thread(target=self._wait_for_window, args=(name, proc), name=f"window-{name}", daemon=True).start()

    def _wait_for_window(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        # Reaps the child; a window that could not open (no Tk) says why in a notification, not on a stderr
        # nobody reads.
        _out, err = proc.communicate()
        if proc.returncode:
            message = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            self.post(lambda: self.notify(f"The {name} window could not open: {message[0]}"))
            if name == "settings":
                self.post(self._open_settings)

    # ---- the Ollama servers ------------------------------------------------------------------------------

    def _server_choices(self) -> tuple[ServerChoice, ...]:
        """The saved servers for the menu; none when the list cannot be read (the log says why)."""
        try:
            book = servers.read_book(self.ctx.paths)
        except ConfigError as exc:
            log.warning("The saved servers cannot be read: %s", exc)
            return ()
        return tuple(ServerChoice(s.id, s.name, _normal_url(s.url), s.id == book.active_id) for s in book.servers)

    def _use_server(self, server_id: str) -> None:
        """Switch the active server (worker thread); the tray's own look at the files then follows it at once."""
        chosen = servers.activate(self.ctx.paths, server_id)
        self.post(self._refresh_files)
        self.post(lambda: self.notify(f"Ollama server: {chosen.name} ({chosen.url})."))

    def _ask_key(self) -> None:
        key = self.ask_secret()
        if key:
            app_settings.store_key(self.ctx.paths.key_file, key)
            self.post(lambda: self.notify("Key stored."))
