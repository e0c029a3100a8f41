"""'Test connection' starts the registered server in a child process, shakes hands and lists the models."""

from __future__ import annotations

import sys
from pathlib import Path

from ollama_mcp_tray.tray.gui.connection_test import run_connection_test
from tests.home_guard import private_environment
from tests.ollama_emulator import OllamaEmulator


def test_a_working_setup_reports_the_tools_and_models(ollama: OllamaEmulator, tmp_path: Path) -> None:
    # The server writes usage records, the model cache and its log: into this test's HOME, named explicitly.
    env = {"OLLAMA_URL": ollama.url, **private_environment(tmp_path)}
    result = run_connection_test(sys.executable, ["-m", "ollama_mcp_tray.server"], env)
    assert result.ok, result.message
    assert set(result.models) == set(ollama.model_names())
    assert any(name.endswith("list_models") for name in result.tools)
    assert "Claude Code can use Ollama" in result.message
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"usage.jsonl", "models.json", "server.log"} <= written


def test_a_down_ollama_is_reported_with_the_servers_advice(ollama: OllamaEmulator, tmp_path: Path) -> None:
    url = ollama.url
    ollama.stop()
    env = {"OLLAMA_URL": url, **private_environment(tmp_path)}
    result = run_connection_test(sys.executable, ["-m", "ollama_mcp_tray.server"], env)
    assert not result.ok
    assert "Cannot reach Ollama" in result.message


def test_a_command_that_does_not_exist_is_reported_not_raised(tmp_path) -> None:
    result = run_connection_test(str(tmp_path / "missing"), [], {}, timeout=10)
    assert not result.ok
    assert "could not be started" in result.message


def test_project_scope_defaults_are_expanded_like_claude_code_does(ollama: OllamaEmulator, tmp_path: Path) -> None:
    env = {"OLLAMA_URL": "${OLLAMA_MCP_TEST_UNSET_VAR:-" + ollama.url + "}", **private_environment(tmp_path)}
    assert run_connection_test(sys.executable, ["-m", "ollama_mcp_tray.server"], env).ok
