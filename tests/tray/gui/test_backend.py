"""Without a usable tray, the app says why and what to do, exits with code 2, and shows no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ollama_mcp_tray.tray.gui import backend
from tests.tray.desktop.test_single_instance import start_holder


def run_app(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ollama_mcp_tray.tray.gui.app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}


def test_without_a_display_the_app_points_to_the_cli_and_exits_2(tmp_path: Path) -> None:
    done = run_app(base_env(tmp_path))
    assert done.returncode == 2
    assert "needs a desktop session" in done.stderr
    assert "ollama-mcp-tray status" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_second_launch_says_the_tray_already_runs_and_exits_1(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "DISPLAY": ":0"}
    holder = start_holder(tmp_path / "data" / "ollama-mcp-tray" / "tray.lock")
    try:
        done = run_app(env)
    finally:
        holder.kill()
        holder.wait(10)
        for pipe in (holder.stdin, holder.stdout):
            assert pipe is not None
            pipe.close()
    assert done.returncode == 1
    assert f"already running (process {holder.pid})" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_xorg_backend_message_names_pygobject_and_the_system_packages() -> None:
    message = backend.unusable_backend_message("xorg", python="/venv/bin/python")
    assert message is not None
    assert "cannot be clicked" in message
    assert "/venv/bin/python -m pip install 'ollama-mcp-tray[linux-desktop]'" in message
    assert "gir1.2-gtk-3.0" in message and "libgirepository1.0-dev" in message


def test_clickable_backends_need_no_message() -> None:
    for name in ("gtk", "appindicator", "darwin", "win32"):
        assert backend.unusable_backend_message(name) is None


def test_wayland_alone_counts_as_a_desktop_session() -> None:
    assert backend.display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
