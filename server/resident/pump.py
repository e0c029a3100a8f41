"""The relay's pump: one session's bytes between stdin/stdout and its server, on one thread (stdlib).

Bytes go through as they are. Each complete line is parsed (json) only to keep track of the client's
requests in flight, its `initialize` and `notifications/initialized`, and the replies the client must not
see (the relay's own pings, a replayed initialize). When the server goes away, every request in flight gets
an answer that says so (a tool error for `tools/call`, a JSON-RPC error otherwise) and the session continues
on a fallback server, to which the handshake is replayed.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import subprocess

PING_AFTER_S = 15.0  # requests in flight and nothing from the resident for this long: ask it
PING_WAIT_S = 10.0  # ...and no answer within this: it hangs
DRAIN_S = 1.0  # after stdin closes, what the server still sends is forwarded for at most this long
HIGH_WATER = 8 << 20  # stop reading the server while this much waits to be written to the client
CHUNK = 1 << 16
INTERNAL_ERROR = -32603
MODERN_META_KEY = "io.modelcontextprotocol/protocolVersion"
GONE_MESSAGE = (
    "The local Ollama MCP server stopped while this call was running ({why}), so its result is lost. "
    "The session has reconnected to a fresh server: retry the call."
)


def _id_key(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _messages(line: bytes) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(line)
    except ValueError:
        return []
    items = parsed if isinstance(parsed, list) else [parsed]
    return [item for item in items if isinstance(item, dict)]


class Pending(NamedTuple):
    id: Any
    method: str
    modern: bool = False  # a 2026-07-28 request (protocol version in its `_meta`): results carry resultType


class Upstream:
    """Where the session's server is: the resident's socket, or the fallback child's pipes."""

    def __init__(
        self,
        read_fd: int,
        write_fd: int,
        name: str,
        *,
        sock: socket.socket | None = None,
        child: subprocess.Popen[bytes] | None = None,
        pid: int | None = None,
        watched: bool = True,
    ) -> None:
        self.read_fd = read_fd  # -1 once it is gone
        self.write_fd = write_fd
        self.name = name
        self.sock = sock
        self.child = child
        self.pid = pid
        self.write_closed = False
        self.watched = watched  # pinged when quiet; not the fallback child, which is ours and as direct as today

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


class Timing(NamedTuple):
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


class Pump:
    """One session's bytes between stdin/stdout and its server, on one thread."""

    def __init__(
        self,
        upstream: Upstream,
        log: Callable[[str, str], None],
        start_fallback: Callable[[], Upstream | None],
        on_gone: Callable[[Upstream, bool], None],  # (the server that went away, whether it hung)
        timing: Timing | None = None,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
    ) -> None:
        self.upstream = upstream
        self.log = log
        self.start_fallback = start_fallback
        self.on_gone = on_gone
        self.timing = timing or Timing()
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
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
                params = message.get("params")
                meta = params.get("_meta") if isinstance(params, dict) else None
                modern = isinstance(meta, dict) and MODERN_META_KEY in meta
                self.in_flight[_id_key(message["id"])] = Pending(message["id"], method, modern)
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
        if self.in_flight and self.upstream.watched:
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
        up = self.upstream
        if not self.in_flight or not up.watched or up.read_fd < 0 or up.write_closed:
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
        result: dict[str, Any] = {"content": [{"type": "text", "text": message}], "isError": True}
        if pending.modern:
            result["resultType"] = "complete"
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": pending.id, "result": result}
    else:
        reply = {"jsonrpc": "2.0", "id": pending.id, "error": {"code": INTERNAL_ERROR, "message": message}}
    return json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n"
