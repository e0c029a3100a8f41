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
import json
import os
import selectors
import signal
import socket
import stat
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from . import spawn
from .peer import peer_uid
from .places import PlaceError, Places, ensure_private_dir, resident_enabled
from .wire import MAX_HELLO_BYTES, RelayHello, SessionReply, WireError, build_fingerprint, travelling_env, version_tuple

CONNECT_S = 0.5
HELLO_S = 2.0
PING_AFTER_S = 15.0  # requests in flight and nothing from the resident for this long: ask it
PING_WAIT_S = 10.0  # ...and no answer within this: it hangs
DRAIN_S = 1.0  # after stdin closes, what the server still sends is forwarded for at most this long
HIGH_WATER = 8 << 20  # stop reading a side while this much waits to be written to the other
CHUNK = 1 << 16
INTERNAL_ERROR = -32603
GONE_MESSAGE = (
    "The local Ollama MCP server stopped while this call was running ({why}), so its result is lost. "
    "The session has reconnected to a fresh server: retry the call."
)


class Outcome(enum.Enum):
    """What became of the session."""

    SERVED = "served"  # through the resident (or its fallback child); it is over, exit with `exit_code`
    IN_PROCESS = "in_process"  # no resident took it: the caller serves it in this process


@dataclass(frozen=True)
class RelayResult:
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


@dataclass(frozen=True)
class Connected:
    sock: socket.socket
    reply: SessionReply


@dataclass(frozen=True)
class Unavailable:
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


# ---- the pump --------------------------------------------------------------------------------------------


def _id_key(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _messages(line: bytes) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(line)
    except ValueError:
        return []
    items = parsed if isinstance(parsed, list) else [parsed]
    return [item for item in items if isinstance(item, dict)]


@dataclass
class Pending:
    id: Any
    method: str


@dataclass
class Upstream:
    """Where the session's server is: the resident's socket, or the fallback child's pipes."""

    read_fd: int
    write_fd: int
    name: str
    sock: socket.socket | None = None
    child: Any = None  # subprocess.Popen[bytes] of the fallback
    pid: int | None = None
    write_closed: bool = False

    def close_write(self) -> None:
        if self.write_closed:
            return
        self.write_closed = True
        with contextlib.suppress(OSError):
            if self.sock is not None:
                self.sock.shutdown(socket.SHUT_WR)
            elif self.child is not None and self.child.stdin is not None:
                self.child.stdin.close()

    def close(self) -> None:
        self.close_write()
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        if self.child is not None:
            for stream in (self.child.stdin, self.child.stdout):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
            import subprocess  # only a fallback child has been started with it

            try:
                self.child.wait(timeout=DRAIN_S)
            except subprocess.TimeoutExpired:
                self.child.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.child.wait(timeout=DRAIN_S)


@dataclass
class Timing:
    ping_after_s: float = PING_AFTER_S
    ping_wait_s: float = PING_WAIT_S
    drain_s: float = DRAIN_S

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Timing:
        """The hang bounds; tests shorten them (OLLAMA_MCP_RELAY_PING_AFTER_S, OLLAMA_MCP_RELAY_PING_WAIT_S)."""

        def number(name: str, fallback: float) -> float:
            try:
                value = float(env.get(name, ""))
            except ValueError:
                return fallback
            return value if value > 0 else fallback

        return cls(
            ping_after_s=number("OLLAMA_MCP_RELAY_PING_AFTER_S", PING_AFTER_S),
            ping_wait_s=number("OLLAMA_MCP_RELAY_PING_WAIT_S", PING_WAIT_S),
        )


@dataclass
class Pump:
    """One session's bytes between stdin/stdout and its server, on one thread."""

    upstream: Upstream
    log: Callable[[str, str], None]
    start_fallback: Callable[[], Upstream | None]
    on_gone: Callable[[Upstream, bool], None]  # (the server that went away, whether it hung)
    timing: Timing = field(default_factory=Timing)
    stdin_fd: int = 0
    stdout_fd: int = 1

    def __post_init__(self) -> None:
        self.to_up: deque[bytes] = deque()  # complete client lines not yet (fully) written upstream
        self.head_sent = 0  # bytes of to_up[0] already written
        self.to_out = bytearray()
        self.in_tail = bytearray()
        self.up_tail = bytearray()
        self.in_flight: dict[str, Pending] = {}
        self.swallow: set[str] = set()  # ids of replies the client must not see (relay pings, replays)
        self.initialize_line: bytes | None = None
        self.initialized_line: bytes | None = None
        self.stdin_open = True
        self.fell_back = False
        self.last_up = time.monotonic()
        self.ping_sent: float | None = None
        self.pings = 0
        self.drain_until: float | None = None
        self.sel = selectors.DefaultSelector()
        self.wanted: dict[int, int] = {}
        self.pending_replay: bytes | None = None  # an initialize the lost server never answered

    # -- bookkeeping of lines --

    def _client_line(self, line: bytes) -> None:
        """Called as a client line starts going upstream."""
        for message in _messages(line):
            method = message.get("method")
            if isinstance(method, str) and "id" in message:
                self.in_flight[_id_key(message["id"])] = Pending(message["id"], method)
                if method == "initialize":
                    self.initialize_line = line
            elif method == "notifications/initialized":
                self.initialized_line = line
            elif method == "notifications/cancelled":
                params = message.get("params")
                if isinstance(params, dict) and "requestId" in params:
                    self.in_flight.pop(_id_key(params["requestId"]), None)

    def _server_line(self, line: bytes) -> bool:
        """Whether the server's line goes to the client (False for the replies only the relay asked for)."""
        keep = True
        for message in _messages(line):
            if "method" not in message and "id" in message:
                key = _id_key(message["id"])
                if key in self.swallow:
                    self.swallow.discard(key)
                    self.ping_sent = None
                    keep = False
                self.in_flight.pop(key, None)
        return keep

    # -- the selector --

    def _want(self, fd: int, events: int) -> None:
        had = self.wanted.get(fd, 0)
        if events == had:
            return
        if not events:
            self.sel.unregister(fd)
            del self.wanted[fd]
        elif had:
            self.sel.modify(fd, events)
            self.wanted[fd] = events
        else:
            self.sel.register(fd, events)
            self.wanted[fd] = events

    def _arm(self) -> None:
        up = self.upstream
        wants: dict[int, int] = {}

        def add(fd: int, event: int) -> None:
            wants[fd] = wants.get(fd, 0) | event

        if self.stdin_open and len(self.to_up) < 4096:
            add(self.stdin_fd, selectors.EVENT_READ)
        if self.to_out:
            add(self.stdout_fd, selectors.EVENT_WRITE)
        if up.read_fd >= 0 and len(self.to_out) < HIGH_WATER:
            add(up.read_fd, selectors.EVENT_READ)
        if self.to_up and up.read_fd >= 0 and not up.write_closed:
            add(up.write_fd, selectors.EVENT_WRITE)
        for fd in list(self.wanted):
            if fd not in wants:
                self._want(fd, 0)
        for fd, events in wants.items():
            self._want(fd, events)

    def _reset_selector(self) -> None:
        for fd in list(self.wanted):
            self._want(fd, 0)

    # -- the loop --

    def run(self) -> int:
        """Pump until the session ends; the exit code for the relay's process."""
        try:
            return self._loop()
        finally:
            self._reset_selector()
            self.sel.close()
            self.upstream.close()

    def _loop(self) -> int:
        while True:
            if (
                self.drain_until is not None
                and (not self.to_out)
                and (time.monotonic() >= self.drain_until or self.upstream.read_fd < 0)
            ):
                return 0
            self._arm()
            for key, events in self.sel.select(self._timeout()):
                fd = key.fd
                if fd == self.stdin_fd and events & selectors.EVENT_READ:
                    self._read_stdin()
                if fd == self.stdout_fd and events & selectors.EVENT_WRITE and not self._write_stdout():
                    return 0  # the client is gone
                if fd == self.upstream.write_fd and events & selectors.EVENT_WRITE:
                    self._write_up()
                if fd == self.upstream.read_fd and events & selectors.EVENT_READ:
                    self._read_up()
            if self.upstream.read_fd < 0 and self.drain_until is None:
                code = self._fall_back()
                if code is not None:
                    return code
            self._check_hang()

    def _timeout(self) -> float:
        now = time.monotonic()
        bounds = [1.0]
        if self.drain_until is not None:
            bounds.append(self.drain_until - now)
        if self.in_flight:
            if self.ping_sent is None:
                bounds.append(self.last_up + self.timing.ping_after_s - now)
            else:
                bounds.append(self.ping_sent + self.timing.ping_wait_s - now)
        return max(0.0, min(bounds))

    def _read_stdin(self) -> None:
        try:
            data = os.read(self.stdin_fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.stdin_open = False
            if self.in_tail:  # a last line without its newline is still a message
                self.to_up.append(bytes(self.in_tail) + b"\n")
                self.in_tail.clear()
            self._want(self.stdin_fd, 0)
            self.drain_until = time.monotonic() + self.timing.drain_s
            if not self.to_up:
                self.upstream.close_write()
            return
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            if self.in_tail:
                self.in_tail += data[start : end + 1]
                self.to_up.append(bytes(self.in_tail))
                self.in_tail.clear()
            else:
                self.to_up.append(data[start : end + 1])
            start = end + 1
        self.in_tail += data[start:]

    def _write_up(self) -> None:
        up = self.upstream
        while self.to_up:
            head = self.to_up[0]
            if self.head_sent == 0:
                self._client_line(head)
            try:
                written = os.write(up.write_fd, memoryview(head)[self.head_sent :])
            except BlockingIOError:
                return
            except OSError:
                self._gone("its connection broke")
                return
            self.head_sent += written
            if self.head_sent < len(head):
                return
            self.to_up.popleft()
            self.head_sent = 0
        if not self.stdin_open:
            up.close_write()

    def _read_up(self) -> None:
        try:
            data = os.read(self.upstream.read_fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            if self.drain_until is not None:
                self._reset_selector()
                self.upstream.read_fd = -1  # done: the server said all it had to say
            else:
                self._gone("it closed the connection")
            return
        self.last_up = time.monotonic()
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            if self.up_tail:
                self.up_tail += data[start : end + 1]
                line = bytes(self.up_tail)
                self.up_tail.clear()
            else:
                line = data[start : end + 1]
            if self._server_line(line):
                self.to_out += line
            start = end + 1
        self.up_tail += data[start:]
        if self.to_out:
            self._write_stdout()

    def _write_stdout(self) -> bool:
        try:
            written = os.write(self.stdout_fd, self.to_out)
        except BlockingIOError:
            return True
        except OSError:
            return False
        del self.to_out[:written]
        return True

    def _check_hang(self) -> None:
        if not self.in_flight or self.upstream.read_fd < 0 or self.upstream.write_closed:
            return
        now = time.monotonic()
        if self.ping_sent is None:
            if now - self.last_up >= self.timing.ping_after_s:
                self.pings += 1
                ping_id = f"relay-ping-{self.pings}"
                self.swallow.add(_id_key(ping_id))
                line = json.dumps({"jsonrpc": "2.0", "id": ping_id, "method": "ping"}).encode() + b"\n"
                # Ahead of any client line not yet started, behind one half written.
                self.to_up.insert(1 if self.head_sent else 0, line)
                self.ping_sent = now
        elif now - self.ping_sent >= self.timing.ping_wait_s:
            if self.last_up > self.ping_sent:  # it spoke meanwhile: alive, only slow to pong
                self.ping_sent = None
                return
            self._gone(f"it did not answer for {self.timing.ping_after_s + self.timing.ping_wait_s:.0f} s", hung=True)

    # -- failure --

    def _gone(self, why: str, *, hung: bool = False) -> None:
        """The server went away: fail what it had in hand; `_fall_back` continues the session."""
        up = self.upstream
        self.log("WARNING", f"The {up.name} went away ({why}); {len(self.in_flight)} request(s) in flight.")
        self._reset_selector()
        self.on_gone(up, hung)
        up.close()
        up.read_fd = -1
        if self.head_sent:  # a half-written line is lost with the connection: its request fails below
            self.to_up.popleft()
            self.head_sent = 0
        self.up_tail.clear()
        self.ping_sent = None
        self.swallow.clear()
        replay_initialize = None
        for key, pending in list(self.in_flight.items()):
            if pending.method == "initialize" and self.initialize_line is not None:
                replay_initialize = self.initialize_line  # not answered yet: the fallback answers it
                continue
            self.to_out += _failure(pending, GONE_MESSAGE.format(why=why))
            del self.in_flight[key]
        self.pending_replay = replay_initialize

    def _fall_back(self) -> int | None:
        """Continue on a direct child; the exit code when the session cannot continue."""
        if self.fell_back:
            self.log("ERROR", "The fallback server went away too; ending the session.")
            self._flush_stdout(2.0)
            return 1
        self.fell_back = True
        replacement = self.start_fallback()
        if replacement is None:
            self._flush_stdout(2.0)
            return 1
        self.upstream = replacement
        self.last_up = time.monotonic()
        replay: list[bytes] = []
        if self.pending_replay is not None:
            replay.append(self.pending_replay)
            self.pending_replay = None
        elif self.initialize_line is not None:
            for message in _messages(self.initialize_line):
                if "id" in message:
                    self.swallow.add(_id_key(message["id"]))
            replay.append(self.initialize_line)
            if self.initialized_line is not None:
                replay.append(self.initialized_line)
        self.to_up.extendleft(reversed(replay))
        if not self.stdin_open and not self.to_up:
            self.upstream.close_write()
        self.log("INFO", f"Session continues on {replacement.name}.")
        return None

    def _flush_stdout(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with selectors.DefaultSelector() as sel:
            sel.register(self.stdout_fd, selectors.EVENT_WRITE)
            while self.to_out and time.monotonic() < deadline:
                if sel.select(max(0.0, deadline - time.monotonic())) and not self._write_stdout():
                    return


def _failure(pending: Pending, message: str) -> bytes:
    """The reply a client gets for a request its server can no longer answer."""
    if pending.method == "tools/call":
        reply: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": pending.id,
            "result": {"content": [{"type": "text", "text": message}], "isError": True},
        }
    else:
        reply = {"jsonrpc": "2.0", "id": pending.id, "error": {"code": INTERNAL_ERROR, "message": message}}
    return json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n"


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
        return Upstream(child.stdout.fileno(), child.stdin.fileno(), f"fallback server (pid {child.pid})", child=child)

    upstream = Upstream(
        sock.fileno(), sock.fileno(), f"resident (pid {found.reply.pid})", sock=sock, pid=found.reply.pid
    )
    pump = Pump(upstream, log, fallback, on_gone, timing)
    try:
        code = pump.run()
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
