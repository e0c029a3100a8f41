"""Starting the app's own server processes: the resident, and the relay's in-process fallback (stdlib).

A child must be started the way this process was: the registered command never imports from the folder it
runs in (`python -I -m ollama_mcp_tray.server`, the console script of a `pip install --user`, or the frozen
binary's `serve`; see tray/launch.py), and the child must keep that. So the command is rebuilt from the one
that started us (`sys.orig_argv` without our own arguments), with a hidden argument that says what to be.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .places import Places

if TYPE_CHECKING:  # subprocess is imported when a child is started: the warm path never needs it
    import subprocess

SERVE_ARGUMENT = "serve"  # the frozen app's way to run the server (tray/launch.py)
RESIDENT_FLAG = "--resident"
DIRECT_FLAG = "--direct"
_started: list[subprocess.Popen[bytes]] = []  # kept so their Popen objects are not collected while we run


def self_command(
    orig_argv: Sequence[str] | None = None,
    argv: Sequence[str] | None = None,
    executable: str | None = None,
    frozen: bool | None = None,
) -> list[str]:
    """The command that started this server, without its arguments: `[python, "-I", "-m", module]`, the
    console script (`[python, script]`, its shebang's work done by hand) or `[binary, "serve"]`."""
    executable = os.path.abspath(executable or sys.executable)
    if getattr(sys, "frozen", False) if frozen is None else frozen:
        return [executable, SERVE_ARGUMENT]
    orig = list(sys.orig_argv if orig_argv is None else orig_argv)
    ours = len(sys.argv if argv is None else argv) - 1  # sys.argv[1:] are our arguments, at the end of orig_argv
    base = orig[: len(orig) - ours] if ours > 0 else orig
    if not base:
        return [executable, "-I", "-m", "ollama_mcp_tray.server"]
    return [executable, *base[1:]]


def child_command(flag: str, base: Sequence[str] | None = None) -> list[str]:
    """This server's command with `flag` (`--resident` or `--direct`)."""
    return [*(self_command() if base is None else base), flag]


def resident_starting_or_running(places: Places) -> bool:
    """Whether a resident holds the lock (it takes it before anything else, so also while it starts)."""
    try:
        fd = os.open(places.lock, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: do not start a second one
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def start_resident(places: Places, env: Mapping[str, str], base: Sequence[str] | None = None) -> bool:
    """Start a detached resident for `places` unless one is starting or running; True when one was started.

    Detached: its own session (Claude Code's signals to our group do not reach it), no standard streams (it
    logs to the server log), no inherited descriptors, the user's home as its folder (never a project), the
    relay's environment.

    Raises:
        OSError: the command cannot be started.
    """
    if resident_starting_or_running(places):
        return False
    import subprocess

    home = env.get("HOME") or os.path.expanduser("~")
    child = subprocess.Popen(
        child_command(RESIDENT_FLAG, base),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        start_new_session=True,
        cwd=home if os.path.isdir(home) else "/",
        env=dict(env),
    )
    _started.append(child)
    return True


def start_direct(env: Mapping[str, str], base: Sequence[str] | None = None) -> subprocess.Popen[bytes]:
    """Start today's server (`--direct`) on pipes, for a session whose resident went away.

    Raises:
        OSError: the command cannot be started.
    """
    import subprocess

    return subprocess.Popen(
        child_command(DIRECT_FLAG, base),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,  # ours: Claude Code's log of this server
        close_fds=True,
        env=dict(env),
        bufsize=0,
    )
