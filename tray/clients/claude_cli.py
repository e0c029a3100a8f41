"""The real `claude` CLI, asked as the ground truth: does it see our server, and does the server connect?

`claude mcp get NAME` works offline and without login; it starts the server and prints, among other lines,
`  Status: ✔ Connected` (or `✘ Failed to connect`, or `⏸ Pending approval ...` for an unapproved project
server). For a name it does not know it prints `No MCP server named ...` to stderr and exits 1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def find_claude(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path | None:
    """The `claude` executable: $CLAUDE_BIN, then PATH, then the places its installers use."""
    env = os.environ if env is None else env
    explicit = env.get("CLAUDE_BIN", "").strip()
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    found = shutil.which("claude", path=env.get("PATH"))
    if found:
        return Path(found)
    home = home or Path.home()
    for candidate in (home / ".claude" / "local" / "claude", home / ".local" / "bin" / "claude"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass(frozen=True)
class McpGetResult:
    """What `claude mcp get` said about one server."""

    found: bool
    status: str | None  # e.g. "Connected", "Failed to connect", "Pending approval (run `claude` to approve)"
    output: str

    @property
    def connected(self) -> bool:
        return self.status == "Connected"


def parse_mcp_get(returncode: int, stdout: str, stderr: str) -> McpGetResult:
    """Read the output of `claude mcp get NAME`."""
    status = None
    for line in stdout.splitlines():
        head, sep, rest = line.strip().partition(":")
        if sep and head == "Status":
            # Drop the leading symbol (✔, ✘, ⏸ ...) Claude Code prints before the words.
            words = rest.strip()
            status = words.split(" ", 1)[1] if words and not words[0].isalnum() and " " in words else words
            break
    return McpGetResult(found=returncode == 0 and status is not None, status=status, output=(stdout + stderr).strip())


def mcp_get(
    claude: Path, name: str, *, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> McpGetResult:
    """Run `claude mcp get NAME` in `cwd` (local and project scopes depend on it).

    Raises:
        subprocess.TimeoutExpired: it did not answer within `timeout` seconds.
        OSError: it could not be started.
    """
    done = _run(claude, ["mcp", "get", name], cwd, env, timeout)
    return parse_mcp_get(done.returncode, done.stdout, done.stderr)


def _run(
    claude: Path, args: list[str], cwd: Path | None, env: Mapping[str, str] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(claude), *args],
        cwd=cwd,
        env=dict(os.environ if env is None else env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The version `claude --version` prints ('2.1.330 (Claude Code)'), as numbers; None if unreadable.

    >>> parse_version("2.1.121 (Claude Code)")
    (2, 1, 121)
    >>> parse_version("not a version") is None
    True
    """
    match = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def claude_version(
    claude: Path, *, env: Mapping[str, str] | None = None, timeout: float = 20.0
) -> tuple[int, int, int] | None:
    """The installed CLI's version (`claude --version`, offline), or None when it does not answer with one."""
    try:
        done = _run(claude, ["--version"], None, env, timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version(done.stdout) if done.returncode == 0 else None
