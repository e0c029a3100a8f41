"""The tray process: `main()` checks the session, takes the one-per-user lock, and runs the icon.

Exit codes: 0 after Quit; 1 when another tray of this user already runs; 2 when no usable tray can be shown
here (no desktop session, or only pystray's unclickable xorg backend); the message says what to do.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from ollama_mcp_tray.server.logs import setup_logging

from ..app_context import AppContext
from ..desktop.autostart import Autostart
from ..desktop.single_instance import AlreadyRunning, InstanceLock
from ..desktop.tray_host import how_to_get_a_tray, tray_host_present
from . import backend
from .controller import Controller
from .icon import TrayIcon, TrayUnavailable, load_pystray

log = logging.getLogger("ollama_mcp_tray.tray")


def _say(message: str) -> None:
    sys.stderr.write(message.rstrip() + "\n")


def main_window(ctx: AppContext) -> str:
    """The window a user without a tray icon needs: welcome until Claude Code can use a model, then settings."""
    registered = any(s.state.value.startswith("ours") for s in ctx.registrar().status_all(ctx.settings.server_name))
    return "settings" if registered and ctx.settings.default_model else "welcome"


def open_main_window(ctx: AppContext, why: str) -> int | None:
    """Run the main window as a child process (never in this one: rule 6) and wait for it to close.

    Returns its exit code, or None when it could not start."""
    import subprocess

    from ..launch import window_command
    from .windows.toolkit import NO_TRAY_VARIABLE

    try:
        name = main_window(ctx)
    except Exception:  # noqa: BLE001 - an unreadable config must not hide the window: welcome explains
        name = "welcome"
    env = {**os.environ, NO_TRAY_VARIABLE: why}
    try:
        return subprocess.run(window_command(name), env=env, check=False, timeout=None).returncode
    except OSError as exc:
        _say(f"The {name} window could not open either: {exc}")
        return None


def main() -> int:
    """Run the tray until the user quits it."""
    problem = backend.display_problem(os.environ)
    if problem:
        _say(problem)
        return 2
    ctx = AppContext.default()
    lock = InstanceLock(ctx.paths.data_dir / "tray.lock")
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        _say(str(exc))
        return 1
    try:
        try:
            pystray = load_pystray()
        except TrayUnavailable as exc:
            _say(str(exc))
            # Started from a menu, nobody reads stderr: open the main window instead, which says the same.
            open_main_window(ctx, str(exc))
            return 2
        setup_logging(ctx.paths.tray_log, stderr=sys.stderr is not None and sys.stderr.isatty())
        controller = Controller(ctx, Autostart(env=ctx.env))
        icon = TrayIcon(pystray, controller.on_action)
        log.info("Tray starting (pystray backend %s)", icon.backend)
        if tray_host_present(icon.backend, os.environ) is False:
            why = how_to_get_a_tray(os.environ)
            log.warning("No tray host in this session: opening the main window. %s", why)
            _say(why)
            threading.Thread(target=open_main_window, args=(ctx, why), name="main-window", daemon=True).start()
        icon.run(setup=lambda: controller.start(icon))
        controller.shutdown()
        log.info("Tray stopped")
        return 0
    finally:
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
