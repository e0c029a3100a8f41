"""Claude Code's own lock on its global config file (`~/.claude.json`), taken the way Claude Code takes it.

Claude Code (checked in 2.1.330's bundled code) serialises its writes of that file with a lock *directory*:
    - at the path it was given plus ".lock", not at a symlink's target;
    - taken with mkdir, which exactly one process can win;
    - its mtime refreshed every 5 s by the holder, and judged stale by anyone once that mtime is more than
      10 s old (so a holder that was killed stops the others for at most 10 s); a stale one is removed
      with rmdir and taken afresh;
    - released with rmdir.
Under the lock it re-reads the file, writes a temp file in the same folder, fsyncs it and renames it over.
Its settings files (settings.json, settings.local.json) and `.mcp.json` are written without such a lock.

We hold it exactly as long and in exactly the same way, so Claude Code waits for our edit and we for its.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import ConcurrentEditError

LOCKED_NAMES = frozenset({".claude.json"})
"""The files Claude Code guards with this lock (in the home folder, or in CLAUDE_CONFIG_DIR)."""
STALE_AFTER = 10.0
REFRESH_EVERY = 5.0
WAIT = 15.0
"""How long we wait for the lock: longer than STALE_AFTER, so a lock left by a killed holder is always outlived,
and about as long as Claude Code itself waits for it."""
_POLL = 0.01


def lock_path(path: Path) -> Path:
    """The lock directory Claude Code uses for `path`: beside the path as given (a symlink is not followed)."""
    return Path(os.path.abspath(path) + ".lock")


class HeldLock:
    """The lock while we hold it: a thread keeps its mtime fresh, and notices if someone took it from us."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime_ns = os.stat(path).st_mtime_ns
        self._stop = threading.Event()
        self._lost = False
        self._refresher = threading.Thread(target=self._refresh, name="claude-lock-refresh", daemon=True)
        self._refresher.start()

    @property
    def lost(self) -> bool:
        """Whether another process removed or took over the lock while we held it."""
        return self._lost or not self._still_ours()

    def _still_ours(self) -> bool:
        try:
            return os.stat(self.path).st_mtime_ns == self._mtime_ns
        except FileNotFoundError:
            return False

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_EVERY):
            if not self._still_ours():
                self._lost = True
                return
            with contextlib.suppress(OSError):  # a failed touch is retried; the lock goes stale only after 10 s
                os.utime(self.path)
                self._mtime_ns = os.stat(self.path).st_mtime_ns

    def release(self) -> None:
        self._stop.set()
        self._refresher.join()
        if self._still_ours():  # never remove a lock that another process has taken over
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(self.path)


def _is_stale(path: Path) -> bool:
    try:
        return os.stat(path).st_mtime < time.time() - STALE_AFTER
    except FileNotFoundError:
        return False  # just released: the next mkdir may win it


@contextlib.contextmanager
def claude_lock(path: Path, wait: float = WAIT) -> Iterator[HeldLock | None]:
    """Hold Claude Code's lock for the file `path`; yields None when the file's folder does not exist (then no
    Claude Code can be writing the file, and there is no place for a lock).

    Raises:
        ConcurrentEditError: a live holder kept it for `wait` seconds.
        OSError: the lock could not be created (a read-only or full disk, no permission).
    """
    lock = lock_path(path)
    deadline = time.monotonic() + wait
    waiter = threading.Event()
    while True:
        try:
            os.mkdir(lock, 0o700)
            break
        except FileExistsError:
            if _is_stale(lock):
                # Its holder stopped refreshing it 10 s ago: gone. Remove it and race for it again, as
                # Claude Code does (rmdir only removes an empty folder: never a file or anyone's data).
                with contextlib.suppress(FileNotFoundError, OSError):
                    os.rmdir(lock)
                continue
        except FileNotFoundError:
            yield None
            return
        if time.monotonic() >= deadline:
            raise ConcurrentEditError(
                f"Claude Code is editing {path}: its lock {lock} stayed taken for {wait:.0f} s. Try again in a "
                f"moment. If no Claude Code is running and it stays, remove that folder (rmdir {lock}).",
                Path(path),
            )
        waiter.wait(_POLL)  # no event tells us a directory was removed; poll within the deadline
    try:
        held = HeldLock(lock)
    except OSError:
        with contextlib.suppress(OSError):
            os.rmdir(lock)
        raise
    try:
        yield held
    finally:
        held.release()
