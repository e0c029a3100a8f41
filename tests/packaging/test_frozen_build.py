"""The frozen Linux app (PyInstaller, one folder) serves MCP over stdio and runs the CLI.

Builds `dist/ollama-mcp-tray/` with `packaging/build_linux.py --if-stale` (about 30-40 s; reused while the
sources are unchanged), then drives the real binary as a subprocess against the Ollama emulator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from tests import shadow_modules
from tests.desktop_session import desktop_session, missing_tools, wait_for
from tests.ollama_emulator import OllamaEmulator, default_models

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="builds the Linux app"),
]

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
BINARY = DIST / "ollama-mcp-tray" / "ollama-mcp-tray"


@pytest.fixture(scope="module")
def frozen_app() -> Path:
    """The built binary, rebuilt only when the sources changed since the last build."""
    pytest.importorskip("PyInstaller", reason="PyInstaller missing: run tests/setup/40-freeze.sh")
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build_linux.py"), "--if-stale", "--dist", str(DIST)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return BINARY


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def user_env(home: Path, ollama: OllamaEmulator) -> dict[str, str]:
    """A minimal environment, like the one Claude Code spawns servers with, inside a temporary HOME."""
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "OLLAMA_MCP_RESIDENT": "0",  # the suite runs direct servers (tests/conftest.py)
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "OLLAMA_URL": ollama.url,
    }


@pytest.mark.anyio
async def test_frozen_serve_completes_the_mcp_handshake_and_lists_the_tools(
    frozen_app: Path, ollama: OllamaEmulator, tmp_path: Path
) -> None:
    params = StdioServerParameters(command=str(frozen_app), args=["serve"], env=user_env(tmp_path, ollama))
    with anyio.fail_after(60):
        async with Client(params, raise_exceptions=True) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            listed = await client.call_tool("ollama_list_models", {})
    assert {"ollama_generate", "ollama_chat", "ollama_list_models"} <= tools
    assert not listed.is_error
    assert "qwen2.5-coder:3b" in json.dumps(listed.model_dump(mode="json"))


@pytest.mark.anyio
async def test_frozen_serve_runs_nothing_from_the_folder_it_starts_in(
    frozen_app: Path, ollama: OllamaEmulator, tmp_path: Path
) -> None:
    """Claude Code starts `[binary, "serve"]` in a project folder; the bundle's sys.path never holds it."""
    env = user_env(tmp_path, ollama)
    names = await anyio.to_thread.run_sync(shadow_modules.modules_imported_at_start, sys.executable, env, tmp_path)
    folder, markers = tmp_path / "repo", tmp_path / "markers"
    shadow_modules.plant(folder, markers, sorted(names | set(shadow_modules.ALWAYS)))
    params = StdioServerParameters(command=str(frozen_app), args=["serve"], env=env, cwd=folder)
    with anyio.fail_after(60):
        async with Client(params, raise_exceptions=True) as client:
            assert "ollama_generate" in {tool.name for tool in (await client.list_tools()).tools}
    assert shadow_modules.ran(markers) == []


def test_frozen_status_json_reports_the_emulated_ollama(
    frozen_app: Path, ollama: OllamaEmulator, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(frozen_app), "status", "--json"],
        env=user_env(tmp_path, ollama),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ollama"]["up"] is True
    assert report["ollama"]["url"].rstrip("/") == ollama.url.rstrip("/")


def test_frozen_serve_version_answers_without_a_display(frozen_app: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(frozen_app), "serve", "--version"],
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ollama-mcp-server ")


def test_frozen_app_carries_the_status_icons(frozen_app: Path) -> None:
    icons = frozen_app.parent / "_internal" / "ollama_mcp_tray" / "assets" / "icons"
    assert (icons / "status-up-24.png").is_file()
    assert (icons / "app-256.png").is_file()


def test_frozen_enable_registers_the_binary_itself_with_serve(frozen_app: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".claude.json").write_text('{"numStartups": 3}\n', encoding="utf-8")
    with OllamaEmulator(default_models()) as emulator:
        done = subprocess.run(
            [str(frozen_app), "enable"],
            env=user_env(home, emulator),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    entry = json.loads((home / ".claude.json").read_text(encoding="utf-8"))["mcpServers"]["ollama"]
    assert entry["command"] == str(frozen_app)
    assert entry["args"] == ["serve"]


@pytest.mark.desktop
def test_frozen_tray_docks_and_opens_its_menu(frozen_app: Path, ollama: OllamaEmulator, tmp_path: Path) -> None:
    if missing_tools():
        pytest.skip(f"desktop tools missing: {missing_tools()}")
    home = tmp_path / "home"
    home.mkdir()
    with desktop_session(tmp_path / "desktop") as desk:
        proc = desk.spawn([str(frozen_app)], env={"HOME": str(home), "OLLAMA_URL": ollama.url}, log_name="tray")
        icon = desk.wait_for_docked_icon(timeout=20)
        desk.click(icon.center, button=3)
        wait_for(lambda: len(desk.popup_windows()) == 1, 5, "the frozen tray's menu to open")
        assert proc.poll() is None, (tmp_path / "desktop" / "tray.log").read_text(errors="replace")
