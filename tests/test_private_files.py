"""Every folder the app creates is 0700 and every file it writes 0600, whatever the umask (here: 000, the worst),
for each writer, each run in its own process: the CLI's settings, key, registrations record, locks and backups,
the server started over stdio (usage records, model cache, log), and the tray's log, lock and Ollama log.
Menu entries are the one exception: the desktop reads them; they are 0644, never writable by others."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from tests.home_guard import private_environment

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")

UMASK_000 = "import os, sys; os.umask(0)\n"


def modes(root: Path) -> dict[str, int]:
    """The mode of every folder and file under `root` (root excluded), by path relative to it."""
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in root.rglob("*")}


def assert_private(root: Path) -> None:
    found = modes(root)
    assert found, "the writers wrote nothing"
    wrong = {path: oct(mode) for path, mode in found.items() if mode != (0o700 if (root / path).is_dir() else 0o600)}
    assert not wrong, wrong


def python(root: Path, code: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**private_environment(root), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **env}
    done = subprocess.run(
        [sys.executable, "-c", UMASK_000 + code],
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def cli(root: Path, *argv: str, stdin: str | None = None, **env: str) -> int:
    code = f"from ollama_mcp_tray.tray.__main__ import main; sys.exit(main({list(argv)!r}))"
    return python(root, code, stdin, **env).returncode


def test_the_cli_writes_settings_key_record_locks_and_backups_privately(tmp_path, ollama):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".claude.json").write_text("{}\n", encoding="utf-8")  # so that enable takes a backup
    os.chmod(home / ".claude.json", 0o600)
    project = home / "proj"
    project.mkdir(mode=0o700)
    assert cli(home, "config", "set", "ollama_url", ollama.url) == 0
    assert cli(home, "set-key", "--no-check", stdin="k3y\n") == 0
    assert cli(home, "setup") == 0
    assert cli(home, "enable", "--scope", "local", "--project", str(project)) == 0
    folders = {p.name for p in home.rglob("*") if p.is_dir()}
    assert {"backups", "locks"} <= folders
    names = {p.name for p in home.rglob("*") if p.is_file()}
    assert {"settings.json", "ollama.key", "registrations.json", "models.json"} <= names
    assert_private(home)


def test_the_server_over_stdio_writes_usage_cache_and_log_privately(tmp_path, ollama):
    env = {**private_environment(tmp_path), "OLLAMA_URL": ollama.url, "OLLAMA_DEFAULT_MODEL": "qwen2.5-coder:3b"}
    start = UMASK_000 + "import runpy; runpy.run_module('ollama_mcp_tray.server', run_name='__main__')"
    params = StdioServerParameters(command=sys.executable, args=["-c", start], env=env)

    async def session() -> None:
        with anyio.fail_after(60):
            async with Client(params) as client:
                assert not (await client.call_tool("ollama_list_models", {})).is_error
                assert not (await client.call_tool("ollama_generate", {"prompt": "hi"})).is_error

    anyio.run(session)
    names = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"usage.jsonl", "models.json", "server.log"} <= names
    assert_private(tmp_path)


def test_the_trays_log_lock_and_ollama_log_are_private(tmp_path):
    fake_ollama = tmp_path / "bin" / "ollama"
    fake_ollama.parent.mkdir(mode=0o700)
    fake_ollama.write_text("#!/bin/sh\necho serving\n", encoding="utf-8")
    os.chmod(fake_ollama, 0o700)
    os.chmod(tmp_path / "bin", 0o700)
    code = (
        "import logging\n"
        "from ollama_mcp_tray.server.logs import setup_logging\n"
        "from ollama_mcp_tray.tray.app_context import AppContext\n"
        "from ollama_mcp_tray.tray.desktop.ollama_process import start_ollama\n"
        "from ollama_mcp_tray.tray.desktop.single_instance import InstanceLock\n"
        "ctx = AppContext.default()\n"
        "lock = InstanceLock(ctx.paths.data_dir / 'tray.lock'); lock.acquire()\n"
        "setup_logging(ctx.paths.tray_log, stderr=False)\n"  # exactly as tray/app.py sets it up
        "logging.getLogger('ollama_mcp_tray.tray').warning('a line')\n"
        f"start_ollama({str(fake_ollama)!r}, ctx.paths.log_dir / 'ollama-serve.log', 'http://127.0.0.1:1').wait()\n"
        "lock.release()\n"
    )
    python(tmp_path, code)
    names = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"tray.log", "tray.lock", "ollama-serve.log"} <= names
    assert_private(tmp_path / "xdg_state_home")
    assert_private(tmp_path / "xdg_data_home")


def test_an_older_installs_wide_folders_and_log_are_narrowed(tmp_path):
    log_dir = tmp_path / "xdg_state_home" / "ollama-mcp-tray" / "log"
    log_dir.mkdir(parents=True)
    os.chmod(log_dir, 0o755)
    (log_dir / "server.log").write_text("old\n", encoding="utf-8")
    os.chmod(log_dir / "server.log", 0o644)
    code = (
        "import logging, pathlib\nfrom ollama_mcp_tray.server.logs import setup_logging\n"
        f"setup_logging(pathlib.Path({str(log_dir / 'server.log')!r}), stderr=False)\n"
        "logging.getLogger('x').warning('new')\n"
    )
    python(tmp_path, code)
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((log_dir / "server.log").stat().st_mode) == 0o600


def test_menu_entries_are_readable_by_the_desktop_but_their_new_folders_are_ours(tmp_path):
    assert cli(tmp_path, "install-desktop") == 0
    python(
        tmp_path, "from ollama_mcp_tray.tray.desktop.autostart import Autostart; Autostart(platform='linux').enable()"
    )
    found = modes(tmp_path)
    entries = [path for path in found if path.endswith((".desktop", ".png", ".svg"))]
    assert "xdg_config_home/autostart/ollama-mcp-tray.desktop" in entries
    assert found["xdg_config_home/autostart/ollama-mcp-tray.desktop"] == 0o644
    for path, mode in found.items():
        if (tmp_path / path).is_dir():
            assert mode == 0o700, (path, oct(mode))
        else:
            assert mode & 0o022 == 0, (path, oct(mode))  # never writable by others


def test_the_usage_file_stays_private_when_it_is_trimmed_and_the_model_cache_is_rewritten(tmp_path):
    code = (
        "import pathlib, time\n"
        "from ollama_mcp_tray.server.descriptions import write_model_cache\n"
        "from ollama_mcp_tray.server.usage import UsageRecord, UsageLog\n"
        f"root = pathlib.Path({str(tmp_path)!r}) / 'data'\n"
        "usage = UsageLog(root / 'usage.jsonl', max_bytes=500)\n"
        "for _ in range(20): usage.append(UsageRecord(time.time(), 'generate', 'm', 'ok'))\n"
        "usage.close()\n"
        "write_model_cache(root / 'models.json', ['a']); write_model_cache(root / 'models.json', ['b'])\n"
    )
    python(tmp_path, code)
    usage = tmp_path / "data" / "usage.jsonl"
    assert 0 < usage.stat().st_size <= 500  # it was trimmed
    assert_private(tmp_path / "data")
