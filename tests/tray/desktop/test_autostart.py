"""Start at login: each platform's entry is written idempotently, launches the app quietly, and is removed."""

from __future__ import annotations

import configparser
import plistlib
import shlex
from pathlib import Path

import pytest

from ollama_mcp_tray.tray.desktop.autostart import Autostart, desktop_entry, windows_command_line
from ollama_mcp_tray.tray.launch import tray_command

COMMAND = ["/opt/my apps/python3", "-m", "ollama_mcp_tray.tray"]


def test_linux_writes_an_xdg_autostart_entry_under_xdg_config_home(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    auto = Autostart(home=tmp_path, env={"XDG_CONFIG_HOME": str(config)}, platform="linux", command=COMMAND)
    assert not auto.is_enabled()
    auto.enable()
    path = config / "autostart" / "ollama-mcp-tray.desktop"
    assert auto.path == path and auto.is_enabled()
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(path, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Terminal"] == "false"
    assert shlex.split(section["Exec"]) == COMMAND


def test_enabling_twice_leaves_one_identical_entry_and_disabling_removes_it(tmp_path: Path) -> None:
    auto = Autostart(home=tmp_path, env={}, platform="linux", command=COMMAND)
    auto.enable()
    assert auto.path is not None
    first = auto.path.read_bytes()
    auto.enable()
    assert auto.path.read_bytes() == first
    assert [p.name for p in auto.path.parent.iterdir()] == ["ollama-mcp-tray.desktop"]
    auto.disable()
    assert not auto.is_enabled() and not auto.path.exists()
    auto.disable()  # already off: nothing to do, no error


def test_linux_defaults_to_dot_config_when_xdg_config_home_is_unset(tmp_path: Path) -> None:
    auto = Autostart(home=tmp_path, env={}, platform="linux", command=COMMAND)
    assert auto.path == tmp_path / ".config" / "autostart" / "ollama-mcp-tray.desktop"


def test_macos_writes_a_launch_agent_that_runs_at_load(tmp_path: Path) -> None:
    auto = Autostart(home=tmp_path, env={}, platform="darwin", command=COMMAND)
    auto.set_enabled(True)
    path = tmp_path / "Library" / "LaunchAgents" / "io.github.ollama-mcp-tray.plist"
    assert auto.is_enabled()
    agent = plistlib.loads(path.read_bytes())
    assert agent["ProgramArguments"] == COMMAND
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] is False
    auto.set_enabled(False)
    assert not path.exists()


def test_the_windows_run_value_is_one_correctly_quoted_command_line() -> None:
    line = windows_command_line([r"C:\Program Files\Py\pythonw.exe", "-m", "ollama_mcp_tray.tray"])
    assert line == r'"C:\Program Files\Py\pythonw.exe" -m ollama_mcp_tray.tray'


def test_percent_signs_and_quotes_survive_the_desktop_entry_exec_rules() -> None:
    text = desktop_entry(['/home/a"b/100%/py', "-m", "x"])
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line == 'Exec="/home/a\\"b/100%%/py" -m x'


@pytest.mark.parametrize("frozen", [True, False])
def test_the_launch_command_is_absolute(frozen: bool) -> None:
    command = tray_command("/abs/bin/app", frozen=frozen)
    assert Path(command[0]).is_absolute()
    assert command == (["/abs/bin/app"] if frozen else ["/abs/bin/app", "-m", "ollama_mcp_tray.tray"])
