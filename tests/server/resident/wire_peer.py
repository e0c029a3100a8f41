"""A stand-in resident on a real Unix socket, for tests of the status question: it answers one way per test.

It speaks the wire of RESIDENT-SPEC.md (one hello line in, one JSON line out, close), or misbehaves on
purpose (never answers, answers garbage), so `query_status` meets each case over a real socket.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

Answer = Callable[[dict[str, Any]], bytes | None]  # the hello received -> bytes to send (None: stay silent)


def short_socket_dir() -> Path:
    """A folder whose socket paths fit AF_UNIX's 108 bytes (pytest's tmp_path can be too long)."""
    return Path(tempfile.mkdtemp(prefix="resinteg-"))


class WirePeer:
    """Listens on `path`; each connection gets `answer(hello)`. `accept=False`: listen, never accept (a hung one)."""

    def __init__(self, path: Path, answer: Answer, *, accept: bool = True) -> None:
        self.path = path
        self.answer = answer
        self.accept = accept
        self.hellos: list[dict[str, Any]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(8)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WirePeer:
        if self.accept:
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._sock.close()
        if self._thread.is_alive():
            self._thread.join(2)
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                data = b""
                while b"\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                hello = json.loads(data.split(b"\n", 1)[0])
                self.hellos.append(hello)
                reply = self.answer(hello)
                if reply is None:
                    self._stop.wait(5)  # silent until the test ends: a resident that hangs after the hello
                    continue
                conn.sendall(reply)


def status_line(build: str, *, pid: int = 4242, sessions: int = 3, uptime_s: float = 7300.0, **extra: Any) -> bytes:
    """A resident's answer to the status op."""
    reply = {
        "hello": "ollama-mcp-resident",
        "version": build.split("+", 1)[0],
        "build": build,
        "pid": pid,
        "sessions": sessions,
        "started": 1_700_000_000.0,
        "uptime_s": uptime_s,
        "retiring": False,
        **extra,
    }
    return (json.dumps(reply) + "\n").encode("utf-8")
