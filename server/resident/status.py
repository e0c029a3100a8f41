"""Ask the user's resident server how it is: the one answer `doctor`, `status` and the tray show.

Standard library only (the tray polls this every few seconds, and the relay's import budget forbids more).
The question is the wire's `status` op: one hello line out, one JSON line back, then the resident closes.
Every step has a short deadline, so a hung resident (stopped, or busy in a loop) costs at most `timeout`
seconds and comes back as `NotAnswering`, never as a hang.

The answer is one of six typed values (see `ResidentStatus`); each has `state` (a short word for JSON and
scripts) and `describe()` (a sentence for people).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from .places import Places, resident_enabled
from .wire import RESIDENT_HELLO, RelayHello, StatusReply, WireError, build_fingerprint

CONNECT_TIMEOUT = 0.5  # seconds: a socket nobody listens on refuses at once; a full backlog should not stall us
REPLY_TIMEOUT = 1.0  # seconds for the whole answer: the resident answers status from its event loop at once
MAX_REPLY = 64 * 1024  # a status line is ~200 bytes; anything longer is not our resident
SWITCH_VARIABLE = "OLLAMA_MCP_RESIDENT"


@dataclass(frozen=True)
class Running:
    """A resident of this build answered."""

    socket: str
    pid: int
    version: str
    build: str
    sessions: int
    uptime_s: float
    retiring: bool = False

    state = "running"

    def describe(self) -> str:
        sessions = f"{self.sessions} session{'s' if self.sessions != 1 else ''}"
        retiring = ", finishing its sessions before it exits" if self.retiring else ""
        return f"running (pid {self.pid}, {sessions}, up {human_uptime(self.uptime_s)}{retiring})"


@dataclass(frozen=True)
class OtherVersion:
    """A resident answered, but it runs another build (an older install, or a checkout edited since).

    The next session retires it (it finishes its sessions and exits) and a resident of this build starts.
    """

    socket: str
    pid: int
    version: str
    build: str
    sessions: int
    uptime_s: float
    ours: str  # this build
    retiring: bool = False

    state = "other-version"

    def describe(self) -> str:
        what = "finishing its sessions before it exits" if self.retiring else "the next session replaces it"
        return f"another version runs (pid {self.pid}, {self.build}; this is {self.ours}): {what}"


@dataclass(frozen=True)
class NotRunning:
    """Nothing listens on the socket: the next session starts a resident (and serves itself meanwhile)."""

    socket: str
    reason: str  # "no socket", "refused", ...

    state = "not-running"

    def describe(self) -> str:
        return f"not running ({self.reason}); the next session starts it"


@dataclass(frozen=True)
class NotAnswering:
    """Something holds the socket but gave no usable answer in time (a hung or stopped resident, or a stranger).

    Sessions still work: a relay that gets no hello answer serves its session in-process.
    """

    socket: str
    reason: str

    state = "not-answering"

    def describe(self) -> str:
        return f"not answering ({self.reason}); sessions start their own server meanwhile"


@dataclass(frozen=True)
class Off:
    """The user turned the resident off; each session starts its own server, as before."""

    reason: str  # which switch: the environment variable or the setting

    state = "off"

    def describe(self) -> str:
        return f"off ({self.reason}); each session starts its own server"


@dataclass(frozen=True)
class Unsupported:
    """This OS has no resident yet (Windows: named pipes are future work)."""

    reason: str

    state = "unsupported"

    def describe(self) -> str:
        return f"{self.reason}; each session starts its own server"


ResidentStatus = Running | OtherVersion | NotRunning | NotAnswering | Off | Unsupported


def to_json(status: ResidentStatus) -> dict[str, Any]:
    """The status as a JSON object: `state`, a `summary` sentence, and the value's fields."""
    fields = {name: getattr(status, name) for name in status.__dataclass_fields__}
    return {"state": status.state, "summary": status.describe(), **fields}


def human_uptime(seconds: float) -> str:
    """
    >>> human_uptime(42), human_uptime(125), human_uptime(7300), human_uptime(200_000)
    ('42 s', '2 min', '2 h', '2 d')
    """
    if seconds < 60:
        return f"{max(0, int(seconds))} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def off_reason(env: Mapping[str, str], settings_file: Path) -> str | None:
    """Why the resident is off, in words; None when it is on (the relay decides with `resident_enabled` too)."""
    if resident_enabled(env, settings_file, platform="linux"):  # the platform is `unsupported_reason`'s business
        return None
    value = env.get(SWITCH_VARIABLE, "").strip()
    if value.lower() in ("0", "false", "off", "no"):
        return f"{SWITCH_VARIABLE}={value} in the environment"
    return "the setting resident is false"


def unsupported_reason(platform: str = sys.platform) -> str | None:
    """None where a resident can run; else why not."""
    if platform.startswith("win"):
        return "not supported on Windows yet"
    if not hasattr(socket, "AF_UNIX"):
        return "this Python has no Unix sockets"
    return None


def query_status(
    socket_path: Path,
    *,
    build: str,
    version: str = __version__,
    connect_timeout: float = CONNECT_TIMEOUT,
    timeout: float = REPLY_TIMEOUT,
    keep: bool = False,
) -> ResidentStatus:
    """Ask the resident at `socket_path` for its status (op `status`). Never raises, never waits past the timeouts.

    Args:
        socket_path: the resident's socket.
        build: this app's build fingerprint; an answer with another is `OtherVersion`.
        version: this app's version (sent in the hello, as the relay does).
        connect_timeout: seconds for the connection.
        timeout: seconds for the whole exchange, connection included.
        keep: ask with op `keep`, which also restarts the resident's idle clock (the tray keeping it warm).
    """
    where = str(socket_path)
    if not socket_path.exists():
        return NotRunning(where, "no socket")
    deadline = time.monotonic() + timeout
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as exc:
        return NotAnswering(where, f"cannot open a socket: {exc.strerror or exc}")
    with sock:
        try:
            sock.settimeout(min(connect_timeout, timeout))
            sock.connect(where)
        except (FileNotFoundError, ConnectionRefusedError):
            # A socket file left by a resident that died: nobody listens.
            return NotRunning(where, "nothing listens on the socket")
        except TimeoutError:
            return NotAnswering(where, f"the connection took over {min(connect_timeout, timeout):g} s")
        except OSError as exc:
            return NotAnswering(where, f"cannot connect: {exc.strerror or exc}")
        # No environment travels with the status question: a key has no business in it.
        hello = RelayHello("keep" if keep else "status", version, build, os.getpid(), {})
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(hello.encode())
            line = _read_line(sock, deadline)
        except TimeoutError:
            return NotAnswering(where, f"no answer within {timeout:g} s")
        except OSError as exc:
            return NotAnswering(where, f"the connection failed: {exc.strerror or exc}")
    if line is None:
        return NotAnswering(where, "it closed the connection without answering")
    return _status_from_reply(where, line, build)


def _read_line(sock: socket.socket, deadline: float) -> bytes | None:
    """The first line the peer sends (None: it closed first). Raises TimeoutError past the deadline."""
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            return data or None
        data += chunk
        if len(data) > MAX_REPLY:
            return data[:MAX_REPLY]
    return data.split(b"\n", 1)[0]


def _status_from_reply(where: str, line: bytes, build: str) -> ResidentStatus:
    try:
        message = json.loads(line)
    except ValueError:
        return NotAnswering(where, "its answer is not JSON: not our resident")
    if isinstance(message, dict) and message.get("accepted") is False:
        return NotAnswering(where, f"it refused the question ({message.get('reason')}: {message.get('detail')})")
    if not isinstance(message, dict) or message.get("hello") != RESIDENT_HELLO:
        return NotAnswering(where, "its answer is not a resident's hello")
    try:
        reply = StatusReply.decode(line)
    except (WireError, TypeError, ValueError) as exc:
        return NotAnswering(where, f"its answer lacks what a status holds ({exc})")
    fields = (reply.pid, reply.version, reply.build, reply.sessions, reply.uptime_s)
    if reply.build != build:
        return OtherVersion(where, *fields, ours=build, retiring=reply.retiring)
    return Running(where, *fields, retiring=reply.retiring)


def status_for(
    env: Mapping[str, str] | None = None,
    *,
    platform: str = sys.platform,
    timeout: float = REPLY_TIMEOUT,
    keep: bool = False,
) -> ResidentStatus:
    """The resident's status for the app folders `env` points at (default: this process's environment).

    What `doctor`, `status` and the tray ask: the same socket and build the relay would use. The tray asks
    with `keep`, so that a resident it keeps warm does not exit for want of sessions while the tray runs.
    """
    env = os.environ if env is None else env
    places = Places.from_env(env, platform)
    build = build_fingerprint()
    return resident_status(
        env, places.settings_file, places.socket, build=build, platform=platform, timeout=timeout, keep=keep
    )


def resident_status(
    env: Mapping[str, str],
    settings_file: Path,
    socket_path: Path,
    *,
    build: str,
    platform: str = sys.platform,
    timeout: float = REPLY_TIMEOUT,
    keep: bool = False,
) -> ResidentStatus:
    """The whole answer: unsupported here, off by a switch, or what the resident at `socket_path` says."""
    unsupported = unsupported_reason(platform)
    if unsupported is not None:
        return Unsupported(unsupported)
    off = off_reason(env, settings_file)
    if off is not None:
        return Off(off)
    return query_status(socket_path, build=build, timeout=timeout, keep=keep)
