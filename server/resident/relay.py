"""The relay: Claude Code's stdio to the user's resident server, standard library only (stdlib).

`run()` connects to the resident (0.5 s), says hello (2 s for the answer) and, when the resident takes the
session, pumps bytes both ways on one thread until the client closes stdin. Bytes are forwarded as they are;
each complete line is parsed only to know which requests are in flight, so that a resident that goes away
(its socket closes, or it stops answering: no byte for 15 s with requests in flight, then no answer to a ping
for 10 s) fails just those requests, each with a message that says to retry, and the session carries on with
a direct server child (`--direct`) to which the client's `initialize` is replayed. Where no resident can take
the session, `run()` starts one for the next session and says "serve in-process": the caller runs today's
server, so a first session never waits for a resident.

Nothing but protocol is written to stdout; the relay's own lines go to stderr and the server log.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import selectors
import signal
import socket
import stat
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from .._version import __version__
from . import spawn
from .peer import peer_uid
from .places import PlaceError, Places, ensure_private_dir, resident_enabled
from .pump import Pump, Timing, Upstream
from .wire import MAX_HELLO_BYTES, RelayHello, SessionReply, WireError, build_fingerprint, travelling_env, version_tuple

CONNECT_S = 0.5
HELLO_S = 2.0
CHUNK = 1 << 16


class Outcome(enum.Enum):
    """What became of the session."""

    SERVED = "served"  # through the resident (or its fallback child); it is over, exit with `exit_code`
    IN_PROCESS = "in_process"  # no resident took it: the caller serves it in this process


class RelayResult(NamedTuple):
    outcome: Outcome
    exit_code: int = 0
    reason: str = ""  # why in-process, or how the session ended; for the log


class RelayLog:
    """The relay's lines: stderr (Claude Code keeps it) and the server log file (0600), never stdout."""

    def __init__(self, log_file: Path | None) -> None:
        self._file = log_file
        self._fd: int | None = None

    def __call__(self, level: str, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        line = f"{stamp},{int(time.time() * 1000) % 1000:03d} {os.getpid()} {level} ollama_mcp_tray.relay: {message}\n"
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(line)
            sys.stderr.flush()
        if self._file is None:
            return
        try:
            if self._fd is None:
                ensure_private_dir(self._file.parent)
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
                self._fd = os.open(self._file, flags, 0o600)
                os.fchmod(self._fd, 0o600)
            os.write(self._fd, line.encode("utf-8", "replace"))
        except OSError:
            self._file = None  # stderr still has it

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


# ---- connecting ------------------------------------------------------------------------------------------


class Connected(NamedTuple):
    sock: socket.socket
    reply: SessionReply


class Unavailable(NamedTuple):
    reason: str
    reply: SessionReply | None = None  # set when the resident answered and refused


def _wait(sock: socket.socket, events: int, deadline: float) -> bool:
    with selectors.DefaultSelector() as sel:
        sel.register(sock, events)
        return bool(sel.select(max(0.0, deadline - time.monotonic())))


def check_socket_dir(places: Places) -> None:
    """The socket's folder must be a real folder of ours, private, before we hand it our environment.

    Raises:
        PlaceError: it is not.
    """
    st = os.lstat(places.socket_dir)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o077:
        raise PlaceError(f"{places.socket_dir} is not a private folder of this user; not connecting to it.")


def connect(
    places: Places, hello: RelayHello, connect_s: float = CONNECT_S, hello_s: float = HELLO_S
) -> Connected | Unavailable:
    """Connect to the resident and say hello; every step is bounded in time."""
    try:
        check_socket_dir(places)
    except FileNotFoundError:
        return Unavailable("no resident (no socket folder)")
    except OSError as exc:
        return Unavailable(str(exc))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        code = sock.connect_ex(str(places.socket))
        if code in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            if not _wait(sock, selectors.EVENT_WRITE, time.monotonic() + connect_s):
                raise TimeoutError("no answer to connect")
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, os.strerror(code))
        uid = peer_uid(sock)
        if uid is not None and uid != os.getuid():
            raise PermissionError(f"the socket is served by uid {uid}, not this user")
        deadline = time.monotonic() + hello_s
        pending = memoryview(hello.encode())
        while pending:
            if not _wait(sock, selectors.EVENT_WRITE, deadline):
                raise TimeoutError("the resident did not take the hello")
            pending = pending[sock.send(pending) :]
        answer = bytearray()
        while b"\n" not in answer:
            if len(answer) > MAX_HELLO_BYTES or not _wait(sock, selectors.EVENT_READ, deadline):
                raise TimeoutError("no answer to the hello")
            data = sock.recv(CHUNK)
            if not data:
                raise ConnectionError("the resident closed the connection during the hello")
            answer += data
        line, _, rest = bytes(answer).partition(b"\n")
        reply = SessionReply.decode(line)
    except (OSError, WireError) as exc:
        sock.close()
        if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
            return Unavailable("no resident running")
        return Unavailable(f"resident unusable: {exc}")
    if not reply.accepted:
        sock.close()
        return Unavailable(f"resident refused ({reply.reason}: {reply.detail})", reply)
    if rest:  # the resident speaks only after the client did; anything here is not ours to drop
        sock.close()
        return Unavailable("resident sent data before the session began")
    return Connected(sock, reply)


# ---- the entry ----------------------------------------------------------------------------------------------


def _pipe_or_socket(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _kill_hung(pid: int | None, log: Callable[[str, str], None]) -> None:
    """A resident that stopped answering stops for good, so that a new one can take its place."""
    if pid is None or pid <= 1 or pid == os.getpid():
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
        log("WARNING", f"Stopped the resident (pid {pid}): it did not answer.")


def run(env: Mapping[str, str] | None = None) -> RelayResult:
    """Serve this session through the resident, or say it must be served in-process (starting a resident
    for the sessions to come)."""
    env = os.environ if env is None else env
    try:
        places = Places.from_env(env)
    except (OSError, KeyError) as exc:
        return RelayResult(Outcome.IN_PROCESS, reason=f"cannot find the app's folders: {exc}")
    if not resident_enabled(env, places.settings_file):
        return RelayResult(Outcome.IN_PROCESS, reason="the resident is turned off")
    if not (_pipe_or_socket(0) and _pipe_or_socket(1)):
        return RelayResult(Outcome.IN_PROCESS, reason="stdin/stdout are not pipes")
    log = RelayLog(places.server_log)
    try:
        return _run(env, places, log)
    finally:
        log.close()


def _run(env: Mapping[str, str], places: Places, log: RelayLog) -> RelayResult:
    build = build_fingerprint()
    hello = RelayHello("session", __version__, build, os.getpid(), travelling_env(env))
    found = connect(places, hello)
    if isinstance(found, Unavailable):
        reply = found.reply
        older = reply is not None and version_tuple(__version__) < version_tuple(reply.version)
        if not older:
            _start_resident(places, env, log)
        return RelayResult(Outcome.IN_PROCESS, reason=found.reason)
    sock = found.sock
    for fd in (0, 1):
        os.set_blocking(fd, False)
    timing = Timing.from_env(env)

    def on_gone(up: Upstream, hung: bool) -> None:
        if hung and up.sock is not None:
            _kill_hung(up.pid, log)

    def fallback() -> Upstream | None:
        try:
            child = spawn.start_direct(env)
        except OSError as exc:
            log("ERROR", f"Cannot start the fallback server: {exc}")
            return None
        assert child.stdin is not None and child.stdout is not None
        os.set_blocking(child.stdin.fileno(), False)
        os.set_blocking(child.stdout.fileno(), False)
        _start_resident(places, env, log)
        return Upstream(
            child.stdout.fileno(),
            child.stdin.fileno(),
            f"fallback server (pid {child.pid})",
            child=child,
            watched=False,
        )

    upstream = Upstream(
        sock.fileno(), sock.fileno(), f"resident (pid {found.reply.pid})", sock=sock, pid=found.reply.pid
    )
    pump = Pump(upstream, log, fallback, on_gone, timing)
    try:
        code = pump.run()
    except Exception as exc:  # noqa: BLE001 - a fault of ours: say so plainly rather than die with a traceback
        log("ERROR", f"The relay failed ({type(exc).__name__}: {exc}); the session ends. Set OLLAMA_MCP_RESIDENT=0 "
            "to serve sessions without the resident, and report this.")  # fmt: skip
        code = 1
    finally:
        for fd in (0, 1):
            with contextlib.suppress(OSError):
                os.set_blocking(fd, True)
    return RelayResult(Outcome.SERVED, exit_code=code, reason="session over")


def _start_resident(places: Places, env: Mapping[str, str], log: Callable[[str, str], None]) -> None:
    try:
        if spawn.start_resident(places, env):
            log("INFO", "Started a resident server for the next sessions.")
    except OSError as exc:
        log("WARNING", f"Cannot start a resident server: {exc}")
