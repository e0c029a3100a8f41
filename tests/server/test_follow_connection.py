"""A running server follows a switch of Ollama server made in the files (the tray's Server menu), over real stdio.

Claude Code keeps one server process for a whole session: the address and the key it talks to come from the
settings file and the key file, so a switch must reach the next tool call without a restart. The environment
still wins where it sets a value.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.tray import servers
from ollama_mcp_tray.tray.app_settings import save_settings
from tests.ollama_emulator import OllamaEmulator

pytestmark = pytest.mark.anyio


def home_paths(home: Path) -> AppPaths:
    return AppPaths(home / "config" / "ollama-mcp-tray", home / "data" / "ollama-mcp-tray", home / "state" / "logs")


def params(home: Path, **extra: str) -> StdioServerParameters:
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        **extra,
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "ollama_mcp_tray.server"], env=env)


def generations(emulator: OllamaEmulator) -> list[str | None]:
    """The key header of every generation the emulator served."""
    return [r.header("x-ollama-key") for r in emulator.requests if r.path == "/api/generate"]


async def test_a_switch_of_server_reaches_the_next_tool_call_of_a_running_session(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = home_paths(home)
    with OllamaEmulator() as local, OllamaEmulator() as gpu:
        gpu.faults.update(require_key="gpu-key")
        save_settings(paths.settings_file, {"ollama_url": local.url})
        servers.add_server(paths, "GPU box", gpu.url, key="gpu-key")
        with anyio.fail_after(60):
            async with Client(params(home)) as client:
                first = await client.call_tool("ollama_generate", {"model": "llama3.2", "prompt": "one"})
                servers.activate(paths, "gpu-box")
                second = await client.call_tool("ollama_generate", {"model": "llama3.2", "prompt": "two"})
                listed = await client.call_tool("ollama_list_models", {})
                servers.activate(paths, "this-machine")
                third = await client.call_tool("ollama_generate", {"model": "llama3.2", "prompt": "three"})
    assert not first.is_error and not second.is_error and not third.is_error, (first, second, third)
    assert generations(local) == [None, None]
    assert generations(gpu) == ["gpu-key"]
    assert listed.structured_content["ollama_url"] == gpu.url


async def test_a_wrong_key_after_the_switch_is_the_proxys_refusal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = home_paths(home)
    with OllamaEmulator() as local, OllamaEmulator() as gpu:
        gpu.faults.update(require_key="gpu-key")
        save_settings(paths.settings_file, {"ollama_url": local.url})
        servers.add_server(paths, "GPU box", gpu.url, key="not-the-key")
        with anyio.fail_after(60):
            async with Client(params(home)) as client:
                await client.call_tool("ollama_ps", {})
                servers.activate(paths, "gpu-box")
                refused = await client.call_tool("ollama_ps", {})
    assert refused.is_error
    assert "403" in refused.content[0].text or "refused" in refused.content[0].text.lower()


async def test_an_address_from_the_environment_stays_whatever_the_files_say(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = home_paths(home)
    with OllamaEmulator() as local, OllamaEmulator() as gpu:
        save_settings(paths.settings_file, {"ollama_url": gpu.url})
        servers.add_server(paths, "Other", "http://127.0.0.1:9")
        with anyio.fail_after(60):
            async with Client(params(home, OLLAMA_URL=local.url)) as client:
                servers.activate(paths, "other")
                result = await client.call_tool("ollama_generate", {"model": "llama3.2", "prompt": "env"})
    assert not result.is_error
    assert generations(local) == [None] and generations(gpu) == []
