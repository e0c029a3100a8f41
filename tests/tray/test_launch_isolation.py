"""The registered command runs nothing from the folder Claude Code starts it in (issue 8, item 1).

A folder holding a module file for every module the server imports at start (each leaves a marker) is the
working folder of the exact command a registration holds, run over real stdio with the SDK's client: no marker
may appear, and the server must serve. The old command (`python -m`) is run too, to show the check bites.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from ollama_mcp_tray.tray import launch
from ollama_mcp_tray.tray.clients.registrar import Scope, build_entry, is_ours
from ollama_mcp_tray.tray.launch import SERVER_MODULE, ServerLaunch
from tests import shadow_modules
from tests.ollama_emulator import OllamaEmulator, default_models

OLD_LAUNCH = ServerLaunch(os.path.abspath(sys.executable), ("-m", SERVER_MODULE))
SCRIPT = Path(sys.executable).parent / "ollama-mcp-server"


def server_env(home: Path, url: str) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "OLLAMA_MCP_RESIDENT": "0",  # the suite runs direct servers (tests/conftest.py)
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
    monkeypatch.setattr(launch, "_isolated_mode_imports_us", lambda python: False)
    assert ServerLaunch.current() == ServerLaunch(str(SCRIPT), ())


BASE_PYTHON = getattr(sys, "_base_executable", "") or ""
REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = """#!{python}
import sys
from ollama_mcp_tray.server.__main__ import main
if __name__ == "__main__":
    sys.exit(main())
"""


def user_install(home: Path) -> Path:
    """What `pip install --user` leaves in HOME: the package in the user site-packages, the console script in
    ~/.local/bin (built from this checkout; the dependencies come from our venv through a .pth file)."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    found = subprocess.run(
        [BASE_PYTHON, "-s", "-c", "import site, sys; sys.stdout.write(site.getusersitepackages())"],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    user_site = Path(found)
    for part in ("server", "tray", "assets"):
        shutil.copytree(REPO / part, user_site / "ollama_mcp_tray" / part, ignore=shutil.ignore_patterns("__pycache__"))
    (user_site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    script = home / ".local" / "bin" / "ollama-mcp-server"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(CONSOLE_SCRIPT.format(python=BASE_PYTHON), encoding="utf-8")
    script.chmod(0o755)
    return script


@pytest.mark.skipif(
    not BASE_PYTHON or sys.executable == BASE_PYTHON or os.name != "posix", reason="needs a venv over a base Python"
)
def test_a_pip_user_install_registers_its_console_script_which_also_ignores_the_folder(hostile) -> None:
    folder, markers, env = hostile
    home = Path(env["HOME"])
    home.mkdir(parents=True, exist_ok=True)
    script = user_install(home)
    clean = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    ask = "import json, sys\nfrom ollama_mcp_tray.tray.clients.registrar import ServerLaunch as L\n"
    ask += "launch = L.current()\nsys.stdout.write(json.dumps([launch.command, *launch.args]))"
    chosen = subprocess.run(
        [BASE_PYTHON, "-c", ask], env=clean, cwd=home, capture_output=True, text=True, timeout=60, check=False
    )
    assert chosen.returncode == 0, chosen.stderr
    assert json.loads(chosen.stdout) == [str(script)]
    # The reason: isolated mode leaves the user site-packages out, so `-I -m` could not start this install.
    isolated = subprocess.run(
        [BASE_PYTHON, "-I", "-m", SERVER_MODULE, "--version"], env=clean, capture_output=True, text=True, timeout=60
    )
    assert isolated.returncode != 0
    anyio.run(serve_once, ServerLaunch(str(script), ()), folder, env)
    assert shadow_modules.ran(markers) == []
