"""The registration guard, inside a running tray controller: a lost entry comes back within 5 s, once told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.tray.app_context import AppContext
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.clients.registrar import Scope, Target
from ollama_mcp_tray.tray.desktop.autostart import Autostart
from ollama_mcp_tray.tray.gui.controller import Controller
from ollama_mcp_tray.tray.gui.icon import View
from ollama_mcp_tray.tray.gui.monitor import PollPolicy
from ollama_mcp_tray.tray.launch import ServerLaunch
from tests.desktop_session import wait_for
from tests.ollama_emulator import OllamaEmulator

OTHER = {"numStartups": 3, "projects": {"/p": {"allowedTools": ["Bash"]}}, "mcpServers": {"git": {"command": "x"}}}


class RecordingIcon:
    """Stands where pystray would: records what the controller shows and says."""

    def __init__(self) -> None:
        self.views: list[View] = []
        self.notifications: list[str] = []
        self.lock = threading.Lock()

    def show(self, view: View) -> None:
        with self.lock:
            self.views.append(view)

    def notify(self, title: str, message: str) -> None:
        with self.lock:
            self.notifications.append(message)

    def stop(self) -> None:
        pass


def make_context(tmp_path: Path, ollama: OllamaEmulator, guard: bool = True) -> AppContext:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "OLLAMA_URL": ollama.url, "OLLAMA_MCP_RESIDENT": "0"}
    paths = AppPaths(tmp_path / "config", tmp_path / "data", tmp_path / "logs")
    paths.config_dir.mkdir()
    paths.settings_file.write_text(json.dumps({"guard": guard}), encoding="utf-8")
    return AppContext(paths, ClaudeHome.from_env(env, home=home), ServerLaunch.current(), env)


@pytest.fixture
def running(
    tmp_path: Path, ollama: OllamaEmulator, request: pytest.FixtureRequest
) -> Iterator[tuple[Controller, RecordingIcon]]:
    ctx = make_context(tmp_path, ollama, guard=getattr(request, "param", True))
    ctx.claude.config_file.write_text(json.dumps(OTHER, indent=2), encoding="utf-8")
    ctx.registrar().enable(Target(Scope.USER, "ollama"))
    icon = RecordingIcon()
    controller = Controller(ctx, Autostart(home=tmp_path / "home", env={}), policy=PollPolicy(probe=0.5))
    controller.start(icon)
    try:
        yield controller, icon
    finally:
        controller.shutdown()


def drop_our_entry(config: Path) -> None:
    """What Claude Code does when an entry vanishes: it rewrites the whole file without it."""
    data = json.loads(config.read_text(encoding="utf-8"))
    del data["mcpServers"]["ollama"]
    config.write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_a_deleted_entry_is_restored_within_five_seconds_and_the_rest_is_intact(
    running: tuple[Controller, RecordingIcon],
) -> None:
    controller, icon = running
    config = controller.ctx.claude.config_file
    wait_for(lambda: controller.state.claude.user_enabled, 5, "the tray to see the registration")
    drop_our_entry(config)
    deleted = time.monotonic()

    def restored() -> bool:
        return "ollama" in json.loads(config.read_text(encoding="utf-8")).get("mcpServers", {})

    wait_for(restored, 5, "the guard to restore the entry")
    assert time.monotonic() - deleted < 5
    data = json.loads(config.read_text(encoding="utf-8"))
    assert data["mcpServers"]["git"] == OTHER["mcpServers"]["git"]
    assert {k: v for k, v in data.items() if k != "mcpServers"} == {k: v for k, v in OTHER.items() if k != "mcpServers"}
    wait_for(lambda: any("restored" in n for n in icon.notifications), 5, "the user to be told")
    assert sum("restored" in n for n in icon.notifications) == 1


@pytest.mark.parametrize("running", [False], indirect=True)
def test_with_the_guard_off_a_deleted_entry_stays_deleted_and_the_menu_shows_it(
    running: tuple[Controller, RecordingIcon],
) -> None:
    controller, icon = running
    wait_for(lambda: controller.state.claude.user_enabled, 5, "the tray to see the registration")
    drop_our_entry(controller.ctx.claude.config_file)
    wait_for(lambda: not controller.state.claude.user_enabled, 5, "the tray to see it gone")
    assert "ollama" not in json.loads(controller.ctx.claude.config_file.read_text(encoding="utf-8"))["mcpServers"]
    assert not any("restored" in n for n in icon.notifications)


def test_a_stale_entry_is_brought_up_to_date(running: tuple[Controller, RecordingIcon]) -> None:
    controller, icon = running
    config = controller.ctx.claude.config_file
    wait_for(lambda: controller.state.claude.user_enabled, 5, "the tray to see the registration")
    data = json.loads(config.read_text(encoding="utf-8"))
    data["mcpServers"]["ollama"]["command"] = "/gone/venv/bin/python"
    config.write_text(json.dumps(data, indent=2), encoding="utf-8")

    def current() -> bool:
        entry = json.loads(config.read_text(encoding="utf-8"))["mcpServers"]["ollama"]
        return bool(entry["command"] == controller.ctx.launch.command)

    wait_for(current, 5, "the stale entry to be repaired")
    wait_for(lambda: any("stale" in n for n in icon.notifications), 5, "the user to be told it was stale")


def test_an_entry_with_the_old_launch_command_is_upgraded_and_the_user_told_why(
    running: tuple[Controller, RecordingIcon],
) -> None:
    controller, icon = running
    config = controller.ctx.claude.config_file
    wait_for(lambda: controller.state.claude.user_enabled, 5, "the tray to see the registration")
    data = json.loads(config.read_text(encoding="utf-8"))
    data["mcpServers"]["ollama"]["args"] = ["-m", "ollama_mcp_tray.server"]  # what enable wrote before -I
    config.write_text(json.dumps(data, indent=2), encoding="utf-8")

    def upgraded() -> bool:
        entry = json.loads(config.read_text(encoding="utf-8"))["mcpServers"]["ollama"]
        return bool(entry["args"] == list(controller.ctx.launch.args))

    wait_for(upgraded, 5, "the old entry to be upgraded")
    assert controller.ctx.launch.args[:1] == ("-I",)
    wait_for(lambda: any("no project folder" in n for n in icon.notifications), 5, "the user to be told why")


def test_an_ollama_url_changed_from_the_command_line_is_kept_not_undone_by_the_guard(
    running: tuple[Controller, RecordingIcon],
) -> None:
    from ollama_mcp_tray.tray import cli

    controller, icon = running
    config = controller.ctx.claude.config_file
    wait_for(lambda: controller.state.claude.user_enabled, 5, "the tray to see the registration")
    other = "http://127.0.0.1:9"
    # Another process (the CLI) saves the new address and refreshes the entry to it.
    ctx = controller.ctx
    assert (
        cli.main(["config", "set", "ollama_url", other], AppContext(ctx.paths, ctx.claude, ctx.launch, dict(ctx.env)))
        == 0
    )

    def entry_url() -> str | None:
        env = json.loads(config.read_text(encoding="utf-8"))["mcpServers"]["ollama"]["env"]
        return env.get("OLLAMA_URL") if isinstance(env, dict) else None

    assert entry_url() == other
    time.sleep(2.5)  # the guard checks every second: long enough for it to have undone the change
    assert entry_url() == other
    # (OLLAMA_URL in the tray's environment wins for the tray itself; the entry follows the settings.)
    wait_for(lambda: controller.ctx.settings.ollama_url == other, 15, "the tray to take the new settings")
    controller.guard.refresh()
    time.sleep(1.5)
    assert entry_url() == other
    assert not any("out of date" in n for n in icon.notifications)
