"""The app's windows on a real (virtual) desktop: opened from the real tray menu or the CLI, filled in with real
key presses and clicks (xdotool through the X server), their effect checked in the files and in the emulator.

Where to click comes from the window itself: with OLLAMA_MCP_TRAY_WINDOW_LAYOUT set, a window writes its
named widgets' screen rectangles and texts to that file (`toolkit.Layout`). The pointer and keyboard are real.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ollama_mcp_tray.server.errors import OllamaAuthError
from ollama_mcp_tray.server.ollama_client import OllamaSnapshot
from ollama_mcp_tray.server.usage import UsageRecord, append_usage
from ollama_mcp_tray.tray.gui import menu_model as mm
from ollama_mcp_tray.tray.gui.state import TrayState
from tests.desktop_session import DesktopSession, desktop_session, missing_tools, wait_for
from tests.ollama_emulator import OllamaEmulator

pytestmark = pytest.mark.desktop


@pytest.fixture(autouse=True)
def _desktop_tools() -> None:
    missing = missing_tools()
    try:
        import tkinter  # noqa: F401
    except ImportError:
        missing.append("python3-tk")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"desktop tools missing in CI (tests/setup/30-desktop.sh installs them): {missing}")
        pytest.skip(f"desktop tools missing: {missing}")


@dataclass
class Window:
    desk: DesktopSession
    layout_file: Path

    def layout(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.layout_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def widget(self, name: str, timeout: float = 10) -> dict[str, Any]:
        return dict(wait_for(lambda: self.layout().get(name), timeout, f"the widget {name!r} to show"))

    def text(self, name: str) -> str:
        return str(self.layout().get(name, {}).get("text", ""))

    def wait_text(self, name: str, check: Callable[[str], bool], timeout: float = 10) -> str:
        return str(wait_for(lambda: (lambda t: t if check(t) else None)(self.text(name)), timeout, f"{name} text"))

    def click_at(self, x: int, y: int) -> None:
        # Not `mousemove --sync`: it waits forever when the pointer is already there (no motion happens).
        self.desk.xdotool("mousemove", str(x), str(y))
        time.sleep(0.05)
        self.desk.xdotool("click", "1")

    def click(self, name: str) -> None:
        w = self.widget(name)
        self.click_at(w["x"] + min(w["width"] // 2, 40), w["y"] + w["height"] // 2)

    def click_row(self, tree: str, row: str) -> None:
        box = wait_for(lambda: self.layout().get(tree, {}).get("rows", {}).get(row), 10, f"row {row}")
        self.click_at(box[0] + 20, box[1] + box[3] // 2)

    def type_into(self, name: str, text: str, *, clear: bool = True) -> None:
        self.click(name)
        if clear:
            self.desk.xdotool("key", "End")
            for _ in range(60):
                self.desk.xdotool("key", "BackSpace")
        self.desk.xdotool("type", "--delay", "15", text)

    def key(self, *keys: str) -> None:
        self.desk.xdotool("key", *keys)


def write_settings(home: Path, settings: dict[str, Any]) -> Path:
    path = home / ".config" / "ollama-mcp-tray" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def home_env(home: Path, layout: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "OLLAMA_MCP_TRAY_WINDOW_LAYOUT": str(layout),
        "PYSTRAY_BACKEND": "gtk",
    }


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[DesktopSession]:
    with desktop_session(tmp_path / "desktop") as session:
        yield session


def open_window(desk: DesktopSession, home: Path, name: str) -> Window:
    layout = home / f"{name}-layout.json"
    desk.spawn([sys.executable, "-m", "ollama_mcp_tray.tray", name], env=home_env(home, layout), log_name=name)
    return Window(desk, layout)


def test_settings_opened_from_the_tray_menu_shows_a_refused_key_and_saves_what_is_typed(
    desk: DesktopSession, tmp_path: Path, ollama: OllamaEmulator
) -> None:
    ollama.faults.update(require_key="right-key")
    home = tmp_path / "home"
    home.mkdir()
    settings_file = write_settings(home, {"ollama_url": ollama.url})
    layout = home / "settings-layout.json"
    tray = desk.spawn(
        [sys.executable, "-m", "ollama_mcp_tray.tray.gui.app"], env=home_env(home, layout), log_name="tray"
    )
    icon = desk.wait_for_docked_icon(timeout=15)
    # The same shape of menu the tray shows with the key refused: found by the pure builder the app uses.
    shape = TrayState(ollama.url, OllamaSnapshot(ollama.url, None, error=OllamaAuthError("refused", 401)))
    (top,) = mm.selectable_path(mm.build_menu(shape, mm.dt.datetime.now(mm.dt.timezone.utc)), "Settings…")
    time.sleep(1.5)  # the first poll lands, so the menu has the key-refused shape
    desk.click(icon.center, button=3)
    wait_for(lambda: len(desk.popup_windows()) == 1, 5, "the menu to open")
    for _ in range(top + 1):
        desk.xdotool("key", "Down")
    desk.xdotool("key", "Return")

    window = Window(desk, layout)
    window.wait_text("url_status", lambda t: "wants a key" in t, 15)
    window.type_into("field:key", "wrong-key", clear=False)
    refused = window.wait_text("key_status", lambda t: "refused" in t, 15)
    assert "403" in refused or "refused" in refused
    window.type_into("field:key", "right-key")
    window.wait_text("key_status", lambda t: "accepted" in t, 15)

    window.key("ctrl+Tab")  # to the Claude Code tab, then Timeouts
    window.widget("tab:Claude Code")
    window.key("ctrl+Tab")
    window.type_into("field:poll_interval", "soon")
    window.wait_text("error:poll_interval", lambda t: t.startswith("✗"), 5)
    window.click("save")
    window.wait_text("status", lambda t: t.startswith("Not saved"), 5)
    assert json.loads(settings_file.read_text(encoding="utf-8")) == {"ollama_url": ollama.url}

    window.type_into("field:poll_interval", "7")
    window.click("save")
    window.wait_text("status", lambda t: t.startswith("Saved"), 5)
    saved = json.loads(settings_file.read_text(encoding="utf-8"))
    assert saved["poll_interval"] == 7 and saved["ollama_url"] == ollama.url
    key_file = settings_file.parent / "ollama.key"
    assert key_file.read_text(encoding="utf-8").strip() == "right-key"
    assert key_file.stat().st_mode & 0o077 == 0
    assert tray.poll() is None


def test_models_window_pulls_with_progress_keeps_loaded_unloads_and_deletes_after_confirming(
    desk: DesktopSession, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with OllamaEmulator(pull_delay=0.05) as ollama:
        write_settings(home, {"ollama_url": ollama.url})
        window = open_window(desk, home, "models")
        wait_for(lambda: "qwen3:4b" in window.layout().get("installed", {}).get("rows", {}), 15, "the model list")

        window.type_into("pull_name", "smollm2:135m", clear=False)
        window.click("pull")
        progress = window.wait_text("pull_line", lambda t: " of " in t and "/s" in t, 15)
        assert "MB" in progress
        window.wait_text("pull_line", lambda t: "is installed" in t, 30)
        assert "smollm2:135m" in ollama.model_names()
        wait_for(lambda: "smollm2:135m" in window.layout()["installed"]["rows"], 10, "the pulled model listed")

        window.click_row("installed", "qwen3:4b")
        window.click("keep")
        window.wait_text("status", lambda t: "stays in memory" in t, 15)
        assert ollama.loaded_names() == ["qwen3:4b"]
        window.click_row("loaded", "qwen3:4b")
        window.click("unload")
        window.wait_text("status", lambda t: "unloaded" in t, 15)
        assert ollama.loaded_names() == []

        window.click_row("installed", "nomic-embed-text:latest")
        window.click("delete")
        window.click("confirm_delete")
        window.wait_text("status", lambda t: "deleted" in t, 15)
        assert "nomic-embed-text:latest" not in ollama.model_names()
        wait_for(lambda: "nomic-embed-text:latest" not in window.layout()["installed"]["rows"], 10, "the row to go")


def test_welcome_takes_a_new_user_from_no_model_to_claude_code_enabled(desk: DesktopSession, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".claude.json").write_text(json.dumps({"numStartups": 3}), encoding="utf-8")
    with OllamaEmulator([], pull_delay=0.02) as ollama:
        settings_file = write_settings(home, {"ollama_url": ollama.url})
        window = open_window(desk, home, "welcome")
        window.wait_text("ollama_line", lambda t: t.startswith("✓"), 15)
        window.click("next")
        window.click("choice:smollm2:135m")
        window.click("download")
        window.wait_text("pull_line", lambda t: "is installed" in t, 30)
        window.click("next")
        window.widget("finish_line")
        window.click("next")  # Finish
        window.widget("done", 15)
        assert json.loads(settings_file.read_text(encoding="utf-8"))["default_model"] == "smollm2:135m"
        data = json.loads((home / ".claude.json").read_text(encoding="utf-8"))
        assert data["numStartups"] == 3
        assert Path(data["mcpServers"]["ollama"]["command"]).is_absolute()
        assert "smollm2:135m" in ollama.model_names()


def test_usage_window_totals_the_last_seven_days(desk: DesktopSession, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    usage = home / ".local" / "share" / "ollama-mcp-tray" / "usage.jsonl"
    now = time.time()
    for days_ago, model in ((0, "qwen2.5-coder:3b"), (1, "qwen2.5-coder:3b"), (2, "llama3.2"), (20, "old:1b")):
        append_usage(usage, UsageRecord(now - days_ago * 86400, "generate", model, "ok", 1000, 100))
    window = open_window(desk, home, "usage")
    rows = wait_for(lambda: window.layout().get("table", {}).get("rows"), 10, "the per-model table")
    assert set(rows) == {"qwen2.5-coder:3b", "llama3.2"}
    assert window.text("totals").startswith("3 local calls")
    window.click("days:30")
    window.wait_text("totals", lambda t: t.startswith("4 local calls"), 5)


def test_with_no_tray_host_the_app_keeps_running_and_opens_its_welcome_window(
    desk: DesktopSession, tmp_path: Path, ollama: OllamaEmulator
) -> None:
    for proc in list(desk.processes):
        if "tint2" in str(proc.args):
            desk.stop(proc)
    wait_for(lambda: desk.tray_owner() is None, 5, "the tray host to be gone")
    home = tmp_path / "home"
    home.mkdir()
    write_settings(home, {"ollama_url": ollama.url})
    layout = home / "welcome-layout.json"
    env = {**home_env(home, layout), "XDG_CURRENT_DESKTOP": "GNOME"}
    tray = desk.spawn([sys.executable, "-m", "ollama_mcp_tray.tray.gui.app"], env=env, log_name="tray")
    window = Window(desk, layout)
    banner = str(window.widget("no_tray", 20)["text"])
    assert "AppIndicator extension" in banner
    window.wait_text("ollama_line", lambda t: t.startswith("✓"), 15)
    assert tray.poll() is None  # the tray itself runs on, for a tray host that may come


def test_welcome_offers_start_ollama_when_the_program_is_installed_and_its_click_starts_it(
    desk: DesktopSession, tmp_path: Path
) -> None:
    from tests.tray.gui.test_controller import fake_ollama, free_port, serving_script, stop_pid

    home = tmp_path / "home"
    home.mkdir()
    pidfile = tmp_path / "serve.pid"
    bin_dir = tmp_path / "bin"
    fake_ollama(bin_dir, serving_script(pidfile))
    url = f"http://127.0.0.1:{free_port()}"
    write_settings(home, {"ollama_url": url})
    layout = home / "welcome-layout.json"
    env = {**home_env(home, layout), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    desk.spawn([sys.executable, "-m", "ollama_mcp_tray.tray", "welcome"], env=env, log_name="welcome")
    window = Window(desk, layout)
    try:
        window.wait_text("ollama_line", lambda t: "installed" in t and "not running" in t, 15)
        window.click("start_ollama")
        window.wait_text("ollama_line", lambda t: t.startswith("✓"), 20)
        assert url in window.text("ollama_line")
    finally:
        stop_pid(pidfile)


def test_settings_window_shows_the_local_server_and_saves_its_switch_and_idle_time(
    desk: DesktopSession, tmp_path: Path, ollama: OllamaEmulator
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    settings_file = write_settings(home, {"ollama_url": ollama.url})
    # The setting decides here (no OLLAMA_MCP_RESIDENT): off in the file, so no resident is asked or started.
    settings_file.write_text(json.dumps({"ollama_url": ollama.url, "resident": False}), encoding="utf-8")
    layout = home / "settings-layout.json"
    desk.spawn(
        [sys.executable, "-m", "ollama_mcp_tray.tray", "settings"],
        env={**home_env(home, layout), "OLLAMA_MCP_RESIDENT": ""},
        log_name="settings",
    )
    window = Window(desk, layout)
    window.click("field:ollama_url")  # the keyboard's focus in the window
    for tab in ("Claude Code", "Timeouts", "More", "Local server"):
        window.key("ctrl+Tab")
        window.widget(f"tab:{tab}")
    window.wait_text("resident_status", lambda t: t.startswith("Off (the setting resident is false)"), 10)
    window.click("field:resident")
    window.type_into("field:resident_idle_minutes", "0")
    window.wait_text("error:resident_idle_minutes", lambda t: t.startswith("✗"), 5)
    window.type_into("field:resident_idle_minutes", "30")
    window.click("save")
    window.wait_text("status", lambda t: t.startswith("Saved"), 5)
    saved = json.loads(settings_file.read_text(encoding="utf-8"))
    assert saved["resident"] is True and saved["resident_idle_minutes"] == 30
