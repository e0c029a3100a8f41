"""What the relay and the resident say before MCP starts (stdlib).

One JSON object per line over the Unix socket:

1. relay -> resident: `{"hello": "ollama-mcp-relay", "op": "session"|"status"|"keep", "version", "build", "pid",
   "env": {...}}`; `env` is every `OLLAMA_*` variable of the relay's environment plus PATH (never written to
   disk, never logged: logs name the variables, not their values).
2. resident -> relay: `{"hello": "ollama-mcp-resident", "version", "build", "pid", "accepted": true}`, or
   `{"hello": ..., "accepted": false, "reason": "version"|"retiring", "detail": "..."}`; for op status,
   `{"hello", "version", "build", "pid", "sessions", "started", "uptime_s", "retiring"}` and the resident closes.
   Op keep is status asked by a tray that keeps the resident warm: it also restarts the idle clock.
3. After an accepted hello the stream is MCP's stdio framing (newline-delimited JSON-RPC) both ways.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from .._version import __version__
from .digest import sha256

RELAY_HELLO = "ollama-mcp-relay"
RESIDENT_HELLO = "ollama-mcp-resident"
MAX_HELLO_BYTES = 1 << 20  # a hello line longer than this is not ours

Op = Literal["session", "status", "keep"]
Reason = Literal["version", "retiring"]


class WireError(ValueError):
    """A hello line that is not what the other side sends."""


def travelling_env(env: Mapping[str, str]) -> dict[str, str]:
    """The part of the relay's environment a session runs with: every OLLAMA_* variable, and PATH (git)."""
    chosen = {name: value for name, value in env.items() if name.startswith("OLLAMA_")}
    if "PATH" in env:
        chosen["PATH"] = env["PATH"]
    return chosen


def _package_dir() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.cache
def build_fingerprint(package_dir: str | None = None) -> str:
    """`<version>+<12 hex>`: the version and a digest of (relative path, size, mtime_ns) of every *.py of the
    installed server package, so an upgrade or an edited checkout changes it. A frozen app digests its binary."""
    digest = sha256()
    if getattr(sys, "frozen", False):
        st = os.stat(sys.executable)
        digest.update(f"{sys.executable}\0{st.st_size}\0{st.st_mtime_ns}".encode("utf-8", "surrogateescape"))
        return f"{__version__}+{digest.hexdigest()[:12]}"
    root = package_dir or _package_dir()
    entries: list[str] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name != "__pycache__":
                            pending.append(entry.path)
                    elif entry.name.endswith(".py"):
                        st = entry.stat()
                        entries.append(f"{os.path.relpath(entry.path, root)}\0{st.st_size}\0{st.st_mtime_ns}")
        except OSError:
            continue
    for line in sorted(entries):
        digest.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return f"{__version__}+{digest.hexdigest()[:12]}"


def version_tuple(version: str) -> tuple[int, ...]:
    """(0, 1, 0) for "0.1.0", "0.1.0rc1" or "0.1.0+abc"; the leading digits of each dotted part."""
    parts: list[int] = []
    for piece in version.split("+", 1)[0].split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        parts.append(int(digits) if digits else 0)
        if len(digits) != len(piece):
            break
    return tuple(parts)


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as one line."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def _decode(line: bytes, greeting: str) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise WireError(f"not a hello line: {exc}") from exc
    if not isinstance(message, dict) or message.get("hello") != greeting:
        raise WireError(f"not a {greeting} hello")
    return message


def _text(message: Mapping[str, Any], name: str) -> str:
    value = message.get(name)
    if not isinstance(value, str):
        raise WireError(f"hello without a text {name!r}")
    return value


def _number(message: Mapping[str, Any], name: str) -> float:
    value = message.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WireError(f"hello without a number {name!r}")
    return float(value)


class RelayHello(NamedTuple):
    """What a relay says first."""

    op: Op
    version: str
    build: str
    pid: int
    env: dict[str, str]  # may hold a key: never shown

    def __repr__(self) -> str:
        return f"RelayHello(op={self.op!r}, version={self.version!r}, build={self.build!r}, pid={self.pid})"

    def encode(self) -> bytes:
        return encode(
            {"hello": RELAY_HELLO, "op": self.op, "version": self.version, "build": self.build, "pid": self.pid,
             "env": self.env}
        )  # fmt: skip

    @classmethod
    def decode(cls, line: bytes) -> RelayHello:
        """Raises: WireError: the line is not a relay's hello."""
        message = _decode(line, RELAY_HELLO)
        op = message.get("op")
        if op not in ("session", "status", "keep"):
            raise WireError(f"unknown op {op!r}")
        env = message.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise WireError("env must map names to texts")
        return cls(
            op=op, version=_text(message, "version"), build=_text(message, "build"),
            pid=int(_number(message, "pid")), env=env,
        )  # fmt: skip


class SessionReply(NamedTuple):
    """The resident's answer to a session hello."""

    version: str
    build: str
    pid: int
    accepted: bool
    reason: Reason | None = None
    detail: str = ""

    def encode(self) -> bytes:
        message: dict[str, Any] = {"hello": RESIDENT_HELLO, "version": self.version, "build": self.build,
                                   "pid": self.pid, "accepted": self.accepted}  # fmt: skip
        if not self.accepted:
            message.update(reason=self.reason, detail=self.detail)
        return encode(message)

    @classmethod
    def decode(cls, line: bytes) -> SessionReply:
        """Raises: WireError: the line is not a resident's answer."""
        message = _decode(line, RESIDENT_HELLO)
        accepted = message.get("accepted")
        if not isinstance(accepted, bool):
            raise WireError("answer without 'accepted'")
        reason = message.get("reason")
        return cls(
            version=str(message.get("version", "")), build=str(message.get("build", "")),
            pid=int(_number(message, "pid")), accepted=accepted,
            reason=reason if reason in ("version", "retiring") else None,
            detail=str(message.get("detail", "")),
        )  # fmt: skip


class StatusReply(NamedTuple):
    """The resident's answer to a status hello."""

    version: str
    build: str
    pid: int
    sessions: int
    started: float
    uptime_s: float
    retiring: bool

    def encode(self) -> bytes:
        return encode(
            {"hello": RESIDENT_HELLO, "version": self.version, "build": self.build, "pid": self.pid,
             "sessions": self.sessions, "started": self.started, "uptime_s": self.uptime_s,
             "retiring": self.retiring}
        )  # fmt: skip

    @classmethod
    def decode(cls, line: bytes) -> StatusReply:
        """Raises: WireError: the line is not a resident's status."""
        message = _decode(line, RESIDENT_HELLO)
        return cls(
            version=_text(message, "version"), build=_text(message, "build"), pid=int(_number(message, "pid")),
            sessions=int(_number(message, "sessions")), started=_number(message, "started"),
            uptime_s=_number(message, "uptime_s"), retiring=bool(message.get("retiring", False)),
        )  # fmt: skip
