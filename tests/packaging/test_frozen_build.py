"""The frozen Linux app (PyInstaller, one folder) serves MCP over stdio and runs the CLI.

Builds `dist/ollama-mcp-tray/` with `packaging/build_linux.py --if-stale` (about 30-40 s; reused while the
sources are unchanged), then drives the real binary as a subprocess against the Ollama emulator.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
import time
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


def test_frozen_kit_writes_hook_commands_that_run_the_frozen_binary(frozen_app: Path, tmp_path: Path) -> None:
    """A frozen install has no `python -m`: the hooks it writes are `<binary> _hook prompt|bash`, and they
    work when run as Claude Code runs a hook (through the shell, in a project folder, the event on stdin)."""
    from ollama_mcp_tray.server.hook_prompt import HINT

    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    with OllamaEmulator(default_models()) as emulator:
        env = user_env(home, emulator)
        done = subprocess.run(
            [str(frozen_app), "kit", "--hooks"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        hooks = json.loads((home / ".claude" / "settings.json").read_text(encoding="utf-8"))["hooks"]
        prompt = hooks["UserPromptSubmit"][0]["hooks"][0]["command"]
        bash = hooks["PostToolUse"][0]["hooks"][0]["command"]
        assert shlex.split(prompt) == [str(frozen_app), "_hook", "prompt"]
        assert shlex.split(bash) == [str(frozen_app), "_hook", "bash"]

        def hook(command: str, event: dict[str, object]) -> str:
            ran = subprocess.run(
                ["/bin/sh", "-c", command],
                input=json.dumps(event),
                cwd=home / "project",
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert ran.returncode == 0 and ran.stderr == "", ran.stderr
            return ran.stdout

        said = json.loads(hook(prompt, {"prompt": "Summarise the files in src/ for me"}))
        assert said["hookSpecificOutput"]["additionalContext"] == HINT
        assert hook(prompt, {"prompt": "What is a monad?"}) == ""
        short = {"tool_name": "Bash", "tool_input": {"command": "echo hi"}, "tool_response": {"stdout": "hi"}}
        assert hook(bash, short) == ""


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


def sun_valley_background() -> tuple[int, int, int]:
    """The light theme's window background, read from the sv_ttk the build bundles (`-bg "#fafafa"`)."""
    spec = importlib.util.find_spec("sv_ttk")
    assert spec is not None and spec.origin is not None
    light = (Path(spec.origin).parent / "theme" / "light.tcl").read_text(encoding="utf-8")
    found = re.search(r'-bg\s+"#([0-9a-fA-F]{6})"', light)
    assert found, "sv_ttk's light theme names no -bg colour"
    value = found.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def test_frozen_app_carries_tk_and_the_sun_valley_theme(frozen_app: Path) -> None:
    internal = frozen_app.parent / "_internal"
    assert (internal / "sv_ttk" / "sv.tcl").is_file()
    assert (internal / "sv_ttk" / "theme" / "spritesheet_light.png").is_file()
    assert any(internal.glob("_tcl_data/init.tcl")), "Tcl's script library is missing"
    assert any(internal.glob("_tk_data/ttk/ttk.tcl")), "Tk's script library (with ttk) is missing"


@pytest.mark.desktop
def test_frozen_app_opens_a_window_in_the_sun_valley_theme(
    frozen_app: Path, ollama: OllamaEmulator, tmp_path: Path
) -> None:
    """The usage window, opened as the tray opens it (`<binary> usage`), lays out its widgets and paints them
    in the bundled theme: its most common colour is the theme's background, where plain ttk paints white and
    grey (#d9d9d9). So Tk, ttk and sv_ttk's Tcl files and sprites all load inside the bundle."""
    if missing_tools():
        pytest.skip(f"desktop tools missing: {missing_tools()}")
    home = tmp_path / "home"
    home.mkdir()
    layout = tmp_path / "usage-layout.json"

    def widgets() -> dict[str, dict[str, int]]:
        try:
            return dict(json.loads(layout.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    env = {**user_env(home, ollama), "OLLAMA_MCP_TRAY_WINDOW_LAYOUT": str(layout)}
    with desktop_session(tmp_path / "desktop", notifications=False) as desk:
        proc = desk.spawn([str(frozen_app), "usage"], env=env, log_name="usage")
        log = tmp_path / "desktop" / "usage.log"

        def laid_out() -> dict[str, int] | None:
            if proc.poll() is not None:
                pytest.fail(f"the window exited ({proc.returncode}): {log.read_text(errors='replace')}")
            return widgets().get("table")

        wait_for(laid_out, 30, "the frozen app's usage window to lay out its table")
        time.sleep(0.5)  # the first paint after the layout
        shown = widgets().values()
        box = (
            min(w["x"] for w in shown),
            min(w["y"] for w in shown),
            max(w["x"] + w["width"] for w in shown),
            max(w["y"] + w["height"] for w in shown),
        )
        colours = desk.screenshot(box).convert("RGB").getcolors(maxcolors=1 << 20)
        assert proc.poll() is None, log.read_text(errors="replace")
    assert colours is not None
    assert max(colours)[1] == sun_valley_background(), sorted(colours, reverse=True)[:4]
