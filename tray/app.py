"""The tray process: `main()` checks the session, takes the one-per-user lock, and runs the icon.

Exit codes: 0 after Quit; 1 when another tray of this user already runs; 2 when no usable tray can be shown
here (no desktop session, or only pystray's unclickable xorg backend); the message says what to do.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from . import backend
from .app_context import AppContext
from .autostart import Autostart
from .controller import Controller
from .icon import TrayIcon, TrayUnavailable, load_pystray
from .single_instance import AlreadyRunning, InstanceLock

log = logging.getLogger("ollama_mcp_tray.tray")


def setup_logging(log_file: Path) -> None:
    """Log to a small rotating file in the user's log folder (and stderr when one is attached)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if sys.stderr is not None and sys.stderr.isatty():
        root.addHandler(logging.StreamHandler())
    root.setLevel(logging.INFO)


def _say(message: str) -> None:
    sys.stderr.write(message.rstrip() + "\n")


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
            return 2
        setup_logging(ctx.paths.tray_log)
        controller = Controller(ctx, Autostart(env=ctx.env))
        icon = TrayIcon(pystray, controller.on_action)
        log.info("Tray starting (pystray backend %s)", icon.backend)
        icon.run(setup=lambda: controller.start(icon))
        controller.shutdown()
        log.info("Tray stopped")
        return 0
    finally:
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
