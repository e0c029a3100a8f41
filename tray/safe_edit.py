"""The careful shell around editing a file other programs also write (Claude Code's config above all).

One edit, in order:
    1. follow a symlink to the file it names (the link stays a link);
    2. take our lock (a lock file in our data folder), so our own processes edit one at a time;
    3. read; a file that does not parse is re-read once it has settled (another program may be halfway
       through a plain, non-atomic write) and, if still broken, refused: left byte-for-byte untouched;
    4. compute the new text with a pure function; nothing to do means no write and no backup;
    5. keep a timestamped backup (bounded count) in our backups folder;
    6. write a temp file in the same folder, fsync, give it the original mode (or `new_mode`);
    7. re-read the file, and check its stat just before `os.replace`: if it changed underneath, start over
       from the new content (bounded attempts);
    8. replace, fsync the folder, re-read and verify the edit is there, else start over.

Claude Code rewrites `~/.claude.json` whole and often; no lock of ours can stop that, so the re-reads are
what keeps us from writing back a stale copy over its newer one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .claude_config import DocumentError
from .config_errors import ConcurrentEditError, ConfigFileRefused

Edit = Callable[[str | None], str | None]
"""Given the current text (None: no file), the new text (None: leave the file as it is)."""

_TMP_SUFFIX = ".ollama-mcp-tray.tmp"


@dataclass(frozen=True)
class EditOutcome:
    """What an edit did. `path` is the file written (a symlink's target)."""

    path: Path
    changed: bool
    backup: Path | None = None
    attempts: int = 1


def resolve_target(path: Path) -> Path:
    """The file an edit of `path` must write: symlinks followed (also to a target that does not exist yet)."""
    return Path(os.path.realpath(path))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(folder: Path, name: str, data: bytes, mode: int, owner: tuple[int, int] | None) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=_TMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            if os.name == "posix":
                os.fchmod(handle.fileno(), mode)
                if owner is not None and os.geteuid() == 0:
                    # Root editing a user's file must not hand it over to root.
                    os.fchown(handle.fileno(), *owner)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
    return Path(tmp)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` all at once: temp file in the same folder, fsync, chmod `mode`, replace."""
    target = resolve_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(target.parent, target.name, data, mode, None)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


@contextlib.contextmanager
def file_lock(lock_path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (created as needed); wait at most `timeout` seconds.

    Raises:
        ConcurrentEditError: another of our processes held the lock all that time.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        waiter = threading.Event()
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise ConcurrentEditError(
                    f"Another ollama-mcp-tray process is editing the same file (lock {lock_path}); "
                    "wait for it to finish and try again.",
                    lock_path,
                )
            # No OS event tells us a flock was released; poll briefly within the deadline.
            waiter.wait(0.02)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _file_tag(target: Path) -> str:
    digest = hashlib.sha256(str(target).encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{target.name}.{digest}"


@dataclass(frozen=True)
class SafeEditor:
    """Edits files carefully (see the module docstring). Folders and the clock are parameters for tests."""

    backups_dir: Path
    lock_dir: Path
    keep_backups: int = 10
    lock_timeout: float = 10.0
    max_attempts: int = 12
    settle_reads: int = 4
    settle_delay: float = 0.05
    clock: Callable[[], float] = time.time

    def edit(
        self,
        path: Path,
        edit: Edit,
        *,
        new_mode: int = 0o600,
        verify: Callable[[str], bool] | None = None,
    ) -> EditOutcome:
        """Apply `edit` to the file at `path`.

        Args:
            path: the file; a symlink is followed and its target edited.
            edit: pure function from the current text (None: no file) to the new text (None: no change).
                It raises `DocumentError` for a text it cannot work with.
            new_mode: the mode of a file we create; an existing file keeps its own.
            verify: checks the file's text after the write; False means another process undid the edit.

        Raises:
            ConfigFileRefused: the file does not parse (or is not UTF-8); it was not touched.
            ConcurrentEditError: the file kept changing underneath us, or our lock stayed taken.
        """
        target = resolve_target(path)
        with file_lock(self.lock_dir / f"{_file_tag(target)}.lock", self.lock_timeout):
            return self._edit_locked(target, edit, new_mode, verify)

    def _edit_locked(
        self,
        target: Path,
        edit: Edit,
        new_mode: int,
        verify: Callable[[str], bool] | None,
    ) -> EditOutcome:
        backup: Path | None = None
        backed_up: bytes | None = None
        for attempt in range(1, self.max_attempts + 1):
            before = _stat_key(target)
            data = _read(target)
            try:
                text = None if data is None else data.decode("utf-8")
                if data is not None and not data.strip() and not self._settled(target, data):
                    continue  # an empty file is how a plain rewrite by another program starts
                new_text = edit(text)
            except (DocumentError, UnicodeDecodeError) as exc:
                if data is not None and not self._settled(target, data):
                    continue
                raise _refusal(target, exc) from exc
            if new_text is None or new_text == text:
                return EditOutcome(target, changed=False, backup=backup, attempts=attempt)
            if data is not None and data != backed_up:
                backup, backed_up = self._backup(target, data), data
            mode, owner = _mode_and_owner(target, new_mode)
            target.parent.mkdir(parents=True, exist_ok=True)
            written = new_text.encode("utf-8")
            tmp = _write_temp(target.parent, target.name, written, mode, owner)
            ours = _stat_key(tmp)
            try:
                if _read(target) != data or _stat_key(target) != before:
                    continue
                os.replace(tmp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            _fsync_dir(target.parent)
            # Still our very file (same inode, size, mtime) is our edit by construction; read only otherwise.
            if _stat_key(target) == ours:
                return EditOutcome(target, changed=True, backup=backup, attempts=attempt)
            after = _read(target)
            if after == written or (
                after is not None and verify is not None and verify(after.decode("utf-8", "replace"))
            ):
                return EditOutcome(target, changed=True, backup=backup, attempts=attempt)
        raise ConcurrentEditError(
            f"{target} kept changing while we edited it ({self.max_attempts} attempts). "
            "Another program (Claude Code?) is rewriting it; try again in a moment.",
            target,
        )

    def _settled(self, target: Path, data: bytes) -> bool:
        """True when the file still holds `data` after a short wait: nobody is halfway through writing it."""
        waiter = threading.Event()
        for _ in range(self.settle_reads):
            waiter.wait(self.settle_delay)
            if _read(target) != data:
                return False
        return True

    def _backup(self, target: Path, data: bytes) -> Path:
        self.backups_dir.mkdir(parents=True, exist_ok=True)
        tag = _file_tag(target)
        now = self.clock()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + f".{int(now * 1e6) % 1_000_000:06d}"
        backup = self.backups_dir / f"{tag}.{stamp}.bak"
        counter = 0
        while backup.exists():
            counter += 1
            backup = self.backups_dir / f"{tag}.{stamp}-{counter}.bak"
        # Backups of ~/.claude.json hold the user's history: readable by the user alone.
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        self._prune(tag)
        return backup

    def _prune(self, tag: str) -> None:
        backups = sorted(self.backups_dir.glob(f"{tag}.*.bak"))
        for old in backups[: max(0, len(backups) - self.keep_backups)]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()


def _mode_and_owner(target: Path, new_mode: int) -> tuple[int, tuple[int, int] | None]:
    try:
        st = target.stat()
    except FileNotFoundError:
        return new_mode, None
    return st.st_mode & 0o7777, (st.st_uid, st.st_gid)


def _refusal(target: Path, exc: DocumentError | UnicodeDecodeError) -> ConfigFileRefused:
    if isinstance(exc, UnicodeDecodeError):
        where, what = f" (byte {exc.start})", "is not UTF-8 text"
    else:
        where = f" (line {exc.line}, column {exc.column})" if exc.line is not None else ""
        what = f"is not valid: {exc}"
    return ConfigFileRefused(
        f"{target}{where} {what}. It was left untouched; fix it (or restore a backup) and try again.",
        target,
    )
