"""'Test connection' starts the registered server in a child process, shakes hands and lists the models."""

from __future__ import annotations

import sys

from ollama_mcp_tray.tray.gui.connection_test import run_connection_test
from tests.ollama_emulator import OllamaEmulator


def test_a_working_setup_reports_the_tools_and_models(ollama: OllamaEmulator) -> None:
    result = run_connection_test(sys.executable, ["-m", "ollama_mcp_tray.server"], {"OLLAMA_URL": ollama.url})
    assert result.ok, result.message
    assert set(result.models) == set(ollama.model_names())
    assert any(name.endswith("list_models") for name in result.tools)
    assert "Claude Code can use Ollama" in result.message


def test_a_down_ollama_is_reported_with_the_servers_advice(ollama: OllamaEmulator) -> None:
    url = ollama.url
    ollama.stop()
    result = run_connection_test(sys.executable, ["-m", "ollama_mcp_tray.server"], {"OLLAMA_URL": url})
    assert not result.ok
    assert "Cannot reach Ollama" in result.message


def test_a_command_that_does_not_exist_is_reported_not_raised(tmp_path) -> None:
    result = run_connection_test(str(tmp_path / "missing"), [], {}, timeout=10)
    assert not result.ok
    assert "could not be started" in result.message


def test_project_scope_defaults_are_expanded_like_claude_code_does(ollama: OllamaEmulator) -> None:
    env = {"OLLAMA_URL": "${OLLAMA_MCP_TEST_UNSET_VAR:-" + ollama.url + "}"}
    assert run_connection_test(sys.executable, ["-m", "ollama_mcp_tray.server"], env).ok
