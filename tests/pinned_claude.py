"""The pinned Claude Code CLI the tests drive: $CLAUDE_BIN, else the one tests/setup/20-claude-cli.sh installs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ollama_mcp_tray.tray.clients.claude_cli import find_claude

LOCAL_CLAUDE = Path(__file__).resolve().parents[1] / ".tools" / "claude" / "node_modules" / ".bin" / "claude"


def pinned_claude() -> Path:
    """The CLI's path; a missing CLI fails the test in CI and skips it elsewhere."""
    found = find_claude({"CLAUDE_BIN": os.environ["CLAUDE_BIN"]}) if os.environ.get("CLAUDE_BIN") else None
    if found is None and LOCAL_CLAUDE.is_file():
        found = LOCAL_CLAUDE
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("The Claude Code CLI is not installed; run tests/setup/20-claude-cli.sh")
        pytest.skip("Claude Code CLI not installed (tests/setup/20-claude-cli.sh installs it)")
    return found
