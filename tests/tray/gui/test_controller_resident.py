"""The tray keeps the resident warm and shows it: through its real menu (pystray's dummy backend under our
`TrayIcon`), the real resident process and a real Claude-Code-like session over the relay's stdio.

Each test has its own app folders and runtime folder (so its own resident) and ends the resident it caused.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.resident import status as rs
from ollama_mcp_tray.server.resident.places import Places
from ollama_mcp_tray.tray.app_context import AppContext
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.desktop.autostart import Autostart
from ollama_mcp_tray.tray.gui.controller import Controller
from ollama_mcp_tray.tray.gui.icon import TrayIcon
from ollama_mcp_tray.tray.gui.monitor import PollPolicy
from ollama_mcp_tray.tray.gui.resident_watch import WatchPolicy
from ollama_mcp_tray.tray.launch import ServerLaunch
from tests.desktop_session import wait_for
from tests.ollama_emulator import OllamaEmulator
from tests.tray.gui.headless_pystray import HeadlessIcon, click, find_item, headless_pystray

FAST = PollPolicy(interval=5.0, probe=0.2, fast=0.1, fast_rounds=3, down_max=0.4)
QUICK = WatchPolicy(interval=0.3, fast=0.1, fast_rounds=10, retry=20.0)
SERVER = ServerLaunch(sys.executable, ("-I", "-m", "ollama_mcp_tray.server"))


@pytest.fixture
def root() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="rtray-"))  # short: the socket lives under it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def user_env(root: Path) -> dict[str, str]:
    runtime = root / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {
        "HOME": str(root),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_STATE_HOME": str(root / "state"),
        "XDG_RUNTIME_DIR": str(runtime),
        "OLLAMA_MCP_RESIDENT": "",  # the setting decides
        "OLLAMA_MCP_RESIDENT_IDLE_S": "120",
    }


class RunningTray:
    def __init__(self, root: Path, url: str) -> None:
        self.env = user_env(root)
        places = Places.from_env(self.env)
        paths = AppPaths(places.dirs.config_dir, places.dirs.data_dir, places.dirs.log_dir)
        paths.config_dir.mkdir(parents=True, mode=0o700)
        paths.settings_file.write_text(json.dumps({"ollama_url": url}), encoding="utf-8")
        ctx = AppContext(paths, ClaudeHome(root / ".claude", root / ".claude.json"), SERVER, self.env)
        autostart = Autostart(home=root, env={"XDG_CONFIG_HOME": str(root / "autostart")}, platform="linux")
        self.controller = Controller(ctx, autostart, policy=FAST, guard_interval=0.5, tick=0.2, resident_policy=QUICK)
        pystray = headless_pystray()
        self.tray_icon = TrayIcon(pystray, self.controller.on_action)
        self.icon: HeadlessIcon = pystray.Icon.last
        self.runner = threading.Thread(
            target=self.tray_icon.run, args=(lambda: self.controller.start(self.tray_icon),), daemon=True
        )
        self.runner.start()

    def line(self) -> str:
        try:
            return str(find_item(self.icon, "Local server").text)
        except KeyError:
            return ""

    def wait_line(self, start: str, timeout: float = 30) -> str:
        self.icon.wait_until(lambda: self.line().startswith(start), timeout, f"the menu to say {start!r}")
        return self.line()

    def stop(self) -> None:
        self.tray_icon.stop()
        self.runner.join(5)
        self.controller.shutdown()
        status = rs.status_for(self.env)
        if isinstance(status, rs.Running | rs.OtherVersion):
            os.kill(status.pid, signal.SIGTERM)


@pytest.fixture
def tray(root: Path, ollama: OllamaEmulator) -> Iterator[RunningTray]:
    running = RunningTray(root, ollama.url)
    yield running
    running.stop()


def open_session(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A session as Claude Code starts one: the registered command, initialize, tools/list (answer read)."""
    proc = subprocess.Popen([SERVER.command, *SERVER.args], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=env["HOME"])  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
    ):
        proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()
    for _ in range(2):
        reply = json.loads(proc.stdout.readline())
    assert reply["id"] == 2 and reply["result"]["tools"], reply
    return proc


def test_the_tray_starts_a_resident_shows_its_sessions_and_the_switch_turns_it_off(tray: RunningTray) -> None:
    assert tray.wait_line("Local server: resident · 0 sessions").endswith("· up 0 s") or "up" in tray.line()
    status = rs.status_for(tray.env)
    assert isinstance(status, rs.Running)
    cmdline = Path(f"/proc/{status.pid}/cmdline").read_bytes().split(b"\0")
    assert b"--resident" in cmdline and b"ollama_mcp_tray.server" in cmdline  # the server's command, not the tray's
    session = open_session(tray.env)
    try:
        tray.wait_line("Local server: resident · 1 session ·")
    finally:
        assert session.stdin is not None and session.stdout is not None
        session.stdin.close()
        session.wait(10)
        session.stdout.close()
    tray.wait_line("Local server: resident · 0 sessions")
    assert tray.controller.resident.starts == 1

    click(tray.icon, "Local server", "Keep one server running for all sessions")
    tray.wait_line("Local server: starts with each session")
    saved = json.loads(tray.controller.ctx.paths.settings_file.read_text(encoding="utf-8"))
    assert saved["resident"] is False and saved["ollama_url"]
    assert not find_item(tray.icon, "Local server", "Keep one server running").checked


def test_a_resident_that_dies_is_started_again_by_the_tray(root: Path, ollama: OllamaEmulator) -> None:
    tray = RunningTray(root, ollama.url)
    try:
        tray.wait_line("Local server: resident")
        first = rs.status_for(tray.env)
        assert isinstance(first, rs.Running)
        os.kill(first.pid, signal.SIGKILL)
        tray.controller.resident.poke()
        wait_for(
            lambda: (lambda s: isinstance(s, rs.Running) and s.pid != first.pid)(rs.status_for(tray.env)),
            30,
            "a new resident",
        )
        tray.wait_line("Local server: resident")
        assert tray.controller.resident.starts == 2
        # The tray started the first one, so it was the tray's child: reaped, not left a zombie.
        wait_for(lambda: not Path(f"/proc/{first.pid}").exists(), 10, "the killed resident to be reaped")
    finally:
        tray.stop()
