"""The Servers window and the tray's Ollama server menu on a real (virtual) desktop, against two emulators: this
machine's Ollama and a "GPU box" behind a proxy that wants a key. Opened from the real tray menu, filled in by real
key presses and clicks (xdotool), the effect checked in the files, in what each emulator receives from the tray and
from a real stdio session of our server.

Also here: the Settings window when OLLAMA_URL overrides the saved address, and the Usage window's "kept out of
Claude" figures.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from ollama_mcp_tray.server.ollama_client import OllamaSnapshot
from ollama_mcp_tray.server.usage import UsageRecord, append_usage
from ollama_mcp_tray.tray.gui import menu_model as mm
from ollama_mcp_tray.tray.gui.state import ServerChoice, TrayState
from tests.desktop_session import DesktopSession, wait_for
from tests.ollama_emulator import OllamaEmulator
from tests.tray.gui.test_windows_desktop import Window, _desktop_tools, desk, home_env, open_window, write_settings

__all__ = ["_desktop_tools", "desk"]  # fixtures, used by name

pytestmark = pytest.mark.desktop


def menu_steps(state: TrayState, *texts: str) -> list[int]:
    return mm.selectable_path(mm.build_menu(state, mm.dt.datetime.now(mm.dt.timezone.utc)), *texts)


def choose_in_submenu(desk: DesktopSession, icon_center: tuple[int, int], top: int, sub: int) -> None:
    """Open the tray menu with a right click and pick an item of a submenu by keyboard (see test_desktop.py)."""
    desk.click(icon_center, button=3)
    wait_for(lambda: len(desk.popup_windows()) == 1, 5, "the menu to open")
    for _ in range(top + 1):
        desk.xdotool("key", "Down")
    desk.xdotool("key", "Right")
    wait_for(lambda: len(desk.popup_windows()) == 2, 5, "the submenu to open")
    for _ in range(sub):
        desk.xdotool("key", "Down")
    desk.xdotool("key", "Return")
    wait_for(lambda: not desk.popup_windows(), 5, "the menu to close")


def polls_with(emulator: OllamaEmulator, key: str | None, since: int) -> int:
    """The tray's looks at an emulator (GET /api/version) after request number `since`, sent with `key`."""
    return sum(1 for r in emulator.requests[since:] if r.path == "/api/version" and r.header("x-ollama-key") == key)


def tool_call(home: Path, prompt: str) -> None:
    """One generation through a new Claude Code-like session of our server (real stdio, the SDK's client)."""
    env = {k: v for k, v in home_env(home, home / "unused.json").items() if k != "PYSTRAY_BACKEND"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "ollama_mcp_tray.server"], env=env)

    async def call() -> None:
        with anyio.fail_after(60):
            async with Client(params) as client:
                result = await client.call_tool("ollama_generate", {"model": "llama3.2", "prompt": prompt})
        assert not result.is_error, result.content

    anyio.run(call)


def generations(emulator: OllamaEmulator, prompt: str) -> list[str | None]:
    """The key header of each generation of `prompt` the emulator served."""
    return [
        r.header("x-ollama-key")
        for r in emulator.requests
        if r.path == "/api/generate" and (r.body or {}).get("prompt") == prompt
    ]


def test_a_server_added_in_the_servers_window_made_active_and_switched_back_from_the_tray_menu(
    desk: DesktopSession, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with OllamaEmulator() as local, OllamaEmulator() as gpu:
        gpu.faults.update(require_key="gpu-key")
        settings_file = write_settings(home, {"ollama_url": local.url, "poll_interval": 1})
        config = settings_file.parent
        layout = home / "servers-layout.json"
        tray = desk.spawn(
            [sys.executable, "-m", "ollama_mcp_tray.tray.gui.app"], env=home_env(home, layout), log_name="tray"
        )
        icon = desk.wait_for_docked_icon(timeout=15)
        wait_for(lambda: polls_with(local, None, 0), 10, "the tray's first look at this machine's Ollama")

        # The tray menu -> Ollama server -> Add or edit servers…
        one = TrayState(local.url, OllamaSnapshot(local.url, "1"), servers=(ServerChoice("m", "M", local.url, True),))
        top, sub = menu_steps(one, "Ollama server", "Add or edit servers…")
        choose_in_submenu(desk, icon.center, top, sub)

        window = Window(desk, layout)
        rows = wait_for(lambda: window.layout().get("list", {}).get("values"), 15, "the list of servers")
        assert rows == {"this-machine": ["This machine", local.url, "none", "✓"]}

        window.click("new")
        window.type_into("field:name", "GPU box")
        window.type_into("field:url", gpu.url)
        window.wait_text("check", lambda t: "wants a key" in t, 15)
        window.type_into("field:key", "wrong-key")
        refused = window.wait_text("check", lambda t: "refused" in t, 15)
        assert "403" in refused
        window.type_into("field:key", "gpu-key")
        window.wait_text("check", lambda t: "accepted" in t, 15)
        window.click("save")
        window.wait_text("status", lambda t: t.startswith(("Saved", "Not")), 10)
        assert window.text("status") == "Saved GPU box."

        text = settings_file.read_text(encoding="utf-8")
        assert "gpu-key" not in text  # the key is never in settings.json
        saved = json.loads(text)
        assert saved["ollama_url"] == local.url and saved["active_server"] == "this-machine"
        assert [s["name"] for s in saved["servers"]] == ["This machine", "GPU box"]
        stash = config / "servers" / "gpu-box.key"
        assert stash.read_text(encoding="utf-8").strip() == "gpu-key" and stash.stat().st_mode & 0o777 == 0o600
        assert not (config / "ollama.key").exists()

        wait_for(lambda: "gpu-box" in window.layout()["list"]["rows"], 10, "the new row")
        window.click_row("list", "gpu-box")
        window.click("activate")
        window.wait_text("status", lambda t: t.startswith("GPU box is active"), 10)
        saved = json.loads(settings_file.read_text(encoding="utf-8"))
        assert saved["ollama_url"] == gpu.url and saved["active_server"] == "gpu-box"
        key_file = config / "ollama.key"
        assert key_file.read_text(encoding="utf-8").strip() == "gpu-key" and key_file.stat().st_mode & 0o777 == 0o600
        rows = window.layout()["list"]["values"]
        assert rows["gpu-box"][3] == "✓" and rows["this-machine"][3] == ""

        window.click("close")
        wait_for(lambda: _closed(desk), 10, "the window to close")
        # The tray now looks at the GPU box, with its key (it notices the files within its 5 s housekeeping
        # round), and no longer at this machine.
        gpu_mark = len(gpu.requests)
        wait_for(lambda: polls_with(gpu, "gpu-key", gpu_mark) >= 1, 10, "the tray to poll the GPU box")
        local_mark, gpu_mark = len(local.requests), len(gpu.requests)
        wait_for(lambda: polls_with(gpu, "gpu-key", gpu_mark) >= 2, 10, "the tray to poll the GPU box again")
        assert polls_with(local, None, local_mark) == 0
        tool_call(home, "to the gpu box")
        assert generations(gpu, "to the gpu box") == ["gpu-key"] and generations(local, "to the gpu box") == []

        # Back to this machine from the tray's own menu.
        two = TrayState(
            gpu.url,
            OllamaSnapshot(gpu.url, "1"),
            servers=(ServerChoice("m", "This machine", local.url), ServerChoice("g", "GPU box", gpu.url, True)),
        )
        top, sub = menu_steps(two, "Ollama server", "This machine")
        choose_in_submenu(desk, icon.center, top, sub)
        wait_for(
            lambda: json.loads(settings_file.read_text(encoding="utf-8"))["ollama_url"] == local.url,
            10,
            "the switch back in settings.json",
        )
        assert not key_file.exists()  # this machine has no key: none left for the server to send
        assert stash.read_text(encoding="utf-8").strip() == "gpu-key"
        local_mark = len(local.requests)
        wait_for(lambda: polls_with(local, None, local_mark) >= 1, 10, "the tray to poll this machine again")
        tool_call(home, "back home")
        assert generations(local, "back home") == [None] and generations(gpu, "back home") == []
        assert tray.poll() is None


def _closed(desk: DesktopSession) -> bool:
    import subprocess

    found = subprocess.run(
        ["xdotool", "search", "--name", "Ollama MCP Tray: servers"],
        env=desk.env,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return not found.stdout.strip()


def test_settings_checks_the_address_in_effect_when_ollama_url_overrides_the_saved_one(
    desk: DesktopSession, tmp_path: Path, ollama: OllamaEmulator
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_settings(home, {"ollama_url": "http://127.0.0.1:9"})  # nothing answers there
    layout = home / "settings-layout.json"
    env = {**home_env(home, layout), "OLLAMA_URL": ollama.url}
    desk.spawn([sys.executable, "-m", "ollama_mcp_tray.tray", "settings"], env=env, log_name="settings")
    window = Window(desk, layout)
    override = str(window.widget("url_override", 15)["text"])
    assert "OLLAMA_URL" in override and ollama.url in override
    status = window.wait_text("url_status", lambda t: t.startswith("✓"), 15)
    assert "answers" in status
    # Typing another address changes what is saved, not what is in effect: the check stays on OLLAMA_URL's.
    window.type_into("field:ollama_url", "http://127.0.0.1:10")
    time.sleep(1.0)
    assert window.wait_text("url_status", lambda t: t.startswith("✓"), 15)


def test_usage_shows_the_context_kept_out_of_claude_per_model_for_7_and_30_days(
    desk: DesktopSession, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    usage = home / ".local" / "share" / "ollama-mcp-tray" / "usage.jsonl"
    now = time.time()
    records = (
        (0, "qwen2.5-coder:3b", 40_000),
        (1, "qwen2.5-coder:3b", 2_000),
        (2, "llama3.2", 0),
        (20, "qwen2.5-coder:3b", 100_000),
    )
    for days_ago, model, kept in records:
        append_usage(
            usage,
            UsageRecord(now - days_ago * 86400, "summarize_files", model, "ok", 1000, 100, kept_out_tokens=kept),
        )
    window = open_window(desk, home, "usage")
    values = wait_for(lambda: window.layout().get("table", {}).get("values"), 10, "the per-model table")
    assert values["qwen2.5-coder:3b"][-1] == "42,000" and values["llama3.2"][-1] == "0"
    assert "42,000 kept out of Claude" in window.text("totals")
    window.click("days:30")
    window.wait_text("totals", lambda t: "142,000 kept out of Claude" in t, 5)
    assert window.layout()["table"]["values"]["qwen2.5-coder:3b"][-1] == "142,000"
