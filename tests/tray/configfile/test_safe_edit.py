"""The careful shell: refuses broken files untouched, keeps modes and links, backs up, survives other writers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ollama_mcp_tray.tray.configfile.errors import ConcurrentEditError, ConfigFileRefused
from ollama_mcp_tray.tray.configfile.json_document import Document, set_member
from ollama_mcp_tray.tray.configfile.safe_edit import STALE_TEMP_AGE, SafeEditor, file_lock, temp_name, write_atomic

WORKER = str(Path(__file__).with_name("edit_worker.py"))
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes and signals")


@pytest.fixture
def editor(tmp_path: Path) -> SafeEditor:
    return SafeEditor(backups_dir=tmp_path / "data" / "backups", lock_dir=tmp_path / "data" / "locks", keep_backups=3)


def add_entry(text: str | None) -> str:
    return set_member(text or "{}", ("mcpServers",), "ollama", {"command": "/x"})


def test_a_file_that_does_not_parse_is_refused_naming_file_line_and_column_and_left_byte_identical(tmp_path, editor):
    target = tmp_path / ".claude.json"
    broken = b'{\n  "numStartups": 3,\n  "projects": {\n}\n'
    target.write_bytes(broken)
    with pytest.raises(ConfigFileRefused) as caught:
        editor.edit(target, add_entry)
    message = str(caught.value)
    assert str(target) in message
    assert "line 5" in message
    assert "column 1" in message
    assert target.read_bytes() == broken
    assert not (tmp_path / "data" / "backups").exists()


def test_a_file_that_is_not_utf8_is_refused_untouched(tmp_path, editor):
    target = tmp_path / ".claude.json"
    target.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ConfigFileRefused, match="not UTF-8"):
        editor.edit(target, add_entry)
    assert target.read_bytes() == b'{"a": "\xff"}'


@posix_only
def test_an_existing_file_keeps_its_mode_and_a_new_one_is_created_0600(tmp_path, editor):
    shared = tmp_path / "shared.json"
    shared.write_text("{}", encoding="utf-8")
    shared.chmod(0o644)
    editor.edit(shared, add_entry)
    assert shared.stat().st_mode & 0o777 == 0o644
    fresh = tmp_path / "home" / ".claude.json"
    editor.edit(fresh, add_entry)
    assert fresh.stat().st_mode & 0o777 == 0o600
    assert json.loads(fresh.read_text(encoding="utf-8")) == {"mcpServers": {"ollama": {"command": "/x"}}}


@posix_only
def test_a_symlinked_file_is_edited_through_its_link_which_stays_a_link(tmp_path, editor):
    real = tmp_path / "dotfiles" / "claude.json"
    real.parent.mkdir()
    real.write_text('{"keep": 1}', encoding="utf-8")
    link = tmp_path / ".claude.json"
    link.symlink_to(real)
    outcome = editor.edit(link, add_entry)
    assert link.is_symlink()
    assert outcome.path == real
    assert json.loads(real.read_text(encoding="utf-8"))["keep"] == 1
    assert "ollama" in json.loads(real.read_text(encoding="utf-8"))["mcpServers"]


def test_backups_hold_each_replaced_version_readable_by_the_user_alone_and_are_bounded(tmp_path, editor):
    target = tmp_path / "f.json"
    target.write_text('{"n": 0}', encoding="utf-8")
    for n in range(1, 6):
        editor.edit(target, lambda text, n=n: Document(text or "{}").set((), "n", n))
    backups = sorted((tmp_path / "data" / "backups").iterdir())
    assert len(backups) == 3
    assert [json.loads(b.read_text(encoding="utf-8"))["n"] for b in backups] == [2, 3, 4]
    if os.name == "posix":
        assert {b.stat().st_mode & 0o777 for b in backups} == {0o600}


def test_an_edit_that_changes_nothing_writes_nothing_and_backs_nothing_up(tmp_path, editor):
    target = tmp_path / "f.json"
    target.write_text(add_entry("{}"), encoding="utf-8")
    inode_before = target.stat().st_ino
    outcome = editor.edit(target, add_entry)
    assert not outcome.changed
    assert target.stat().st_ino == inode_before
    assert not (tmp_path / "data" / "backups").exists()


def test_our_lock_keeps_two_processes_from_losing_each_others_updates(tmp_path):
    target = tmp_path / "count.json"
    workers = [
        subprocess.Popen([sys.executable, WORKER, "increment", str(target), str(tmp_path / "data"), "25"])
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["count"] == 50


def test_a_lock_held_too_long_is_reported_not_waited_on_forever(tmp_path):
    lock = tmp_path / "x.lock"
    with file_lock(lock, timeout=1.0):
        holder = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path\n"
                "from ollama_mcp_tray.tray.configfile.safe_edit import file_lock\n"
                "from ollama_mcp_tray.tray.configfile.errors import ConcurrentEditError\n"
                "try:\n  with file_lock(Path(sys.argv[1]), timeout=0.2): sys.exit(0)\n"
                "except ConcurrentEditError: sys.exit(7)",
                str(lock),
            ],
            timeout=30,
        )
    assert holder.returncode == 7


def test_a_file_that_keeps_changing_ends_in_a_clear_error_not_a_stale_write(tmp_path):
    target = tmp_path / "f.json"
    target.write_text('{"v": 0}', encoding="utf-8")
    writes = iter(range(1, 1000))

    def racing_edit(text: str | None) -> str:
        # Another program rewrites the file while we compute: every attempt sees a change underneath.
        write_atomic(target, json.dumps({"v": next(writes)}).encode(), 0o644)
        return add_entry(text)

    editor = SafeEditor(backups_dir=tmp_path / "b", lock_dir=tmp_path / "l", max_attempts=3)
    with pytest.raises(ConcurrentEditError, match="kept changing"):
        editor.edit(target, racing_edit)
    assert "mcpServers" not in json.loads(target.read_text(encoding="utf-8"))


@pytest.mark.parametrize("how", ["atomic", "plain"])
def test_another_program_rewriting_the_file_in_a_loop_never_sees_a_torn_file_or_loses_keys(tmp_path, how):
    target = tmp_path / ".claude.json"
    target.write_text(json.dumps({"keepMe": {"nested": [1, 2, 3]}}, indent=2), encoding="utf-8")
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, WORKER, "rewrite", str(target), how, str(stop)])
    editor = SafeEditor(backups_dir=tmp_path / "b", lock_dir=tmp_path / "l", settle_delay=0.02)
    torn: list[str] = []
    reading = threading.Event()

    def watch() -> None:
        while not reading.is_set():
            text = target.read_text(encoding="utf-8")
            try:
                json.loads(text)
            except ValueError:
                torn.append(text[-80:])

    watcher = threading.Thread(target=watch)
    if how == "atomic":  # a plain writer tears its own file; only atomic rewrites can be watched this way
        watcher.start()
    try:
        deadline = time.monotonic() + 3
        rounds = 0
        while time.monotonic() < deadline:
            try:
                editor.edit(target, add_entry)
                editor.edit(target, lambda text: Document(text or "{}").remove(("mcpServers",), "ollama"))
            except ConcurrentEditError:
                continue  # the documented outcome when the other writer never pauses long enough
            rounds += 1
        assert rounds > 0
    finally:
        stop.touch()
        assert writer.wait(timeout=30) == 0
        reading.set()
        if watcher.is_alive():
            watcher.join(timeout=10)
    final = json.loads(target.read_text(encoding="utf-8"))
    assert final["keepMe"] == {"nested": [1, 2, 3]}
    assert "writerCounter" in final
    assert torn == []


@posix_only
def test_killing_our_process_at_random_moments_never_leaves_a_torn_file(tmp_path):
    target = tmp_path / ".claude.json"
    big = {"projects": {f"/p/{i}": {"history": ["x" * 200] * 20} for i in range(300)}}
    target.write_text(json.dumps(big, indent=2), encoding="utf-8")
    rng = random.Random(7)
    for _ in range(8):
        worker = subprocess.Popen(
            [sys.executable, WORKER, "toggle", str(target), str(tmp_path / "data")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        threading.Event().wait(rng.uniform(0.0, 0.4))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        worker.stdout.close()
        document = json.loads(target.read_text(encoding="utf-8"))
        assert document["projects"] == big["projects"]
    # Temp files of the killed runs may remain until the next edit, which clears them away.
    SafeEditor(backups_dir=tmp_path / "data" / "backups", lock_dir=tmp_path / "data" / "locks").edit(target, add_entry)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert json.loads(target.read_text(encoding="utf-8"))["projects"] == big["projects"]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


@posix_only
def test_the_next_edit_removes_temp_files_our_dead_or_long_gone_writers_left_and_nothing_else(tmp_path, editor):
    target = tmp_path / ".claude.json"
    target.write_text('{"keep": 1}', encoding="utf-8")
    dead = tmp_path / temp_name(target.name, dead_pid())
    live = tmp_path / temp_name(target.name)  # this very process: a writer that is still running
    old = tmp_path / temp_name(target.name)
    legacy_old = tmp_path / f".{target.name}.k2x_9ab7.ollama-mcp-tray.tmp"  # named by tempfile, before pids
    legacy_new = tmp_path / f".{target.name}.q8w_1zz0.ollama-mcp-tray.tmp"
    others = [
        tmp_path / temp_name("other.json", dead_pid()),  # another file's: its own edits clear it
        tmp_path / f".{target.name}.tmp",  # not our naming
        tmp_path / f".{target.name}.{dead_pid()}.ollama-mcp-tray.tmp.bak",
        tmp_path / "notes.txt",
    ]
    for path in (dead, live, old, legacy_old, legacy_new, *others):
        path.write_text("partial", encoding="utf-8")
    long_ago = time.time() - STALE_TEMP_AGE - 60
    for path in (old, legacy_old, others[0]):
        os.utime(path, (long_ago, long_ago))
    impostor = tmp_path / temp_name(target.name, dead_pid())
    impostor.symlink_to(tmp_path / "notes.txt")

    editor.edit(target, add_entry)

    assert not dead.exists()
    assert not old.exists()
    assert not legacy_old.exists()
    assert live.exists()
    assert legacy_new.exists()
    assert all(path.exists() for path in others)
    assert impostor.is_symlink()
    assert json.loads(target.read_text(encoding="utf-8")) == {"keep": 1, "mcpServers": {"ollama": {"command": "/x"}}}


def test_a_big_edit_is_written_from_the_bytes_read_around_the_changed_span(tmp_path, editor):
    target = tmp_path / ".claude.json"
    # Non-ASCII before and after the edit: character and byte offsets differ.
    document = {"ä": "ö" * 50_000, "mcpServers": {"a": {"command": "/a"}}, "zz": ["€"] * 5000}
    original = json.dumps(document, indent=2, ensure_ascii=False)
    target.write_text(original, encoding="utf-8")
    editor.edit(target, lambda text: Document(text or "{}").set_splice(("mcpServers",), "ollama", {"command": "/x"}))
    assert target.read_text(encoding="utf-8") == set_member(original, ("mcpServers",), "ollama", {"command": "/x"})
    editor.edit(target, lambda text: Document(text or "{}").remove_splice(("mcpServers",), "ollama"))
    assert target.read_text(encoding="utf-8") == original


def test_a_claude_json_with_a_byte_order_mark_is_edited_and_keeps_it(tmp_path, editor):
    target = tmp_path / ".claude.json"
    target.write_bytes(b'\xef\xbb\xbf{\r\n  "numStartups": 3\r\n}\r\n')
    editor.edit(target, lambda text: Document(text or "{}").set_splice(("mcpServers",), "ollama", {"command": "/x"}))
    data = target.read_bytes()
    assert data.startswith(b'\xef\xbb\xbf{\r\n  "numStartups": 3,\r\n  "mcpServers": {\r\n')
    assert data.count(b"\n") == data.count(b"\r\n")
    assert json.loads(data.decode("utf-8-sig"))["mcpServers"] == {"ollama": {"command": "/x"}}


def test_a_backup_identical_to_the_newest_is_not_kept_twice(tmp_path, editor):
    target = tmp_path / "f.json"
    target.write_text('{"n": 0}', encoding="utf-8")
    for _ in range(3):
        # Another program puts the old version back each time; we edit it again: the same bytes to back up.
        editor.edit(target, lambda text: Document(text or "{}").set((), "n", 1))
        target.write_text('{"n": 0}', encoding="utf-8")
    backups = list((tmp_path / "data" / "backups").iterdir())
    assert [b.read_text(encoding="utf-8") for b in backups] == ['{"n": 0}']


def test_backups_are_bounded_by_total_size_as_well_as_count(tmp_path):
    editor = SafeEditor(backups_dir=tmp_path / "b", lock_dir=tmp_path / "l", keep_backups=10, backups_size_floor=0)
    target = tmp_path / "big.json"
    target.write_text(json.dumps({"n": 0, "blob": "x" * 100_000}), encoding="utf-8")
    for n in range(1, 8):
        editor.edit(target, lambda text, n=n: Document(text or "{}").set((), "n", n))
    backups = sorted((tmp_path / "b").iterdir())
    size = target.stat().st_size
    assert len(backups) == 3  # 3x the file's size, though the count would allow 10
    assert sum(b.stat().st_size for b in backups) <= 3 * size
    assert [json.loads(b.read_text(encoding="utf-8"))["n"] for b in backups] == [4, 5, 6]


def test_the_newest_backup_is_kept_even_when_it_alone_is_over_the_size_bound(tmp_path):
    editor = SafeEditor(
        backups_dir=tmp_path / "b", lock_dir=tmp_path / "l", backups_size_factor=0.5, backups_size_floor=0
    )
    target = tmp_path / "f.json"
    target.write_text('{"n": 0}', encoding="utf-8")
    for n in range(1, 4):
        editor.edit(target, lambda text, n=n: Document(text or "{}").set((), "n", n))
    assert [p.read_text(encoding="utf-8") for p in (tmp_path / "b").iterdir()] == ['{"n": 2}']
