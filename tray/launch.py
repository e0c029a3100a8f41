"""How the app starts itself: the server, the tray, the connection-test child, side by side.

Three processes are started from a command we build: Claude Code starts the server from its registered entry,
the login item and the menu entry start the tray, and the tray starts the connection test's child. Each has a
frozen form (the PyInstaller binary, which has no `-m`) and a source form (this interpreter with `-m`); keeping
them here means a change to how we start (say, an interpreter flag) is made once for all three.

This module imports nothing of ours, so every other module can import it without a cycle.
"""

from __future__ import annotations

import functools
import os
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

APP_ID = "ollama-mcp-tray"
"""The desktop's name for the app: the menu entry, the autostart file and the icons are named after it."""

SERVER_MODULE = "ollama_mcp_tray.server"
SERVER_SCRIPT = "ollama-mcp-server"  # the console script an install puts on PATH
TRAY_MODULE = "ollama_mcp_tray.tray"
CHILD_MODULE = "ollama_mcp_tray.tray.gui.connection_test"
SERVE_ARGUMENT = "serve"  # the frozen app's way to run the server
CHILD_ARGUMENT = "_connection-test"  # the frozen app's way to run the tray's connection-test child
HOOK_ARGUMENT = "_hook"  # the frozen app's way to run a Claude Code hook: `<binary> _hook prompt|bash`
HOOK_SCRIPT = "ollama-mcp-hook"  # the console script beside `ollama-mcp-server`: `ollama-mcp-hook prompt|bash`
HOOK_MODULES = {"prompt": "ollama_mcp_tray.server.hook_prompt", "bash": "ollama_mcp_tray.server.hook_bash"}


def _frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


@dataclass(frozen=True)
class ServerLaunch:
    """How Claude Code must start our server: an absolute command, since it spawns with a minimal PATH."""

    command: str
    args: tuple[str, ...]

    @classmethod
    def current(cls) -> ServerLaunch:
        """The command that starts this installation's server without importing from the working folder.

        Claude Code starts the server in whatever project folder it runs in, and a plain `python -m` puts that
        folder first on sys.path: a repository's `json.py` or `anyio.py` would run inside our server. So:
        - a frozen app runs its own binary (`serve`): the bootloader's sys.path holds only the bundle;
        - otherwise `python -I -m` (isolated mode, also on 3.10 where `-P` does not exist): no working folder,
          no PYTHONPATH, no user site-packages on sys.path. It is the strongest of the three choices, and it
          also shields the server from a PYTHONPATH a project's environment exports;
        - when isolated mode cannot import us (a `pip install --user`, whose package lives in the user
          site-packages that -I leaves out), the `ollama-mcp-server` console script of that installation: its
          sys.path[0] is the script's own folder, not the working folder.
        The interpreter is kept as a path, not resolved: a venv's python is a symlink on purpose.
        """
        if _frozen():
            return cls(sys.executable, (SERVE_ARGUMENT,))
        python = os.path.abspath(sys.executable)
        isolated = cls(python, ("-I", "-m", SERVER_MODULE))
        if _isolated_mode_imports_us(python):
            return isolated
        script = _console_script()
        return cls(script, ()) if script is not None else isolated


def _our_package_file() -> str:
    from ollama_mcp_tray import server

    return os.path.realpath(server.__file__ or "")


@functools.cache
def _isolated_mode_imports_us(python: str) -> bool:
    """Whether `python -I` imports this very installation of the server.

    A regular install sits in a site-packages folder that isolated mode keeps: no process to start. Anything
    else (an editable install's finder, the user site-packages, PYTHONPATH) is asked of `python -I` itself.
    """
    ours = _our_package_file()
    kept = [os.path.realpath(folder) for folder in site.getsitepackages()]
    if any(ours.startswith(folder + os.sep) for folder in kept):
        return True
    probe = "import sys\nfrom ollama_mcp_tray import server\nsys.stdout.write(server.__file__ or '')"
    try:
        found = subprocess.run(
            [python, "-I", "-c", probe], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found) and os.path.realpath(found) == ours


def _console_script() -> str | None:
    """This installation's `ollama-mcp-server`: beside the interpreter (a venv), in the user's scripts folder
    (`pip install --user`), or in the interpreter's scripts folder."""
    name = SERVER_SCRIPT + (".exe" if sys.platform == "win32" else "")
    folders = [os.path.dirname(os.path.abspath(sys.executable))]
    for scheme in (sysconfig.get_preferred_scheme("user"), sysconfig.get_default_scheme()):
        try:
            folders.append(sysconfig.get_path("scripts", scheme))
        except KeyError:
            continue
    return next((os.path.join(f, name) for f in folders if os.path.isfile(os.path.join(f, name))), None)


def hook_command(server: ServerLaunch, kind: str) -> list[str]:
    """The command Claude Code runs for one of our hooks (`kind`: prompt or bash), started the way `server` is,
    so that a hook runs wherever the registered server runs and, like it, imports nothing from the project
    folder Claude Code runs it in:
    - the frozen app (`[binary, "serve"]`) has no `-m`: `[binary, "_hook", kind]`, a hidden argument its entry
      script dispatches before anything of the tray is imported (a quiet hook must cost only the start);
    - `python -I -m` the hook's own module (isolated, as the server);
    - the console script `ollama-mcp-server` of an installation: the `ollama-mcp-hook` script beside it.
    """
    if server.args == (SERVE_ARGUMENT,):
        return [server.command, HOOK_ARGUMENT, kind]
    if server.args[:2] == ("-I", "-m"):
        return [server.command, "-I", "-m", HOOK_MODULES[kind]]
    folder = os.path.dirname(server.command)
    suffix = ".exe" if server.command.lower().endswith(".exe") else ""
    return [os.path.join(folder, HOOK_SCRIPT + suffix), kind]


def tray_command(executable: str = sys.executable, frozen: bool = _frozen()) -> list[str]:
    """The absolute command that starts the tray: the frozen binary, or this interpreter with `-m`."""
    if frozen:
        return [executable]
    exe = Path(executable)
    # pythonw.exe starts without a console window on Windows.
    windowless = exe.with_name("pythonw.exe")
    if exe.name.lower() == "python.exe" and windowless.exists():
        exe = windowless
    return [str(exe), "-m", TRAY_MODULE]


def child_command(python: str = sys.executable) -> list[str]:
    """How to start the connection test's child: a frozen app has no `-m`, so it takes a hidden argument."""
    if _frozen():
        return [sys.executable, CHILD_ARGUMENT]
    return [python, "-m", CHILD_MODULE]


def window_command(name: str, python: str = sys.executable) -> list[str]:
    """How the tray starts one of its windows (welcome, settings, models, usage) as a child process: the tray
    command with the window's name, which the CLI runs."""
    return [*tray_command(python), name]
