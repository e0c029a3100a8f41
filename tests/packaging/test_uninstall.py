"""`install.py --uninstall` says what stays (settings, key, data, logs) in the folders the app really uses, and
`--purge` removes them. Fast: no environment is installed here, the app's files are written by the app itself
(this checkout) in a temporary HOME; the slow module tests the same with a real install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ollama_mcp_tray.server.paths import APP_NAME, AppPaths
from tests.installer_script import load_installer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux folders")

INSTALLER = Path(__file__).resolve().parents[2] / "packaging" / "install.py"


def user_env(home: Path) -> dict[str, str]:
    """A user without XDG variables: the folders are the defaults under HOME."""
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def write_the_apps_files(env: dict[str, str]) -> None:
    """Settings, key, a usage record and a log, written by the app's own code."""
    code = (
        "import logging, time\n"
        "from ollama_mcp_tray.server.logs import setup_logging\n"
        "from ollama_mcp_tray.server.paths import AppPaths\n"
        "from ollama_mcp_tray.server.usage import UsageRecord, append_usage\n"
        "from ollama_mcp_tray.tray.app_settings import save_settings, store_key\n"
        "p = AppPaths.default()\n"
        "save_settings(p.settings_file, {'guard': False})\n"
        "store_key(p.key_file, 'k3y')\n"
        "append_usage(p.usage_file, UsageRecord(time.time(), 'generate', 'm', 'ok'))\n"
        "setup_logging(p.server_log, stderr=False); logging.getLogger('t').warning('line')\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def uninstall(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(INSTALLER), "--uninstall", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_uninstall_names_the_key_and_the_real_log_folder_and_keeps_them(tmp_path):
    env = user_env(tmp_path)
    write_the_apps_files(env)
    done = uninstall(env)
    assert done.returncode == 0, done.stdout + done.stderr
    config = tmp_path / ".config" / APP_NAME
    logs = tmp_path / ".local" / "state" / APP_NAME / "log"
    for what, path in [
        ("settings", config / "settings.json"),
        ("your Ollama key", config / "ollama.key"),
        ("data", tmp_path / ".local" / "share" / APP_NAME),
        ("logs", logs),
    ]:
        assert f"{what}" in done.stdout and f"{path}\n" in done.stdout, done.stdout
        assert path.exists()
    assert (logs / "server.log").exists()
    assert "--purge" in done.stdout


def test_uninstall_with_purge_removes_settings_key_data_and_logs(tmp_path):
    env = user_env(tmp_path)
    write_the_apps_files(env)
    done = uninstall(env, "--purge")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "removed your Ollama key" in done.stdout
    left = [p for p in tmp_path.rglob("*") if APP_NAME in p.name]
    assert left == []


def test_purge_without_uninstall_is_a_usage_error(tmp_path):
    done = subprocess.run(
        [sys.executable, str(INSTALLER), "--purge"], env=user_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--uninstall" in done.stderr


@pytest.mark.parametrize("xdg", [False, True])
def test_the_installers_folders_are_the_apps(tmp_path, monkeypatch, xdg):
    env = {"HOME": str(tmp_path)}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        if xdg:
            env[name] = str(tmp_path / name.lower())
            monkeypatch.setenv(name, env[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    folders = load_installer().app_folders(tmp_path, env, "linux")
    app = AppPaths.default()
    assert (folders.config_dir, folders.data_dir, folders.log_dir) == (app.config_dir, app.data_dir, app.log_dir)
    assert os.fspath(folders.log_dir).endswith("/log")
