"""The real clients' own CLIs see our server: hand-written entries in each client's documented format.

Each test writes our server's entry (this venv's python, `-I -m ollama_mcp_tray.server`, OLLAMA_URL at the Ollama
emulator) into one client's user file under a temporary HOME, next to content of the user's own and a second
entry that cannot work, runs the client's pinned CLI offline, and checks what it lists: ours Connected (Codex:
enabled, it starts no server to list), the broken one not, and the server's log shows it ran with the URL from
the entry. The facts behind each format and listing are in CLIENT_FACTS.md beside this file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.ollama_emulator import OllamaEmulator
from tests.tray.clients.client_clis import (
    CLAUDE,
    CODEX,
    GEMINI,
    OPENCODE,
    QWEN,
    ClientCli,
    ClientHome,
    Status,
)

pytestmark = pytest.mark.clients

SERVER_ARGS = ["-I", "-m", "ollama_mcp_tray.server"]
# A server that exits before answering: a client that lists it Connected is not really connecting.
BROKEN_ARGS = ["-I", "-c", "raise SystemExit(3)"]


def require(cli: ClientCli) -> None:
    """Skip (with the reason) when the CLI is not installed here; in CI a missing CLI is a failure."""
    if cli.installed():
        return
    message = f"{cli.name} CLI not installed at {cli.executable} (tests/setup/{cli.setup_script} installs it)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def home(tmp_path: Path) -> ClientHome:
    return ClientHome.create(tmp_path)


def server_log(home: ClientHome) -> str:
    log = home.root / ".local" / "state" / "ollama-mcp-tray" / "log" / "server.log"
    return log.read_text(encoding="utf-8") if log.exists() else ""


def assert_ran_with(home: ClientHome, ollama: OllamaEmulator) -> None:
    """The server started by the client logged the URL it was given in the entry's environment."""
    assert f"for {ollama.url}" in server_log(home), server_log(home)


def gemini_style_settings(ollama: OllamaEmulator) -> str:
    """Gemini CLI's and Qwen Code's `settings.json`: JSON with comments, `mcpServers` like Claude Code's."""
    return f"""{{
  // the user's own settings, kept as they wrote them
  "ui": {{"theme": "GitHub"}},
  "mcpServers": {{
    "ollama": {{
      "command": {json.dumps(sys.executable)},
      "args": {json.dumps(SERVER_ARGS)},
      "env": {{"OLLAMA_URL": "{ollama.url}"}}
    }},
    "broken": {{"command": {json.dumps(sys.executable)}, "args": {json.dumps(BROKEN_ARGS)}}}
  }}
}}
"""


def test_gemini_lists_our_server_connected_in_a_trusted_folder(home: ClientHome, ollama: OllamaEmulator) -> None:
    require(GEMINI)
    home.gemini_settings.write_text(gemini_style_settings(ollama), encoding="utf-8")

    ours = home.wait_listed(GEMINI, "ollama", Status.CONNECTED)
    assert ours is not None and ours.status is Status.CONNECTED, ours
    assert f"{sys.executable} -I -m ollama_mcp_tray.server (stdio)" in ours.line
    listed = home.list_servers(GEMINI)
    assert listed["broken"].status is Status.FAILED, listed["broken"]
    assert_ran_with(home, ollama)


def test_gemini_starts_no_server_in_an_untrusted_folder(home: ClientHome, ollama: OllamaEmulator) -> None:
    require(GEMINI)
    home.gemini_settings.write_text(gemini_style_settings(ollama), encoding="utf-8")
    untrusted = home.root / "elsewhere"
    untrusted.mkdir()

    listed = home.list_servers(GEMINI, cwd=untrusted)

    assert listed["ollama"].status is Status.DISABLED, listed["ollama"]
    assert server_log(home) == ""


def test_qwen_lists_our_server_connected(home: ClientHome, ollama: OllamaEmulator) -> None:
    require(QWEN)
    home.qwen_settings.parent.mkdir(parents=True)
    home.qwen_settings.write_text(gemini_style_settings(ollama), encoding="utf-8")

    listed = home.list_servers(QWEN)

    assert listed["ollama"].status is Status.CONNECTED, listed["ollama"]
    assert f"{sys.executable} -I -m ollama_mcp_tray.server (stdio)" in listed["ollama"].line
    assert listed["broken"].status is Status.FAILED, listed["broken"]
    assert_ran_with(home, ollama)


def test_opencode_lists_our_server_connected(home: ClientHome, ollama: OllamaEmulator) -> None:
    require(OPENCODE)
    home.opencode_config.parent.mkdir(parents=True)
    # opencode's own format: `mcp`, type "local", the command as one array, `environment`; JSONC with a
    # trailing comma.
    home.opencode_config.write_text(
        f"""{{
  "$schema": "https://opencode.ai/config.json",
  // the user's own settings
  "autoupdate": false,
  "mcp": {{
    "ollama": {{
      "type": "local",
      "command": {json.dumps([sys.executable, *SERVER_ARGS])},
      "environment": {{"OLLAMA_URL": "{ollama.url}"}},
      "enabled": true,
    }},
    "broken": {{"type": "local", "command": {json.dumps([sys.executable, *BROKEN_ARGS])}}},
  }},
}}
""",
        encoding="utf-8",
    )

    listed = home.list_servers(OPENCODE)

    assert listed["ollama"].status is Status.CONNECTED, listed["ollama"]
    assert listed["broken"].status is Status.FAILED, listed["broken"]
    assert_ran_with(home, ollama)


def test_codex_lists_our_server_enabled(home: ClientHome, ollama: OllamaEmulator) -> None:
    require(CODEX)
    home.codex_config.parent.mkdir(parents=True)
    home.codex_config.write_text(
        f"""# the user's own settings
model = "o3"

[mcp_servers.ollama]
command = {json.dumps(sys.executable)}
args = {json.dumps(SERVER_ARGS)}
env = {{ OLLAMA_URL = "{ollama.url}" }}

[mcp_servers.off]
command = "false"
enabled = false
""",
        encoding="utf-8",
    )

    listed = home.list_servers(CODEX)

    assert listed["ollama"].status is Status.ENABLED, listed["ollama"]
    entry = json.loads(listed["ollama"].line)
    assert entry["transport"] == {
        "type": "stdio",
        "command": sys.executable,
        "args": SERVER_ARGS,
        "env": {"OLLAMA_URL": ollama.url},
        "env_vars": [],
        "cwd": None,
    }
    assert listed["off"].status is Status.DISABLED
    assert server_log(home) == ""  # listing starts nothing


def test_claude_lists_our_server_connected(home: ClientHome, ollama: OllamaEmulator) -> None:
    require(CLAUDE)
    entry = {"type": "stdio", "command": sys.executable, "args": SERVER_ARGS, "env": {"OLLAMA_URL": ollama.url}}
    broken = {"type": "stdio", "command": sys.executable, "args": BROKEN_ARGS, "env": {}}
    home.claude_json.write_text(json.dumps({"mcpServers": {"ollama": entry, "broken": broken}}, indent=2))

    listed = home.list_servers(CLAUDE)

    assert listed["ollama"].status is Status.CONNECTED, listed["ollama"]
    assert listed["broken"].status is Status.FAILED, listed["broken"]
    assert_ran_with(home, ollama)
