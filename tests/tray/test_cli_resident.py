"""`status` and `doctor` report the resident server: off (and why), running (pid, sessions), and one that holds
its socket without answering (a failed check with its fix). The resident here is the real one, started the way
a relay starts it; each test has its own app folders (so its own resident) and ends what it started."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.resident import status as rs
from ollama_mcp_tray.server.resident.places import Places
from ollama_mcp_tray.server.resident.spawn import start_resident
from ollama_mcp_tray.tray import cli
from ollama_mcp_tray.tray.app_context import AppContext
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.launch import ServerLaunch
from tests.desktop_session import wait_for
from tests.server.resident.kit import alive
from tests.server.resident.wire_peer import WirePeer

SERVER = ServerLaunch(sys.executable, ("-I", "-m", "ollama_mcp_tray.server"))


@pytest.fixture
def root() -> Iterator[Path]:
    # Short: the socket lives under it (XDG_RUNTIME_DIR) and AF_UNIX paths are short.
    folder = Path(tempfile.mkdtemp(prefix="rcli-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def user_env(root: Path, switch: str) -> dict[str, str]:
    runtime = root / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {
        "HOME": str(root),
        "PATH": "/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_STATE_HOME": str(root / "state"),
        "XDG_RUNTIME_DIR": str(runtime),
        "OLLAMA_MCP_RESIDENT": switch,
        "OLLAMA_MCP_RESIDENT_IDLE_S": "60",
    }


def context(root: Path, env: dict[str, str]) -> AppContext:
    # The same folders platformdirs gives for this environment: the resident reads these settings.
    places = Places.from_env(env)
    paths = AppPaths(places.dirs.config_dir, places.dirs.data_dir, places.dirs.log_dir)
    return AppContext(paths, ClaudeHome(root / ".claude", root / ".claude.json"), SERVER, env)


def stop(status: rs.ResidentStatus) -> None:
    if isinstance(status, rs.Running | rs.OtherVersion):
        os.kill(status.pid, signal.SIGTERM)


def test_status_says_the_local_server_is_off_and_why(root: Path, ollama, capsys) -> None:
    ctx = context(root, user_env(root, "0"))
    assert cli.main(["config", "set", "ollama_url", ollama.url], ctx) == 0
    capsys.readouterr()
    assert cli.main(["status", "--json"], ctx) == 0
    report = json.loads(capsys.readouterr().out)["resident"]
    assert report["state"] == "off" and "OLLAMA_MCP_RESIDENT=0" in report["reason"]
    ctx = context(root, {**user_env(root, ""), "OLLAMA_MCP_RESIDENT": ""})
    cli.main(["config", "set", "resident", "false"], ctx)
    capsys.readouterr()
    cli.main(["status"], ctx)
    assert "Local server: off (the setting resident is false); each session starts its own server" in (
        capsys.readouterr().out
    )


def test_status_and_doctor_report_a_running_resident_with_its_pid_and_sessions(root: Path, ollama, capsys) -> None:
    env = user_env(root, "1")
    ctx = context(root, env)
    cli.main(["config", "set", "ollama_url", ollama.url], ctx)
    places = Places.from_env(env)
    assert start_resident(places, env, [SERVER.command, *SERVER.args])
    running = wait_for(lambda: (lambda s: s if isinstance(s, rs.Running) else None)(rs.status_for(env)), 30, "it")
    try:
        capsys.readouterr()
        cli.main(["status", "--json"], ctx)
        report = json.loads(capsys.readouterr().out)["resident"]
        assert report["state"] == "running" and report["pid"] == running.pid and report["sessions"] == 0
        cli.main(["enable"], ctx)
        capsys.readouterr()
        cli.main(["doctor", "--json"], ctx)
        checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
        assert checks["local server (resident)"]["ok"]
        assert checks["local server (resident)"]["detail"].startswith(f"running (pid {running.pid}, ")
        # doctor's own handshake went through the relay to this resident (it passes XDG_RUNTIME_DIR on).
        assert checks["server starts and lists tools"]["ok"], checks["server starts and lists tools"]
    finally:
        stop(rs.status_for(env))
    wait_for(lambda: not alive(running.pid), 15, "the resident to exit on SIGTERM")


def test_doctor_fails_a_resident_that_holds_its_socket_without_answering_and_sessions_still_work(
    root: Path, ollama, capsys
) -> None:
    env = user_env(root, "1")
    ctx = context(root, env)
    cli.main(["config", "set", "ollama_url", ollama.url], ctx)
    cli.main(["enable"], ctx)
    places = Places.from_env(env)
    places.ensure_socket_dir()
    # Listening, never answering: a stopped resident. It holds its lock too, so the relay starts no other.
    lock = os.open(places.lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        with WirePeer(places.socket, lambda hello: None, accept=False):
            capsys.readouterr()
            began = time.monotonic()
            cli.main(["doctor", "--json"], ctx)
            took = time.monotonic() - began
            checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    finally:
        os.close(lock)
    check = checks["local server (resident)"]
    assert not check["ok"] and check["detail"].startswith("not answering (no answer within 1 s)")
    assert f"lsof {places.socket}" in check["fix"]
    # The relay gave up on it within its bounds and served doctor's session in-process.
    assert checks["server starts and lists tools"]["ok"], checks["server starts and lists tools"]
    assert took < 60


def test_the_frozen_apps_form_serve_resident_runs_the_resident(root: Path) -> None:
    """A frozen app starts its resident as `<binary> serve --resident` (spawn.py); the CLI's serve passes it on."""
    env = user_env(root, "1")
    proc = subprocess.Popen([sys.executable, "-m", "ollama_mcp_tray.tray", "serve", "--resident"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        running = wait_for(lambda: (lambda s: s if isinstance(s, rs.Running) else None)(rs.status_for(env)), 30, "it")
        assert running.pid == proc.pid
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    assert b"Traceback" not in err
