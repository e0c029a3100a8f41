"""No test touches the real HOME: each runs, with the processes it starts, in a temporary one."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

from tests import home_guard

REAL_HOME = Path(pwd.getpwuid(os.getuid()).pw_dir)


def test_a_test_runs_in_a_temporary_home_with_its_own_xdg_folders() -> None:
    home = Path(os.environ["HOME"])
    assert home != REAL_HOME
    assert not home.is_relative_to(REAL_HOME)
    for name in home_guard.XDG_VARIABLES:
        assert Path(os.environ[name]).is_relative_to(home)


def test_a_subprocess_started_without_an_environment_gets_the_temporary_folders() -> None:
    code = "from ollama_mcp_tray.server.paths import AppPaths; p = AppPaths.default(); print(p.config_dir, p.log_dir)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    for folder in out.split():
        assert Path(folder).is_relative_to(Path(os.environ["HOME"])), folder


def test_the_session_check_sees_files_created_changed_or_removed_in_the_app_folders(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    folders = home_guard.app_folders(env)
    before = home_guard.snapshot(folders)
    log = tmp_path / ".local" / "state" / "ollama-mcp-tray" / "log" / "server.log"
    log.parent.mkdir(parents=True)
    log.write_text("x", encoding="utf-8")
    after = home_guard.snapshot(folders)
    assert f"created {log}" in home_guard.changes(before, after)
    log.write_text("longer", encoding="utf-8")
    assert f"changed {log}" in home_guard.changes(after, home_guard.snapshot(folders))
    assert home_guard.changes(after, after) == []
