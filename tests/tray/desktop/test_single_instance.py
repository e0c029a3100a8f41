"""One tray per user: a second launch is refused with the first one's pid, and a crash leaves no stale lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ollama_mcp_tray.tray.desktop.single_instance import AlreadyRunning, InstanceLock

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ollama_mcp_tray.tray.desktop.single_instance import InstanceLock
    with InstanceLock(Path(sys.argv[1])):
        print("locked", flush=True)
        sys.stdin.read()  # hold until the test closes our stdin or kills us
    """
)


def start_holder(lock: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_instance_is_refused_and_told_the_first_ones_pid(tmp_path: Path) -> None:
    lock = tmp_path / "state" / "tray.lock"
    holder = start_holder(lock)
    try:
        with pytest.raises(AlreadyRunning) as caught, InstanceLock(lock):
            pass
        assert caught.value.pid == holder.pid
        assert "already running" in str(caught.value)
    finally:
        holder.kill()
        holder.wait(timeout=10)
        assert holder.stdout is not None
        holder.stdout.close()
        assert holder.stdin is not None
        holder.stdin.close()


def test_a_killed_instance_leaves_no_stale_lock(tmp_path: Path) -> None:
    lock = tmp_path / "tray.lock"
    holder = start_holder(lock)
    holder.kill()
    holder.wait(timeout=10)
    for pipe in (holder.stdin, holder.stdout):
        assert pipe is not None
        pipe.close()
    with InstanceLock(lock):
        assert lock.read_text(encoding="ascii") == str(__import__("os").getpid())


def test_the_lock_is_released_on_exit_so_the_next_launch_runs(tmp_path: Path) -> None:
    lock = tmp_path / "tray.lock"
    with InstanceLock(lock):
        pass
    with InstanceLock(lock):
        pass
