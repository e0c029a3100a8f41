"""One tray per user: an exclusive lock on a file in the user's data folder.

The operating system drops the lock when the process ends, however it ends, so a crash never leaves a stale
lock behind. The file also holds the owner's process id, so a second launch can say which process runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType
from typing import IO

from ollama_mcp_tray.server.paths import open_private


class AlreadyRunning(Exception):
    """Another tray of this user holds the lock."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        where = f" (process {pid})" if pid else ""
        super().__init__(f"Ollama MCP Tray is already running{where}; look for its icon in the tray.")


def _try_lock(fh: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class InstanceLock:
    """Hold the per-user lock for as long as the tray runs (a context manager)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid.

        Raises:
            AlreadyRunning: another process holds it.
        """
        # Opened without O_TRUNC: a running owner's pid stays until we know we own the lock.
        fh = os.fdopen(open_private(self.path, os.O_RDWR | os.O_APPEND), "a+b")
        fh.seek(0)
        if not _try_lock(fh):
            try:
                text = fh.read().decode("ascii", errors="replace").strip()
            except OSError:  # Windows refuses to read a locked region
                text = ""
            finally:
                fh.close()
            raise AlreadyRunning(int(text) if text.isdigit() else None)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()).encode("ascii"))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the lock
            self._fh = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
