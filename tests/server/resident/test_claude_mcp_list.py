"""The real Claude Code CLI sees our server Connected through the relay, with no resident yet (the relay
serves in-process and starts one) and with a resident running (the session is the resident's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.pinned_claude import pinned_claude
from tests.server.resident.kit import ResidentKit

pytestmark = pytest.mark.claude


@pytest.fixture
def claude_bin() -> Path:
    return pinned_claude()


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=env["HOME"], env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def test_claude_mcp_list_shows_connected_through_the_relay_without_and_with_a_resident(
    kit: ResidentKit, claude_bin: Path
):
    env = {**kit.env, "CLAUDE_BIN": str(claude_bin), "LANG": "C.UTF-8"}
    enabled = run([sys.executable, "-m", "ollama_mcp_tray.tray", "enable"], env)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr

    cold = run([str(claude_bin), "mcp", "list"], env)
    assert "ollama: " in cold.stdout and "✔ Connected" in cold.stdout, cold.stdout + cold.stderr
    resident = kit.wait_status(timeout=60)  # the relay started one for the next sessions
    before = kit.log_text().count("Resident: session for relay pid")

    warm = run([str(claude_bin), "mcp", "list"], env)
    assert "ollama: " in warm.stdout and "✔ Connected" in warm.stdout, warm.stdout + warm.stderr
    assert kit.log_text().count("Resident: session for relay pid") > before, "the resident served the session"
    assert kit.wait_status(pid=resident.pid).sessions == 0
