"""A user in a temporary HOME: our CLI sets things up there, and the real `claude -p` runs there against the
Messages API stand-in, fully offline.

Claude Code's own environment is built from scratch (nothing leaks in from the test runner): HOME, a plain
PATH, the stand-in's URL with a dummy key, and switches that keep it from updating itself or phoning home.
`CLAUDE_CODE_MCP_STARTUP_WAIT_MS` makes print mode wait (up to that long) for the MCP servers before the first
request, so that request already carries our instructions. By default (observed with 2.1.330) the first request
may go out while our server is still connecting: the system message then says so, and a tool search made
before the server is up answers "No matching deferred tools found. Some MCP servers are still connecting"
(a model searches again; see `turns.search_until_loaded`). `MCP_CONNECTION_NONBLOCKING=0` waits too, but gave
up after a few seconds on a busy machine. Every run is bounded: on timeout the whole process group (Claude
Code and the MCP servers it started) is killed and `ClaudeTimeout` carries what it printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

REPO = Path(__file__).resolve().parents[2]
PINNED_CLAUDE = REPO / ".tools" / "claude" / "node_modules" / ".bin" / "claude"
CLAUDE_TIMEOUT_S = 90.0
TRAY_TIMEOUT_S = 120.0
MCP_STARTUP_WAIT_MS = 30_000
MAX_TURNS = 8  # a runaway script stops here rather than at the timeout
DUMMY_KEY = "sk-ant-api03-standin-not-a-real-key"


def latest_claude() -> Path | None:
    """$CLAUDE_LATEST_BIN, else where tests/setup/21-claude-cli-latest.sh installs the newest CLI, else None."""
    explicit = os.environ.get("CLAUDE_LATEST_BIN", "").strip()
    default = Path(tempfile.gettempdir()) / "claude-code-latest" / "node_modules" / ".bin" / "claude"
    found = Path(explicit) if explicit else default
    return found if found.is_file() else None


def pinned_claude() -> Path | None:
    """$CLAUDE_BIN, else the pinned CLI from tests/setup/20-claude-cli.sh, else None."""
    explicit = os.environ.get("CLAUDE_BIN", "").strip()
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    return PINNED_CLAUDE if PINNED_CLAUDE.is_file() else None


class ClaudeTimeout(AssertionError):
    """`claude -p` did not finish in time (what it printed is in the message)."""


@dataclass(frozen=True)
class ClaudeRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class ClaudeUser:
    """HOME, the project folder Claude Code runs in, and the CLI binary."""

    home: Path
    claude: Path

    @classmethod
    def create(cls, root: Path, claude: Path) -> ClaudeUser:
        home = root / "home"
        (home / "project").mkdir(parents=True)
        return cls(home, claude)

    @property
    def project(self) -> Path:
        return self.home / "project"

    def base_env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "CLAUDE_BIN": str(self.claude),
            "OLLAMA_MCP_RESIDENT": "0",  # the suite runs direct servers (tests/conftest.py)
        }

    def tray(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Our CLI (`ollama-mcp-tray ARGS`) as this user; raises with its output when it fails."""
        done = subprocess.run(
            [sys.executable, "-m", "ollama_mcp_tray.tray", *args],
            cwd=self.home,
            env=self.base_env(),
            capture_output=True,
            text=True,
            timeout=TRAY_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"ollama-mcp-tray {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done

    def setup(self, ollama_url: str, *extra: str) -> None:
        """What a new user runs: point at Ollama, then `setup` (default model, model cache, registration)."""
        self.tray("config", "set", "ollama_url", ollama_url)
        self.tray("setup", *extra)

    def registered_server(self, name: str = "ollama") -> dict[str, Any]:
        """Our server's entry in the user's ~/.claude.json (the command Claude Code starts)."""
        document = json.loads((self.home / ".claude.json").read_text(encoding="utf-8"))
        entry = document["mcpServers"][name]
        assert isinstance(entry, dict)
        return entry

    def server_instructions(self, name: str = "ollama") -> str:
        """The instructions the registered server sends, asked over stdio with the SDK's client, as this user."""
        entry = self.registered_server(name)
        params = StdioServerParameters(
            command=entry["command"], args=entry.get("args", []), env={**self.base_env(), **entry.get("env", {})}
        )

        async def ask() -> str:
            with anyio.fail_after(TRAY_TIMEOUT_S):
                async with Client(params) as client:
                    return client.instructions or ""

        return anyio.run(ask)

    def claude_env(self, api_url: str, *, wait_for_servers: bool = True) -> dict[str, str]:
        env = self.base_env()
        env.update(
            ANTHROPIC_BASE_URL=api_url,
            ANTHROPIC_API_KEY=DUMMY_KEY,
            DISABLE_AUTOUPDATER="1",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_TELEMETRY="1",
        )
        if wait_for_servers:
            env["CLAUDE_CODE_MCP_STARTUP_WAIT_MS"] = str(MCP_STARTUP_WAIT_MS)
        return env

    def run(
        self,
        prompt: str,
        api_url: str,
        *,
        allowed_tools: Sequence[str] = (),
        wait_for_servers: bool = True,
        extra_args: Sequence[str] = (),
        timeout: float = CLAUDE_TIMEOUT_S,
    ) -> ClaudeRun:
        """`claude -p PROMPT` in the project folder; its exit code says little (see DESIGN.md), the stand-in more."""
        argv = [str(self.claude), "-p", prompt, "--max-turns", str(MAX_TURNS), *extra_args]
        if allowed_tools:
            argv += ["--allowedTools", ",".join(allowed_tools)]
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            cwd=self.project,
            env=self.claude_env(api_url, wait_for_servers=wait_for_servers),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, so a timeout also ends the MCP servers it started
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            stdout, stderr = process.communicate(timeout=10)
            raise ClaudeTimeout(
                f"claude -p did not finish in {timeout:.0f} s\nstdout:\n{stdout}\nstderr:\n{stderr}"
            ) from None
        finally:
            _kill_group(process)  # anything it left behind in its group (an MCP server it did not stop)
            if process.poll() is None:
                process.wait(timeout=10)
        return ClaudeRun(process.returncode, stdout, stderr, time.monotonic() - started)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
