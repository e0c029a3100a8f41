"""The registered command runs nothing from the folder Claude Code starts it in (issue 8, item 1).

A folder holding a module file for every module the server imports at start (each leaves a marker) is the
working folder of the exact command a registration holds, run over real stdio with the SDK's client: no marker
may appear, and the server must serve. The old command (`python -m`) is run too, to show the check bites.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from ollama_mcp_tray.tray import registration
from ollama_mcp_tray.tray.registration import SERVER_MODULE, Scope, ServerLaunch, build_entry, is_ours
from tests import shadow_modules
from tests.ollama_emulator import OllamaEmulator, default_models

OLD_LAUNCH = ServerLaunch(os.path.abspath(sys.executable), ("-m", SERVER_MODULE))
SCRIPT = Path(sys.executable).parent / "ollama-mcp-server"


def server_env(home: Path, url: str) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "OLLAMA_URL": url,
        "OLLAMA_DEFAULT_MODEL": "qwen2.5-coder:3b",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }


@pytest.fixture(scope="module")
def start_modules(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every top-level module a real start of the server imports, plus those the issue names."""
    home = tmp_path_factory.mktemp("clean-home")
    with OllamaEmulator(default_models()) as emulator:
        names = shadow_modules.modules_imported_at_start(sys.executable, server_env(home, emulator.url), home)
    return names | set(shadow_modules.ALWAYS)


@pytest.fixture
def hostile(tmp_path: Path, ollama: OllamaEmulator, start_modules: set[str]) -> tuple[Path, Path, dict[str, str]]:
    """(the hostile folder, its markers folder, the server's environment)."""
    folder, markers = tmp_path / "repo", tmp_path / "markers"
    shadow_modules.plant(folder, markers, sorted(start_modules))
    return folder, markers, server_env(tmp_path / "home", ollama.url)


async def serve_once(launch: ServerLaunch, cwd: Path, env: dict[str, str]) -> None:
    """What Claude Code does with the registration: start it in `cwd`, list the tools, make a call."""
    params = StdioServerParameters(command=launch.command, args=list(launch.args), env=env, cwd=cwd)
    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert "ollama_generate" in tools
            answer = await client.call_tool("ollama_generate", {"prompt": "hi"})
            assert not answer.is_error


def test_this_installation_registers_python_in_isolated_mode() -> None:
    launch = ServerLaunch.current()
    assert launch == ServerLaunch(os.path.abspath(sys.executable), ("-I", "-m", SERVER_MODULE))
    entry = build_entry(launch, {}, Scope.USER)
    assert is_ours(entry, launch)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "launch",
    [ServerLaunch.current(), ServerLaunch(str(SCRIPT), ())],
    ids=["registered", "console-script"],
)
async def test_the_registered_command_imports_nothing_from_its_working_folder(hostile, launch) -> None:
    folder, markers, env = hostile
    await serve_once(launch, folder, env)
    assert shadow_modules.ran(markers) == []


@pytest.mark.anyio
async def test_the_old_command_ran_the_folders_modules_so_the_check_above_bites(hostile) -> None:
    folder, markers, env = hostile
    await serve_once(OLD_LAUNCH, folder, env)
    hijacked = shadow_modules.ran(markers)
    assert {"ollama_mcp_tray", "anyio", "json", "mcp"} <= set(hijacked), hijacked


def test_a_frozen_app_registers_its_binary_with_no_interpreter_flags(monkeypatch) -> None:
    """The PyInstaller bootloader sets sys.path to the bundle alone, so `[binary, "serve"]` never reads the
    working folder (tests/packaging/test_frozen_build.py runs the real binary in a hostile folder)."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/Ollama MCP Tray/ollama-mcp-tray")
    assert ServerLaunch.current() == ServerLaunch("/opt/Ollama MCP Tray/ollama-mcp-tray", ("serve",))


def test_where_isolated_mode_cannot_import_us_the_console_script_is_registered(monkeypatch, tmp_path) -> None:
    """A `pip install --user` lives in the user site-packages, which -I leaves out."""
    monkeypatch.setattr(registration, "_isolated_mode_imports_us", lambda python: False)
    assert ServerLaunch.current() == ServerLaunch(str(SCRIPT), ())
