"""System errors while editing Claude Code's file: a documented exit code and a message naming the file and the
fix, never a traceback, and the file left as it was. Real loops, immutable files and mounts where this machine
allows them (as root); a permission error is injected at the system call, since root passes permission bits."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_mcp_tray.tray import cli
from ollama_mcp_tray.tray.configfile import safe_edit
from tests.tray.test_cli import context, run_process

linux_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"), reason="needs root and mount"
)
ORIGINAL = b'{\n  "numStartups": 3,\n  "keep": {"a": 1}\n}\n'


def assert_refused(result: subprocess.CompletedProcess[str], file: Path, *words: str) -> None:
    assert result.returncode == cli.EXIT_CONFIG_REFUSED == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert str(file) in result.stderr
    for word in words:
        assert word in result.stderr
    assert "left untouched" in result.stderr


@contextlib.contextmanager
def mounted(where: Path, *args: str) -> Iterator[None]:
    where.mkdir(exist_ok=True)
    done = subprocess.run(["mount", *args, str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount not permitted here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_a_symlink_loop_at_claude_json_is_named_as_a_loop_with_its_fix(tmp_path):
    link = tmp_path / ".claude.json"
    link.symlink_to(link)
    result = run_process(tmp_path, "enable")
    assert_refused(result, link, "loop", "ls -l")
    assert link.is_symlink() and os.readlink(link) == str(link)


def test_a_folder_we_may_not_write_is_reported_with_what_to_check(tmp_path, monkeypatch, capsys):
    (tmp_path / ".claude.json").write_bytes(ORIGINAL)
    real_mkdir = os.mkdir

    def read_only_folder(path: str | os.PathLike[str], mode: int = 0o777, **kw: object) -> None:
        # What mkdir answers in a folder without write permission (root is never refused, so it is injected).
        if Path(path) == tmp_path / ".claude.json.lock":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        real_mkdir(path, mode)

    monkeypatch.setattr(os, "mkdir", read_only_folder)
    code = cli.main(["enable"], context(tmp_path))
    err = capsys.readouterr().err
    assert code == 3
    assert str(tmp_path / ".claude.json") in err
    assert "permission denied" in err and "ls -ld" in err
    assert str(tmp_path / ".claude.json.lock") in err
    assert (tmp_path / ".claude.json").read_bytes() == ORIGINAL


@linux_root
def test_an_immutable_file_is_reported_with_chattr_as_the_fix(tmp_path):
    target = tmp_path / ".claude.json"
    target.write_bytes(ORIGINAL)
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable flag")
    try:
        result = run_process(tmp_path, "enable")
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    assert_refused(result, target, "immutable", "chattr -i")
    assert target.read_bytes() == ORIGINAL


@linux_root
def test_a_read_only_mount_is_reported_with_how_to_make_it_writable(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".claude.json").write_bytes(ORIGINAL)
    with mounted(home, "--bind", "-o", "ro", str(home)):
        if os.access(home, os.W_OK) and subprocess.run(["touch", str(home / "probe")]).returncode == 0:
            pytest.skip("the bind mount did not become read-only")
        result = run_process(home, "enable")
    assert_refused(result, home / ".claude.json", "read-only file system")
    assert (home / ".claude.json").read_bytes() == ORIGINAL


@linux_root
def test_a_full_disk_is_reported_and_leaves_no_temp_file(tmp_path):
    home = tmp_path / "home"
    with mounted(home, "-t", "tmpfs", "-o", "size=256k", "tmpfs"):
        big = b'{\n  "history": "' + b"x" * 150_000 + b'"\n}\n'
        (home / ".claude.json").write_bytes(big)
        with contextlib.suppress(OSError), (home / "filler").open("wb") as filler:
            while True:
                filler.write(b"f" * 4096)
                filler.flush()
        result = run_process(home, "enable")
        assert_refused(result, home / ".claude.json", "is full")
        assert (home / ".claude.json").read_bytes() == big
        assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []


def test_the_editor_maps_every_os_error_it_meets_not_only_those_named(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    target.write_bytes(ORIGINAL)

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    editor = safe_edit.SafeEditor(backups_dir=tmp_path / "b", lock_dir=tmp_path / "l")
    with pytest.raises(safe_edit.ConfigFileRefused, match="Input/output error"):
        editor.edit(target, lambda text: '{"new": 1}')
    assert target.read_bytes() == ORIGINAL
