"""Races at the moment of the swap: another writer putting the old bytes back right after it (verify must not
crash), and one getting in right before it (renameat2 hands back the displaced file, which is put back)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from ollama_mcp_tray.tray.configfile import safe_edit
from ollama_mcp_tray.tray.configfile.errors import ConcurrentEditError
from ollama_mcp_tray.tray.configfile.safe_edit import _swap_in, write_atomic
from tests.tray.clients.test_registration import USER, make_registrar

ORIGINAL = b'{\n  "numStartups": 3\n}\n'


def undo_after_swap(monkeypatch: pytest.MonkeyPatch, target: Path, times: int) -> list[int]:
    """Make another writer put the original bytes back (atomically, a new inode) right after each of our
    first `times` swaps; returns the count of swaps seen."""
    real = safe_edit._swap_in
    seen: list[int] = []

    def swap_then_undo(temp: Path, dest: Path, based_on: bytes | None, ours: int) -> bool:
        done = real(temp, dest, based_on, ours)
        if dest != target:
            return done  # our own record of registrations
        seen.append(1)
        if done and len(seen) <= times:
            write_atomic(target, ORIGINAL, 0o600)
        return done

    monkeypatch.setattr(safe_edit, "_swap_in", swap_then_undo)
    return seen


def test_old_bytes_put_back_right_after_our_swap_lead_to_a_retry_not_a_crash(tmp_path, monkeypatch):
    target = tmp_path / ".claude.json"
    target.write_bytes(ORIGINAL)
    seen = undo_after_swap(monkeypatch, target, times=1)
    status = make_registrar(tmp_path).enable(USER)
    assert status.up_to_date
    assert len(seen) == 2  # undone once, redone once
    assert json.loads(target.read_text(encoding="utf-8"))["mcpServers"]["ollama"]["command"] == sys.executable


def test_a_writer_that_always_puts_the_old_bytes_back_ends_in_the_busy_error(tmp_path, monkeypatch):
    target = tmp_path / ".claude.json"
    target.write_bytes(ORIGINAL)
    undo_after_swap(monkeypatch, target, times=10_000)
    with pytest.raises(ConcurrentEditError, match="kept changing"):
        make_registrar(tmp_path).enable(USER)
    assert target.read_bytes() == ORIGINAL


def our_temp(folder: Path, data: bytes) -> tuple[Path, int]:
    temp = folder / "ours.tmp"
    temp.write_bytes(data)
    return temp, temp.stat().st_ino


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "plain-replace"])
def test_the_swap_puts_ours_in_place_only_over_the_version_we_read(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(safe_edit, "_renameat2", lambda src, dst, flags: False)
    target = tmp_path / "f.json"
    target.write_bytes(b'{"v": 1}')
    temp, ino = our_temp(tmp_path, b'{"v": 1, "ours": 1}')
    assert _swap_in(temp, target, b'{"v": 1}', ino)
    assert target.read_bytes() == b'{"v": 1, "ours": 1}'
    assert not temp.exists()  # the displaced original is not left behind


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "plain-replace"])
def test_a_newer_version_is_never_displaced_for_good(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(safe_edit, "_renameat2", lambda src, dst, flags: False)
    target = tmp_path / "f.json"
    target.write_bytes(b'{"v": 2}')  # someone wrote v2 after we read v1
    temp, ino = our_temp(tmp_path, b'{"v": 1, "ours": 1}')
    assert not _swap_in(temp, target, b'{"v": 1}', ino)
    assert target.read_bytes() == b'{"v": 2}'
    assert temp.stat().st_ino == ino  # ours handed back, for the caller to discard


@pytest.mark.skipif(sys.platform != "linux", reason="renameat2 is Linux's")
def test_renameat2_exchange_works_on_this_file_system(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    assert safe_edit._renameat2(a, b, safe_edit._RENAME_EXCHANGE)
    assert (a.read_bytes(), b.read_bytes()) == (b"b", b"a")
    with pytest.raises(FileExistsError):
        safe_edit._renameat2(a, b, safe_edit._RENAME_NOREPLACE)


def test_a_file_created_by_another_writer_while_we_prepared_ours_is_not_replaced(tmp_path):
    target = tmp_path / "new.json"
    target.write_bytes(b'{"theirs": 1}')
    temp, ino = our_temp(tmp_path, b'{"ours": 1}')
    assert not _swap_in(temp, target, None, ino)
    assert target.read_bytes() == b'{"theirs": 1}'
    assert os.path.exists(temp)
