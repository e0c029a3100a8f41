"""Claude Code's lock directory on ~/.claude.json: we take it like Claude Code, honour it, and lose none of its
updates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ollama_mcp_tray.tray import cli
from ollama_mcp_tray.tray.clients.registrar import Target
from ollama_mcp_tray.tray.configfile import claude_lock
from ollama_mcp_tray.tray.configfile.errors import ConcurrentEditError
from ollama_mcp_tray.tray.configfile.json_document import set_member
from ollama_mcp_tray.tray.configfile.safe_edit import SafeEditor
from tests.pinned_claude import LOCAL_CLAUDE
from tests.tray.clients.test_registration import USER, make_registrar
from tests.tray.test_cli import run_process

WORKER = str(Path(__file__).with_name("edit_worker.py"))
posix_only = pytest.mark.skipif(os.name != "posix", reason="symlinks and mtimes as on POSIX")


def make_editor(root: Path, wait: float = 15.0) -> SafeEditor:
    return SafeEditor(backups_dir=root / "data" / "backups", lock_dir=root / "data" / "locks", claude_lock_wait=wait)


def add_entry(text: str | None) -> str:
    return set_member(text or "{}", ("mcpServers",), "ollama", {"command": "/x"})


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_we_hold_claude_codes_lock_beside_the_path_as_given_while_we_read_and_write(tmp_path):
    real = tmp_path / "dotfiles" / "claude.json"
    real.parent.mkdir()
    real.write_text("{}", encoding="utf-8")
    link = tmp_path / ".claude.json"
    link.symlink_to(real)
    seen: list[bool] = []

    def edit(text: str | None) -> str:
        seen.append((tmp_path / ".claude.json.lock").is_dir())
        return add_entry(text)

    make_editor(tmp_path).edit(link, edit)
    assert seen == [True]
    assert not (tmp_path / ".claude.json.lock").exists()  # released: removed
    assert not (tmp_path / "dotfiles" / "claude.json.lock").exists()  # not at the target, as Claude Code does
    assert "ollama" in json.loads(real.read_text(encoding="utf-8"))["mcpServers"]


def test_files_claude_code_does_not_lock_are_edited_without_its_lock(tmp_path):
    seen: list[bool] = []
    target = tmp_path / ".mcp.json"

    def edit(text: str | None) -> str:
        seen.append(Path(f"{target}.lock").exists())
        return add_entry(text)

    make_editor(tmp_path).edit(target, edit)
    assert seen == [False]


def test_a_fresh_lock_is_never_broken_we_give_up_after_the_wait_naming_the_lock(tmp_path):
    target = tmp_path / ".claude.json"
    target.write_text('{"keep": 1}', encoding="utf-8")
    lock = tmp_path / ".claude.json.lock"
    lock.mkdir()
    age(lock, claude_lock.STALE_AFTER - 3)  # old, but not stale
    started = time.monotonic()
    with pytest.raises(ConcurrentEditError) as caught:
        make_editor(tmp_path, wait=1.0).edit(target, add_entry)
    assert 1.0 <= time.monotonic() - started < 5
    assert str(lock) in str(caught.value)
    assert "rmdir" in str(caught.value)
    assert lock.is_dir()
    assert target.read_text(encoding="utf-8") == '{"keep": 1}'


def test_the_cli_reports_a_held_lock_with_exit_6_and_no_traceback(tmp_path, monkeypatch):
    (tmp_path / ".claude.json").write_text("{}", encoding="utf-8")
    lock = tmp_path / ".claude.json.lock"
    lock.mkdir()
    # A holder that keeps refreshing the lock, as Claude Code does, for longer than we wait (15 s).
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(0.5):
            os.utime(lock)

    holder = threading.Thread(target=refresh)
    holder.start()
    try:
        age(lock, 9)  # it would be stale soon, were it not refreshed
        result = run_process(tmp_path, "enable")
    finally:
        stop.set()
        holder.join()
    assert result.returncode == cli.EXIT_BUSY == 6
    assert str(lock) in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads((tmp_path / ".claude.json").read_text(encoding="utf-8")) == {}


def test_a_lock_released_while_we_wait_is_taken(tmp_path):
    target = tmp_path / ".claude.json"
    target.write_text("{}", encoding="utf-8")
    lock = tmp_path / ".claude.json.lock"
    lock.mkdir()
    threading.Timer(0.3, lock.rmdir).start()
    outcome = make_editor(tmp_path, wait=5.0).edit(target, add_entry)
    assert outcome.changed
    assert not lock.exists()


@posix_only
def test_a_stale_lock_left_by_a_killed_holder_is_taken_over(tmp_path):
    target = tmp_path / ".claude.json"
    target.write_text("{}", encoding="utf-8")
    lock = tmp_path / ".claude.json.lock"
    lock.mkdir()
    age(lock, claude_lock.STALE_AFTER + 1)
    started = time.monotonic()
    outcome = make_editor(tmp_path, wait=1.0).edit(target, add_entry)
    assert outcome.changed
    assert time.monotonic() - started < 1.0  # taken at once, not after the wait
    assert not lock.exists()


def test_a_lock_held_longer_than_the_refresh_interval_is_kept_fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(claude_lock, "REFRESH_EVERY", 0.1)
    target = tmp_path / ".claude.json"
    target.write_text("{}", encoding="utf-8")
    lock = tmp_path / ".claude.json.lock"
    mtimes: list[int] = []

    def slow_edit(text: str | None) -> str:
        for _ in range(4):
            mtimes.append(lock.stat().st_mtime_ns)
            time.sleep(0.25)
        return add_entry(text)

    make_editor(tmp_path).edit(target, slow_edit)
    assert len(set(mtimes)) >= 3  # touched again and again while we held it


def test_we_do_not_remove_a_lock_another_process_took_from_us(tmp_path, monkeypatch):
    monkeypatch.setattr(claude_lock, "REFRESH_EVERY", 0.05)
    target = tmp_path / ".claude.json"
    target.write_text('{"keep": 1}', encoding="utf-8")
    lock = tmp_path / ".claude.json.lock"

    def edit_while_taken_over(text: str | None) -> str:
        # Someone judged our lock stale and took it (we stalled for over 10 s): a new folder, a new mtime.
        lock.rmdir()
        lock.mkdir()
        age(lock, 1)
        time.sleep(0.2)
        return add_entry(text)

    with pytest.raises(ConcurrentEditError, match="took Claude Code's lock"):
        make_editor(tmp_path).edit(target, edit_while_taken_over)
    assert lock.is_dir()  # theirs: left alone
    assert target.read_text(encoding="utf-8") == '{"keep": 1}'


def lost_updates(root: Path, rounds: int) -> tuple[int, int]:
    """Run a competitor that follows Claude Code's lock protocol while we enable and disable our entry `rounds`
    times; returns (its updates lost, its updates made)."""
    target = root / ".claude.json"
    big = {"projects": {f"/p/{i}": {"allowedTools": ["Bash(x:*)"] * 20} for i in range(400)}, "claudeCounter": 0}
    target.write_text(json.dumps(big, indent=2), encoding="utf-8")
    registrar = make_registrar(root)
    stop = root / "stop"
    competitor = subprocess.Popen(
        [sys.executable, WORKER, "claude", str(target), str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        while json.loads(target.read_text(encoding="utf-8"))["claudeCounter"] == 0:
            time.sleep(0.01)  # it has started
        for _ in range(rounds):
            registrar.enable(USER)
            registrar.disable(USER)
    finally:
        stop.touch()
        out, _ = competitor.communicate(timeout=60)
    made = int(out)
    final = json.loads(target.read_text(encoding="utf-8"))
    assert final["projects"] == big["projects"]
    return made - final["claudeCounter"], made


def test_a_competitor_following_claude_codes_lock_loses_none_of_its_updates_in_100_rounds(tmp_path):
    lost, made = lost_updates(tmp_path, rounds=100)
    assert made > 50  # it really ran alongside us
    assert lost == 0


def test_our_enable_waits_for_claude_code_and_registers_once_it_is_done(tmp_path):
    registrar = make_registrar(tmp_path)
    lock = tmp_path / ".claude.json.lock"
    lock.mkdir()
    threading.Timer(0.5, lock.rmdir).start()
    status = registrar.enable(Target(USER.scope, USER.name))
    assert status.up_to_date
    assert "ollama" in json.loads((tmp_path / ".claude.json").read_text(encoding="utf-8"))["mcpServers"]


@pytest.mark.claude
@pytest.mark.skipif(not LOCAL_CLAUDE.is_file(), reason="the pinned Claude Code CLI is not installed")
def test_the_real_claude_code_waits_while_we_hold_the_lock_and_writes_once_we_release_it(tmp_path):
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    entry = json.dumps({"type": "stdio", "command": "/bin/true", "args": []})

    def claude(name: str) -> subprocess.Popen[str]:
        argv = [str(LOCAL_CLAUDE), "mcp", "add-json", name, entry, "--scope", "user"]
        return subprocess.Popen(
            argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    # A first run writes Claude Code's start-up keys (that first write does not wait for the lock).
    first = claude("first")
    first.communicate(timeout=120)
    assert first.returncode == 0
    target = tmp_path / ".claude.json"
    before = target.read_bytes()
    with claude_lock.claude_lock(target) as held:
        assert held is not None
        waiting = claude("second")
        time.sleep(3)
        assert waiting.poll() is None  # still waiting for our lock
        assert target.read_bytes() == before
    out, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, out
    assert set(json.loads(target.read_text(encoding="utf-8"))["mcpServers"]) == {"first", "second"}
