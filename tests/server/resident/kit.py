"""Residents for tests: each test gets its own app folders (so its own socket and lock) and kills what ran.

`ResidentKit` starts sessions through the real registered command (`python -I -m ollama_mcp_tray.server`),
asks a resident for its status over the wire, and at the end kills every resident that held its lock.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mcp.client.stdio import StdioServerParameters

from ollama_mcp_tray.server import __version__
from ollama_mcp_tray.server.resident.places import Places
from ollama_mcp_tray.server.resident.wire import RelayHello, StatusReply, build_fingerprint

MODULE = "ollama_mcp_tray.server"
REGISTERED = [sys.executable, "-I", "-m", MODULE]


def resident_env(home: Path, url: str, **extra: str) -> dict[str, str]:
    """A user with the resident on: own HOME and XDG folders, no warm-up pause, a short idle exit."""
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "OLLAMA_URL": url,
        "OLLAMA_MCP_RESIDENT": "1",
        "OLLAMA_MCP_RESIDENT_WARMUP_S": "0",
        "OLLAMA_MCP_RESIDENT_IDLE_S": "120",
    }
    env.update(extra)
    return env


def ask_status(places: Places, timeout: float = 5.0) -> StatusReply | None:
    """The resident's status over the wire, or None when none answers."""
    hello = RelayHello("status", __version__, build_fingerprint(), os.getpid(), {})
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(places.socket))
            sock.sendall(hello.encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    return StatusReply.decode(data) if data.strip() else None


def lock_pid(places: Places) -> int | None:
    try:
        text = places.lock.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (our own child, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


@dataclass
class ResidentKit:
    env: dict[str, str]
    places: Places = field(init=False)
    seen: set[int] = field(default_factory=set)
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.places = Places.from_env(self.env)

    def params(self, command: list[str] | None = None, **extra: str) -> StdioServerParameters:
        """How Claude Code starts the registered command for this user."""
        command = command or REGISTERED
        return StdioServerParameters(command=command[0], args=command[1:], env={**self.env, **extra})

    def start_resident(self, env: dict[str, str] | None = None, command: list[str] | None = None) -> int:
        """Start a resident the way a relay does and wait until it answers; its pid."""
        child = subprocess.Popen(
            [*(command or REGISTERED), "--resident"],
            env=env or self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.env["HOME"],
        )
        self.started.append(child)
        status = self.wait_status()
        assert status.pid == child.pid, "the resident we started answers"
        return status.pid

    def wait_status(self, timeout: float = 60.0, pid: int | None = None) -> StatusReply:
        """The status of a running resident (of `pid`, when given), waiting for one to answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = ask_status(self.places)
            if status is not None and (pid is None or status.pid == pid):
                self.seen.add(status.pid)
                return status
            time.sleep(0.05)
        raise AssertionError(f"no resident answered on {self.places.socket} within {timeout} s")

    def wait_gone(self, pid: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.05)
        raise AssertionError(f"pid {pid} still runs after {timeout} s")

    def log_text(self) -> str:
        try:
            return self.places.server_log.read_text(encoding="utf-8")
        except OSError:
            return ""

    def cleanup(self) -> None:
        """Kill every resident this user ran (the lock names the last one; `seen` the others)."""
        pid = lock_pid(self.places)
        for candidate in {*self.seen, *([pid] if pid else []), *(c.pid for c in self.started)}:
            with_cmdline = Path(f"/proc/{candidate}/cmdline")
            try:
                if b"--resident" not in with_cmdline.read_bytes():
                    continue
            except OSError:
                continue
            for signum in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(candidate, signum)
                except ProcessLookupError:
                    break
        for child in self.started:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def handshake_lines(*requests: dict[str, object]) -> bytes:
    """initialize, initialized and `requests`, as a client writes them."""
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    messages = [init, {"jsonrpc": "2.0", "method": "notifications/initialized"}, *requests]
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def converse(
    command: list[str], env: dict[str, str], cwd: Path, requests: list[dict[str, object]], timeout: float = 60.0
) -> tuple[list[dict[str, object]], str]:
    """A client session on raw stdio (the handshake, then `requests` one at a time, each answer awaited):
    the answers and the server's stderr."""
    answers: list[dict[str, object]] = []
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as child:
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        try:
            lines = handshake_lines().splitlines(keepends=True)
            child.stdin.write(lines[0])
            child.stdin.flush()
            answers.append(json.loads(child.stdout.readline()))
            child.stdin.write(lines[1])
            for request in requests:
                child.stdin.write(json.dumps(request).encode() + b"\n")
                child.stdin.flush()
                answers.append(json.loads(child.stdout.readline()))
            child.stdin.close()
            stderr = child.stderr.read().decode("utf-8", "replace")
            child.wait(timeout=timeout)
        finally:
            if child.poll() is None:
                child.kill()
    return answers, stderr
